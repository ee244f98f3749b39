//! `when_twitch_offline = "pause"` end to end (issue #18, item 2), on the real daemon: the
//! TikTok, Twitch IRC, OAuth and EventSub/Helix stand-ins, `daemon::spawn`, its HTTP
//! listener. While the Twitch stream is offline nothing of the bridge is posted (its lines
//! count as `paused`); after `stream.online` the announcement goes out and the bridge
//! relays again. `/api/status` and `/metrics` show the stream state. Paused tokio time.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tiktwitch::standin::twitch_eventsub::{FakeTwitchApi, FakeTwitchApiConfig};
use tokio::time::Instant;

const SIGNER_KEY: &str = "stream-signer-key";
const API_TOKEN: &str = "api-stream-token";
const ROOM: u64 = 7_200_000_000_000_000_000;
const LINES: u64 = 5;

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "never happened (virtual time): {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next text message on the feed, as JSON (within a minute of virtual time).
async fn next_json(
    feed: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), feed.next())
            .await
            .expect("a feed message within a minute")
            .expect("the feed is open")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

fn chat_lines(first: u64, text: &str) -> Vec<Step> {
    (0..LINES)
        .map(|i| {
            let id = ROOM + first + i;
            Step::Frame(frames::single(
                id,
                frames::chat_message(id, ROOM, "alice_fan", &format!("{text} {i}")),
            ))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_paused_bridge_posts_nothing_while_offline_and_resumes_when_twitch_goes_live() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    // Lines while Twitch is offline, then (long after the test made it live) more lines.
    let mut steps = vec![Step::Pause(Duration::from_secs(5))];
    steps.extend(chat_lines(1, "offline line"));
    steps.push(Step::Pause(Duration::from_secs(300)));
    steps.extend(chat_lines(100, "online line"));
    fake.push_script(steps);
    let side = TwitchSide::start("stream-client").await.unwrap();
    let api = FakeTwitchApi::start(FakeTwitchApiConfig {
        client_id: side.client_id.clone(),
        token: Some(side.access_token.clone()),
        keepalive_secs: 10,
        users: BTreeMap::from([("chan_a".into(), "201".into())]),
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = side.config_head()
        + &format!("helix_base_url = \"{}\"\n", api.helix_base_url())
        + &format!(
            r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[api]
enabled = true
token = "api-token"

[feed]
enabled = true

[routes.chat]
pack = false

[twitch_stream]
eventsub_url = "{}"
when_twitch_offline = "pause"
twitch_live_announcement = "LIVE on Twitch: {{{{ title }}}} ({{{{ category }}}})"
"#,
            api.eventsub_url()
        )
        + &fake.bridge_toml("a", "chan_a");
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
    let base = format!("http://{}", running.http_addr.unwrap());
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{base}{path}"))
            .bearer_auth(API_TOKEN)
            .send()
    };

    // Offline: the bridge holds, every line it makes is counted as paused.
    wait_until("the offline lines were made and held", || {
        running.bridges[0]
            .counters
            .paused_lines
            .load(std::sync::atomic::Ordering::Relaxed)
            >= LINES
    })
    .await;
    assert!(
        side.twitch.delivered().is_empty(),
        "{:?}",
        side.twitch.delivered()
    );
    let status: Value = get("/api/status").await.unwrap().json().await.unwrap();
    let bridge = &status["bridges"][0];
    assert_eq!(bridge["paused"], true, "{status}");
    assert_eq!(bridge["twitch_stream"][0]["channel"], "chan_a", "{status}");
    assert_eq!(bridge["twitch_stream"][0]["live"], false, "{status}");
    assert_eq!(bridge["twitch_stream"][0]["source"], "eventsub", "{status}");
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("tiktwitch_twitch_live{channel=\"chan_a\"} 0\n"),
        "{metrics}"
    );
    // What `!tt status` says comes from the same place: the controller reads the watch.
    let control: Value = get("/api/control/a").await.unwrap().json().await.unwrap();
    assert_eq!(control["twitch_live"], false, "{control}");

    // stream.online: the announcement, then the bridge's lines again.
    wait_until("subscribed", || api.subscriptions().len() == 3).await;
    // The feed's stream events, asked for by type (the TikTok chat is left out).
    let ws_url = format!(
        "ws://{}/ws/a?types=twitch_online,twitch_channel_update",
        running.http_addr.unwrap()
    );
    let (mut feed, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    api.go_live("chan_a", "Speedrun", "Celeste", "2026-01-01T10:00:00Z");
    let online = next_json(&mut feed).await;
    assert_eq!(online["type"], "twitch_online", "{online}");
    assert_eq!(online["bridge"], "a", "{online}");
    assert_eq!(online["channel"], "chan_a", "{online}");
    assert_eq!(online["live"], true, "{online}");
    assert_eq!(online["title"], "Speedrun", "{online}");
    assert_eq!(online["source"], "eventsub", "{online}");
    wait_until("announced and relaying", || {
        side.twitch.delivered().len() as u64 == 1 + LINES
    })
    .await;
    let texts: Vec<String> = side
        .twitch
        .delivered()
        .iter()
        .map(|p| p.text.clone())
        .collect();
    assert_eq!(texts[0], "LIVE on Twitch: Speedrun (Celeste)", "{texts:?}");
    assert!(
        texts[1..].iter().all(|t| t.contains("online line")),
        "nothing from while offline: {texts:?}"
    );
    let status: Value = get("/api/status").await.unwrap().json().await.unwrap();
    let bridge = &status["bridges"][0];
    assert_eq!(bridge["paused"], false, "{status}");
    assert_eq!(bridge["paused_lines"], LINES, "{status}");
    let stream = &bridge["twitch_stream"][0];
    assert_eq!(stream["live"], true, "{status}");
    assert_eq!(stream["title"], "Speedrun", "{status}");
    assert_eq!(stream["category"], "Celeste", "{status}");
    assert_eq!(stream["since"], "2026-01-01T10:00:00Z", "{status}");
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("tiktwitch_twitch_live{channel=\"chan_a\"} 1\n"),
        "{metrics}"
    );
    let control: Value = get("/api/control/a").await.unwrap().json().await.unwrap();
    assert_eq!(control["twitch_live"], true, "{control}");
    // The same event is kept for /api/events (it is a lifecycle event, not a side channel).
    let page: Value = get("/api/events?bridge=a")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kept = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "twitch_online")
        .unwrap_or_else(|| panic!("no twitch_online in /api/events: {page}"));
    assert_eq!(kept["event"]["platform"], "twitch", "{kept}");
    assert_eq!(kept["event"]["category"], "Celeste", "{kept}");
    api.update_channel("chan_a", "Any%", "Celeste");
    let update = next_json(&mut feed).await;
    assert_eq!(update["type"], "twitch_channel_update", "{update}");
    assert_eq!(update["title"], "Any%", "{update}");
    assert!(side.twitch.violations().is_empty());
    assert_eq!(api.refused_auth(), 0, "the watch used the bot's token");
    daemon.stop();
    daemon.join().await.unwrap().unwrap();
}
