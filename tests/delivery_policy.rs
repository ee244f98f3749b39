//! Issue 21, choosing what to send when not everything fits, end to end: the real pipeline
//! renders bursts (its line metadata: authors, first comments, questions, gift values,
//! normalised texts), the real twitch-irc sink chooses and paces them into the stand-in
//! Twitch on 127.0.0.1 under paused tokio time. Chat keeps a third of the lines under a
//! gift storm; a follow storm becomes summary parts while every comment still goes; one
//! spammer cannot hold back the other viewers; near-identical comments go as one part with
//! `×N`; the end of the live comes last; no line or part is contentless; every line in is
//! accounted for.

mod support;

use std::time::{Duration, Instant as StdInstant};

use support::events::{comment, ev, user};
use support::sink::{Delivery, start_delivery_with, stop, until, until_idle};
use tiktwitch::event::{ControlAction, Event, EventKind, Gift};
use tiktwitch::line::Line;
use tiktwitch::pipeline::{Pipeline, PipelineConfig};
use tiktwitch::sink::TwitchSinkSettings;
use tiktwitch::sink::pack::{PACK_SEPARATOR, PackSettings};
use tiktwitch::sink::sink_stats::StatsSnapshot;

/// Renders `events` through the default pipeline, all at one instant.
fn render(events: Vec<Event>) -> Vec<Line> {
    let mut pipeline = Pipeline::new(&PipelineConfig::default()).expect("defaults are valid");
    let t0 = StdInstant::now();
    let mut lines = Vec::new();
    for event in events {
        lines.extend(pipeline.push(event, t0));
    }
    lines.extend(pipeline.flush());
    assert!(pipeline.stats().snapshot().balanced());
    lines
}

fn gift(msg_id: u64, from: u64, diamonds: u32) -> Event {
    ev(
        msg_id,
        EventKind::Gift {
            user: user(from, &format!("gifter{from}")),
            gift: Gift {
                id: 7,
                name: "Lion".into(),
                diamonds,
                streakable: false,
                image: None,
            },
            count: 1,
            streak_end: true,
            complete: true,
            streak_id: msg_id,
            to_user: None,
        },
    )
}

fn said(msg_id: u64, from: u64, text: &str) -> Event {
    comment(msg_id, user(from, &format!("viewer{from}")), text)
}

fn end(msg_id: u64) -> Event {
    ev(
        msg_id,
        EventKind::Control {
            action: ControlAction::Ended,
        },
    )
}

/// The end of the live reached Twitch.
fn ended(sent: &[String]) -> bool {
    sent.iter().any(|t| t.contains("has ended"))
}

fn is_chat(text: &str) -> bool {
    text.contains("VIEWER")
}

/// Every line and part has content, and the counters add up.
fn assert_clean(sent: &[String], stats: &StatsSnapshot) {
    for text in sent {
        assert!(text.chars().count() <= 500, "{text}");
        for part in text.split(PACK_SEPARATOR) {
            assert!(!part.trim().is_empty(), "empty part in {text:?}");
            let content = part.split_once(':').map(|(_, rest)| rest.trim());
            assert_ne!(content, Some(""), "contentless part {part:?} in {text:?}");
        }
    }
    assert_eq!(
        stats.lines_in + stats.extra_parts,
        stats.accounted(),
        "{stats:#?}"
    );
}

/// Sends `lines` into a sink set up by `adjust`, waits until `done` holds for what Twitch
/// received, and returns the texts and the counters.
async fn deliver<const SLOT: usize>(
    lines: Vec<Line>,
    adjust: impl FnOnce(&mut TwitchSinkSettings),
    done: impl Fn(&[String]) -> bool,
) -> (Vec<String>, StatsSnapshot) {
    let Delivery {
        fake,
        handle,
        task,
        shutdown,
    } = start_delivery_with::<SLOT>(adjust).await;
    for line in lines {
        handle.send("chan", line);
    }
    let texts = || -> Vec<String> { fake.delivered().into_iter().map(|m| m.text).collect() };
    until("lines at Twitch", Duration::from_secs(600), || {
        done(&texts())
    })
    .await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let sent = texts();
    let stats = handle.stats();
    stop(shutdown, task).await;
    (sent, stats)
}

