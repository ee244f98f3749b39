//! No secret in any log line, at any level, nor in `check`'s report or an error (#16 item 2).
//!
//! The real `tiktwitch` binary runs against the stand-ins on 127.0.0.1 with a sentinel for
//! every kind of secret: the Twitch access and refresh tokens (issued by the OAuth stand-in,
//! refreshed once at start so new ones are issued too), the client secret, the signer key,
//! the feed and API tokens and a webhook secret. Every secret is used for real: the IRC
//! `PASS`, a refresh with the client secret, the signer call, a feed client with
//! `?token=`, API calls with `Bearer`, signed webhook POSTs. This runs at `RUST_LOG=trace`
//! (human lines) and at `twitch_irc=trace,hyper=trace,reqwest=trace,...` (JSON lines); then
//! `check` and `check --online`, and `run` on a damaged secrets file and a damaged token,
//! all at trace. No sentinel, nor its first 12 characters, may appear in anything printed.
//!
//! Waits are on events (the stand-ins' reports, the process's exit) with generous deadlines
//! as failure bounds, never fixed sleeps. Unix only: the process is stopped with SIGTERM and
//! the file store's modes are Unix's.
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use support::process::{self, Running};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tiktwitch::standin::twitch::{FakeEvent, FakeTwitch, FakeTwitchConfig};
use tokio::sync::Notify;

const CLIENT_SECRET: &str = "sentinel-client-secret-4a1f9c0e";
const SIGNER_KEY: &str = "sentinel-signer-key-7b2e0d11";
const FEED_TOKEN: &str = "sentinel-feed-token-93c5aa42";
const API_TOKEN: &str = "sentinel-api-token-c0ffee17";
const WEBHOOK_SECRET: &str = "sentinel-webhook-secret-5d17e8";
const ROOM: u64 = 7_500_000_000_000_000_000;

