//! How `run` and `check --online` behave when the token cannot be kept alive from its store:
//! the real binary, the env secret store (read-only: a refreshed token has nowhere to go),
//! the OAuth and chat stand-ins on 127.0.0.1.
//!
//! Seen before (#16 item 5): a token that expired and could not be refreshed there made
//! 475 IRC reconnects in 10 ms and 1,906 log lines before the process exited, while
//! `check --online` called the token usable. Now: one clear error with what to do, no
//! reconnect storm, and `check --online` says when the token expires and that this store
//! cannot refresh it.
//!
//! The tests wait on the child process (with generous deadlines as failure bounds), never
//! on fixed sleeps. Unix only, like the other process tests (they share the stand-ins'
//! loopback setup and the file store's mode bits).
#![cfg(unix)]

mod support;

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tiktwitch::auth::{AuthError, AuthSettings, TokenManager, TokioClock, TwitchCredentials};
use tiktwitch::secret::{EnvStore, Secret, SecretStore, SecretStoreKind};
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{TwitchSink, TwitchSinkSettings};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use twitch_irc::login::{CredentialsPair, LoginCredentials};

const SIGNER_KEY: &str = "store-failure-signer-key";

struct World {
    oauth: FakeOAuth,
    twitch: FakeTwitch,
    tiktok: FakeTikTok,
    dir: tempfile::TempDir,
}

