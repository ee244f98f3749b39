//! Issue 19 item 2, the envelope overlays use: a real-capture comment (2026) and gift (2023)
//! published on a bridge reach the WebSocket feed, `/api/events` and a webhook receiver (a
//! small axum server on 127.0.0.1) as the same event JSON, with the schema version, TikTok's
//! create time, the receive time, the room and bridge, the msg_id as a string, the user's
//! @handle, avatar, follow role and badges, and the gift's image, diamonds and USD estimate;
//! and every one of them keeps to `schema/events.schema.json`.

mod feed_support;
mod support;

use std::fs;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use tiktwitch::event::{Event, EventKind, SCHEMA_VERSION};
use tiktwitch::feed::{FeedSettings, WebhookSettings};
use tiktwitch::secret::Secret;
use tiktwitch::source::tiktok::decode::decode_message;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use feed_support::{bridge, start};
use support::decode::payload_of;
use support::schema::{assert_valid_event, events_schema};

/// A failure bound only: every wait below ends on its condition.
const BOUND: Duration = Duration::from_secs(20);

/// The real 2026 comment and the first real 2023 gift whose sender has badges, as the
/// source hands them on (with the receive time it stamps).
fn real_events() -> Option<(Event, Event)> {
    let chat = support::prereq::shared("fixtures/webcast/real-2026/chat.pb")?;
    let lines = support::prereq::shared("fixtures/webcast/real-2023.jsonl")?;
    let mut chat =
        decode_message("WebcastChatMessage", Bytes::from(fs::read(chat).unwrap())).unwrap();
    chat.meta.received_at_ms = chat.meta.create_time_ms + 250;
    let mut gift = fs::read_to_string(lines)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["method"] == "WebcastGiftMessage")
        .map(|line| decode_message("WebcastGiftMessage", payload_of(&line)).unwrap())
        .find(|e| e.kind.user().is_some_and(|u| !u.profile.badges.is_empty()))
        .expect("a real gift from a user with badges");
    gift.meta.received_at_ms = gift.meta.create_time_ms + 400;
    Some((chat, gift))
}

/// A webhook receiver on 127.0.0.1 that forwards each body it is POSTed.
async fn receiver() -> (SocketAddr, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(tx): State<mpsc::UnboundedSender<Value>>, body: Bytes| async move {
                    let _ = tx.send(serde_json::from_slice(&body).unwrap());
                    "ok"
                },
            ),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rx)
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(BOUND, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {BOUND:?}"))
        .unwrap_or_else(|| panic!("{what}: closed"))
}

/// The envelope fields and the details, as an overlay reads them.
fn assert_envelope(json: &Value, event: &Event) {
    assert_eq!(json["v"], SCHEMA_VERSION, "{json}");
    assert_eq!(json["platform"], "tiktok");
    assert_eq!(json["bridge"], "main");
    assert_eq!(json["msg_id"], event.meta.msg_id.to_string(), "a string");
    assert_eq!(json["room_id"], event.meta.room_id.to_string());
    assert_eq!(json["ts"], event.meta.create_time_ms);
    assert_eq!(json["received_at"], event.meta.received_at_ms);
    assert!(
        json["ts"].as_i64().unwrap() > 1_690_000_000_000,
        "ms, not s"
    );
    let user = &json["user"];
    let wire_user = event.kind.user().unwrap();
    assert_eq!(user["id"], wire_user.id.to_string());
    assert_eq!(user["username"], wire_user.username);
    assert!(!wire_user.username.is_empty());
    assert!(
        user["avatar"].as_str().unwrap().starts_with("https://"),
        "{user}"
    );
    assert!(
        user["badges"].as_array().is_some_and(|b| !b.is_empty()),
        "{user}"
    );
}

#[tokio::test]
async fn a_real_comment_and_gift_carry_the_envelope_on_the_feed_the_api_and_webhooks() {
    let Some((chat, gift)) = real_events() else {
        return;
    };
    let (hook_addr, mut hooks) = receiver().await;
    let main = bridge("main");
    let settings = FeedSettings {
        ws_enabled: true,
        api_enabled: true,
        usd_per_diamond: 0.005,
        webhooks: vec![WebhookSettings {
            url: format!("http://{hook_addr}/hook"),
            secret: Secret::new("whsec_envelope"),
            ..WebhookSettings::default()
        }],
        ..FeedSettings::default()
    };
    let (_hub, _tasks, addr) = start(settings, std::slice::from_ref(&main)).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/main"))
        .await
        .unwrap();
    main.publish(&chat);
    main.publish(&gift);

    let schema = events_schema();
    let mut from_ws = Vec::new();
    while from_ws.len() < 2 {
        let message = tokio::time::timeout(BOUND, ws.next()).await.unwrap();
        if let Some(Ok(Message::Text(text))) = message {
            from_ws.push(serde_json::from_str::<Value>(text.as_str()).unwrap());
        }
    }
    let from_hooks = [
        next(&mut hooks, "webhook").await,
        next(&mut hooks, "webhook").await,
    ];
    // The tap queues for the webhook and keeps in the ring in one step: both are held now.
    let page: Value = reqwest::get(format!("http://{addr}/api/events?bridge=main"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let from_api = page["events"].as_array().unwrap().clone();
    assert_eq!(from_api.len(), 2, "{page}");

    for (i, event) in [&chat, &gift].into_iter().enumerate() {
        let ws_json = &from_ws[i];
        assert_envelope(ws_json, event);
        assert_valid_event(&schema, ws_json);
        // One serialiser: the webhook and the API carry the very same event JSON.
        for wrapped in [&from_hooks[i], &from_api[i]] {
            assert_eq!(wrapped["bridge"], "main");
            assert!(wrapped["seq"].as_u64().unwrap() > 0);
            assert_eq!(&wrapped["event"], ws_json);
        }
    }

    let chat_json = &from_ws[0];
    assert_eq!(chat_json["type"], "chat");
    assert_eq!(chat_json["user"]["username"], "rolandodmf");
    assert_eq!(chat_json["user"]["follow_role"], 1);
    assert_eq!(chat_json["user"]["user_level"], 16);
    assert!(chat_json.get("usd").is_none());

    let gift_json = &from_ws[1];
    let EventKind::Gift {
        gift: wire_gift,
        count,
        ..
    } = &gift.kind
    else {
        unreachable!()
    };
    assert_eq!(gift_json["type"], "gift");
    assert_eq!(gift_json["gift"]["diamonds"], wire_gift.diamonds);
    assert!(wire_gift.diamonds > 0);
    assert!(
        gift_json["gift"]["image"]
            .as_str()
            .unwrap()
            .starts_with("https://p16-webcast.tiktokcdn.com/"),
        "{gift_json}"
    );
    let usd = f64::from(wire_gift.diamonds) * f64::from(*count) * 0.005;
    let shown = gift_json["usd"].as_f64().unwrap();
    assert!((shown - usd).abs() < 0.000_5, "{shown} vs {usd}");
}
