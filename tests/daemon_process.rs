//! `tiktwitch run` as a user runs it: the real binary, a real config file, secrets from the
//! environment, stand-ins on 127.0.0.1. SIGTERM drains the queued lines and exits 0.
//!
//! The test waits on what the Twitch stand-in reports (with generous deadlines), never on
//! fixed sleeps.
//!
//! Unix only: it stops the process with SIGTERM (`kill`). On Windows the same drain runs on
//! Ctrl-C / Ctrl-Break (`cli::signals::StopSignals`), which a test cannot send to a child
//! without a shared console.
#![cfg(unix)]

mod support;

use std::time::Duration;

use support::process::{self, Running};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, LookupMode, Step, frames};
use tiktwitch::standin::twitch::FakeEvent;

const SIGNER_KEY: &str = "process-signer-key";

/// `tiktwitch --config <config> run` with the bot's token and the signer key from the
/// environment, logging at `rust_log` to a piped stderr.
fn spawn_run(config: &std::path::Path, access: &str, rust_log: &str) -> Running {
    let mut cmd = process::run(config, rust_log);
    cmd.env("TIKTWITCH_SECRET_TWITCH_ACCESS_TOKEN", access)
        .env("TIKTWITCH_SECRET_SIGNER_API_KEY", SIGNER_KEY);
    Running::spawn(cmd)
}

const CHATS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_queue_and_exits_zero() {
    let room_id = 7_300_000_000_000_000_000;
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "carol".into(),
        room_id,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    // Six chats at once: the sink paces them 1.1 s apart, so most are still queued when
    // SIGTERM arrives.
    // One push frame carrying all six (so the first line delivered means the whole batch
    // was received), after a pause so the other bridge's line is delivered first.
    let chats = (0..CHATS as u64)
        .map(|i| {
            let msg_id = room_id + 1 + i;
            frames::chat_message(msg_id, room_id, "fan", &format!("message number {i}"))
        })
        .collect();
    tiktok.push_script(vec![
        Step::Pause(Duration::from_secs(2)),
        Step::Frame(frames::msg_frame(1, 1, &frames::batch(chats, "ext-1"))),
    ]);
    // A second creator with one line, and a third who does not exist (that bridge fails
    // and is reported; the other two are untouched).
    let dave_room = 7_400_000_000_000_000_000;
    let dave = FakeTikTok::start(FakeTikTokConfig {
        username: "dave".into(),
        room_id: dave_room,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    dave.push_script(vec![Step::Frame(frames::single(
        dave_room + 1,
        frames::chat_message(dave_room + 1, dave_room, "dfan", "dave's only line"),
    ))]);
    let ghost = FakeTikTok::start(FakeTikTokConfig {
        username: "ghost".into(),
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    ghost.set_lookup(LookupMode::NotFound);
    let side = TwitchSide::start("process-client").await.unwrap();
    let (twitch, access) = (&side.twitch, &side.access_token);
    let mut events = twitch.subscribe();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // The file a user would write: three bridges, one (ghost) whose creator does not exist.
    let text = side.config_head()
        + "\n[shutdown]\ngrace_secs = 30\n"
        // One line per comment: this test counts lines (packing has its own tests).
        + "\n[routes.chat]\npack = false\n"
        + &tiktok.bridge_toml("carol", "carol_tv")
        + &dave.bridge_toml("dave", "dave_tv")
        + &ghost.bridge_toml("ghost", "ghost_tv");
    std::fs::write(&config, text).unwrap();

    let mut child = spawn_run(&config, access, "tiktwitch=debug");

    // Dave's line, then carol's first: both bridges are up end to end.
    let mut first = None;
    child
        .until("a line of each bridge reached Twitch", async {
            let mut dave_seen = false;
            loop {
                match events.recv().await {
                    Ok(FakeEvent::Privmsg(p)) if p.outcome == "delivered" => {
                        dave_seen |= p.channel == "dave_tv";
                        if p.channel == "carol_tv" {
                            assert!(dave_seen, "carol's line came before dave's");
                            first = Some(p);
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => panic!("fake Twitch events ended: {e}"),
                }
            }
        })
        .await;
    let first = first.expect("carol's line");
    assert!(first.text.contains("message number 0"), "{}", first.text);

    process::signal("TERM", child.pid());
    let (status, log) = child.finish().await;
    assert!(status.success(), "exit {status:?}\n{log}");

    // Everything queued at SIGTERM was still delivered, in order, within Twitch's rules,
    // each bridge's lines in its own channel.
    let all = twitch.delivered();
    let dave_lines: Vec<_> = all.iter().filter(|p| p.channel == "dave_tv").collect();
    assert_eq!(dave_lines.len(), 1, "{all:?}");
    assert!(dave_lines[0].text.contains("dave's only line"));
    assert!(all.iter().all(|p| p.channel != "ghost_tv"));
    assert!(
        log.contains("ghost"),
        "the failing bridge is reported:\n{log}"
    );
    let delivered: Vec<String> = all
        .into_iter()
        .filter(|p| p.channel == "carol_tv")
        .map(|p| p.text)
        .collect();
    assert_eq!(delivered.len(), CHATS, "{delivered:?}\n{log}");
    for (i, text) in delivered.iter().enumerate() {
        assert!(
            text.contains(&format!("message number {i}")),
            "{delivered:?}"
        );
    }
    assert!(twitch.violations().is_empty(), "{:?}", twitch.violations());
    assert!(log.contains("SIGTERM"), "{log}");
    // No secret in the logs, even at debug.
    assert!(
        !log.contains(access.as_str()),
        "the access token leaked into the log"
    );
    assert!(
        !log.contains(SIGNER_KEY),
        "the signer key leaked into the log"
    );
}

/// `wait_for_live = false` and the creator offline: `run` ends by itself with the
/// documented exit code 3 (it used to poll again every 30 s, forever), saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_creator_with_wait_for_live_off_exits_3() {
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "erin".into(),
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    tiktok.go_offline();
    let side = TwitchSide::start("offline-client").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text =
        side.config_head() + &tiktok.bridge_toml("erin", "erin_tv") + "wait_for_live = false\n";
    std::fs::write(&config, text).unwrap();

    let child = spawn_run(&config, &side.access_token, "tiktwitch=info");
    // Within the deadline: before, run kept waiting for an offline creator.
    let (status, log) = child.finish().await;
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(log.contains("@erin is not live"), "{log}");
    assert!(side.twitch.delivered().is_empty());
}

/// SIGHUP with a changed channel: the routes apply, and one warning names every key that
/// needs a restart (the change used to be ignored silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_names_the_changes_that_need_a_restart() {
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "gina".into(),
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let side = TwitchSide::start("reload-client").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let write = |channel: &str| {
        let text = side.config_head() + &tiktok.bridge_toml("gina", channel);
        std::fs::write(&config, text).unwrap();
    };
    write("gina_tv");
    let mut child = spawn_run(&config, &side.access_token, "tiktwitch=info");
    child
        .line("the bridge is live", |l| l.contains("(live, room"))
        .await;
    write("gina_elsewhere");
    process::signal("HUP", child.pid());
    let warning = child
        .line("the reload warning", |l| l.contains("need a restart"))
        .await;
    // Exactly the one key changed: nothing else is listed.
    assert!(
        warning
            .trim_end()
            .ends_with("keys=bridge[0].twitch_channels"),
        "{warning}"
    );
    process::signal("TERM", child.pid());
    let (status, log) = child.finish().await;
    assert!(status.success(), "{status:?}\n{log}");
}
