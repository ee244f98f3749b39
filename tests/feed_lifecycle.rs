//! Issue 19 item 3, lifecycle on every output, on the real daemon (`daemon::spawn` with the
//! TikTok and Twitch stand-ins on 127.0.0.1): the stand-in TikTok pauses and resumes the
//! stream, then drops the socket mid-frame; the daemon reconnects, and the stream ends.
//! `connected`, `paused`, `resumed`, `disconnected` (will retry, next try in), `connected`
//! again and `stream_end` reach the WebSocket feed, `/api/events` and a webhook receiver
//! (a small axum server in the test) in that order, in the same envelope as every event,
//! and `twitch_connected` appears on all three (the Twitch stand-in drops its connections
//! once the feed client is in, so the re-login is seen on the socket too). Paused time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use support::daemon::wait_until;
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tokio_tungstenite::tungstenite::Message;

mod support;

const SIGNER_KEY: &str = "lifecycle-signer-key";
const HOOK_KEY: &str = "whsec-lifecycle";
const ROOM: u64 = 7_000_000_000_000_000_000;
const SECOND: Duration = Duration::from_secs(1);
/// The TikTok lifecycle, in the order the script plays it.
const TIKTOK_ORDER: [&str; 6] = [
    "connected",
    "paused",
    "resumed",
    "disconnected",
    "connected",
    "stream_end",
];

type Seen = Arc<Mutex<Vec<Value>>>;

/// A webhook receiver on 127.0.0.1 keeping each body.
async fn webhook_receiver() -> (Seen, String) {
    async fn take(State(seen): State<Seen>, body: Bytes) -> StatusCode {
        seen.lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap());
        StatusCode::NO_CONTENT
    }
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, url)
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn tiktok_only(events: &[Value]) -> Vec<String> {
    types(events)
        .into_iter()
        .filter(|t| !t.starts_with("twitch_"))
        .collect()
}

