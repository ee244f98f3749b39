//! Moderating the bridge from Twitch chat (issue #18, item 1), on the real daemon: the
//! TikTok / Twitch / OAuth stand-ins, `daemon::spawn`, the real twitch-irc client. The Twitch
//! stand-in writes tagged PRIVMSG lines (IRCv3 tags as Twitch sends them) from a moderator,
//! a viewer and the broadcaster; the test asserts what reaches Twitch afterwards: replies,
//! nothing for the viewer, the muted user's comments gone (counted `muted`), a pause that
//! stops relaying, the same actions on `/api/control`, the mute surviving a restart (the
//! state file read back), and the reply cooldown. Paused tokio time throughout.
//!
//! The daemon's sink uses the process-wide routing slot 0, so the daemons run one after the
//! other in one test.

mod support;

use std::time::Duration;

use serde_json::Value;
use tiktwitch::daemon::{self};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tiktwitch::standin::twitch::ChatUser;

const SIGNER_KEY: &str = "commands-signer-key";
const API_TOKEN: &str = "api-commands-token";
const ROOM: u64 = 7_200_000_000_000_000_000;
const GAP: Duration = Duration::from_secs(60);

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened (virtual time): {what}");
}

fn chat(i: u64, user: &str, text: &str) -> Step {
    let id = ROOM + i;
    Step::Frame(frames::single(
        id,
        frames::chat_message(id, ROOM, user, text),
    ))
}

/// One comment of each fan, then [`GAP`], `rounds` times; the socket stays open after.
fn script(tag: &str, rounds: u64) -> Vec<Step> {
    let mut steps = vec![Step::Pause(Duration::from_secs(2))];
    for r in 0..rounds {
        steps.push(chat(r * 10 + 1, "muted_fan", &format!("{tag} noisy {r}")));
        steps.push(chat(r * 10 + 2, "kept_fan", &format!("{tag} kept {r}")));
        steps.push(Step::Pause(GAP));
    }
    steps.push(Step::Pause(Duration::from_secs(36_000)));
    steps
}

struct Daemon {
    daemon: daemon::Background,
    base: String,
    http: reqwest::Client,
}

