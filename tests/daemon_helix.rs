//! `run` with `twitch.sink = "helix"`, end to end in one process: a TikTok stand-in, the
//! OAuth stand-in and the Helix stand-in on 127.0.0.1, a real config file, `daemon::spawn`.
//! The broadcaster and sender ids are looked up once; an expired token gets a 401, one
//! refresh against the OAuth stand-in, and the line still arrives; a 429 with
//! `Ratelimit-Reset` delays a line without losing it; `is_sent = false` is counted by its
//! drop reason (sink stats and /metrics). Paused tokio time: the waits cost no real time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tiktwitch::auth::StoredToken;
use tiktwitch::config;
use tiktwitch::daemon::{self, BridgeEnd, Plan};
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};
use tiktwitch::standin::StateDir;
use tiktwitch::standin::helix_chat::{FakeHelix, FakeHelixConfig, HelixAnswer};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};

const SIGNER_KEY: &str = "helix-signer-key";
const CLIENT_ID: &str = "helix-client";
const BOT_ID: &str = "424242";
const CHANNEL_ID: &str = "1001";

async fn creator(room_id: u64, chats: &[&str]) -> FakeTikTok {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    // A quiet start: the test expires the token once the daemon is up, before any line.
    let mut steps = vec![Step::Pause(Duration::from_secs(30))];
    for (i, text) in chats.iter().enumerate() {
        let msg_id = room_id + 1 + i as u64;
        steps.push(Step::Pause(Duration::from_millis(300)));
        steps.push(Step::Frame(frames::single(
            msg_id,
            frames::chat_message(msg_id, room_id, "alice_fan", text),
        )));
    }
    fake.push_script(steps);
    fake
}

/// The plan of a config with one bridge (`alice` into `#chan_a`) sending through `helix`,
/// with `twitch` added to `[twitch]`.
fn plan(
    dir: &std::path::Path,
    state_dir: &StateDir,
    oauth: &FakeOAuth,
    helix: &FakeHelix,
    alice: &FakeTikTok,
    twitch: &str,
) -> Plan {
    let path = dir.join("config.toml");
    let text = format!(
        r#"secret_store = "env"
state_dir = {state_dir:?}

[twitch]
bot_login = "tiktwitch_bot"
client_id = "{CLIENT_ID}"
oauth_base_url = "{oauth}"
helix_base_url = "{helix}"
sink = "helix"
{twitch}
[shutdown]
grace_secs = 30

[http]
enabled = true
bind = "127.0.0.1:0"

# One request per line, so each scripted answer meets its own line.
[routes.chat]
pack = false
"#,
        state_dir = state_dir.path().display().to_string(),
        oauth = oauth.base_url(),
        helix = helix.base_url(),
    ) + &alice.bridge_toml("a", "chan_a");
    std::fs::write(&path, &text).unwrap();
    let loaded = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check).unwrap();
    Plan::from_config(&loaded, None).unwrap()
}

/// A store with the bot's token pair (granted `scopes`), the signer key and `extra`.
async fn store(
    access: &str,
    refresh: &str,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> MemoryStore {
    let store = MemoryStore::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = StoredToken {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at: Some(now + 4 * 3600),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        login: Some("tiktwitch_bot".into()),
        user_id: Some(BOT_ID.into()),
        client_id: Some(CLIENT_ID.into()),
        obtained_at: now,
    };
    store.set("twitch-token", &token.to_secret()).await.unwrap();
    for (name, value) in [("tiktok-signer-api-key", SIGNER_KEY)].iter().chain(extra) {
        store.set(name, &Secret::new(*value)).await.unwrap();
    }
    store
}

async fn until_running(daemon: &daemon::Background) -> daemon::Running {
    let mut waited = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(waited < 200, "the daemon never started (virtual time)");
        if let Some(r) = daemon.running() {
            return r;
        }
    }
}

async fn until_sent(helix: &FakeHelix, n: usize) {
    let mut waited = 0;
    while helix.sent().len() < n {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(
            waited < 600,
            "the lines never came: {:#?}",
            helix.requests()
        );
    }
}

fn users() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("tiktwitch_bot".into(), BOT_ID.into()),
        ("chan_a".into(), CHANNEL_ID.into()),
    ])
}

