//! The feed, the REST API and a webhook on the real daemon: a config file with `[feed]`,
//! `[api]` and `[[webhook]]`, the TikTok / Twitch / OAuth stand-ins, `daemon::run`, and the
//! daemon's own HTTP router. Pause stops a bridge's lines to Twitch (counted) and needs the
//! token; resume brings them back; the API answers with the documented JSON. Paused time.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use support::daemon::wait_until;
use tiktwitch::feed::webhook::verify;
use tiktwitch::secret::Secret;
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tokio_tungstenite::tungstenite::Message;

const SIGNER_KEY: &str = "feed-signer-key";
const API_TOKEN: &str = "api-s3cret-token";
const HOOK_KEY: &str = "whsec-daemon";
const ROOM: u64 = 7_000_000_000_000_000_000;

type Hooked = Arc<Mutex<Vec<(bool, Bytes)>>>;

async fn webhook_receiver() -> (Hooked, String) {
    async fn take(State(seen): State<Hooked>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let signature = headers
            .get("x-tiktwitch-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let ok = verify(
            &Secret::new(HOOK_KEY),
            signature,
            &body,
            SystemTime::now(),
            tiktwitch::limits::WEBHOOK_SIGNATURE_TOLERANCE,
        )
        .is_ok();
        seen.lock().unwrap().push((ok, body));
        StatusCode::NO_CONTENT
    }
    let seen: Hooked = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, url)
}

