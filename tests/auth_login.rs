//! The Twitch login against the OAuth stand-in on 127.0.0.1: the device flow (pending,
//! slow_down, denied, expired, missing scopes), a brought token, status, logout and
//! revocation, and read-only stores. Refresh and validation are tests/auth_refresh.rs.
//!
//! Time is tokio's paused clock (`start_paused`), and the manager's wall clock follows it
//! (`TokioClock`), so hours pass in microseconds.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::auth::{clock, seed, settings, start_fake, stored};
use tiktwitch::auth::{AuthError, StoredToken, TokenManager, account};
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};
use tiktwitch::standin::oauth::{DevicePoll, FakeOAuth, FakeOAuthConfig};
use twitch_irc::login::LoginCredentials;

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
            assert_eq!(missing, &["user:write:chat"])
        }
        other => panic!("{other}"),
    }
    // The Helix sink sends with user:write:chat; it needs no IRC scope.
    assert_eq!(fake.requests()[0].params["scopes"], "user:write:chat");
    assert!(store.get("twitch-token").await.unwrap().is_none());

    // The app-token path (Chat Bot badge) also needs user:bot of the bot.
    s.helix_app_token = true;
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
        fake.requests()
            .iter()
            .rev()
            .find(|r| r.endpoint == "device")
            .unwrap()
            .params["scopes"],
        "user:write:chat user:bot"
    );
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