#[tokio::test(start_paused = true)]
async fn helix_run_looks_up_ids_once_refreshes_on_401_waits_out_429_and_counts_drops() {
    let alice = creator(7_300_000_000_000_000_000, &["one", "two", "three", "four"]).await;
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        client_id: CLIENT_ID.into(),
        user_id: BOT_ID.into(),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let (access, refresh) = oauth.mint(&["user:write:chat"]);
    let helix = FakeHelix::start(FakeHelixConfig {
        client_id: CLIENT_ID.into(),
        users: users(),
        tokens: Some(oauth.tokens()),
        ..FakeHelixConfig::default()
    })
    .await
    .unwrap();
    let state_dir = StateDir::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &state_dir, &oauth, &helix, &alice, "");
    let store = store(&access, &refresh, &["user:write:chat"], &[]).await;
    let daemon = daemon::spawn(plan, Arc::new(store));

    // Up: the ids were looked up. Now every issued access token stops working.
    let running = until_running(&daemon).await;
    let users = helix.requests_to("users");
    assert_eq!(users.len(), 1, "{users:#?}");
    assert_eq!(
        users[0].body,
        serde_json::json!(["chan_a", "tiktwitch_bot"])
    );
    assert!(helix.requests_to("chat/messages").is_empty());
    oauth.expire_access_tokens();
    // "one": 401, refresh, then sent; "two": 429 then sent after the reset; "three":
    // is_sent = false; "four": sent.
    helix.script([
        HelixAnswer::Sent,
        // Shorter than chat's maximum age (20 s): the held line is still fresh after it.
        HelixAnswer::RateLimited {
            reset_in: Duration::from_secs(10),
        },
        HelixAnswer::Sent,
        HelixAnswer::NotSent {
            code: "msg_rejected".into(),
            message: "Your message is being checked by mods".into(),
        },
    ]);

    until_sent(&helix, 3).await;
    let sent: Vec<String> = helix.sent().into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    for (line, want) in sent.iter().zip(["one", "two", "four"]) {
        assert!(line.ends_with(want), "{sent:?}");
    }
    let posts = helix.requests_to("chat/messages");
    let statuses: Vec<u16> = posts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 200, 429, 200, 200, 200], "{posts:#?}");
    // The 401 led to one refresh (a rotated pair), and the retry carried the new token.
    assert_eq!(oauth.count("token"), 1);
    assert_ne!(posts[0].authorization, posts[1].authorization);
    assert!(
        oauth
            .tokens()
            .lookup(posts[1].authorization.trim_start_matches("Bearer "))
            .is_some()
    );
    for post in &posts {
        assert_eq!(post.client_id, CLIENT_ID);
        assert_eq!(post.body["broadcaster_id"], CHANNEL_ID);
        assert_eq!(post.body["sender_id"], BOT_ID);
    }
    // The 429 held the line until the reset (whole seconds of the wall clock).
    let held = posts[3].at - posts[2].at;
    assert!(held >= Duration::from_secs(9), "{held:?}");
    // Paced like IRC: at least the channel gap between two lines to one channel.
    let accepted: Vec<_> = posts.iter().filter(|r| r.status == 200).collect();
    for pair in accepted.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= tiktwitch::limits::TWITCH_CHANNEL_GAP,
            "{:?}",
            pair[1].at - pair[0].at
        );
    }

    let stats = running.sink.stats();
    assert_eq!(
        stats.helix_dropped,
        BTreeMap::from([("msg_rejected".into(), 1)])
    );
    assert_eq!(stats.helix_rate_limited, 1);
    assert_eq!(stats.login_failures, 1);
    assert_eq!(stats.rejected, 1);
    let metrics = running.metrics();
    assert!(
        metrics.contains("tiktwitch_twitch_helix_dropped_total{reason=\"msg_rejected\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tiktwitch_twitch_helix_rate_limited_total 1"),
        "{metrics}"
    );
    // Still one lookup for the whole run.
    assert_eq!(helix.requests_to("users").len(), 1);

    daemon.stop();
    let report = daemon.join().await.unwrap().unwrap();
    assert_eq!(report.bridges[0].1, BridgeEnd::Shutdown);
    assert_eq!(report.sink.sent, 3);
    assert_eq!(report.sink.lines_in, report.sink.accounted());
}

#[tokio::test(start_paused = true)]
async fn helix_app_token_path_sends_with_an_app_token_and_renews_it_on_401() {
    let alice = creator(7_400_000_000_000_000_000, &["hi", "again"]).await;
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Some("app-secret".into()),
        user_id: BOT_ID.into(),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let (access, refresh) = oauth.mint(&["user:write:chat", "user:bot"]);
    let helix = FakeHelix::start(FakeHelixConfig {
        client_id: CLIENT_ID.into(),
        users: users(),
        tokens: Some(oauth.tokens()),
        ..FakeHelixConfig::default()
    })
    .await
    .unwrap();
    let state_dir = StateDir::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        dir.path(),
        &state_dir,
        &oauth,
        &helix,
        &alice,
        "helix_token = \"app\"\nclient_secret = \"twitch-client-secret\"\n",
    );
    let store = store(
        &access,
        &refresh,
        &["user:write:chat", "user:bot"],
        &[("twitch-client-secret", "app-secret")],
    )
    .await;
    let daemon = daemon::spawn(plan, Arc::new(store));
    until_running(&daemon).await;
    let grants = || {
        oauth
            .requests()
            .iter()
            .filter(|r| {
                r.params.get("grant_type").map(String::as_str) == Some("client_credentials")
            })
            .count()
    };
    assert_eq!(grants(), 1, "one app token at start");
    // The lookup went with the app token too.
    let lookup = &helix.requests_to("users")[0];
    let bearer = |auth: &str| auth.trim_start_matches("Bearer ").to_owned();
    assert!(
        oauth
            .tokens()
            .lookup(&bearer(&lookup.authorization))
            .unwrap()
            .app
    );

    // The app token stops working: the first line's 401 gets a new one, and the line goes.
    oauth.expire_access_tokens();
    until_sent(&helix, 2).await;
    let posts = helix.requests_to("chat/messages");
    let statuses: Vec<u16> = posts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 200, 200], "{posts:#?}");
    assert_eq!(grants(), 2, "a new app token after the 401");
    for post in &posts[1..] {
        let facts = oauth.tokens().lookup(&bearer(&post.authorization)).unwrap();
        assert!(facts.app, "sent with an app token");
        assert_eq!(post.body["sender_id"], BOT_ID);
    }
    // The bot's own refresh token was not spent: the app path does not refresh it.
    assert!(oauth.is_refresh_token_valid(&refresh));
    daemon.stop();
    let report = daemon.join().await.unwrap().unwrap();
    assert_eq!(report.sink.sent, 2);
}
