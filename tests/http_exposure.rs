//! Who may reach the HTTP listener: on an address other machines can reach, an enabled
//! `[feed]` must name a token and an enabled `[api]` must have its token stored, unless
//! `[http] public = true` says the open service is meant. `check` refuses such a config
//! first, with the key path; `run` refuses it before connecting anything.
//!
//! The real binary, real config files, the environment secret store.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use tiktwitch::config;
use tiktwitch::daemon::{DaemonError, Plan};
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};

/// A config with one bridge and `http` as the `[http]` section's extra lines, `rest`
/// appended (`[feed]`, `[api]`).
fn write(dir: &Path, bind: &str, http_extra: &str, rest: &str) -> std::path::PathBuf {
    let text = format!(
        r#"secret_store = "env"

[twitch]
channels = ["some_channel"]
bot_login = "tiktwitch_bot"
client_id = "exposure-client"

[tiktok]
username = "@creator"

[http]
enabled = true
bind = "{bind}"
{http_extra}
{rest}
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `tiktwitch --config PATH ARGS` with `secrets` as `TIKTWITCH_SECRET_*` variables.
fn tiktwitch(path: &Path, args: &[&str], secrets: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.arg("--config").arg(path).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("TIKTWITCH") {
            cmd.env_remove(key);
        }
    }
    for (name, value) in secrets {
        cmd.env(
            format!("TIKTWITCH_SECRET_{}", name.to_uppercase().replace('-', "_")),
            value,
        );
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

const OPEN_FEED: &str = "reachable from other machines and the feed has no token";

#[test]
fn an_open_feed_on_a_public_address_is_refused_by_check_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let feed = "[feed]\nenabled = true\n";
    for bind in ["0.0.0.0:9464", "[::]:9464", "192.168.1.5:9464"] {
        let path = write(dir.path(), bind, "", feed);
        let (out, text) = tiktwitch(&path, &["check"], &[]);
        assert!(!out.status.success(), "{bind}: {text}");
        assert!(text.contains("feed.token"), "{bind}: the key path\n{text}");
        assert!(text.contains(OPEN_FEED), "{bind}: {text}");
        assert!(
            text.contains("public = true"),
            "{bind}: the way out\n{text}"
        );
        let (out, run) = tiktwitch(&path, &["run"], &[]);
        assert!(!out.status.success(), "{bind}: run started:\n{run}");
        assert!(
            run.contains("feed.token") && run.contains(OPEN_FEED),
            "{run}"
        );
    }
    // Loopback, a named token, or `public = true`: no such problem.
    for (bind, extra, rest) in [
        ("127.0.0.1:9464", "", feed.to_owned()),
        ("127.0.0.2:9464", "", feed.to_owned()),
        ("[::1]:9464", "", feed.to_owned()),
        ("0.0.0.0:9464", "public = true", feed.to_owned()),
        (
            "0.0.0.0:9464",
            "",
            format!("{feed}token = \"feed-token\"\n"),
        ),
    ] {
        let path = write(dir.path(), bind, extra, &rest);
        let (_, text) = tiktwitch(&path, &["check"], &[("feed-token", "f")]);
        assert!(!text.contains(OPEN_FEED), "{bind} {extra} {rest}: {text}");
    }
    // Only the health and metrics endpoints on 0.0.0.0 (the container case): allowed.
    let path = write(dir.path(), "0.0.0.0:9464", "", "");
    let (_, text) = tiktwitch(&path, &["check"], &[]);
    assert!(!text.contains(OPEN_FEED), "{text}");
    assert!(!text.contains("api.token"), "{text}");
}

#[test]
fn check_requires_the_api_token_on_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let api = "[api]\nenabled = true\n";
    let path = write(dir.path(), "0.0.0.0:9464", "", api);
    let (out, text) = tiktwitch(&path, &["check"], &[]);
    assert!(!out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("api.token"))
        .unwrap_or_else(|| panic!("no api.token line:\n{text}"));
    assert!(line.contains("MISSING"), "{line}");
    assert!(
        text.contains("required: [http] bind `0.0.0.0:9464` is not loopback"),
        "{text}"
    );
    // Stored: present. On loopback: optional, as before.
    let (_, text) = tiktwitch(&path, &["check"], &[("api-token", "t")]);
    assert!(
        !text.contains("MISSING (run `tiktwitch secret set api-token`)"),
        "{text}"
    );
    let path = write(dir.path(), "127.0.0.1:9464", "", api);
    let (_, text) = tiktwitch(&path, &["check"], &[]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("api.token"))
        .unwrap();
    assert!(
        line.contains("missing (") && !line.contains("MISSING"),
        "{line}"
    );
}

/// `run`'s own refusal: the plan's secrets are resolved before anything connects.
#[tokio::test]
async fn run_refuses_an_api_without_its_token_on_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let api = "[api]\nenabled = true\n";
    let plan_for = |bind: &str, extra: &str| {
        let path = write(dir.path(), bind, extra, api);
        let loaded = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
            .unwrap_or_else(|e| panic!("{e}"));
        Plan::from_config(&loaded, None).unwrap()
    };
    let empty: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let mut plan = plan_for("0.0.0.0:9464", "");
    let err = plan.resolve_secrets(empty.as_ref()).await.unwrap_err();
    assert!(matches!(err, DaemonError::MissingSecret { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("api.token"), "the key path first: {text}");
    assert!(
        text.contains("not loopback") && text.contains("public = true"),
        "{text}"
    );
    // The same daemon entry point `run` uses refuses it before connecting anything.
    let plan = plan_for("0.0.0.0:9464", "");
    let err = tiktwitch::daemon::run(plan, empty.clone(), std::future::pending(), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("api.token"), "{err}");

    for (bind, extra) in [("127.0.0.1:9464", ""), ("0.0.0.0:9464", "public = true")] {
        let mut plan = plan_for(bind, extra);
        plan.resolve_secrets(empty.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{bind} {extra}: {e}"));
        assert!(plan.feed.api_token.is_none());
    }
    let store = MemoryStore::new();
    store.set("api-token", &Secret::new("t")).await.unwrap();
    let mut plan = plan_for("0.0.0.0:9464", "");
    plan.resolve_secrets(&store).await.unwrap();
    assert!(plan.feed.api_token.is_some());
}
