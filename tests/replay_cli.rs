//! `tiktwitch replay` as a user runs it: the shared corpus through the default pipeline
//! (read at test time from `../shared`; skipped with a message when absent), and `--send`
//! of a small capture to the Twitch and OAuth stand-ins.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tiktwitch::source::tiktok::capture::write_frame;
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::frames::{chat_message, control_message, single};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};

fn config(dir: &Path, twitch: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"secret_store = "env"
# The pacing journal stays in this test's directory: a run within 30 s of another must not
# see the other's lines as duplicates.
state_dir = "{state}"

[tiktok]
username = "@replayer"

[twitch]
channels = ["replay_chan"]
bot_login = "tiktwitch_bot"
client_id = "replay-client"
{twitch}
"#,
            state = dir.join("state").display()
        ),
    )
    .unwrap();
    path
}

fn replay(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.arg("--config")
        .arg(config)
        .arg("replay")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The number after `label` in `text` ("21247 relayed" -> 21247 for "relayed").
fn count(text: &str, label: &str) -> u64 {
    let words: Vec<&str> = text.split([' ', ',', ';', ':', '(', ')']).collect();
    let at = words
        .iter()
        .position(|w| *w == label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"));
    words[..at]
        .iter()
        .rev()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number before {label:?} in {text}"))
}

#[test]
fn the_corpus_replays_into_the_expected_lines_and_the_accounting_adds_up() {
    let Some(frames) = support::prereq::shared("corpus/frames.bin") else {
        return;
    };
    let corpus = frames.parent().unwrap().to_path_buf();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("manifest.json")).unwrap())
            .unwrap();
    let by_method = &manifest["main"]["by_method"];
    let method = |m: &str| by_method[m].as_u64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "");
    let out = replay(&config, &[frames.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("replay:"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));

    // Every line printed, in the `kind<TAB>text` form, as many as the summary says.
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for line in stdout.lines() {
        let (kind, text) = line.split_once('\t').expect("kind<TAB>text");
        assert!(!text.is_empty(), "{line}");
        *kinds.entry(kind).or_default() += 1;
    }
    let lines = stdout.lines().count() as u64;
    assert_eq!(lines, count(summary, "lines"), "{summary}");

    // The accounting: every decoded message entered, each ended exactly one way, and every
    // line is a relayed event or a summary of coalesced ones.
    let events = count(summary, "events");
    assert_eq!(events, manifest["main"]["messages"].as_u64().unwrap());
    assert_eq!(count(summary, "undecodable"), 0);
    let relayed = count(summary, "relayed");
    assert_eq!(
        relayed
            + count(summary, "filtered")
            + count(summary, "coalesced")
            + count(summary, "failed"),
        events,
        "{summary}"
    );
    let summaries: u64 = ["likes", "joins", "chat_flood"]
        .iter()
        .map(|k| kinds.get(k).copied().unwrap_or(0))
        .sum();
    assert_eq!(relayed + summaries, lines, "{kinds:?}");

    // Kinds the default routes relay one for one match the corpus' own counts.
    let kind = |k: &str| kinds.get(k).copied().unwrap_or(0);
    assert_eq!(kind("question"), method("WebcastQuestionNewMessage"));
    assert_eq!(
        kind("follow") + kind("share"),
        method("WebcastSocialMessage")
    );
    assert_eq!(
        kind("live_paused") + kind("live_resumed") + kind("live_ended"),
        method("WebcastControlMessage")
    );
    // Likes: one summary per 60 s window of the hour the create times span.
    assert!((55..=70).contains(&kind("likes")), "{kinds:?}");
    // Gift streaks relay once each: fewer lines than gift messages, but some.
    assert!(kind("gift") > 0 && kind("gift") < method("WebcastGiftMessage"));
    assert_eq!(kind("joins"), 0, "joins are off by default");
    // The golden total of this corpus with the default config (a change here is a change
    // in what users see: check it on purpose).
    assert_eq!(lines, 25_560, "{kinds:?}");
    // The end of the stream is the last line.
    assert!(stdout.lines().last().unwrap().starts_with("live_ended\t"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_delivers_the_replayed_lines_to_twitch() {
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        client_id: "replay-client".into(),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let (access, _) = oauth.mint(&["chat:read", "chat:edit"]);
    let twitch = FakeTwitch::start(FakeTwitchConfig {
        elevated_channels: ["replay_chan".to_string()].into(),
        valid_tokens: Some([access.clone()].into()),
        ..FakeTwitchConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("show.bin");
    {
        let room = 7_000_000_000_000_000_042;
        let mut file = std::fs::File::create(&capture).unwrap();
        for (i, text) in ["first line", "second line", "third line"]
            .iter()
            .enumerate()
        {
            let id = 100 + i as u64;
            write_frame(&mut file, &single(id, chat_message(id, room, "fan", text))).unwrap();
        }
        write_frame(&mut file, &single(200, control_message(200, room, 3))).unwrap();
    }
    let config = config(
        dir.path(),
        &format!(
            "server = \"{}\"\ntls = false\noauth_base_url = \"{}\"",
            twitch.addr(),
            oauth.base_url()
        ),
    );
    let mut cmd = replay(&config, &["--send", capture.to_str().unwrap()]);
    cmd.env("TIKTWITCH_SECRET_TWITCH_ACCESS_TOKEN", &access)
        .env("RUST_LOG", "off");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::task::spawn_blocking(move || cmd.output().unwrap()),
    )
    .await
    .expect("replay --send did not finish within 60 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let printed: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once('\t').unwrap().1)
        .collect();
    assert_eq!(printed.len(), 4, "{stdout}");
    let lines: Vec<String> = twitch.delivered().into_iter().map(|p| p.text).collect();
    // Packing is on by default: comments that wait share a line (how many wait depends on
    // timing). Compared part by part, every printed line was delivered once, in order.
    assert!(!lines.is_empty() && lines.len() <= 4, "{lines:#?}");
    let delivered: Vec<String> = lines
        .iter()
        .flat_map(|l| l.split(tiktwitch::sink::pack::PACK_SEPARATOR))
        .map(str::to_owned)
        .collect();
    let mut sorted = delivered.clone();
    sorted.sort();
    let mut expected: Vec<String> = printed.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(sorted, expected, "every printed line was delivered once");
    let chats = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains("FAN:"))
            .cloned()
            .collect()
    };
    let printed_owned: Vec<String> = printed.iter().map(|s| s.to_string()).collect();
    assert_eq!(chats(&delivered), chats(&printed_owned));
    assert!(
        twitch
            .delivered()
            .iter()
            .all(|p| p.channel == "replay_chan")
    );
    let packed = 4 - lines.len();
    assert!(
        stderr.contains(&format!("{} sent", lines.len()))
            && stderr.contains(&format!("{packed} packed into others")),
        "{stderr}"
    );
    assert!(stderr.contains("packing: on"), "{stderr}");
    assert!(twitch.violations().is_empty(), "{:?}", twitch.violations());
    assert!(!stderr.contains(&access) && !stdout.contains(&access));
}
