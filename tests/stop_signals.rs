//! A second SIGTERM while the daemon drains ends the wait at once (exit 1, logged), on the
//! real binary with the stand-ins. The drain itself (first signal only, exit 0) is
//! tests/daemon_process.rs.
//!
//! Waits are on what the process reports (stderr lines, the Twitch stand-in's events),
//! each with a deadline that is only a failure bound.
#![cfg(unix)]

mod support;

use std::time::{Duration, Instant};

use support::process::{Running, signal};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};
use tiktwitch::standin::twitch::FakeEvent;

const SIGNER_KEY: &str = "signals-signer-key";
/// Lines queued at once: paced 1.1 s apart, the drain would take about this many seconds.
const CHATS: u64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_during_the_drain_exits_at_once() {
    let room_id = 7_300_000_000_000_000_000;
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "erin".into(),
        room_id,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let chats = (0..CHATS)
        .map(|i| frames::chat_message(room_id + 1 + i, room_id, "fan", &format!("line {i}")))
        .collect();
    tiktok.push_script(vec![Step::Frame(frames::msg_frame(
        1,
        1,
        &frames::batch(chats, "ext-1"),
    ))]);
    let side = TwitchSide::start("signals-client").await.unwrap();
    let mut events = side.twitch.subscribe();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text = side.config_head()
        + "\n[shutdown]\ngrace_secs = 60\n"
        // One line per comment, so the drain takes seconds (packing has its own tests).
        + "\n[routes.chat]\npack = false\n"
        + &tiktok.bridge_toml("erin", "erin_tv");
    std::fs::write(&config, text).unwrap();
    let mut cmd = support::process::run(&config, "tiktwitch=info");
    cmd.env("TIKTWITCH_SECRET_TWITCH_ACCESS_TOKEN", &side.access_token)
        .env("TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY", SIGNER_KEY);
    let mut running = Running::spawn(cmd);

    // The first line is out: the other seven are queued behind Twitch's pacing.
    running
        .until("a line reached Twitch", async {
            loop {
                match events.recv().await {
                    Ok(FakeEvent::Privmsg(p)) if p.outcome == "delivered" => break,
                    Ok(_) => {}
                    Err(e) => panic!("fake Twitch events ended: {e}"),
                }
            }
        })
        .await;
    let pid = running.pid();
    signal("TERM", pid);
    // The daemon says it is draining: the first signal was taken.
    running
        .line("draining after SIGTERM", |line| {
            line.contains("shutting down: draining")
        })
        .await;
    let second = Instant::now();
    signal("TERM", pid);
    let (status, log) = running.finish_within(Duration::from_secs(30)).await;
    let took = second.elapsed();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("second stop signal"), "{log}");
    // Far sooner than the drain: seven lines at 1.1 s each would take 7.7 s.
    assert!(took < Duration::from_secs(3), "{took:?}\n{log}");
    let delivered = side.twitch.delivered().len() as u64;
    assert!(delivered < CHATS, "the drain finished anyway: {delivered}");
}