async fn start(side: &TwitchSide, fake: &FakeTikTok, dir: &std::path::Path) -> Daemon {
    let path = dir.join("config.toml");
    let text = side.config_head()
        + r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[api]
enabled = true
token = "api-token"

[routes.chat]
pack = false
"# + &fake.bridge_toml("a", "chan_a");
    let daemon = support::daemon::spawn_daemon(
        &path,
        &text,
        side,
        &[
            ("tiktok-signer-api-key", SIGNER_KEY),
            ("api-token", API_TOKEN),
        ],
    )
    .await;
    let addr = daemon.running().unwrap().http_addr.unwrap();
    Daemon {
        daemon,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

impl Daemon {
    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        if path == "/metrics" {
            return Value::String(r.text().await.unwrap());
        }
        r.json().await.unwrap()
    }

    async fn post(&self, path: &str, token: &str) -> reqwest::StatusCode {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn stop(self) {
        self.daemon.stop();
        self.daemon.join().await.unwrap().unwrap();
    }
}

fn delivered_texts(side: &TwitchSide) -> Vec<String> {
    side.twitch
        .delivered()
        .into_iter()
        .map(|p| p.text)
        .collect()
}

fn count_containing(side: &TwitchSide, needle: &str) -> usize {
    delivered_texts(side)
        .iter()
        .filter(|t| t.contains(needle))
        .count()
}

async fn delivered(side: &TwitchSide, needle: &str) {
    wait_until(&format!("{needle:?} reached Twitch"), || {
        count_containing(side, needle) > 0
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn moderators_steer_the_bridge_from_chat() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    fake.push_script(script("first", 4));
    let side = TwitchSide::start("commands-client").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_file = || -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(side.state_dir.path().join("control.json")).unwrap(),
        )
        .unwrap()
    };
    let moderator = ChatUser::moderator("modlady", "222");
    let viewer = ChatUser::viewer("randomviewer", "333");
    let broadcaster = ChatUser::broadcaster("chan_a", "1");

    let d = start(&side, &fake, dir.path()).await;
    delivered(&side, "first kept 0").await;
    assert_eq!(count_containing(&side, "first noisy 0"), 1, "not muted yet");

    // A viewer's command: ignored, no reply at all.
    side.twitch
        .chat_from("chan_a", &viewer, "!tt mute muted_fan");
    side.twitch.chat_from("chan_a", &viewer, "!tt pause");
    // The moderator's: carried out, answered.
    side.twitch
        .chat_from("chan_a", &moderator, "!tt mute @Muted_Fan");
    delivered(&side, "[tiktwitch] muted TikTok user @muted_fan").await;
    delivered(&side, "first kept 1").await;
    assert_eq!(
        count_containing(&side, "first noisy 1"),
        0,
        "muted: {:?}",
        delivered_texts(&side)
    );
    assert_eq!(
        count_containing(&side, "[tiktwitch]"),
        1,
        "one reply, none for the viewer"
    );

    let status = d.get("/api/status").await;
    let bridge = &status["bridges"][0];
    assert_eq!(
        bridge["control"]["muted"],
        serde_json::json!(["muted_fan"]),
        "{status}"
    );
    assert_eq!(
        bridge["paused"], false,
        "the viewer's pause was ignored: {status}"
    );
    let metrics = d.get("/metrics").await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("tiktwitch_control_commands_total{result=\"ignored\"} 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tiktwitch_control_muted_users{bridge=\"a\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tiktwitch_filtered_by_rule_total{bridge=\"a\",rule=\"muted\"} 1\n"),
        "the muted comment is counted filtered: {metrics}"
    );

    // The broadcaster pauses: nothing relayed; `status` still answers (a reply is not a
    // relayed line).
    side.twitch.chat_from("chan_a", &broadcaster, "!tt pause");
    delivered(&side, "[tiktwitch] relaying paused until !tt resume").await;
    let before = delivered_texts(&side).len();
    tokio::time::sleep(GAP + Duration::from_secs(5)).await;
    assert_eq!(
        count_containing(&side, "first kept 2"),
        0,
        "paused: {:?}",
        delivered_texts(&side)
    );
    side.twitch.chat_from("chan_a", &moderator, "!tt status");
    delivered(&side, "[tiktwitch] @alice: TikTok live, paused").await;
    assert_eq!(
        delivered_texts(&side).len(),
        before + 1,
        "only the status reply"
    );

    // The same actions on the API: a wrong token is refused, the right one resumes.
    assert_eq!(d.post("/api/control/a/resume", "wrong").await, 401);
    assert_eq!(
        d.post("/api/control/a/only?scope=gifts", API_TOKEN).await,
        200
    );
    assert_eq!(d.post("/api/control/a/resume", API_TOKEN).await, 200);
    assert_eq!(d.post("/api/control/zzz/resume", API_TOKEN).await, 404);
    assert_eq!(
        d.post("/api/control/a/mute", API_TOKEN).await,
        422,
        "no ?user="
    );
    // The older pause endpoint goes through the same controller: it persists too.
    assert_eq!(d.post("/api/bridges/a/pause", API_TOKEN).await, 200);
    assert_eq!(state_file()["bridges"]["a"]["paused"]["by"], "api");
    assert_eq!(d.post("/api/bridges/a/resume", API_TOKEN).await, 200);
    assert!(
        state_file()["bridges"]["a"]
            .get("paused")
            .is_none_or(Value::is_null)
    );
    let control = d.get("/api/control/a").await;
    assert_eq!(control["paused"], false, "{control}");
    assert_eq!(control["only"], "gifts", "{control}");
    // `only gifts`: the next comments are not relayed; `only all` from chat lifts it.
    tokio::time::sleep(GAP).await;
    assert_eq!(
        count_containing(&side, "first kept 3"),
        0,
        "only gifts: {:?}",
        delivered_texts(&side)
    );
    side.twitch.chat_from("chan_a", &moderator, "!tt only all");
    delivered(&side, "[tiktwitch] relaying every kind again").await;
    assert!(
        side.twitch.violations().is_empty(),
        "{:?}",
        side.twitch.violations()
    );
    // Every event ended somewhere: the muted and the out-of-scope ones as filtered.
    let pipeline = d.daemon.running().unwrap().bridges[0]
        .counters
        .pipeline
        .snapshot();
    assert!(pipeline.balanced(), "{pipeline:?}");
    assert!(
        pipeline.filtered_by_rule.get("muted").copied().unwrap_or(0) >= 2,
        "{pipeline:?}"
    );
    assert!(
        pipeline.filtered_by_rule.get("only").copied().unwrap_or(0) >= 1,
        "{pipeline:?}"
    );
    d.stop().await;

    // The mute is in the state file, and a restart reads it back.
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(side.state_dir.path().join("control.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        file["bridges"]["a"]["muted"],
        serde_json::json!(["muted_fan"]),
        "{file}"
    );
    fake.push_script(script("second", 3));
    let d = start(&side, &fake, dir.path()).await;
    delivered(&side, "second kept 0").await;
    assert_eq!(
        count_containing(&side, "second noisy 0"),
        0,
        "still muted after the restart"
    );
    let status = d.get("/api/status").await;
    assert_eq!(
        status["bridges"][0]["control"]["muted"],
        serde_json::json!(["muted_fan"])
    );

    // The cooldown: the second `status` within 30 s acts but is not answered; after the
    // cooldown it is answered again.
    let earlier = count_containing(&side, "[tiktwitch] @alice");
    let replies = || count_containing(&side, "[tiktwitch] @alice") - earlier;
    side.twitch.chat_from("chan_a", &moderator, "!tt status");
    wait_until("the first status reply", || replies() == 1).await;
    side.twitch.chat_from("chan_a", &moderator, "!tt status");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(replies(), 1, "held back by the cooldown");
    tokio::time::sleep(Duration::from_secs(25)).await;
    side.twitch.chat_from("chan_a", &moderator, "!tt status");
    wait_until("a status reply after the cooldown", || replies() == 2).await;
    let metrics = d.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("tiktwitch_control_replies_total{outcome=\"cooldown\"} 1\n"),
        "{metrics}"
    );
    // A timed pause ends by itself: round 1 (at about 62 s) is withheld, round 2 (122 s)
    // relayed. The bot's own line is never a command, whatever its badges.
    side.twitch.chat_from(
        "chan_a",
        &ChatUser::moderator("tiktwitch_bot", "999"),
        "!tt resume",
    );
    side.twitch.chat_from("chan_a", &moderator, "!tt pause 1");
    delivered(&side, "[tiktwitch] relaying paused for 1 min").await;
    assert_eq!(
        count_containing(&side, "relaying again"),
        0,
        "the bot's own line was a command"
    );
    let file = state_file();
    assert!(
        file["bridges"]["a"]["paused"]["until_unix_ms"].is_u64(),
        "{file}"
    );
    delivered(&side, "second kept 2").await;
    assert_eq!(
        count_containing(&side, "second kept 1"),
        0,
        "withheld while paused"
    );
    assert_eq!(d.get("/api/control/a").await["paused"], false);
    assert!(
        state_file()["bridges"]["a"]
            .get("paused")
            .is_none_or(Value::is_null)
    );
    // Unmuted from chat: the file says so.
    side.twitch
        .chat_from("chan_a", &moderator, "!tt unmute muted_fan");
    delivered(&side, "[tiktwitch] unmuted TikTok user @muted_fan").await;
    d.stop().await;
    let file = std::fs::read_to_string(side.state_dir.path().join("control.json")).unwrap();
    assert!(!file.contains("muted_fan"), "{file}");
    assert!(
        side.twitch.violations().is_empty(),
        "{:?}",
        side.twitch.violations()
    );
}
