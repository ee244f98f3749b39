//! The Twitch token kept alive against the OAuth stand-in on 127.0.0.1: refresh with
//! rotation, refresh failure, hourly validation, a crash between "refresh answered" and
//! "new token used", and the real twitch-irc client taking the manager's credentials.
//! Logins are tests/auth_login.rs.
//!
//! Time is tokio's paused clock (`start_paused`), and the manager's wall clock follows it
//! (`TokioClock`), so hours pass in microseconds.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use support::auth::{clock, seed, settings, start_fake, stored};
use tiktwitch::auth::{AuthError, TokenManager};
use tiktwitch::secret::{MemoryStore, Secret, SecretError, SecretStore};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::LoginCredentials;

#[tokio::test(start_paused = true)]
async fn refresh_before_expiry_rotates_and_persists_the_refresh_token() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    let (access0, refresh0) = seed(&fake, store.as_ref(), clock.as_ref()).await;
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock.clone())
        .await
        .unwrap();
    manager.start().await.unwrap();
    let creds = manager.credentials();
    let pair = creds.get_credentials().await.unwrap();
    assert_eq!(pair.login, "tiktwitch_bot");
    assert_eq!(pair.token.as_deref(), Some(access0.as_str()));
    assert_eq!(fake.count("token"), 0);

    // 4 h token; 3 h 50 min later less than the 15 min margin is left.
    tokio::time::advance(Duration::from_secs(3 * 3600 + 50 * 60)).await;
    let pair = creds.get_credentials().await.unwrap();
    let new = stored(store.as_ref()).await;
    assert_eq!(pair.token.as_deref(), Some(new.access_token.expose()));
    assert_ne!(new.access_token.expose(), access0);
    let refresh1 = new.refresh_token.clone().unwrap();
    assert_ne!(refresh1.expose(), refresh0);
    assert!(
        !fake.is_refresh_token_valid(&refresh0),
        "rotation spent the old one"
    );
    assert!(fake.is_refresh_token_valid(refresh1.expose()));
    let refresh_req = fake
        .requests()
        .into_iter()
        .find(|r| r.endpoint == "token")
        .unwrap();
    assert_eq!(refresh_req.params["grant_type"], "refresh_token");
    assert_eq!(refresh_req.params["refresh_token"], refresh0);
    assert_eq!(manager.stats().refreshes, 1);

    // On demand: force_refresh rotates again.
    manager.force_refresh().await.unwrap();
    let newer = stored(store.as_ref()).await;
    assert_ne!(newer.refresh_token, Some(refresh1));
    assert_eq!(manager.stats().refreshes, 2);
}

#[tokio::test(start_paused = true)]
async fn confidential_client_sends_its_secret_on_refresh() {
    let fake = FakeOAuth::start(FakeOAuthConfig {
        client_secret: Some("fake-client-secret".into()),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    seed(&fake, store.as_ref(), clock.as_ref()).await;
    let mut s = settings(&fake);
    s.client_secret_name = Some("twitch-client-secret".into());

    let err = TokenManager::load(&s, store.clone(), clock.clone())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("tiktwitch secret set twitch-client-secret"),
        "{err}"
    );

    store
        .set("twitch-client-secret", &Secret::new("fake-client-secret"))
        .await
        .unwrap();
    let manager = TokenManager::load(&s, store.clone(), clock).await.unwrap();
    manager.force_refresh().await.unwrap();
    let req = fake
        .requests()
        .into_iter()
        .find(|r| r.endpoint == "token")
        .unwrap();
    assert_eq!(req.params["client_secret"], "fake-client-secret");
}

#[tokio::test(start_paused = true)]
async fn concurrent_force_refreshes_spend_the_refresh_token_once() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    seed(&fake, store.as_ref(), clock.as_ref()).await;
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock)
        .await
        .unwrap();
    let (a, b) = tokio::join!(manager.force_refresh(), manager.force_refresh());
    a.unwrap();
    b.unwrap();
    assert_eq!(fake.count("token"), 1);
    assert_eq!(manager.stats().refreshes, 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_token_ends_the_login_with_a_clear_message() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    let (access0, _) = seed(&fake, store.as_ref(), clock.as_ref()).await;
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock)
        .await
        .unwrap();
    fake.refuse_all_refreshes();
    let err = manager.force_refresh().await.unwrap_err();
    assert!(matches!(err, AuthError::ReauthRequired { .. }), "{err}");
    assert!(err.is_fatal());
    let msg = err.to_string();
    assert!(
        msg.contains("run `tiktwitch auth twitch`") && msg.contains("Invalid refresh token"),
        "{msg}"
    );
    // Dead for good: IRC gets an error, not the old token; nothing else is asked of Twitch.
    let before = fake.requests().len();
    let irc = manager.credentials().get_credentials().await.unwrap_err();
    assert!(matches!(irc, AuthError::ReauthRequired { .. }));
    assert!(manager.is_dead().await);
    assert_eq!(fake.requests().len(), before);
    // The stored token is left as it was (the user may inspect it with `auth status`).
    assert_eq!(stored(store.as_ref()).await.access_token.expose(), access0);
}

