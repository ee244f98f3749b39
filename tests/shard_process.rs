//! Two `tiktwitch run` processes over ONE config file, `--shard 0/2` and `--shard 1/2`
//! (what the Kubernetes StatefulSet runs, one shard per pod), each with its own state
//! directory (`$STATE_DIRECTORY`, the pod's own volume): every bridge is run by exactly one
//! of them (its creator sees exactly one connection, its line reaches Twitch once), and
//! each process' pacing journal holds only its own shard's channels, so the restart-safe
//! pacing state follows the shard (README "Sharding across processes").
//!
//! Waits on what the stand-ins report, with generous deadlines as failure bounds only.
#![cfg(unix)]

mod support;

use std::time::Duration;

use support::process::{self, Running};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};

const SIGNER_KEY: &str = "shard-signer-key";
const BRIDGES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_run_each_bridge_exactly_once_with_their_own_pacing_state() {
    let side = TwitchSide::start("shard-client").await.unwrap();
    let mut creators = Vec::new();
    // One config for both processes, as one ConfigMap is mounted into every pod; no
    // `state_dir` in it, so each process takes its own from `$STATE_DIRECTORY`.
    let mut text: String = side
        .config_head()
        .lines()
        .filter(|l| !l.starts_with("state_dir"))
        .map(|l| format!("{l}\n"))
        .collect();
    text += "\n[routes.chat]\npack = false\n";
    for i in 0..BRIDGES {
        let room = 7_600_000_000_000_000_000 + i as u64 * 1_000;
        let creator = FakeTikTok::start(FakeTikTokConfig {
            username: format!("creator{i}"),
            room_id: room,
            api_key: Some(SIGNER_KEY.into()),
            ..FakeTikTokConfig::default()
        })
        .await
        .unwrap();
        creator.push_script(vec![
            Step::Pause(Duration::from_millis(500)),
            Step::Frame(frames::single(
                room + 1,
                frames::chat_message(room + 1, room, "fan", &format!("line of bridge {i}")),
            )),
        ]);
        text += &creator.bridge_toml(&format!("b{i}"), &format!("chan{i}"));
        creators.push(creator);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).unwrap();

    let states: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut shards: Vec<Running> = (0..2)
        .map(|s| {
            let mut cmd = process::run(&config, "tiktwitch=info");
            cmd.arg("--shard")
                .arg(format!("{s}/2"))
                .env("STATE_DIRECTORY", states[s].path())
                .env("TIKTWITCH_SECRET_TWITCH_ACCESS_TOKEN", &side.access_token)
                .env("TIKTWITCH_SECRET_SIGNER_API_KEY", SIGNER_KEY)
                .env("TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY", SIGNER_KEY);
            Running::spawn(cmd)
        })
        .collect();

    // Every bridge's line reaches Twitch.
    let mut events = side.twitch.subscribe();
    let twitch = &side.twitch;
    shards[0]
        .until("every bridge's line reached Twitch", async {
            while (0..BRIDGES).any(|i| {
                !twitch
                    .delivered()
                    .iter()
                    .any(|p| p.channel == format!("chan{i}"))
            }) {
                let _ = events.recv().await;
            }
        })
        .await;

    let mut logs = Vec::new();
    for child in shards.drain(..) {
        process::signal("TERM", child.pid());
        let (status, log) = child.finish().await;
        assert!(status.success(), "exit {status:?}\n{log}");
        logs.push(log);
    }

    // Exactly one owner per bridge: its creator saw one connection, its line came once.
    let delivered = twitch.delivered();
    for (i, creator) in creators.iter().enumerate() {
        let connections = creator.report().connections.len();
        assert_eq!(
            connections, 1,
            "creator{i}: {connections} connections\n{logs:?}"
        );
        let lines: Vec<_> = delivered
            .iter()
            .filter(|p| p.channel == format!("chan{i}"))
            .collect();
        assert_eq!(lines.len(), 1, "chan{i}: {lines:?}");
        assert!(lines[0].text.contains(&format!("line of bridge {i}")));
    }

    // Shard s owns the bridges at positions s, s + 2, ... (config order), and its journal,
    // in its own state directory, records JOINs and lines for those channels only.
    for (s, state) in states.iter().enumerate() {
        let journal = std::fs::read_to_string(state.path().join("pacing-tiktwitch_bot.journal"))
            .unwrap_or_else(|e| panic!("shard {s} journal: {e}\n{}", logs[s]));
        for i in 0..BRIDGES {
            let channel = format!("chan{i}");
            let recorded = journal.lines().any(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                fields.last() == Some(&channel.as_str()) && matches!(fields[0], "j" | "s")
            });
            assert_eq!(
                recorded,
                i % 2 == s,
                "shard {s}, {channel} in its journal: {recorded}\n{journal}"
            );
        }
    }
    assert!(twitch.violations().is_empty(), "{:?}", twitch.violations());
}
