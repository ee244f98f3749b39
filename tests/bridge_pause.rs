//! Pause means pause (issue #16, item 7), on the real daemon: the TikTok / Twitch / OAuth
//! stand-ins, `daemon::spawn`, the daemon's own HTTP listener. A burst of chat fills the
//! sink's queue far beyond one rate window; `POST /api/bridges/a/pause` must stop the bridge's
//! lines at once (at most the one already in flight), count the dropped ones under reason
//! `paused` in /metrics and /api/status, or, with `pause_keep_secs`, keep them for the
//! resume. Paused tokio time: the 2 s bound is measured on the stand-in's clock.
//!
//! The daemon's sink uses the process-wide routing slot 0, so the two daemons run one after
//! the other in one test.

mod support;

use std::time::Duration;

use serde_json::Value;
use tiktwitch::daemon::{self};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tokio::time::Instant;

const SIGNER_KEY: &str = "pause-signer-key";
const API_TOKEN: &str = "api-pause-token";
const ROOM: u64 = 7_100_000_000_000_000_000;
const BURST: u64 = 40;

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened (virtual time): {what}");
}

struct Setup {
    _fake: FakeTikTok,
    side: TwitchSide,
    daemon: daemon::Background,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A daemon with bridge `a` -> `#chan_a`, `twitch_extra` appended to `[twitch]`, and a
/// TikTok live that sends [`BURST`] distinct chat lines at once.
async fn start(twitch_extra: &str) -> Setup {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: ROOM,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let mut steps = vec![Step::Pause(Duration::from_secs(1))];
    for i in 0..BURST {
        let msg_id = ROOM + 1 + i;
        steps.push(Step::Frame(frames::single(
            msg_id,
            frames::chat_message(msg_id, ROOM, "alice_fan", &format!("burst line {i}")),
        )));
    }
    fake.push_script(steps);
    let side = TwitchSide::start("pause-client").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = side.config_head()
        + twitch_extra
        + r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[api]
enabled = true
token = "api-token"

# One line per comment: this test counts lines (packing has its own tests).
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
    let addr = daemon.running().unwrap().http_addr.unwrap();
    Setup {
        _fake: fake,
        side,
        daemon,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Setup {
    async fn control(&self, action: &str) {
        let r = self
            .http
            .post(format!("{}/api/bridges/a/{action}", self.base))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Waits until the whole burst is in the sink and a few lines went out.
    async fn burst_queued(&self) {
        let sink = self.daemon.running().unwrap().sink;
        wait_until("the burst is queued and flowing", || {
            sink.stats().lines_in == BURST && self.side.twitch.delivered().len() >= 3
        })
        .await;
    }
}

#[tokio::test(start_paused = true)]
async fn pause_drops_or_keeps_the_queued_lines() {
    a_pause_stops_the_queued_lines_at_once_and_counts_them().await;
    with_pause_keep_secs_the_queued_lines_wait_for_the_resume().await;
}

/// The lines the stand-in got after the pause answered (paused time moves on while the
/// request is on the wire, so the answer is where the pause has surely taken effect): at
/// most the one already in flight, and that one within 2 s.
fn assert_nothing_after(s: &Setup, answered: Instant, count: usize) {
    let delivered = s.side.twitch.delivered();
    let late: Vec<_> = delivered[count.min(delivered.len())..].to_vec();
    assert!(late.len() <= 1, "sent after the pause: {late:?}");
    assert!(
        late.iter()
            .all(|p| p.at <= answered + Duration::from_secs(2)),
        "sent after the pause: {late:?}"
    );
}

async fn a_pause_stops_the_queued_lines_at_once_and_counts_them() {
    let s = start("").await;
    s.burst_queued().await;
    s.control("pause").await;
    let answered = Instant::now();
    let before = s.side.twitch.delivered().len();
    // Far longer than the ~100 s the queued lines used to keep flowing.
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_nothing_after(&s, answered, before);
    let after = s.side.twitch.delivered().len() as u64;
    let dropped = BURST - after;
    assert!(
        dropped >= 10,
        "most of the burst was still queued: {dropped}"
    );

    let status: Value = s.get("/api/status").await.json().await.unwrap();
    assert_eq!(status["bridges"][0]["paused"], true, "{status}");
    assert_eq!(status["bridges"][0]["paused_lines"], dropped, "{status}");
    assert_eq!(
        status["twitch"]["shed_by_reason"]["paused"], dropped,
        "{status}"
    );
    assert_eq!(status["twitch"]["queue_depth"], 0, "{status}");
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "tiktwitch_twitch_shed_total{{kind=\"chat\",reason=\"paused\"}} {dropped}\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "tiktwitch_lines_paused_total{{bridge=\"a\"}} {dropped}\n"
        )),
        "{metrics}"
    );
    assert!(s.side.twitch.violations().is_empty());

    // Resume: nothing dropped comes back; the bridge relays again (nothing new to relay).
    s.control("resume").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(s.side.twitch.delivered().len() as u64, after);
    s.daemon.stop();
    let report = s.daemon.join().await.unwrap().unwrap();
    assert_eq!(report.sink.shed_for("paused"), dropped);
}

async fn with_pause_keep_secs_the_queued_lines_wait_for_the_resume() {
    let s = start("pause_keep_secs = 60\n").await;
    s.burst_queued().await;
    s.control("pause").await;
    let answered = Instant::now();
    let before = s.side.twitch.delivered().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_nothing_after(&s, answered, before);
    let sink = s.daemon.running().unwrap().sink;
    assert!(sink.stats().paused_held > 0, "{:?}", sink.stats());

    // Resumed 20 s later, inside the 60 s: every held line goes out, in order.
    s.control("resume").await;
    wait_until("the whole burst delivered", || {
        s.side.twitch.delivered().len() as u64 == BURST
    })
    .await;
    let texts: Vec<String> = s
        .side
        .twitch
        .delivered()
        .iter()
        .map(|p| p.text.clone())
        .collect();
    let expected: Vec<String> = (0..BURST).map(|i| format!("burst line {i}")).collect();
    assert!(
        texts
            .iter()
            .zip(&expected)
            .all(|(t, e)| t.contains(e.as_str())),
        "{texts:?}"
    );
    let stats = sink.stats();
    assert_eq!(stats.shed_for("paused"), 0);
    assert_eq!(stats.paused_held, 0);
    assert!(s.side.twitch.violations().is_empty());
    s.daemon.stop();
    s.daemon.join().await.unwrap().unwrap();
}