#[tokio::test(start_paused = true)]
async fn a_server_error_on_refresh_is_retried_not_fatal() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    seed(&fake, store.as_ref(), clock.as_ref()).await;
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock)
        .await
        .unwrap();
    manager.start().await.unwrap();
    fake.fail_next_refreshes_with_server_error(2);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(manager.clone().run(shutdown.clone()));
    // Refresh is due at 3 h 45 min; it fails twice (503), then works after 30 s + 60 s.
    tokio::time::sleep(Duration::from_secs(3 * 3600 + 45 * 60 + 100)).await;
    let stats = manager.stats();
    assert_eq!(stats.refresh_errors, 2);
    assert_eq!(stats.refreshes, 1);
    assert!(!manager.is_dead().await);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn hourly_validation_failure_leads_to_a_refresh() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    let (access0, _) = seed(&fake, store.as_ref(), clock.as_ref()).await;
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock)
        .await
        .unwrap();
    manager.start().await.unwrap();
    assert_eq!(fake.count("validate"), 1, "validated at start");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(manager.clone().run(shutdown.clone()));

    tokio::time::sleep(Duration::from_secs(3600 + 1)).await;
    assert_eq!(fake.count("validate"), 2, "validated after an hour");
    assert_eq!(fake.count("token"), 0);

    // The user's token is revoked at Twitch (access only); the next hourly check refreshes.
    fake.expire_access_tokens();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(fake.count("token"), 1);
    assert_eq!(manager.stats().validation_rejections, 1);
    let new = stored(store.as_ref()).await;
    assert_ne!(new.access_token.expose(), access0);
    assert!(fake.is_access_token_valid(new.access_token.expose()));
    assert_eq!(
        fake.count("validate"),
        4,
        "the refreshed token is validated too"
    );
    let pair = manager.credentials().get_credentials().await.unwrap();
    assert_eq!(pair.token.as_deref(), Some(new.access_token.expose()));

    // Validation 401 while the refresh token is refused: the task ends with the message.
    fake.expire_access_tokens();
    fake.refuse_all_refreshes();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, AuthError::ReauthRequired { .. }), "{err}");
    drop(shutdown);
}

#[tokio::test(start_paused = true)]
async fn start_refreshes_a_token_refused_by_validate() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    seed(&fake, store.as_ref(), clock.as_ref()).await;
    fake.fail_next_validations(1);
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock)
        .await
        .unwrap();
    let info = manager.start().await.unwrap();
    assert_eq!(info.login.as_deref(), Some("tiktwitch_bot"));
    assert_eq!(fake.count("token"), 1);
    assert_eq!(fake.count("validate"), 2);
}

#[tokio::test(start_paused = true)]
async fn missing_scopes_at_start_are_fatal() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    seed(&fake, store.as_ref(), clock.as_ref()).await;
    let mut s = settings(&fake);
    s.helix_scopes = true;
    let manager = TokenManager::load(&s, store, clock).await.unwrap();
    let err = manager.start().await.unwrap_err();
    assert!(matches!(err, AuthError::MissingScopes { .. }), "{err}");
    assert!(err.is_fatal());
}

#[tokio::test(start_paused = true)]
async fn no_login_stored_says_what_to_run() {
    let fake = start_fake().await;
    let err = TokenManager::load(&settings(&fake), Arc::new(MemoryStore::new()), clock())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::NotLoggedIn { .. }));
    assert!(
        err.to_string().contains("run `tiktwitch auth twitch`"),
        "{err}"
    );
}

/// A store that "crashes" (fails, and from then on refuses everything) right after the
/// rotated token has been written to the real store underneath.
#[derive(Debug)]
struct CrashAfterSave {
    inner: Arc<dyn SecretStore>,
    crashed: AtomicBool,
}