/// Every lifecycle event keeps to the schema and has the envelope.
fn assert_envelopes(schema: &Value, events: &[Value], bridge: &str) {
    for event in events {
        support::schema::assert_valid_event(schema, event);
        assert_eq!(event["v"], 2, "{event}");
        assert_eq!(event["bridge"], bridge, "{event}");
        assert!(event["ts"].as_i64().unwrap() > 0, "{event}");
        assert!(event.get("msg_id").is_none(), "the daemon's own: {event}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_tiktok_socket_shows_disconnected_then_connected_on_every_output() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some(SIGNER_KEY.into()),
        // Offline until the feed client is in, so it sees the first `connected` too.
        live: false,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    fake.push_script(vec![
        Step::Pause(Duration::from_secs(3)),
        Step::Frame(frames::single(
            ROOM + 1,
            frames::control_message(ROOM + 1, ROOM, 1),
        )),
        Step::Pause(SECOND),
        Step::Frame(frames::single(
            ROOM + 2,
            frames::control_message(ROOM + 2, ROOM, 2),
        )),
        Step::Pause(SECOND),
        Step::CloseMidFrame,
    ]);
    fake.push_script(vec![
        Step::Pause(Duration::from_secs(5)),
        Step::Frame(frames::single(
            ROOM + 3,
            frames::control_message(ROOM + 3, ROOM, 3),
        )),
    ]);
    let side = TwitchSide::start("lifecycle-client").await.unwrap();
    let (hooked, hook_url) = webhook_receiver().await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let lifecycle = tiktwitch::event::Lifecycle::TYPE_NAMES
        .iter()
        .map(|t| format!("{t:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sections = format!(
        r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[feed]
enabled = true

[api]
enabled = true

[[webhook]]
url = "{hook_url}"
secret = "hook-key"
events = [{lifecycle}]
"#
    );
    let text = side.config_head() + &sections + &fake.bridge_toml("a", "chan_a");
    let daemon = support::daemon::spawn_daemon(
        &path,
        &text,
        &side,
        &[
            ("tiktok-signer-api-key", SIGNER_KEY),
            ("hook-key", HOOK_KEY),
        ],
    )
    .await;
    let addr = daemon.running().unwrap().http_addr.expect("[http] is on");

    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{addr}/ws/a?types={}",
        tiktwitch::event::Lifecycle::TYPE_NAMES.join(",")
    ))
    .await
    .unwrap();
    let from_ws: Seen = Arc::default();
    let sink = from_ws.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(text.as_str()).unwrap());
            }
        }
    });
    // Twitch drops the bot once the client is in: the re-login shows on the socket too.
    wait_until("the bot logged in", || side.twitch.logins() >= 1).await;
    side.twitch.close_all();
    fake.go_live(ROOM);

    let api = || async {
        let page: Value = reqwest::get(format!("http://{addr}/api/events?bridge=a"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The ring has TikTok's own `control` messages too: the lifecycle events only.
        let events: Vec<Value> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].clone())
            .filter(|e| {
                tiktwitch::event::Lifecycle::TYPE_NAMES.contains(&e["type"].as_str().unwrap())
            })
            .collect();
        events
    };
    let done = |events: &[Value]| {
        tiktok_only(events) == TIKTOK_ORDER
            && events
                .iter()
                .any(|e| e["type"] == "twitch_connected" && e["reconnects"].as_u64() >= Some(1))
    };
    for _ in 0..600 {
        let ws_done = done(&from_ws.lock().unwrap());
        let hook_events: Vec<Value> = hooked
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["event"].clone())
            .collect();
        if ws_done && done(&hook_events) && done(&api().await) {
            break;
        }
        tokio::time::sleep(SECOND).await;
    }

    let schema = support::schema::events_schema();
    let from_ws = from_ws.lock().unwrap().clone();
    let from_hooks: Vec<Value> = hooked
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["event"].clone())
        .collect();
    let from_api: Vec<Value> = api().await;
    for (name, events) in [
        ("ws", &from_ws),
        ("webhook", &from_hooks),
        ("api", &from_api),
    ] {
        assert_eq!(tiktok_only(events), TIKTOK_ORDER, "{name}: {events:#?}");
        assert_envelopes(&schema, events, "a");
        let twitch: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == "twitch_connected")
            .collect();
        assert!(!twitch.is_empty(), "{name}: {events:#?}");
        assert!(twitch.iter().all(|e| e["platform"] == "twitch"), "{name}");
        assert!(
            twitch.iter().any(|e| e["reconnects"].as_u64() >= Some(1)),
            "{name}: the re-login after the drop: {twitch:#?}"
        );
        let tiktok: Vec<&Value> = events
            .iter()
            .filter(|e| !e["type"].as_str().unwrap().starts_with("twitch_"))
            .collect();
        assert_eq!(tiktok[0]["room_id"], ROOM.to_string(), "{name}");
        assert_eq!(tiktok[0]["platform"], "tiktok", "{name}");
        let down = tiktok[3];
        assert_eq!(down["will_retry"], true, "{name}: {down}");
        assert!(down["next_try_in_ms"].as_u64().is_some(), "{name}: {down}");
        assert!(
            !down["reason"].as_str().unwrap().is_empty(),
            "{name}: {down}"
        );
        assert!(
            !down.to_string().contains(SIGNER_KEY),
            "{name}: no secret in the reason"
        );
        assert_eq!(tiktok[5]["action"], "ended", "{name}");
    }
    // The same events, the same JSON, on the socket and at the webhook.
    let without_twitch = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| !e["type"].as_str().unwrap().starts_with("twitch_"))
            .cloned()
            .collect()
    };
    assert_eq!(without_twitch(&from_ws), without_twitch(&from_hooks));
    assert_eq!(without_twitch(&from_hooks), without_twitch(&from_api));

    daemon.stop();
    daemon.join().await.unwrap().unwrap();
}
