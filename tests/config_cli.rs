//! The helper commands read the config file: `auth status`, `secret set` and `tail` take
//! the client id, OAuth URL, secret store, state directory, token name and TikTok origins
//! from it; flags override it; and with no config file at all the flags alone still work
//! (a user's first step may be `auth twitch` before writing one).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tiktwitch::auth::StoredToken;
use tiktwitch::secret::{FileStore, FileStoreMode, Secret, SecretStore};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::frames::{chat_message, control_message, single};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};

/// The binary with a clean environment: no store, state dir or client id from the caller.
fn tiktwitch(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.args(args)
        .env_remove("TIKTWITCH_SECRET_STORE")
        .env_remove("TIKTWITCH_STATE_DIR")
        .env_remove("TIKTWITCH_CLIENT_ID")
        .env_remove("TIKTWITCH_OAUTH_URL")
        .env_remove("TIKTWITCH_SIGNER_KEY")
        .env_remove("TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY")
        .env_remove("TIKTWITCH_SESSION_ID")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn output(mut cmd: Command, stdin: Option<&str>) -> Output {
    let stdin = stdin.map(str::to_owned);
    // Off the runtime: the stand-ins answer the child from this runtime.
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn store_token(state: &Path, name: &str, access: &str, refresh: &str) {
    let store = FileStore::open(state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    let mut token = StoredToken::bare(Secret::new(access.to_owned()), 0);
    token.refresh_token = Some(Secret::new(refresh.to_owned()));
    store.set(name, &token.to_secret()).await.unwrap();
}

#[tokio::test]
async fn auth_and_secret_take_their_settings_from_the_config_and_flags_override_it() {
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        client_id: "config-client".into(),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let (access, refresh) = oauth.mint(&["chat:read", "chat:edit"]);
    store_token(&state, "bot-token", &access, &refresh).await;
    let write = |sink: &str, oauth_url: &str| {
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            format!(
                r#"secret_store = "file"
state_dir = "{state}"

[twitch]
client_id = "config-client"
oauth_base_url = "{oauth_url}"
token = "bot-token"
sink = "{sink}"
"#,
                state = state.display(),
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    // The file is incomplete (no creator, no channels): the helpers use what it has.
    let config = write("irc", &oauth.base_url());

    let out = output(tiktwitch(&["--config", &config, "auth", "status"]), None).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("logged in as: tiktwitch_bot"), "{shown}");
    // Validation needs the config's client id and OAuth URL.
    assert!(shown.contains("validation:   valid"), "{shown}");
    assert!(shown.contains(&state.display().to_string()), "{shown}");
    assert!(
        shown.contains("problems (see `tiktwitch check`)"),
        "{shown}"
    );
    assert!(!shown.contains(&access) && !shown.contains(&refresh));

    // The Helix sink in the config asks for the Helix scopes.
    let helix = write("helix", &oauth.base_url());
    let out = output(tiktwitch(&["--config", &helix, "auth", "status"]), None).await;
    let shown = text(&out);
    assert!(
        shown.contains("MISSING:      user:write:chat (run"),
        "{shown}"
    );

    // Flags win over the file: a dead OAuth URL in the file, the fake on the command line;
    // and a token name the file does not know.
    let dead = write("irc", "http://127.0.0.1:9/oauth2");
    let out = output(tiktwitch(&["--config", &dead, "auth", "status"]), None).await;
    let shown = text(&out);
    assert!(shown.contains("could not check"), "{shown}");
    let out = output(
        tiktwitch(&[
            "--config",
            &dead,
            "auth",
            "status",
            "--oauth-url",
            &oauth.base_url(),
        ]),
        None,
    )
    .await;
    let shown = text(&out);
    assert!(shown.contains("validation:   valid"), "{shown}");
    let out = output(
        tiktwitch(&[
            "--config",
            &config,
            "auth",
            "status",
            "--token-name",
            "other",
        ]),
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no Twitch login is stored"),
        "{}",
        text(&out)
    );

    // `secret set` writes into the config's store and state directory...
    let out = output(
        tiktwitch(&[
            "--config",
            &config,
            "secret",
            "set",
            "tiktok-signer-api-key",
        ]),
        Some("from-config\n"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    // ... and `--state-dir` overrides it.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = output(
        tiktwitch(&[
            "--config",
            &config,
            "secret",
            "set",
            "tiktok-signer-api-key",
            "--state-dir",
            &elsewhere.display().to_string(),
        ]),
        Some("from-flag\n"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let read = |dir: &Path| {
        let dir = dir.to_path_buf();
        async move {
            let store = FileStore::open(&dir, FileStoreMode::ReadOnly)
                .await
                .unwrap();
            store
                .get("tiktok-signer-api-key")
                .await
                .unwrap()
                .map(|s| s.expose().to_owned())
        }
    };
    assert_eq!(read(&state).await.as_deref(), Some("from-config"));
    assert_eq!(read(&elsewhere).await.as_deref(), Some("from-flag"));
}

#[tokio::test]
async fn with_no_config_file_the_flags_alone_work() {
    let oauth = FakeOAuth::start(FakeOAuthConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (access, refresh) = oauth.mint(&["chat:read", "chat:edit"]);
    store_token(dir.path(), "twitch-token", &access, &refresh).await;
    let missing = dir.path().join("no-such-config.toml");
    let mut cmd = tiktwitch(&[
        "auth",
        "status",
        "--client-id",
        "fake-client-id",
        "--oauth-url",
        &oauth.base_url(),
        "--secret-store",
        "file",
        "--state-dir",
        &dir.path().display().to_string(),
    ]);
    cmd.env("TIKTWITCH_CONFIG", &missing);
    let out = output(cmd, None).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("validation:   valid"), "{shown}");

    // Also with no config path at all (no XDG_CONFIG_HOME, no HOME).
    let mut cmd = tiktwitch(&[
        "secret",
        "set",
        "x",
        "--state-dir",
        &dir.path().display().to_string(),
    ]);
    cmd.env_remove("TIKTWITCH_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("APPDATA")
        .env_remove("HOME");
    let out = output(cmd, Some("v\n")).await;
    assert!(out.status.success(), "{}", text(&out));

    // `auth twitch` says where a client id comes from when there is none.
    let mut cmd = tiktwitch(&[
        "auth",
        "twitch",
        "--state-dir",
        &dir.path().display().to_string(),
    ]);
    cmd.env("TIKTWITCH_CONFIG", &missing);
    let out = output(cmd, None).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("twitch.client_id"), "{}", text(&out));
}

#[tokio::test]
async fn tail_takes_the_creator_origins_and_signer_key_from_the_config() {
    const KEY: &str = "tail-signer-key-from-store";
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "dora".into(),
        api_key: Some(KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![
        Step::Pause(Duration::from_millis(200)),
        Step::Frame(single(
            11,
            chat_message(11, room, "fan", "hello from config"),
        )),
        Step::Frame(single(12, control_message(12, room, 3))),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    {
        let store = FileStore::open(&state, FileStoreMode::Exclusive)
            .await
            .unwrap();
        store.set("dora-signer", &Secret::new(KEY)).await.unwrap();
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"secret_store = "file"
state_dir = "{state}"

[tiktok]
username = "@dora"
web_base_url = "{base}"
signer_base_url = "{base}"
webcast_base_url = "{base}"
signer_api_key = "dora-signer"
wait_for_live = false
"#,
            state = state.display(),
            base = fake.base_url(),
        ),
    )
    .unwrap();
    let mut cmd = tiktwitch(&["--config", &config.display().to_string(), "tail"]);
    cmd.env("RUST_LOG", "off");
    let out = tokio::time::timeout(Duration::from_secs(60), output(cmd, None))
        .await
        .expect("tail did not stop at the end of the stream");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("hello from config"), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// A newcomer on a headless Linux box (no D-Bus session, no keyring) checks the example
/// config as shipped: the config is fine and the secret store opens (`auto` takes the file
/// store and says so); what remains is only what they have not done yet (the login).
#[tokio::test]
async fn the_example_config_checks_on_a_headless_box() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let mut cmd = tiktwitch(&["check"]);
    cmd.arg("--config")
        .arg(&example)
        .env("TIKTWITCH__STATE_DIR", dir.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let out = output(cmd, None).await;
    let shown = text(&out);
    assert!(
        shown.contains("config.example.toml: ok (1 bridge)"),
        "{shown}"
    );
    assert!(
        shown.contains("secrets (store: auto, chose file"),
        "{shown}"
    );
    assert!(!shown.contains("cannot be opened"), "{shown}");
    assert!(
        shown.contains("`twitch-token`: MISSING (run `tiktwitch auth twitch`)"),
        "{shown}"
    );
    // The login is the one thing left, and check says so with a failing status.
    assert!(!out.status.success());
}
