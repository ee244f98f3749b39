//! The Twitch login against the fake OAuth server on 127.0.0.1: device flow (pending,
//! slow_down, denied, expired), refresh with rotation, refresh failure, hourly validation,
//! and a crash between "refresh answered" and "new token used".
//!
//! Time is tokio's paused clock (`start_paused`), and the manager's wall clock follows it
//! (`TokioClock`), so hours pass in microseconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tiktwitch::auth::{
    AuthError, AuthSettings, Clock, StoredToken, TokenManager, TokioClock, account,
};
use tiktwitch::secret::{MemoryStore, Secret, SecretError, SecretStore};
use tiktwitch::standin::oauth::{DevicePoll, FakeOAuth, FakeOAuthConfig};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::LoginCredentials;

fn settings(fake: &FakeOAuth) -> AuthSettings {
    AuthSettings {
        client_id: fake.config().client_id.clone(),
        oauth_url: fake.base_url(),
        ..AuthSettings::default()
    }
}

async fn start_fake() -> FakeOAuth {
    FakeOAuth::start(FakeOAuthConfig::default()).await.unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::new())
}

/// Stores a token pair the fake minted, as a previous login would have.
async fn seed(fake: &FakeOAuth, store: &dyn SecretStore, clock: &dyn Clock) -> (String, String) {
    let (access, refresh) = fake.mint(&["chat:read", "chat:edit"]);
    let mut token = StoredToken::bare(Secret::new(access.clone()), clock.unix_now());
    token.refresh_token = Some(Secret::new(refresh.clone()));
    token.expires_at = Some(clock.unix_now() + fake.config().access_ttl.as_secs());
    token.scopes = vec!["chat:read".into(), "chat:edit".into()];
    store.set("twitch-token", &token.to_secret()).await.unwrap();
    (access, refresh)
}