#[tokio::test(start_paused = true)]
async fn a_gift_storm_leaves_chat_a_third_of_the_lines() {
    // 40 big gifts (500 diamonds, own lines) written before 20 comments, one line each.
    let mut events: Vec<Event> = (1..=40).map(|i| gift(i, i, 500)).collect();
    events.extend((41..=60).map(|i| said(i, i, &format!("comment {i}"))));
    let off = |s: &mut TwitchSinkSettings| {
        s.pack = PackSettings {
            enabled: false,
            ..PackSettings::default()
        }
    };
    let (sent, stats) = deliver::<1>(render(events), off, |sent| sent.len() >= 15).await;
    let first: Vec<&String> = sent.iter().take(15).collect();
    let chat = first.iter().filter(|t| is_chat(t)).count();
    assert_eq!(chat, 5, "one line in three: {first:#?}");
    // Every third line is the chat one, whatever waited before it.
    for (i, text) in first.iter().enumerate() {
        assert_eq!(is_chat(text), i % 3 == 2, "line {i}: {first:#?}");
    }
    assert!(first[0].contains("GIFTER1 sent"), "{first:#?}");
    assert_clean(&sent, &stats);
}

#[tokio::test(start_paused = true)]
async fn a_follow_storm_is_summed_up_and_every_comment_still_goes_before_the_end() {
    let mut events = Vec::new();
    let mut id = 0;
    for i in 0..50 {
        id += 1;
        events.push(ev(
            id,
            EventKind::Follow {
                user: user(1_000 + i, &format!("fan{i}")),
            },
        ));
        if i % 5 == 0 {
            id += 1;
            events.push(said(id, i, &format!("comment {i} while they follow")));
        }
    }
    id += 1;
    events.push(end(id));
    let (sent, stats) = deliver::<2>(render(events), |_| {}, ended).await;
    assert_clean(&sent, &stats);
    let all = sent.join(PACK_SEPARATOR);
    // 50 follows in a few summary parts, not 50 parts.
    let followed = all.matches("followed").count();
    assert!(followed <= 3, "{followed} follow parts: {sent:#?}");
    assert!(
        all.contains("FAN0, FAN1 and 48 others followed"),
        "{sent:#?}"
    );
    for i in (0..50).step_by(5) {
        let needle = format!(": comment {i} while they follow");
        assert_eq!(all.matches(&needle).count(), 1, "{needle}: {sent:#?}");
    }
    let last = sent.last().unwrap();
    assert!(
        last.contains("has ended") && !last.contains(PACK_SEPARATOR),
        "{sent:#?}"
    );
    assert!(sent.len() <= 4, "{sent:#?}");
    assert!(stats.packed >= 50, "{stats:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_follow_storm_bigger_than_the_queue_sheds_follows_not_comments() {
    // 300 follows with a comment after every 20th: far more than the queue's 64 lines.
    let mut events = Vec::new();
    for i in 0..300u64 {
        events.push(ev(
            i + 1,
            EventKind::Follow {
                user: user(1_000 + i, &format!("fan{i}")),
            },
        ));
        if i % 20 == 19 {
            events.push(said(10_000 + i, i, &format!("comment {i} in the storm")));
        }
    }
    events.push(end(20_000));
    let (sent, stats) = deliver::<7>(render(events), |_| {}, ended).await;
    assert_clean(&sent, &stats);
    assert!(stats.shed_for("queue_full") > 200, "{stats:#?}");
    assert_eq!(
        stats.shed.get(&("chat".into(), "queue_full".into())),
        None,
        "{stats:#?}"
    );
    let all = sent.join(PACK_SEPARATOR);
    for i in (19..300).step_by(20) {
        let needle = format!(": comment {i} in the storm");
        assert_eq!(all.matches(&needle).count(), 1, "{needle}: {sent:#?}");
    }
    assert!(all.contains(" others followed"), "{sent:#?}");
    assert!(sent.last().unwrap().contains("has ended"), "{sent:#?}");
}

#[tokio::test(start_paused = true)]
async fn one_spammer_cannot_hold_back_the_other_viewers() {
    // Viewer 1 writes 20 comments before five other viewers write one each.
    let mut events: Vec<Event> = (1..=20).map(|i| said(i, 1, &format!("spam {i}"))).collect();
    events.extend((2..=6).map(|u| said(100 + u, u, &format!("hello from {u}"))));
    let off = |s: &mut TwitchSinkSettings| {
        s.pack = PackSettings {
            enabled: false,
            ..PackSettings::default()
        }
    };
    let (sent, stats) = deliver::<3>(render(events), off, |sent| sent.len() >= 8).await;
    let first: Vec<&String> = sent.iter().take(6).collect();
    // The spammer's first comment, then every other viewer, before the spammer's second.
    assert!(first[0].ends_with(": spam 1"), "{first:#?}");
    for u in 2..=6 {
        assert!(
            first
                .iter()
                .any(|t| t.ends_with(&format!("hello from {u}"))),
            "viewer {u} waited behind the spam: {first:#?}"
        );
    }
    assert!(sent[6].ends_with(": spam 2"), "{sent:#?}");
    assert_clean(&sent, &stats);
}

#[tokio::test(start_paused = true)]
async fn near_identical_comments_go_as_one_part_with_a_count() {
    let variants = [
        "888", "8888", "88888", "8 8 8", "888!", "888!!!", "8888888", "8 8 8 8", "888 !!",
        "88888888", "8888!", "888.",
    ];
    let mut events: Vec<Event> = variants
        .iter()
        .enumerate()
        .map(|(i, text)| said(i as u64 + 1, i as u64 + 1, text))
        .collect();
    events.push(said(50, 50, "LOL!!!"));
    events.push(said(51, 51, "lol"));
    events.push(said(52, 52, "what song is this?"));
    events.push(end(53));
    let (sent, stats) = deliver::<4>(render(events), |_| {}, ended).await;
    assert_clean(&sent, &stats);
    let all = sent.join(PACK_SEPARATOR);
    assert!(all.contains("VIEWER1: 888 ×12"), "{sent:#?}");
    assert!(all.contains("VIEWER50: LOL!!! ×2"), "{sent:#?}");
    assert!(all.contains("VIEWER52: what song is this?"), "{sent:#?}");
    assert_eq!(all.matches(": 8").count(), 1, "one 888 part: {sent:#?}");
    assert_eq!(stats.coalesced, 12, "11 + 1 merged as ×N: {stats:#?}");
    // The ×N parts stand for their comments: all 15 count as relayed, in one line.
    let relayed: u64 = stats.chat_relayed.values().map(|c| c.comments).sum();
    assert_eq!(relayed, 15, "{stats:#?}");
    assert!(sent.last().unwrap().contains("has ended"), "{sent:#?}");
    assert_eq!(sent.len(), 2, "{sent:#?}");
}

#[tokio::test(start_paused = true)]
async fn small_gifts_share_a_summary_and_big_ones_keep_their_lines_first() {
    let mut events: Vec<Event> = (1..=6).map(|i| gift(i, i, 1)).collect();
    events.push(gift(7, 7, 1_000));
    events.push(said(8, 8, "nice"));
    let (sent, stats) = deliver::<5>(
        render(events),
        |_| {},
        |sent| sent.iter().any(|t| t.contains("nice")),
    )
    .await;
    assert_clean(&sent, &stats);
    assert!(
        sent[0].contains("GIFTER7 sent 1× Lion") && !sent[0].contains(PACK_SEPARATOR),
        "the big gift first, alone: {sent:#?}"
    );
    let all = sent.join(PACK_SEPARATOR);
    assert!(
        all.contains("[TT] 🎁 GIFTER1, GIFTER2 and 4 others sent gifts (6 💎)"),
        "{sent:#?}"
    );
    assert!(all.contains("VIEWER8: nice"), "{sent:#?}");
    assert_eq!(sent.len(), 2, "{sent:#?}");
}

#[tokio::test(start_paused = true)]
async fn each_route_keeps_its_own_maximum_age() {
    // Follows may wait 5 s here: with 30 comments one line each ahead of them (chat
    // first), the follow is stale at its turn; the gift (120 s) is not.
    let mut routes = tiktwitch::config::RoutesConfig::default();
    routes.follow.max_age_secs = 5;
    routes.chat.min_share_one_in = 1;
    let policy = tiktwitch::daemon::plan::delivery_policy(&routes);
    let mut events: Vec<Event> = (1..=10).map(|i| said(i, i, &format!("c{i}"))).collect();
    events.push(ev(
        20,
        EventKind::Follow {
            user: user(20, "late"),
        },
    ));
    events.push(gift(21, 21, 500));
    let adjust = |s: &mut TwitchSinkSettings| {
        s.pack = PackSettings {
            enabled: false,
            ..PackSettings::default()
        };
        s.freshness = policy.freshness;
        s.select = policy.select;
    };
    let Delivery {
        fake,
        handle,
        task,
        shutdown,
    } = start_delivery_with::<6>(adjust).await;
    for line in render(events) {
        handle.send("chan", line);
    }
    until_idle(&handle, Duration::from_secs(120)).await;
    let sent: Vec<String> = fake.delivered().into_iter().map(|m| m.text).collect();
    let stats = handle.stats();
    stop(shutdown, task).await;
    assert!(!sent.iter().any(|t| t.contains("followed")), "{sent:#?}");
    assert!(sent.iter().any(|t| t.contains("GIFTER21")), "{sent:#?}");
    assert_eq!(stats.shed.get(&("follow".into(), "stale".into())), Some(&1));
    assert_clean(&sent, &stats);
}

/// `[routes.<kind>] max_age_secs`, `min_share_one_in` and `big_diamonds` reach the sink,
/// and a bridge's own `[bridge.routes]` apply to its lines only.
#[test]
fn the_config_sets_the_policy_globally_and_per_bridge() {
    use std::collections::HashMap;
    use tiktwitch::config::load_with_env;
    use tiktwitch::daemon::Plan;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let base = r#"
secret_store = "env"
[tiktok]
username = "@creator"
[twitch]
channels = ["mychannel"]
bot_login = "mybot"
client_id = "abc"
[routes.chat]
min_share_one_in = 2
[routes.gift]
big_diamonds = 1000
[routes.follow]
max_age_secs = 30
[[bridge]]
name = "calm"
[[bridge]]
name = "busy"
[bridge.routes.follow]
max_age_secs = 7
[bridge.routes.chat]
min_share_one_in = 5
"#;
    std::fs::write(&path, base).unwrap();
    let loaded = load_with_env(
        &path,
        Some(HashMap::new()),
        tiktwitch::pipeline::Pipeline::check,
    )
    .unwrap();
    let sink = Plan::from_config(&loaded, None).unwrap().sink;
    let secs = Duration::from_secs;
    assert_eq!(sink.select.chat_one_in, 2);
    assert_eq!(sink.select.big_diamonds, 1000);
    assert_eq!(sink.freshness.max_age("follow"), Some(secs(30)));
    assert_eq!(sink.freshness.max_age("chat"), Some(secs(20)));
    assert_eq!(sink.freshness.max_age("live_ended"), None);
    let calm = &sink.policy_by_bridge["calm"];
    assert_eq!(calm.freshness.max_age("follow"), Some(secs(30)));
    assert_eq!(calm.select.chat_one_in, 2);
    let busy = &sink.policy_by_bridge["busy"];
    assert_eq!(busy.freshness.max_age("follow"), Some(secs(7)));
    assert_eq!(busy.select.chat_one_in, 5);
    assert_eq!(busy.select.big_diamonds, 1000);
    // Out of range: refused with the key path, by the loader `check` and `run` share.
    std::fs::write(
        &path,
        base.replace("min_share_one_in = 5", "min_share_one_in = 0"),
    )
    .unwrap();
    let err = load_with_env(
        &path,
        Some(HashMap::new()),
        tiktwitch::pipeline::Pipeline::check,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("bridge[1].routes.chat.min_share_one_in"),
        "{err}"
    );
}