impl World {
    /// Stand-ins whose access tokens live `access_ttl`.
    async fn start(access_ttl: Duration) -> Self {
        let oauth = FakeOAuth::start(FakeOAuthConfig {
            access_ttl,
            ..FakeOAuthConfig::default()
        })
        .await
        .unwrap();
        let twitch = FakeTwitch::start(FakeTwitchConfig::default())
            .await
            .unwrap();
        let tiktok = FakeTikTok::start(FakeTikTokConfig {
            username: "erin".into(),
            api_key: Some(SIGNER_KEY.into()),
            ..FakeTikTokConfig::default()
        })
        .await
        .unwrap();
        Self {
            oauth,
            twitch,
            tiktok,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A config with `secret_store = "env"` pointing at the stand-ins.
    fn config(&self) -> std::path::PathBuf {
        let text = format!(
            r#"secret_store = "env"
state_dir = "{state}"

[twitch]
bot_login = "tiktwitch_bot"
server = "{server}"
tls = false
client_id = "{client_id}"
oauth_base_url = "{oauth}"
"#,
            state = self.dir.path().join("state").display(),
            server = self.twitch.addr(),
            client_id = self.oauth.config().client_id,
            oauth = self.oauth.base_url(),
        ) + &self.tiktok.bridge_toml("erin", "erin_tv");
        let path = self.dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The token JSON `tiktwitch auth` writes, for a freshly minted pair (expiry unknown
    /// until `/validate` says it).
    fn token_json(&self) -> String {
        let (access, refresh) = self.oauth.mint(&["chat:read", "chat:edit"]);
        serde_json::json!({
            "version": 1,
            "access_token": access,
            "refresh_token": refresh,
            "login": "tiktwitch_bot",
        })
        .to_string()
    }

    async fn tiktwitch(&self, args: &[&str], token: &str) -> Output {
        let mut cmd = support::process::tiktwitch(&self.config());
        cmd.args(args)
            .env("TIKTWITCH_SECRET_TWITCH_TOKEN", token)
            .env("TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY", SIGNER_KEY)
            .env_remove("RUST_LOG");
        support::process::output(cmd).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_the_env_store_cannot_refresh_stops_run_once_and_calmly() {
    // Twitch says the token has a minute left: less than the refresh margin, so `run` must
    // refresh it, and the env store cannot keep the refreshed pair.
    let world = World::start(Duration::from_secs(60)).await;
    let token = world.token_json();
    let out = world.tiktwitch(&["run"], &token).await;
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    let lines = log.lines().count();
    let reconnects = log.matches("Making a new pool connection").count();
    assert!(
        reconnects <= 1,
        "{reconnects} IRC connections attempted:\n{log}"
    );
    assert!(lines <= 12, "{lines} log lines:\n{log}");
    // Said once, with what to do.
    let fix = "secret_store = \"file\" or \"keyring\"";
    assert_eq!(log.matches(fix).count(), 1, "{log}");
    assert!(log.contains("read-only"), "{log}");
    assert!(log.contains("tiktwitch auth twitch"), "{log}");
    // Nothing was spent: the refresh token is still good (a later run with a writable
    // store can use it).
    let refresh = serde_json::from_str::<serde_json::Value>(&token).unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(world.oauth.is_refresh_token_valid(&refresh));
    assert_eq!(world.twitch.connections(), 0);
}

/// Counts twitch-irc's credential fetches, and tells when they run away.
#[derive(Clone, Debug)]
struct CountingCredentials {
    inner: TwitchCredentials,
    calls: Arc<AtomicUsize>,
    storm: Arc<Notify>,
}

/// More fetches than any backoff allows in the test's window: a storm.
const STORM: usize = 200;

#[async_trait::async_trait]
impl LoginCredentials for CountingCredentials {
    type Error = AuthError;

    async fn get_credentials(&self) -> Result<CredentialsPair, AuthError> {
        if self.calls.fetch_add(1, Ordering::AcqRel) + 1 >= STORM {
            self.storm.notify_one();
        }
        self.inner.get_credentials().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_login_that_cannot_be_had_is_retried_with_backoff_not_in_a_storm() {
    // The real twitch-irc client over the token manager, the env store holding a bare
    // token (nothing to refresh it with) that Twitch then stops accepting.
    let world = World::start(Duration::from_secs(4 * 3600)).await;
    let (access, _) = world.oauth.mint(&["chat:read", "chat:edit"]);
    let store: Arc<dyn SecretStore> = Arc::new(EnvStore::from_vars(
        "TIKTWITCH_SECRET_",
        [(
            "TIKTWITCH_SECRET_TWITCH_ACCESS_TOKEN".to_string(),
            Secret::new(access),
        )],
        None,
    ));
    let settings = AuthSettings {
        client_id: world.oauth.config().client_id.clone(),
        oauth_url: world.oauth.base_url(),
        secret_store: SecretStoreKind::Env,
        ..AuthSettings::default()
    };
    let manager = TokenManager::load(&settings, store, Arc::new(TokioClock::new()))
        .await
        .unwrap();
    manager.start().await.unwrap();
    // The bridge's upkeep task sleeps until the hourly validation...
    let upkeep = tokio::spawn(manager.clone().run(CancellationToken::new()));
    world.oauth.expire_access_tokens();
    let err = manager.validate().await.unwrap_err();
    assert!(matches!(err, AuthError::ReauthRequired { .. }), "{err}");
    // ...and ends at once when the login is found dead elsewhere: the bridge stops.
    let ended = tokio::time::timeout(Duration::from_secs(1), upkeep)
        .await
        .expect("the upkeep task did not notice the dead login")
        .unwrap();
    assert!(
        matches!(ended, Err(AuthError::ReauthRequired { .. })),
        "{ended:?}"
    );

    let calls = Arc::new(AtomicUsize::new(0));
    let storm = Arc::new(Notify::new());
    let creds = CountingCredentials {
        inner: manager.credentials(),
        calls: calls.clone(),
        storm: storm.clone(),
    };
    let shutdown = CancellationToken::new();
    let sink_settings = TwitchSinkSettings {
        server: world.twitch.addr().to_string(),
        tls: false,
        bot_login: "tiktwitch_bot".into(),
        channels: vec!["erin_tv".into()],
        ..TwitchSinkSettings::default()
    };
    let (_sink, task) = TwitchSink::new(sink_settings)
        .start_on::<RoutedTcp<3>, _>(creds, shutdown.clone())
        .unwrap();
    let window = Duration::from_secs(600);
    tokio::select! {
        () = storm.notified() => panic!(
            "{} credential fetches (each one an IRC reconnect) before {window:?} passed",
            calls.load(Ordering::Acquire)
        ),
        () = tokio::time::sleep(window) => {}
    }
    // 1 s doubling to 60 s: fetches at 0, 1, 3, 7, 15, 31, 63, 123, 183 ... 543 s.
    let made = calls.load(Ordering::Acquire);
    assert!((8..=16).contains(&made), "{made} fetches in {window:?}");
    assert_eq!(
        world.twitch.connections(),
        0,
        "no socket without credentials"
    );
    shutdown.cancel();
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_online_says_when_the_token_expires_and_that_the_env_store_cannot_renew_it() {
    // Four hours left: usable now, and `check` says when `run` will stop and why.
    let world = World::start(Duration::from_secs(4 * 3600)).await;
    let out = world
        .tiktwitch(&["check", "--online"], &world.token_json())
        .await;
    let shown =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("expires in 3h 5"), "{shown}");
    assert!(
        shown.contains("NOT renewable here: env ($TIKTWITCH_SECRET_<NAME>) is read-only"),
        "{shown}"
    );
    assert!(shown.contains("warning: `run` stops in 3h 4"), "{shown}");

    // A minute left: `run` would refuse to start, so `check` refuses first.
    let world = World::start(Duration::from_secs(60)).await;
    let out = world
        .tiktwitch(&["check", "--online"], &world.token_json())
        .await;
    let shown =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("expires in 0h 0"), "{shown}");
    assert!(
        shown.contains("NOT usable: it must be refreshed now and this store is read-only"),
        "{shown}"
    );
}
