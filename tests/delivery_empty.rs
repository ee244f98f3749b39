//! Issue 21, item 4: no junk lines. Comments with nothing left after sanitizing are filtered
//! as `empty` before any coalescer sees them, so neither `[TT] user:` nor a flood summary of
//! nothing (`[TT] (×1 more)`) is ever produced, and the accounting still balances.

mod support;

use std::time::{Duration, Instant};

use support::events::{comment, ev, user};
use tiktwitch::event::{Event, EventKind};
use tiktwitch::line::Line;
use tiktwitch::pipeline::{Pipeline, PipelineConfig};

fn chat(msg_id: u64, handle: &str, text: &str) -> Event {
    comment(msg_id, user(msg_id, handle), text)
}

fn texts(lines: &[Line]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

/// Texts a viewer can send that show nothing once sanitized.
const BLANK: [&str; 6] = [
    "",
    "   ",
    "\u{200B}\u{200B}",
    "\u{200D}\u{FEFF} \u{2060}",
    "\r\n\t\u{0}",
    " \u{2028} \u{202E} ",
];

#[test]
fn blank_comments_and_questions_are_filtered_as_empty_and_never_become_lines() {
    let t0 = Instant::now();
    let mut p = Pipeline::new(&PipelineConfig::default()).expect("defaults are valid");
    let mut lines = Vec::new();
    let mut id = 0;
    // Each blank text from several viewers: before the fix the first became `[TT] U1:` and
    // the repeats a flood summary `[TT]  (×N more)` when the window closed.
    for round in 0..3u64 {
        for text in BLANK {
            id += 1;
            lines.extend(p.push(
                chat(id, &format!("u{id}"), text),
                t0 + Duration::from_millis(round),
            ));
        }
    }
    id += 1;
    let question = ev(
        id,
        EventKind::Question {
            user: Some(user(id, "asker")),
            text: " \u{200B} ".into(),
        },
    );
    lines.extend(p.push(question, t0));
    id += 1;
    lines.extend(p.push(chat(id, "real", "hello"), t0));
    lines.extend(p.tick(t0 + Duration::from_secs(600)));
    lines.extend(p.flush());

    assert_eq!(texts(&lines), ["[TT] REAL: hello"]);
    let s = p.stats().snapshot();
    assert_eq!(
        s.filtered_by_rule.get("empty"),
        Some(&(BLANK.len() as u64 * 3 + 1))
    );
    assert_eq!(s.kinds["chat"].filtered, BLANK.len() as u64 * 3);
    assert_eq!(s.kinds["chat"].coalesced, 0, "no flood of nothing");
    assert!(s.balanced(), "accounting does not balance: {s:#?}");
}

#[test]
fn a_comment_with_content_around_invisible_characters_is_kept() {
    let t0 = Instant::now();
    let mut p = Pipeline::new(&PipelineConfig::default()).expect("defaults are valid");
    let lines = p.push(chat(1, "a", " \u{200B}gg\u{200B} "), t0);
    assert_eq!(lines.len(), 1);
    assert_eq!(p.stats().snapshot().filtered_by_rule.get("empty"), None);
}