#[tokio::test(start_paused = true)]
async fn pause_resume_status_events_ws_and_webhook_on_the_real_daemon() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let mut steps = Vec::new();
    for (i, (wait, text)) in [
        (1, "first line"),
        (60, "while paused"),
        (60, "after resume"),
    ]
    .iter()
    .enumerate()
    {
        let msg_id = ROOM + 1 + i as u64;
        steps.push(Step::Pause(Duration::from_secs(*wait)));
        steps.push(Step::Frame(frames::single(
            msg_id,
            frames::chat_message(msg_id, ROOM, "alice_fan", text),
        )));
    }
    fake.push_script(steps);
    let side = TwitchSide::start("feed-client").await.unwrap();
    let twitch = &side.twitch;
    let (hooked, hook_url) = webhook_receiver().await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let sections = format!(
        r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[feed]
enabled = true

[api]
enabled = true
token = "api-token"
ring_path = "{ring}"

[[webhook]]
url = "{hook_url}"
secret = "hook-key"
events = ["chat"]
"#,
        ring = dir.path().join("events.sqlite").display(),
    );
    let text = side.config_head() + &sections + &fake.bridge_toml("a", "chan_a");
    let daemon = support::daemon::spawn_daemon(
        &path,
        &text,
        &side,
        &[
            ("tiktok-signer-api-key", SIGNER_KEY),
            ("api-token", API_TOKEN),
            ("hook-key", HOOK_KEY),
        ],
    )
    .await;
    let running = daemon.running().unwrap();
    // The daemon's own listener (healthz, metrics and the merged feed/API routes).
    let addr = running.http_addr.expect("[http] is enabled");
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/a?types=chat"))
        .await
        .unwrap();
    wait_until("the first line reached Twitch", || {
        !twitch.delivered().is_empty()
    })
    .await;

    // Pause: refused without the token, or with a wrong one.
    let pause = format!("{base}/api/bridges/a/pause");
    let r = http.post(&pause).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http.post(&pause).bearer_auth("nope").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&pause)
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"bridge": "a", "paused": true}));
    let r = http
        .post(format!("{base}/api/bridges/zzz/pause"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // With a token stored, reading needs it too.
    for path in ["/api/status", "/api/events"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without the token");
    }
    let status = || async {
        http.get(format!("{base}/api/status"))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    for _ in 0..600 {
        if status().await["bridges"][0]["paused_lines"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let s = status().await;
    assert_eq!(s["bridges"][0]["paused_lines"], 1, "{s}");
    assert_eq!(s["bridges"][0]["paused"], true, "{s}");
    assert_eq!(
        twitch.delivered().len(),
        1,
        "nothing reaches Twitch while paused"
    );

    let r = http
        .post(format!("{base}/api/bridges/a/resume"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("the line after resume reached Twitch", || {
        twitch.delivered().len() >= 2
    })
    .await;
    let delivered: Vec<String> = twitch.delivered().iter().map(|p| p.text.clone()).collect();
    assert!(delivered[0].contains("first line"), "{delivered:?}");
    assert!(delivered[1].contains("after resume"), "{delivered:?}");
    assert_eq!(delivered.len(), 2, "{delivered:?}");

    // GET /api/status: the documented shape.
    let s = status().await;
    let bridge = &s["bridges"][0];
    assert_eq!(bridge["name"], "a");
    assert_eq!(bridge["tiktok_state"], "live");
    assert_eq!(bridge["channels"], serde_json::json!(["chan_a"]));
    assert_eq!(bridge["paused"], false);
    assert_eq!(bridge["events"]["received"], 3, "{s}");
    assert_eq!(bridge["events"]["relayed"], 3, "{s}");
    // The three chats and the lifecycle events `connected` and `twitch_connected`.
    assert_eq!(bridge["ring"]["held"], 5, "{s}");
    // The relayed share: 3 comments in, the paused one never reached Twitch.
    assert_eq!(bridge["chat"]["received"], 3, "{s}");
    assert_eq!(bridge["chat"]["relayed"], 2, "{s}");
    assert_eq!(bridge["chat"]["lines"], 2, "{s}");
    let share = bridge["chat"]["share"].as_f64().unwrap();
    assert!((share - 2.0 / 3.0).abs() < 1e-9, "{s}");
    assert_eq!(s["twitch"]["state"], "connected");
    assert_eq!(s["twitch"]["sent"], 2);
    assert_eq!(s["feed"]["connected"], 1);
    assert_eq!(s["feed"]["dropped_slow"], 0);

    // GET /api/events: oldest first, sequence numbers, since and limit.
    let events = |query: &'static str| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.get(format!("{base}/api/events{query}"))
                .bearer_auth(API_TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let all = events("?bridge=a").await;
    let chats: Vec<&Value> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "chat")
        .collect();
    let texts: Vec<&str> = chats
        .iter()
        .map(|e| e["event"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first line", "while paused", "after resume"]);
    let mut lifecycle: Vec<&str> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["type"].as_str().filter(|t| *t != "chat"))
        .collect();
    lifecycle.sort_unstable();
    assert_eq!(lifecycle, ["connected", "twitch_connected"], "{all}");
    assert_eq!(all["events"][0]["seq"], 1);
    assert_eq!(chats[0]["bridge"], "a");
    assert_eq!(all["next_since"], 5);
    let page = events("?since=1&limit=1").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["seq"], 2);
    assert_eq!(page["next_since"], 2);
    assert_eq!(events("?since=5").await["events"], serde_json::json!([]));
    let r = http
        .get(format!("{base}/api/events?bridge=nope"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The WebSocket client saw the two events after it connected, in order (and the
    // paused one: the feed is not paused, only the relay to Twitch).
    let mut ws_texts = Vec::new();
    while ws_texts.last().map(String::as_str) != Some("after resume") {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the feed closed")
        };
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        ws_texts.push(v["text"].as_str().unwrap().to_owned());
    }
    let all3 = ["first line", "while paused", "after resume"];
    assert!(ws_texts.len() >= 2, "{ws_texts:?}");
    assert_eq!(ws_texts, all3[3 - ws_texts.len()..], "in order, none lost");

    // The webhook got each chat once, signed.
    wait_until("the webhook got every chat", || {
        hooked.lock().unwrap().len() >= 3
    })
    .await;
    let hooked = hooked.lock().unwrap().clone();
    assert!(hooked.iter().all(|(ok, _)| *ok), "every signature verifies");
    let hook_texts: Vec<String> = hooked
        .iter()
        .map(|(_, body)| {
            let v: Value = serde_json::from_slice(body).unwrap();
            v["event"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(hook_texts, ["first line", "while paused", "after resume"]);

    // /metrics has the feed's families; / serves the page.
    wait_until("the webhook counted its deliveries", || {
        running.feed.webhook_stats()[0].1.delivered == 3
    })
    .await;
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tiktwitch_lines_paused_total{bridge=\"a\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "tiktwitch_webhook_events_total{{webhook=\"{hook_url}\",outcome=\"delivered\"}} 3\n"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("tiktwitch_feed_clients 1\n"), "{metrics}");
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("new WebSocket("));

    daemon.stop();
    daemon.join().await.unwrap().unwrap();
    // [api] ring_path: the stop wrote every event of the ring to the file.
    let db = rusqlite::Connection::open(dir.path().join("events.sqlite")).unwrap();
    let rows: Vec<(i64, String)> = db
        .prepare("SELECT seq, event FROM events WHERE bridge = 'a' ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    // The five above, and the sink's stop (`twitch_disconnected`) when the feed took it
    // before its own shutdown.
    assert_eq!(seqs[..5], [1, 2, 3, 4, 5], "{rows:?}");
    assert!(rows.len() <= 6, "{rows:?}");
    if let Some((_, last)) = rows.get(5) {
        let last: Value = serde_json::from_str(last).unwrap();
        assert_eq!(last["type"], "twitch_disconnected", "{last}");
    }
}