/// A webhook receiver that answers 200 and counts the POSTs.
async fn webhook_receiver() -> (String, Arc<AtomicUsize>, Arc<Notify>) {
    let count = Arc::new(AtomicUsize::new(0));
    let got = Arc::new(Notify::new());
    let (c, g) = (count.clone(), got.clone());
    let app = Router::new().route(
        "/hook",
        post(move || {
            let (c, g) = (c.clone(), g.clone());
            async move {
                c.fetch_add(1, Ordering::AcqRel);
                g.notify_one();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, count, got)
}

struct World {
    oauth: FakeOAuth,
    twitch: FakeTwitch,
    tiktok: FakeTikTok,
    dir: tempfile::TempDir,
    state: PathBuf,
    http: String,
    webhook_url: String,
    webhooks: Arc<AtomicUsize>,
    webhook_seen: Arc<Notify>,
}

impl World {
    async fn start() -> Self {
        let oauth = FakeOAuth::start(FakeOAuthConfig {
            client_secret: Some(CLIENT_SECRET.into()),
            ..FakeOAuthConfig::default()
        })
        .await
        .unwrap();
        let twitch = FakeTwitch::start(FakeTwitchConfig::default())
            .await
            .unwrap();
        let tiktok = FakeTikTok::start(FakeTikTokConfig {
            username: "quinn".into(),
            room_id: ROOM,
            api_key: Some(SIGNER_KEY.into()),
            ..FakeTikTokConfig::default()
        })
        .await
        .unwrap();
        let (webhook_url, webhooks, webhook_seen) = webhook_receiver().await;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        Self {
            oauth,
            twitch,
            tiktok,
            dir,
            state,
            http: format!("127.0.0.1:{}", process::free_port()),
            webhook_url,
            webhooks,
            webhook_seen,
        }
    }

    /// A fresh login (as `tiktwitch auth twitch` stores it) and every other secret, in the
    /// file store (0600 in a 0700 directory).
    fn write_secrets(&self, token_value: serde_json::Value) {
        let mut secrets = serde_json::json!({
            "twitch-client-secret": CLIENT_SECRET,
            "tiktok-signer-api-key": SIGNER_KEY,
            "feed-token": FEED_TOKEN,
            "api-token": API_TOKEN,
            "webhook-secret": WEBHOOK_SECRET,
        });
        secrets["twitch-token"] = token_value;
        self.write_secrets_json(&serde_json::json!({ "version": 1, "secrets": secrets }));
    }

    fn write_secrets_json(&self, file: &serde_json::Value) {
        std::fs::create_dir_all(&self.state).unwrap();
        std::fs::set_permissions(&self.state, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = self.state.join("secrets.json");
        std::fs::write(&path, file.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

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

    fn config(&self, store: &str) -> PathBuf {
        let text = format!(
            r#"secret_store = "{store}"
state_dir = "{state}"

[twitch]
bot_login = "tiktwitch_bot"
server = "{server}"
tls = false
client_id = "{client_id}"
client_secret = "twitch-client-secret"
oauth_base_url = "{oauth}"

[http]
enabled = true
bind = "{http}"

[feed]
enabled = true
token = "feed-token"

[api]
enabled = true
token = "api-token"

[[webhook]]
url = "{hook}"
secret = "webhook-secret"
"#,
            state = self.state.display(),
            server = self.twitch.addr(),
            client_id = self.oauth.config().client_id,
            oauth = self.oauth.base_url(),
            http = self.http,
            hook = self.webhook_url,
        ) + &self.tiktok.bridge_toml("quinn", "quinn_tv");
        let path = self.dir.path().join(format!("config-{store}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, config: &Path, rust_log: &str) -> tokio::process::Command {
        let mut cmd = process::tiktwitch(config);
        cmd.env("RUST_LOG", rust_log);
        cmd
    }

    /// Every secret value there is now: the fixed sentinels and each token the OAuth
    /// stand-in ever issued.
    fn sentinels(&self) -> Vec<String> {
        let mut all: Vec<String> = [
            CLIENT_SECRET,
            SIGNER_KEY,
            FEED_TOKEN,
            API_TOKEN,
            WEBHOOK_SECRET,
        ]
        .map(String::from)
        .to_vec();
        all.extend(self.oauth.issued_secrets());
        all
    }

    fn assert_clean(&self, what: &str, text: &str) {
        assert!(!text.is_empty(), "{what}: nothing was printed");
        for secret in self.sentinels() {
            let head = &secret[..12];
            assert!(
                !text.contains(head),
                "{what}: the secret starting {head:?} appears:\n{text}"
            );
        }
        assert!(!text.contains("PASS oauth:"), "{what}:\n{text}");
    }
}

fn printed(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `run` at `rust_log` until a chat line reached Twitch, the feed, the API and a webhook
/// were used with their tokens; then SIGTERM. Returns everything printed.
async fn run_once(world: &World, rust_log: &str, extra: &[&str], chat: &str) -> String {
    let mut events = world.twitch.subscribe();
    let seen_hooks = world.webhooks.load(Ordering::Acquire);
    world.tiktok.push_script(vec![Step::Frame(frames::single(
        ROOM + 1,
        frames::chat_message(ROOM + 1, ROOM, "fan", chat),
    ))]);
    // The stored access token is refused once: the bridge refreshes at start with the
    // client secret, and the refreshed pair is written to the file store.
    world.oauth.fail_next_validations(1);
    let config = world.config("file");
    let mut cmd = world.command(&config, rust_log);
    cmd.arg("run").args(extra);
    let mut child = Running::spawn(cmd);

    child
        .until("a line reached Twitch", async {
            loop {
                match events.recv().await {
                    Ok(FakeEvent::Privmsg(p))
                        if p.outcome == "delivered" && p.text.contains(chat) =>
                    {
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => panic!("fake Twitch events ended: {e}"),
                }
            }
        })
        .await;
    child
        .until("a webhook arrived", async {
            while world.webhooks.load(Ordering::Acquire) <= seen_hooks {
                world.webhook_seen.notified().await;
            }
        })
        .await;

    // The feed with its token in the query, the API with its bearer token (and a wrong
    // one, so the refusal path logs too).
    let (_ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/ws/quinn?token={FEED_TOKEN}",
        world.http
    ))
    .await
    .expect("the feed accepts its token");
    let http = reqwest::Client::new();
    for (token, want) in [(API_TOKEN, 200), ("wrong-token-value", 401)] {
        let status = http
            .post(format!("http://{}/api/bridges/quinn/pause", world.http))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), want);
    }
    // A pause is kept in state_dir across restarts: resume, so the next run relays.
    let resumed = http
        .post(format!("http://{}/api/bridges/quinn/resume", world.http))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(resumed.status().is_success());
    // With an API token stored, reads need it too.
    let status = http
        .get(format!("http://{}/api/status", world.http))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(status.status().is_success());

    process::signal("TERM", child.pid());
    let (status, text) = child.finish().await;
    assert!(status.success(), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_output_at_trace() {
    let world = World::start().await;
    world.write_secrets(serde_json::Value::String(world.token_json()));

    let trace = run_once(&world, "trace", &[], "first line at trace").await;
    assert!(trace.contains("TRACE"), "the log is at trace level");
    assert!(world.oauth.count("token") >= 1, "a refresh happened");
    world.assert_clean("run at RUST_LOG=trace", &trace);

    let per_crate = run_once(
        &world,
        "twitch_irc=trace,hyper=trace,reqwest=trace,tiktwitch=trace,axum=trace,tower=trace",
        &["--log-format", "json"],
        "second line at per-crate trace",
    )
    .await;
    assert!(per_crate.contains("twitch_irc"), "{per_crate}");
    world.assert_clean("run at per-crate trace, JSON", &per_crate);

    for args in [&["check"][..], &["check", "--online"]] {
        let config = world.config("file");
        let out = {
            let mut cmd = world.command(&config, "trace");
            cmd.args(args);
            process::output(cmd).await
        };
        let text = printed(&out);
        assert!(out.status.success(), "{args:?}: {text}");
        world.assert_clean(&format!("{args:?}"), &text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_secrets_are_errors_that_show_none_of_them() {
    let world = World::start().await;
    // A number where the client secret's string belongs: serde would quote it.
    let number_secret = "918273645546372819";
    world.write_secrets_json(&serde_json::json!({
        "version": 1,
        "secrets": {
            "twitch-client-secret": serde_json::Value::Number(number_secret.parse().unwrap()),
            "twitch-token": world.token_json(),
            "tiktok-signer-api-key": SIGNER_KEY,
        }
    }));
    let config = world.config("file");
    for args in [&["run"][..], &["check"], &["check", "--online"]] {
        let out = {
            let mut cmd = world.command(&config, "trace");
            cmd.args(args);
            process::output(cmd).await
        };
        let text = printed(&out);
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(
            text.contains("`secrets.twitch-client-secret` is a number, expected a string"),
            "{args:?}: {text}"
        );
        assert!(!text.contains(&number_secret[..12]), "{args:?}: {text}");
        world.assert_clean(&format!("{args:?} on a damaged file"), &text);
    }

    // A malformed token in the env store: a raw token where the JSON belongs, and JSON
    // with a number for the access token.
    let env_config = world.config("env");
    let (raw_access, _) = world.oauth.mint(&["chat:read"]);
    for token in [
        format!("\"{raw_access}\""),
        format!(r#"{{"version":1,"access_token":{number_secret}}}"#),
    ] {
        for args in [&["run"][..], &["check", "--online"]] {
            let mut cmd = world.command(&env_config, "trace");
            cmd.args(args)
                .env("TIKTWITCH_SECRET_TWITCH_TOKEN", &token)
                .env("TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY", SIGNER_KEY)
                .env("TIKTWITCH_SECRET_TWITCH_CLIENT_SECRET", CLIENT_SECRET)
                .env("TIKTWITCH_SECRET_FEED_TOKEN", FEED_TOKEN)
                .env("TIKTWITCH_SECRET_API_TOKEN", API_TOKEN)
                .env("TIKTWITCH_SECRET_WEBHOOK_SECRET", WEBHOOK_SECRET);
            let out = process::output(cmd).await;
            let text = printed(&out);
            assert!(!out.status.success(), "{args:?}: {text}");
            assert!(text.contains("damaged"), "{args:?}: {text}");
            assert!(!text.contains(&number_secret[..12]), "{args:?}: {text}");
            world.assert_clean(&format!("{args:?} with a damaged env token"), &text);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_at_trace_shows_no_token() {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tiktwitch"))
        .args(["demo", "--speed", "50"])
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the demo did not finish")
        .unwrap();
    let text = printed(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("TRACE"), "the demo logged at trace");
    // The demo's tokens come from the OAuth stand-in: `fakeat…` / `fakert…`.
    for leak in ["PASS oauth:", "oauth:fake", "fakeat0", "fakert0"] {
        assert!(
            !text.contains(leak),
            "{leak:?} appears in the demo's output"
        );
    }
}