#[async_trait]
impl SecretStore for CrashAfterSave {
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        self.inner.get(name).await
    }
    async fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(SecretError::Task("process is dead".into()));
        }
        self.inner.set(name, value).await?;
        self.crashed.store(true, Ordering::SeqCst);
        Err(SecretError::Task(
            "crash injected right after the save".into(),
        ))
    }
    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        self.inner.delete(name).await
    }
    fn describe(&self) -> String {
        "crash-after-save".into()
    }
}

/// A store whose writes fail while `failing` is set (a full disk).
#[derive(Debug)]
struct FlakyStore {
    inner: Arc<dyn SecretStore>,
    failing: AtomicBool,
}

#[async_trait]
impl SecretStore for FlakyStore {
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        self.inner.get(name).await
    }
    async fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(SecretError::Task("disk full".into()));
        }
        self.inner.set(name, value).await
    }
    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        self.inner.delete(name).await
    }
    fn describe(&self) -> String {
        "flaky".into()
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_right_after_the_rotated_token_is_saved_loses_nothing() {
    let fake = start_fake().await;
    let disk: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    let (access0, refresh0) = seed(&fake, disk.as_ref(), clock.as_ref()).await;
    let crashing: Arc<dyn SecretStore> = Arc::new(CrashAfterSave {
        inner: disk.clone(),
        crashed: AtomicBool::new(false),
    });
    let doomed = TokenManager::load(&settings(&fake), crashing, clock.clone())
        .await
        .unwrap();
    // Refresh answered, new pair saved, then the crash: the new token was never handed out.
    let err = doomed.force_refresh().await.unwrap_err();
    assert!(matches!(err, AuthError::Persist(_)), "{err}");
    assert_eq!(doomed.stats().credential_fetches, 0);
    assert!(
        !fake.is_refresh_token_valid(&refresh0),
        "Twitch spent the old refresh token"
    );
    drop(doomed);

    // A fresh process over the same store picks up the rotated pair and keeps going.
    let saved = stored(disk.as_ref()).await;
    assert_ne!(saved.access_token.expose(), access0);
    let manager = TokenManager::load(&settings(&fake), disk.clone(), clock)
        .await
        .unwrap();
    manager.start().await.unwrap();
    let pair = manager.credentials().get_credentials().await.unwrap();
    assert_eq!(pair.token.as_deref(), Some(saved.access_token.expose()));
    manager.force_refresh().await.unwrap();
    assert!(!manager.is_dead().await);
}

#[tokio::test(start_paused = true)]
async fn an_unsaved_refresh_is_never_handed_out_and_is_saved_on_the_next_call() {
    let fake = start_fake().await;
    let disk: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    let (access0, _) = seed(&fake, disk.as_ref(), clock.as_ref()).await;
    let flaky = Arc::new(FlakyStore {
        inner: disk.clone(),
        failing: AtomicBool::new(true),
    });
    let manager = TokenManager::load(&settings(&fake), flaky.clone(), clock)
        .await
        .unwrap();
    let err = manager.force_refresh().await.unwrap_err();
    assert!(
        matches!(err, AuthError::Persist(_)) && !err.is_fatal(),
        "{err}"
    );
    let irc = manager.credentials().get_credentials().await.unwrap_err();
    assert!(matches!(irc, AuthError::Persist(_)), "{irc}");
    assert_eq!(stored(disk.as_ref()).await.access_token.expose(), access0);
    assert_eq!(manager.stats().persist_errors, 2);

    flaky.failing.store(false, Ordering::SeqCst);
    let pair = manager.credentials().get_credentials().await.unwrap();
    let saved = stored(disk.as_ref()).await;
    assert_ne!(saved.access_token.expose(), access0);
    assert_eq!(pair.token.as_deref(), Some(saved.access_token.expose()));
    assert_eq!(fake.count("token"), 1, "no second refresh was needed");
}

#[tokio::test(start_paused = true)]
async fn the_real_twitch_irc_client_takes_the_managers_credentials() {
    let fake = start_fake().await;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let clock = clock();
    seed(&fake, store.as_ref(), clock.as_ref()).await;
    let manager = TokenManager::load(&settings(&fake), store, clock)
        .await
        .unwrap();
    let config = twitch_irc::ClientConfig::new_simple(manager.credentials());
    // Type-checks our LoginCredentials against the client the sink uses; it connects only
    // when asked to join or send, which this test never does.
    let (_incoming, client) = twitch_irc::TwitchIRCClient::<
        twitch_irc::SecureTCPTransport,
        tiktwitch::auth::TwitchCredentials,
    >::new(config);
    drop(client);
    assert_eq!(fake.requests().len(), 0);
}
