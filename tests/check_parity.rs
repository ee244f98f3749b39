//! Whatever `run` would refuse, `tiktwitch check` refuses first, with the key path: loose
//! types, a file that is not UTF-8, a bridge's own secret names and proxy, a corrupt event
//! ring file. And `run`'s error says each cause once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BASE: &str = r#"secret_store = "env"
[tiktok]
username = "@creator"
web_base_url = "http://127.0.0.1:9"
webcast_base_url = "http://127.0.0.1:9"
signer_base_url = "http://127.0.0.1:9"
[twitch]
channels = ["mychannel"]
bot_login = "mybot"
client_id = "abc"
server = "127.0.0.1:9"
oauth_base_url = "http://127.0.0.1:9"
"#;

fn tiktwitch(command: &str, config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiktwitch"))
        .arg(command)
        .arg("--config")
        .arg(config)
        .env_remove("TIKTWITCH_CONFIG")
        .env("TIKTWITCH_SECRET_TWITCH_TOKEN", "{\"access_token\":\"x\"}")
        .env("TIKTWITCH_SECRET_API_TOKEN", "t")
        .output()
        .unwrap()
}

fn check_bytes(dir: &tempfile::TempDir, bytes: &[u8]) -> (i32, String) {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, bytes).unwrap();
    let out = tiktwitch("check", &path);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn check(dir: &tempfile::TempDir, text: &str) -> (i32, String) {
    check_bytes(dir, text.as_bytes())
}

#[test]
fn the_base_config_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = check(&dir, BASE);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn loose_types_are_refused_at_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace(
        "[twitch]\n",
        "[twitch]\ntls = \"no\"\nqueue_capacity = 64.5\ndedupe_window_secs = \"30\"\n",
    ) + "[http]\nenabled = 1\n";
    let (code, out) = check(
        &dir,
        &text.replace("client_id = \"abc\"", "client_id = 12345"),
    );
    assert_eq!(code, 1, "{out}");
    for expected in [
        "twitch.tls: expected true or false, found string \"no\"",
        "twitch.queue_capacity: 64.5 is not a whole number: 1 to 10_000",
        "twitch.dedupe_window_secs: expected a number, found string \"30\"",
        "twitch.client_id: expected a string, found integer 12345",
        "http.enabled: expected true or false, found integer 1",
    ] {
        assert!(out.contains(expected), "{expected:?} not in {out}");
    }
    assert!(out.contains("5 problems"), "{out}");
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"[log]\nfilter = \"info\xff\"\n");
    let (code, out) = check_bytes(&dir, &bytes);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not UTF-8 text: byte 0xff at line 14, column 15"),
        "{out}"
    );
}

#[test]
fn a_bridges_own_tiktok_keys_are_checked_like_tiktok() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}[[bridge]]\nname = \"a\"\n[bridge.tiktok]\nsigner_api_key = \"my key!\"\n\
         session_id = \"oauth:abc\"\nproxy = \"https://proxy.example:443\"\nheartbeat_secs = 0\n"
    );
    let (code, out) = check(&dir, &text);
    assert_eq!(code, 1, "{out}");
    for expected in [
        "bridge[0].tiktok.signer_api_key: ",
        "bridge[0].tiktok.session_id: ",
        "bridge[0].tiktok.proxy: scheme `https` is not supported",
        "bridge[0].tiktok.heartbeat_secs: 0 is out of range: 1 to 120",
    ] {
        assert!(out.contains(expected), "{expected:?} not in {out}");
    }
    assert!(out.contains("4 problems"), "{out}");
}

#[test]
fn a_proxy_the_source_cannot_dial_is_refused_by_check() {
    let dir = tempfile::tempdir().unwrap();
    for (proxy, ok) in [
        ("http://127.0.0.1:8080", true),
        ("socks5://127.0.0.1:1080", true),
        ("socks5h://u:p@127.0.0.1:1080", true),
        ("https://127.0.0.1:8443", false),
    ] {
        let text = BASE.replace("[twitch]\n", &format!("proxy = \"{proxy}\"\n[twitch]\n"));
        let (code, out) = check(&dir, &text);
        assert_eq!(code == 0, ok, "{proxy}: {out}");
        // The source agrees.
        assert_eq!(
            tiktwitch::source::tiktok::proxy::ProxyConfig::parse(proxy).is_ok(),
            ok,
            "{proxy}"
        );
    }
}

fn ring_config(dir: &tempfile::TempDir, ring: &Path) -> PathBuf {
    let path = dir.path().join("config.toml");
    let text = format!(
        "{BASE}[http]\nenabled = true\nbind = \"127.0.0.1:0\"\n[api]\nenabled = true\nring_path = {:?}\n",
        ring.display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_corrupt_ring_file_is_refused_by_check_and_run_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("events.sqlite");
    let config = ring_config(&dir, &ring);
    // No file yet: run creates it, check says nothing against it (and creates nothing).
    let out = tiktwitch("check", &config);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("api.ring_path"), "{text}");
    assert!(!ring.exists(), "check changes nothing");

    std::fs::write(
        &ring,
        b"this is not an SQLite database, not at all. ".repeat(200),
    )
    .unwrap();
    let out = tiktwitch("check", &config);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("NOT usable: api.ring_path: event ring file"),
        "{text}"
    );
    assert!(text.contains("file is not a database"), "{text}");

    let out = tiktwitch("run", &config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        line.matches("file is not a database").count(),
        1,
        "each cause once: {line}"
    );
}

#[test]
fn helix_is_accepted_by_check_as_by_run_and_the_app_path_needs_the_client_secret() {
    let dir = tempfile::tempdir().unwrap();
    let helix = BASE.replace(
        "[twitch]\n",
        "[twitch]\nsink = \"helix\"\nhelix_base_url = \"http://127.0.0.1:9/helix\"\n",
    );
    let (code, out) = check(&dir, &helix);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("over Helix (user token)"), "{out}");

    // The app-token path without a client secret: refused by both, at the key.
    let app = helix.replace(
        "sink = \"helix\"\n",
        "sink = \"helix\"\nhelix_token = \"app\"\n",
    );
    let (code, out) = check(&dir, &app);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("twitch.client_secret"), "{out}");
    let path = dir.path().join("config.toml");
    let run = tiktwitch("run", &path);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_ne!(run.status.code(), Some(0), "{err}");
    assert!(err.contains("twitch.client_secret"), "{err}");
    let with_secret = app.replace(
        "helix_token = \"app\"\n",
        "helix_token = \"app\"\nclient_secret = \"twitch-client-secret\"\n",
    );
    let (code, out) = check(&dir, &with_secret);
    assert!(
        out.contains("over Helix (app token, Chat Bot badge)"),
        "{out}"
    );
    // The env store has no client secret in this test: check says so, as run would.
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("twitch-client-secret"), "{out}");
}
