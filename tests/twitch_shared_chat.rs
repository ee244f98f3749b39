//! The Twitch chat on the event feed and Shared Chat awareness (issue #18, items 4 and 6), on
//! the real daemon with the stand-ins and a real WebSocket client of `/ws/a`:
//!
//! - a viewer's Twitch message comes out of the feed as a `twitch_chat` event
//!   (`platform: "twitch"`), beside TikTok's events;
//! - a PRIVMSG whose `source-room-id` differs from its `room-id` (a Shared Chat session) is
//!   warned about once: `bridge_control` `shared_chat_started` on the feed, the channel in
//!   `/api/status`; with `twitch.shared_chat = "pause"` relaying pauses, and a partner
//!   channel's moderator cannot command the bridge;
//! - after [`SHARED_CHAT_QUIET`] without a partner message the session is over and relaying
//!   resumes.
//!
//! Paused tokio time; the daemon's sink uses routing slot 0 (one daemon per test binary).

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tiktwitch::limits::SHARED_CHAT_QUIET;
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tiktwitch::standin::twitch::ChatUser;
use tokio_tungstenite::tungstenite::Message;

const SIGNER_KEY: &str = "shared-signer-key";
const API_TOKEN: &str = "api-shared-token";
const ROOM: u64 = 7_300_000_000_000_000_000;
const GAP: Duration = Duration::from_secs(60);
const ROUNDS: u64 = 20;

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened (virtual time): {what}");
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next event on the feed (a generous bound: a failure, not a wait).
async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(1800), ws.next())
            .await
            .expect("an event within the bound")
            .expect("the feed is open")
            .unwrap();
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text).unwrap();
            // The feed's envelope may wrap the event; accept both.
            return v.get("event").cloned().unwrap_or(v);
        }
    }
}

fn count_containing(side: &TwitchSide, needle: &str) -> usize {
    side.twitch
        .delivered()
        .iter()
        .filter(|p| p.text.contains(needle))
        .count()
}

#[tokio::test(start_paused = true)]
async fn twitch_chat_reaches_the_feed_and_shared_chat_pauses_the_bridge() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let mut steps = vec![Step::Pause(Duration::from_secs(2))];
    for i in 0..ROUNDS {
        let id = ROOM + 1 + i;
        steps.push(Step::Frame(frames::single(
            id,
            frames::chat_message(id, ROOM, "fan", &format!("tiktok line {i}")),
        )));
        steps.push(Step::Pause(GAP));
    }
    steps.push(Step::Pause(Duration::from_secs(36_000)));
    fake.push_script(steps);
    let side = TwitchSide::start("shared-client").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = side.config_head()
        + r#"shared_chat = "pause"

[http]
enabled = true
bind = "127.0.0.1:0"

[feed]
enabled = true

[api]
enabled = true
token = "api-token"

[routes.chat]
pack = false
"# + &fake.bridge_toml("a", "chan_a");
    let daemon = support::daemon::spawn_daemon(
        &path,
        &text,
        &side,
        &[
            ("tiktok-signer-api-key", SIGNER_KEY),
            ("api-token", API_TOKEN),
        ],
    )
    .await;
    let running = daemon.running().unwrap();
    let addr = running.http_addr.unwrap();
    let http = reqwest::Client::new();
    let status = || async {
        http.get(format!("http://{addr}/api/status"))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{addr}/ws/a?types=twitch_chat,bridge_control"
    ))
    .await
    .unwrap();
    wait_until("the first TikTok line reached Twitch", || {
        count_containing(&side, "tiktok line 0") == 1
    })
    .await;

    // One chat on the feed: a viewer's Twitch message.
    side.twitch.chat_from(
        "chan_a",
        &ChatUser::viewer("twitchviewer", "444"),
        "hello from twitch",
    );
    let event = next_event(&mut ws).await;
    assert_eq!(event["type"], "twitch_chat", "{event}");
    assert_eq!(event["platform"], "twitch", "{event}");
    assert_eq!(event["channel"], "chan_a", "{event}");
    assert_eq!(event["user"]["login"], "twitchviewer", "{event}");
    assert_eq!(event["user"]["id"], "444", "{event}");
    assert_eq!(event["text"], "hello from twitch", "{event}");
    assert!(event.get("source_room_id").is_none(), "{event}");

    // A Shared Chat session: a partner channel's moderator writes (and tries a command).
    let partner_mod = ChatUser::moderator("partnermod", "555");
    side.twitch
        .shared_chat_from("chan_a", "999", &partner_mod, "!tt resume");
    let event = next_event(&mut ws).await;
    assert_eq!(event["type"], "twitch_chat", "{event}");
    assert_eq!(event["source_room_id"], "999", "{event}");
    let event = next_event(&mut ws).await;
    assert_eq!(event["type"], "bridge_control", "{event}");
    assert_eq!(event["action"], "shared_chat_started", "{event}");
    assert_eq!(event["channel"], "chan_a", "{event}");
    let s = status().await;
    assert_eq!(s["bridges"][0]["paused"], true, "{s}");
    assert_eq!(
        s["bridges"][0]["control"]["shared_chat"],
        serde_json::json!(["chan_a"]),
        "{s}"
    );

    // Paused while it lasts; the partner moderator's `!tt resume` did nothing, and got no
    // reply. More partner messages keep the session going.
    let relayed = side.twitch.delivered().len();
    for _ in 0..3 {
        tokio::time::sleep(GAP).await;
        side.twitch
            .shared_chat_from("chan_a", "999", &partner_mod, "still sharing");
        assert_eq!(next_event(&mut ws).await["type"], "twitch_chat");
    }
    assert_eq!(
        side.twitch.delivered().len(),
        relayed,
        "nothing relayed while shared"
    );
    assert_eq!(
        count_containing(&side, "[tiktwitch]"),
        0,
        "no reply to a partner's command"
    );

    // Quiet for SHARED_CHAT_QUIET: over, relaying again.
    let event = next_event(&mut ws).await;
    assert_eq!(event["type"], "bridge_control", "{event}");
    assert_eq!(event["action"], "shared_chat_ended", "{event}");
    let s = status().await;
    assert_eq!(s["bridges"][0]["paused"], false, "{s}");
    assert!(
        s["bridges"][0]["control"].get("shared_chat").is_none(),
        "{s}"
    );
    let resumed_at = side.twitch.delivered().len();
    wait_until("TikTok lines are relayed again", || {
        side.twitch.delivered().len() > resumed_at
    })
    .await;
    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tiktwitch_shared_chat_sessions_total 1\n"),
        "{metrics}"
    );
    assert!(
        SHARED_CHAT_QUIET > GAP * 3,
        "the session outlived the three gaps"
    );
    assert!(
        side.twitch.violations().is_empty(),
        "{:?}",
        side.twitch.violations()
    );
    daemon.stop();
    daemon.join().await.unwrap().unwrap();
}
