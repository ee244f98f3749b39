//! Golden tests: real TikTok captures (`../shared/fixtures/webcast`), decoded by our decoder,
//! rendered by the default templates, compared line by line with what the same templates
//! give for an independent reference decode (TikTokLive's, in `real-2023.expected.jsonl`).
//!
//! The captures are read at test time and never copied into the repository; the tests skip
//! with a message when `../shared` is absent.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use serde_json::Value as Json;
use tiktwitch::config::Slot;
use tiktwitch::event::Event;
use tiktwitch::pipeline::{Pipeline, PipelineConfig};
use tiktwitch::source::tiktok::decode::{decode_fetch_result, decode_message};

fn fixtures() -> Option<PathBuf> {
    support::prereq::shared("fixtures/webcast")
}

/// Every route on (raw likes and joins too), so each event kind yields its own line.
fn everything_on() -> PipelineConfig {
    let mut c = PipelineConfig::default();
    let r = &mut c.routes;
    r.emote.enabled = true;
    r.like.enabled = true;
    r.like.summary = false;
    r.join.enabled = true;
    r.envelope.enabled = true;
    r.battle.enabled = true;
    r.viewers.enabled = true;
    c
}

/// The reference decode's display name: nickname, else handle.
fn name(reference: &Json) -> String {
    let user = &reference["user"];
    let nickname = user["nickname"].as_str().unwrap_or_default();
    if nickname.trim().is_empty() {
        user["username"].as_str().unwrap_or("someone").to_owned()
    } else {
        nickname.to_owned()
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the default templates say for a reference row, written out by hand.
fn expected_line(reference: &Json) -> Option<String> {
    let n = |key: &str| reference[key].as_u64().unwrap_or_default();
    let text = || reference["text"].as_str().unwrap_or_default().to_owned();
    Some(match reference["type"].as_str()? {
        "chat" => format!("[TT] {}: {}", name(reference), text()),
        "emote" => format!("[TT] {} sent an emote", name(reference)),
        "gift" => {
            let diamonds = reference["gift"]["diamonds"].as_u64().unwrap_or_default();
            format!(
                "[TT] 🎁 {} sent {}× {} ({} 💎)",
                name(reference),
                n("count"),
                reference["gift"]["name"].as_str().unwrap_or_default(),
                thousands(diamonds * n("count"))
            )
        }
        "like" => format!("[TT] ❤️ {} sent {} likes", name(reference), n("count")),
        "join" => format!("[TT] 👋 {} joined", name(reference)),
        "follow" => format!("[TT] ➕ {} followed", name(reference)),
        "share" => format!("[TT] 🔁 {} shared the live", name(reference)),
        "question" => format!("[TT] ❓ {} asks: {}", name(reference), text()),
        "viewers" => format!("[TT] 👀 {} watching", thousands(n("current"))),
        "control" => match n("action") {
            1 => "[TT] ⏸️ The TikTok live is paused".into(),
            2 => "[TT] ▶️ The TikTok live is back".into(),
            3 | 4 => "[TT] ⏹️ The TikTok live has ended".into(),
            _ => return None,
        },
        _ => return None,
    })
}

fn decode_line(line: &str) -> (String, Event) {
    let row: Json = serde_json::from_str(line).unwrap();
    let method = row["method"].as_str().unwrap().to_owned();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(row["payload"].as_str().unwrap())
        .unwrap();
    let event = decode_message(&method, Bytes::from(payload)).expect("real payloads decode");
    (method, event)
}

/// Each real message of a kind we relay, alone through a fresh pipeline (flushed, so a
/// gift tick is relayed with its count), matches the reference decode's line exactly.
#[test]
fn every_relayed_kind_renders_like_the_reference_decode() {
    let Some(dir) = fixtures() else { return };
    let captures = std::fs::read_to_string(dir.join("real-2023.jsonl")).unwrap();
    let references = std::fs::read_to_string(dir.join("real-2023.expected.jsonl")).unwrap();
    let t0 = Instant::now();
    let mut compared = std::collections::BTreeMap::<String, usize>::new();
    for (capture, reference) in captures.lines().zip(references.lines()) {
        let reference: Json = serde_json::from_str(reference).unwrap();
        if reference["oracle"] != "ok" {
            continue;
        }
        let Some(expected) = expected_line(&reference) else {
            continue;
        };
        let (_, event) = decode_line(capture);
        let mut p = Pipeline::new(&everything_on()).unwrap();
        let mut lines = p.push(event, t0);
        lines.extend(p.flush());
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, [expected.as_str()], "for {reference}");
        assert!(p.stats().snapshot().balanced());
        *compared
            .entry(reference["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for kind in [
        "chat", "emote", "gift", "like", "join", "follow", "share", "question", "viewers",
        "control",
    ] {
        assert!(
            compared.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} compared: {compared:?}"
        );
    }
}

/// Kinds the reference has no class for (envelopes, battles) render from our decode.
#[test]
fn envelopes_and_battles_render() {
    let Some(dir) = fixtures() else { return };
    let captures = std::fs::read_to_string(dir.join("real-2023.jsonl")).unwrap();
    let t0 = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    for capture in captures.lines() {
        let (_, event) = decode_line(capture);
        let kind = event.type_name();
        if kind != "envelope" && kind != "battle" {
            continue;
        }
        let mut p = Pipeline::new(&everything_on()).unwrap();
        let lines = p.push(event.clone(), t0);
        match &event.kind {
            tiktwitch::event::EventKind::Envelope {
                diamonds, people, ..
            } => {
                assert_eq!(lines.len(), 1);
                assert!(lines[0].text.starts_with("[TT] 💰 "), "{}", lines[0].text);
                assert!(lines[0].text.ends_with(&format!(
                    "{} 💎 for {people} viewers",
                    thousands(u64::from(*diamonds))
                )));
            }
            tiktwitch::event::EventKind::Battle { stage, sides, .. } => {
                use tiktwitch::event::BattleStage::{Finished, Started};
                if matches!(stage, Started | Finished) {
                    assert_eq!(lines.len(), 1);
                    assert_eq!(
                        lines[0].text.matches(" · ").count(),
                        sides.len(),
                        "{}",
                        lines[0].text
                    );
                } else {
                    assert!(lines.is_empty(), "score updates are never relayed");
                    assert_eq!(p.stats().snapshot().filtered_by_rule["battle_update"], 1);
                }
            }
            _ => unreachable!(),
        }
        seen.insert(kind);
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
}

/// The whole 2023 capture in order through one default pipeline: each gift streak gives
/// one line, the accounting balances, and nothing is left pending after the flush.
#[test]
fn the_whole_capture_through_the_default_pipeline() {
    let Some(dir) = fixtures() else { return };
    let captures = std::fs::read_to_string(dir.join("real-2023.jsonl")).unwrap();
    let mut p = Pipeline::new(&PipelineConfig::default()).unwrap();
    let t0 = Instant::now();
    let mut lines = Vec::new();
    let mut streaks = std::collections::BTreeSet::new();
    let mut events = 0u64;
    for (i, capture) in captures.lines().enumerate() {
        let (_, event) = decode_line(capture);
        if let tiktwitch::event::EventKind::Gift {
            user,
            gift,
            streak_id,
            ..
        } = &event.kind
        {
            streaks.insert((user.id, gift.id, *streak_id));
        }
        events += 1;
        lines.extend(p.push(event, t0 + Duration::from_millis(i as u64 * 50)));
    }
    lines.extend(p.flush());
    let s = p.stats().snapshot();
    assert_eq!(s.total().received, events);
    assert_eq!(s.total().pending, 0);
    assert!(s.balanced(), "{s:#?}");
    let gift_lines = lines.iter().filter(|l| l.kind == "gift").count();
    assert_eq!(gift_lines as u64, s.kinds["gift"].relayed);
    assert!(
        gift_lines <= streaks.len() && gift_lines > 0,
        "{gift_lines} lines for {} streaks",
        streaks.len()
    );
    assert!(lines.iter().any(|l| l.kind == "likes"), "a like summary");
    assert!(
        lines
            .iter()
            .all(|l| !l.text.is_empty() && !l.text.contains('\n'))
    );
}

/// The 2026 first fetch result's comments are flagged history by TikTok: dropped by default, relayed with
/// `relay_history`, the comments matching the reference decode.
#[test]
fn the_2026_first_batch_is_history() {
    let Some(dir) = fixtures() else { return };
    let batch = decode_fetch_result(Bytes::from(
        std::fs::read(dir.join("real-2026/batch.pb")).unwrap(),
    ))
    .unwrap();
    let events: Vec<Event> = batch.messages.into_iter().filter_map(Result::ok).collect();
    let t0 = Instant::now();

    let mut default = Pipeline::new(&PipelineConfig::default()).unwrap();
    let relayed: usize = events
        .iter()
        .map(|e| default.push(e.clone(), t0).len())
        .sum();
    assert_eq!(relayed, 0);
    let flagged = events.iter().filter(|e| e.meta.history).count() as u64;
    assert!(
        events
            .iter()
            .filter(|e| e.type_name() == "chat")
            .all(|e| e.meta.history)
    );
    assert_eq!(
        default.stats().snapshot().filtered_by_rule["history"],
        flagged
    );

    let history = PipelineConfig {
        relay_history: true,
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::new(&history).unwrap();
    let lines: Vec<String> = events
        .iter()
        .flat_map(|e| p.push(e.clone(), t0))
        .map(|l| l.text)
        .collect();
    let chat_lines = lines.iter().filter(|l| !l.starts_with("[TT] ❤")).count();
    assert_eq!(chat_lines, 6, "{lines:#?}");

    let reference: Json = serde_json::from_str(
        &std::fs::read_to_string(dir.join("real-2026/expected/chat.json")).unwrap(),
    )
    .unwrap();
    let single = decode_message(
        "WebcastChatMessage",
        Bytes::from(std::fs::read(dir.join("real-2026/chat.pb")).unwrap()),
    )
    .unwrap();
    let mut p = Pipeline::new(&PipelineConfig::default()).unwrap();
    let line = p.push(single, t0).pop().unwrap();
    assert_eq!(
        line.text,
        format!(
            "[TT] {}: {}",
            reference["user"]["nickname"].as_str().unwrap(),
            reference["comment"].as_str().unwrap()
        )
    );
    assert_eq!(Slot::Chat.line_kind(), line.kind);
}