async fn stored(store: &dyn SecretStore) -> StoredToken {
    StoredToken::from_secret(&store.get("twitch-token").await.unwrap().unwrap()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn device_flow_polls_through_pending_and_slow_down_then_stores_the_token() {
    let fake = start_fake().await;
    fake.script_device([
        DevicePoll::Pending,
        DevicePoll::Pending,
        DevicePoll::SlowDown,
        DevicePoll::Pending,
    ]);
    let store = MemoryStore::new();
    let clock = clock();
    let started = tokio::time::Instant::now();
    let mut shown = None;
    let info = account::login_device(&settings(&fake), &store, clock.as_ref(), |code| {
        shown = Some((code.user_code.clone(), code.verification_uri.clone()));
    })
    .await
    .unwrap();
    let (user_code, uri) = shown.expect("the code was shown");
    assert!(uri.contains(&user_code), "{uri}");
    assert_eq!(info.login.as_deref(), Some("tiktwitch_bot"));

    // 5 polls: 2 at 5 s, slow_down, then 2 at 10 s = 5+5+5+10+10 s.
    let polls: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == "token")
        .collect();
    assert_eq!(polls.len(), 5);
    assert_eq!(started.elapsed(), Duration::from_secs(35));
    for p in &polls {
        assert_eq!(
            p.params["grant_type"],
            "urn:ietf:params:oauth:grant-type:device_code"
        );
        assert_eq!(p.params["client_id"], "fake-client-id");
        assert!(
            !p.params.contains_key("client_secret"),
            "public client sends no secret"
        );
    }
    let device = &fake.requests()[0];
    assert_eq!(device.endpoint, "device");
    assert_eq!(device.params["scopes"], "chat:read chat:edit");

    let token = stored(&store).await;
    assert!(fake.is_access_token_valid(token.access_token.expose()));
    assert!(fake.is_refresh_token_valid(token.refresh_token.as_ref().unwrap().expose()));
    assert_eq!(token.login.as_deref(), Some("tiktwitch_bot"));
    assert_eq!(token.user_id.as_deref(), Some("424242"));
    assert_eq!(token.scopes, ["chat:read", "chat:edit"]);
}

#[tokio::test(start_paused = true)]
async fn device_flow_denied_stores_nothing() {
    let fake = start_fake().await;
    fake.script_device([DevicePoll::Pending, DevicePoll::Denied]);
    let store = MemoryStore::new();
    let err = account::login_device(&settings(&fake), &store, clock().as_ref(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::DeviceAccessDenied), "{err}");
    assert!(err.to_string().contains("tiktwitch auth twitch"));
    assert!(store.get("twitch-token").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn device_flow_expired_code_stores_nothing() {
    let fake = start_fake().await;
    fake.script_device([DevicePoll::Pending, DevicePoll::Expired]);
    let store = MemoryStore::new();
    let err = account::login_device(&settings(&fake), &store, clock().as_ref(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::DeviceCodeExpired), "{err}");
    assert!(store.get("twitch-token").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn device_flow_gives_up_when_the_code_outlives_its_expiry() {
    let fake = FakeOAuth::start(FakeOAuthConfig {
        device_expires_in: 30,
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    fake.script_device([DevicePoll::Pending; 100]);
    let err = account::login_device(
        &settings(&fake),
        &MemoryStore::new(),
        clock().as_ref(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AuthError::DeviceCodeExpired), "{err}");
    // Polls at 5..25 s; the 30 s wake-up sees the deadline and stops without polling.
    assert_eq!(fake.count("token"), 5);
}

#[tokio::test(start_paused = true)]
async fn device_flow_refuses_a_grant_without_the_helix_scopes() {
    let fake = FakeOAuth::start(FakeOAuthConfig {
        grant_scopes: Some(vec!["chat:read".into(), "chat:edit".into()]),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let store = MemoryStore::new();
    let mut s = settings(&fake);
    s.helix_scopes = true;
    let err = account::login_device(&s, &store, clock().as_ref(), |_| {})
        .await
        .unwrap_err();
    match &err {
        AuthError::MissingScopes { missing, .. } => {
            assert_eq!(missing, &["user:write:chat", "user:bot"])
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        fake.requests()[0].params["scopes"],
        "chat:read chat:edit user:write:chat user:bot"
    );
    assert!(store.get("twitch-token").await.unwrap().is_none());
}

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
async fn a_bare_access_token_works_until_refused_then_says_what_to_do() {
    let fake = start_fake().await;
    let (access, _) = fake.mint(&["chat:read", "chat:edit"]);
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    store
        .set("twitch-access-token", &Secret::new(access.clone()))
        .await
        .unwrap();
    let manager = TokenManager::load(&settings(&fake), store.clone(), clock())
        .await
        .unwrap();
    // Login comes from /validate even before `start`.
    let pair = manager.credentials().get_credentials().await.unwrap();
    assert_eq!(pair.login, "tiktwitch_bot");
    assert_eq!(pair.token.as_deref(), Some(access.as_str()));
    fake.expire_access_tokens();
    let err = manager.validate().await.unwrap_err();
    assert!(matches!(err, AuthError::ReauthRequired { .. }), "{err}");
    assert!(err.to_string().contains("bare"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn login_with_a_brought_token_validates_and_stores_it() {
    let fake = start_fake().await;
    let (access, refresh) = fake.mint(&["chat:read", "chat:edit"]);
    let store = MemoryStore::new();
    let info = account::login_with_token(
        &settings(&fake),
        &store,
        clock().as_ref(),
        Secret::new(access.clone()),
        Some(Secret::new(refresh.clone())),
    )
    .await
    .unwrap();
    assert_eq!(info.user_id.as_deref(), Some("424242"));
    let t = stored(&store).await;
    assert_eq!(t.access_token.expose(), access);
    assert_eq!(t.refresh_token.unwrap().expose(), refresh);

    let err = account::login_with_token(
        &settings(&fake),
        &store,
        clock().as_ref(),
        Secret::new("not-a-token"),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn status_shows_login_scopes_expiry_and_never_the_token() {
    let fake = start_fake().await;
    let store = MemoryStore::new();
    let clock = clock();
    let (access, refresh) = seed(&fake, &store, clock.as_ref()).await;
    let status = account::status(&settings(&fake), &store, clock.as_ref())
        .await
        .unwrap();
    let text = status.to_string();
    let debug = format!("{status:?}");
    for shown in [&text, &debug] {
        assert!(
            !shown.contains(&access) && !shown.contains(&refresh),
            "{shown}"
        );
    }
    assert!(text.contains("tiktwitch_bot"), "{text}");
    assert!(text.contains("chat:read chat:edit"), "{text}");
    assert!(
        text.contains("expires in:   3h 59m") || text.contains("expires in:   4h 00m"),
        "{text}"
    );
    assert!(text.contains("validation:   valid"), "{text}");
    assert_eq!(fake.count("token"), 0, "status never refreshes");
}

#[tokio::test(start_paused = true)]
async fn logout_revokes_and_deletes() {
    let fake = start_fake().await;
    let store = MemoryStore::new();
    let clock = clock();
    let (access, refresh) = seed(&fake, &store, clock.as_ref()).await;
    let out = account::logout(&settings(&fake), &store).await.unwrap();
    assert!(out.had_token);
    assert_eq!(out.revoked, Ok(()));
    assert!(!fake.is_access_token_valid(&access));
    assert!(!fake.is_refresh_token_valid(&refresh));
    assert!(store.get("twitch-token").await.unwrap().is_none());
    let revoke = fake
        .requests()
        .into_iter()
        .find(|r| r.endpoint == "revoke")
        .unwrap();
    assert_eq!(revoke.params["token"], access);

    let again = account::logout(&settings(&fake), &store).await.unwrap();
    assert!(!again.had_token);
}

#[tokio::test(start_paused = true)]
async fn a_new_login_revokes_the_token_it_replaces() {
    let fake = start_fake().await;
    let store = MemoryStore::new();
    let clock = clock();
    let (old_access, _) = seed(&fake, &store, clock.as_ref()).await;
    account::login_device(&settings(&fake), &store, clock.as_ref(), |_| {})
        .await
        .unwrap();
    assert!(!fake.is_access_token_valid(&old_access));
    assert_ne!(stored(&store).await.access_token.expose(), old_access);
}

#[tokio::test(start_paused = true)]
async fn a_login_into_a_read_only_store_is_refused_before_asking_the_user() {
    let fake = start_fake().await;
    let store = tiktwitch::secret::EnvStore::from_vars("T_", [], None);
    let err = account::login_device(&settings(&fake), &store, clock().as_ref(), |_| {
        panic!("no code may be shown")
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(fake.requests().len(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_token_that_needs_refreshing_in_a_read_only_store_is_not_refreshed() {
    let fake = start_fake().await;
    let (access, refresh) = fake.mint(&["chat:read", "chat:edit"]);
    let mut token = StoredToken::bare(Secret::new(access), 0);
    token.refresh_token = Some(Secret::new(refresh.clone()));
    let store = tiktwitch::secret::EnvStore::from_vars(
        "T_",
        [("T_TWITCH_TOKEN".to_string(), token.to_secret())],
        None,
    );
    let manager = TokenManager::load(&settings(&fake), Arc::new(store), clock())
        .await
        .unwrap();
    let err = manager.force_refresh().await.unwrap_err();
    assert!(matches!(err, AuthError::StoreCannotRefresh { .. }), "{err}");
    assert!(err.is_fatal());
    let text = err.to_string();
    assert!(
        text.contains("read-only") && text.contains("secret_store = \"file\" or \"keyring\""),
        "{text}"
    );
    // From then on the login is dead, with the same reason.
    let again = manager.fresh_token().await.unwrap_err();
    assert!(matches!(again, AuthError::ReauthRequired { .. }), "{again}");
    assert!(again.to_string().contains("read-only"), "{again}");
    assert!(
        fake.is_refresh_token_valid(&refresh),
        "the refresh token was not spent"
    );
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
