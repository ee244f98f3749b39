//! `tiktwitch init` end to end, as a newcomer runs it: the real binary, answers piped on
//! standard input, the device-flow login against the stand-in OAuth server, the final
//! `check --online` against the stand-in TikTok. No keyring answers here (the D-Bus address
//! points nowhere), so `auto` must take the file store and say so.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tiktwitch::secret::{FileStore, FileStoreMode, SecretStore};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig};

const SIGNER_KEY: &str = "init-signer-key-0123";

async fn init(
    dir: &Path,
    oauth: &FakeOAuth,
    tiktok: &FakeTikTok,
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.arg("init")
        .args(args)
        .args(["--oauth-url", &oauth.base_url()])
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("TIKTWITCH_STATE_DIR", dir.join("state"))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        // The final check --online reaches the stand-in TikTok through env overrides.
        .env("TIKTWITCH__TIKTOK__WEB_BASE_URL", tiktok.base_url())
        .env("TIKTWITCH__TIKTOK__WEBCAST_BASE_URL", tiktok.base_url())
        .env("TIKTWITCH__TIKTOK__SIGNER_BASE_URL", tiktok.base_url())
        .env_remove("TIKTWITCH_CONFIG")
        .env_remove("TIKTWITCH_CLIENT_ID")
        .env_remove("TIKTWITCH_SECRET_STORE")
        .env_remove("TIKTWITCH_KEYRING_BACKEND")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    // Wait off the runtime: the stand-ins answer the child from this runtime.
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_signs_in_stores_the_secrets_writes_the_config_and_checks_it() {
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        device_interval: 1,
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The creator and channel from flags; the client id and the signer key answered on
    // stdin, as a person would type them.
    let out = init(
        dir.path(),
        &oauth,
        &tiktok,
        &["--tiktok", "@alice", "--channel", "#Chan_A"],
        &format!("fake-client-id\n{SIGNER_KEY}\n"),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("secrets go to: file"), "{stdout}");
    assert!(stdout.contains("no OS keyring answered"), "{stdout}");
    assert!(stdout.contains("signed in as tiktwitch_bot"), "{stdout}");
    assert!(stdout.contains("stored tiktok-signer-api-key"), "{stdout}");
    assert!(
        stdout.contains("`tiktok-signer-api-key`: present"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("usable"),
        "check --online passed: {stdout}"
    );
    assert!(!stdout.contains(SIGNER_KEY) && !stderr.contains(SIGNER_KEY));
    assert_eq!(oauth.count("device"), 1);

    let config = dir.path().join("config/tiktwitch/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    for expected in [
        "username = \"@alice\"",
        "channels = [\"chan_a\"]",
        "bot_login = \"tiktwitch_bot\"",
        "client_id = \"fake-client-id\"",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    {
        let store = FileStore::open(&dir.path().join("state"), FileStoreMode::ReadOnly)
            .await
            .unwrap();
        let key = store.get("tiktok-signer-api-key").await.unwrap().unwrap();
        assert_eq!(key.expose(), SIGNER_KEY);
        assert!(store.get("twitch-token").await.unwrap().is_some());
    }

    // Never over an existing config without --force; nothing is asked or changed.
    let again = init(
        dir.path(),
        &oauth,
        &tiktok,
        &[
            "--tiktok",
            "@bob",
            "--channel",
            "chan_b",
            "--non-interactive",
        ],
        "",
    )
    .await;
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    assert_eq!(oauth.count("device"), 1);

    // --non-interactive names what is missing instead of asking.
    let missing = init(
        dir.path(),
        &oauth,
        &tiktok,
        &["--force", "--non-interactive", "--tiktok", "@bob"],
        "",
    )
    .await;
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("--channel is required"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}
