//! A whole Twitch login session (device flow with pending and slow_down, a confidential
//! client's refresh with rotation, hourly validation with a 401 and the refresh it causes,
//! IRC credential fetches, status, a refused refresh, logout) with every log at TRACE,
//! reqwest's and hyper's included, captured into a buffer: no secret value may appear in
//! it, nor in the `Debug` or `Display` form of any type the session touched.
//!
//! Its own test binary: it installs the process-wide tracing subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tiktwitch::auth::{AuthSettings, StoredToken, TokenManager, TokioClock, account};
use tiktwitch::secret::{EnvStore, FileStore, FileStoreMode, MemoryStore, Secret, SecretStore};
use tiktwitch::standin::oauth::{DevicePoll, FakeOAuth, FakeOAuthConfig};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::LoginCredentials;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(start_paused = true)]
async fn a_whole_session_at_trace_level_shows_no_secret() {
    let logs = Buffer::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .try_init()
        .unwrap();

    let client_secret = "client-secret-do-not-log-0451";
    let fake = FakeOAuth::start(FakeOAuthConfig {
        client_secret: Some(client_secret.into()),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file_store = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(file_store.clone());
    store
        .set("twitch-client-secret", &Secret::new(client_secret))
        .await
        .unwrap();
    let settings = AuthSettings {
        client_id: fake.config().client_id.clone(),
        client_secret_name: Some("twitch-client-secret".into()),
        oauth_url: fake.base_url(),
        state_dir: dir.path().to_path_buf(),
        ..AuthSettings::default()
    };
    let clock = Arc::new(TokioClock::new());
    let mut debug: Vec<String> = Vec::new();
    let mut note = |s: String| debug.push(s);

    // Device flow.
    fake.script_device([
        DevicePoll::Pending,
        DevicePoll::SlowDown,
        DevicePoll::Pending,
    ]);
    let mut shown = None;
    let info = account::login_device(&settings, store.as_ref(), clock.as_ref(), |code| {
        shown = Some(format!("{code:?} {code:#?}"));
    })
    .await
    .unwrap();
    note(shown.unwrap());
    note(format!("{info:?}"));

    // Run the bridge's side: start, IRC credentials, hourly validation with a 401, refresh.
    let manager = TokenManager::load(&settings, store.clone(), clock.clone())
        .await
        .unwrap();
    note(format!("{:?}", manager.start().await.unwrap()));
    let creds = manager.credentials();
    let pair = creds.get_credentials().await.unwrap();
    tracing::info!(?pair, ?creds, "irc credentials fetched");
    note(format!("{pair:?} {creds:?} {manager:?} {manager:#?}"));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(manager.clone().run(shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(3600 + 5)).await;
    fake.fail_next_validations(1);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    // And past the expiry margin: a refresh because the token is old.
    tokio::time::sleep(Duration::from_secs(4 * 3600)).await;
    let stats = manager.stats();
    assert!(stats.refreshes >= 2, "{stats:?}");
    assert_eq!(stats.validation_rejections, 1, "{stats:?}");
    let pair = creds.get_credentials().await.unwrap();
    note(format!(
        "{pair:?} {:?}",
        manager.fresh_token().await.unwrap()
    ));
    manager.force_refresh().await.unwrap();
    let stored =
        StoredToken::from_secret(&store.get("twitch-token").await.unwrap().unwrap()).unwrap();
    note(format!("{stored:?} {stored:#?} {:?}", stored.to_secret()));

    // Status, a direct client call, the stores' Debug forms.
    let status = account::status(&settings, store.as_ref(), clock.as_ref())
        .await
        .unwrap();
    note(format!("{status} {status:?}"));
    let client = settings.oauth_client(store.as_ref()).await.unwrap();
    let (_, minted_refresh) = fake.mint(&["chat:read"]);
    let grant = client.refresh(&Secret::new(minted_refresh)).await.unwrap();
    note(format!("{client:?} {grant:?} {grant:#?} {settings:?}"));
    let memory = MemoryStore::new();
    memory.set("x", &Secret::new(client_secret)).await.unwrap();
    let env = EnvStore::from_vars(
        "P_",
        [("P_X".to_string(), Secret::new(client_secret))],
        None,
    );
    note(format!(
        "{file_store:?} {memory:?} {env:?} {store:?} {fake:?}"
    ));

    // The login is revoked behind our back: the refresh is refused, the task ends.
    fake.expire_access_tokens();
    fake.refuse_all_refreshes();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let err = task.await.unwrap().unwrap_err();
    tracing::error!(error = %err, ?err, "session ended");
    note(format!("{err} {err:?}"));
    let irc_err = creds.get_credentials().await.unwrap_err();
    note(format!("{irc_err} {irc_err:?}"));
    drop(shutdown);

    let out = account::logout(&settings, store.as_ref()).await.unwrap();
    note(format!("{out:?}"));

    // Every secret of the session.
    let mut secrets = fake.issued_secrets();
    secrets.push(client_secret.to_string());
    assert!(secrets.len() >= 10, "{}", secrets.len());
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The captures are real: they hold the events we expect (our own, and reqwest's/hyper's).
    for expected in [
        "device login pending",
        "slow_down",
        "refreshing twitch token",
        "irc credentials fetched",
        "twitch login marked dead",
        "TRACE",
    ] {
        assert!(
            logs.contains(expected),
            "missing {expected:?} in the captured logs"
        );
    }
    // And the file store really holds secrets (so "not found" below means something).
    let raw = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
    assert!(raw.contains(client_secret));
    if std::env::var_os("TIKTWITCH_DUMP_LOGS").is_some() {
        eprintln!("{logs}");
    }
    let all_debug = debug.join("\n");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "secret {}... found in the TRACE logs",
            &secret[..6]
        );
        assert!(
            !all_debug.contains(secret.as_str()),
            "secret {}... found in a Debug/Display form",
            &secret[..6]
        );
    }
}
