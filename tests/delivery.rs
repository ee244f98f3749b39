//! Issue 21 end to end: the real pipeline renders a burst (comments, blank comments, gifts,
//! then the live's end), the real twitch-irc sink paces it into the stand-in Twitch on
//! 127.0.0.1 under paused tokio time. What Twitch receives has no contentless line, and
//! "the live has ended" comes after every line of the events before it.

mod support;

use std::time::{Duration, Instant as StdInstant};

use support::events::{comment, ev, user};
use support::sink::{Delivery, start_delivery, stop, until_idle};
use tiktwitch::event::{ControlAction, Event, EventKind};
use tiktwitch::line::{Line, Priority};
use tiktwitch::pipeline::{Pipeline, PipelineConfig};
use tiktwitch::sink::pack::PackSettings;
use tokio::time::Instant;

/// Waits (in virtual time) until `cond` holds; panics after `limit`.
fn chat(msg_id: u64, text: &str) -> Event {
    comment(msg_id, user(msg_id, &format!("viewer{msg_id}")), text)
}

/// One line per comment, as before packing (tests/delivery_pack covers packing).
fn one_line_per_comment() -> PackSettings {
    PackSettings {
        enabled: false,
        ..PackSettings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_ends_with_the_end_line_and_carries_no_contentless_line() {
    let Delivery {
        fake,
        handle,
        task,
        shutdown,
    } = start_delivery::<1>(one_line_per_comment()).await;

    let mut pipeline = Pipeline::new(&PipelineConfig::default()).expect("defaults are valid");
    let t0 = StdInstant::now();
    let mut id = 0;
    let mut lines = Vec::new();
    // Seven real comments, each followed by blank ones that used to become `[TT] NAME:`.
    for i in 0..7u64 {
        id += 1;
        lines.extend(pipeline.push(chat(id, &format!("comment {i}")), t0));
        for blank in ["   ", "\u{200B}", "\r\n"] {
            id += 1;
            lines.extend(pipeline.push(chat(id, blank), t0));
        }
    }
    id += 1;
    let end = ev(
        id,
        EventKind::Control {
            action: ControlAction::Ended,
        },
    );
    lines.extend(pipeline.push(end, t0));
    for line in lines {
        handle.send("chan", line);
    }

    until_idle(&handle, Duration::from_secs(120)).await;
    let sent: Vec<String> = fake.delivered().into_iter().map(|m| m.text).collect();
    assert_eq!(sent.len(), 8, "seven comments and the end: {sent:#?}");
    for (i, text) in sent[..7].iter().enumerate() {
        assert!(text.ends_with(&format!(": comment {i}")), "{sent:#?}");
    }
    assert!(
        sent[7].to_lowercase().contains("ended"),
        "the end line comes last: {sent:#?}"
    );
    for text in &sent {
        let content = text.split_once(':').map(|(_, rest)| rest.trim());
        assert_ne!(content, Some(""), "contentless line {text:?}");
        assert!(
            !text.contains("more)") || !text.contains("[TT]  ("),
            "{text:?}"
        );
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let s = handle.stats();
    assert_eq!(s.lines_in + s.extra_parts, s.accounted(), "{s:#?}");
    let p = pipeline.stats().snapshot();
    assert_eq!(p.filtered_by_rule.get("empty"), Some(&21));
    assert!(p.balanced(), "{p:#?}");

    stop(shutdown, task).await;
}

/// Forty comments at once: Twitch takes 20 per 30 s, so the second half would wait about 30 s.
/// They are dropped at their turn as `stale` (chat's default maximum age is 20 s) instead of
/// reaching chat half a minute late; a gift queued with them still goes out (120 s).
#[tokio::test(start_paused = true)]
async fn chat_older_than_its_maximum_age_is_dropped_as_stale_at_its_turn() {
    let Delivery {
        fake,
        handle,
        task,
        shutdown,
    } = start_delivery::<2>(one_line_per_comment()).await;
    let queued_at = Instant::now();
    for i in 0..40u64 {
        handle.send(
            "chan",
            Line {
                text: format!("[TT] V{i}: comment {i}"),
                priority: Priority::Normal,
                kind: "chat",
                msg_id: i + 1,
                meta: Default::default(),
            },
        );
    }
    handle.send(
        "chan",
        Line {
            text: "[TT] 🎁 G sent 1× Rose".into(),
            priority: Priority::Low,
            kind: "gift",
            msg_id: 99,
            meta: Default::default(),
        },
    );
    until_idle(&handle, Duration::from_secs(300)).await;
    let delivered = fake.delivered();
    let s = handle.stats();
    assert!(s.shed_for("stale") >= 15, "{s:#?}");
    assert_eq!(
        delivered.len() as u64 + s.shed_for("stale"),
        41,
        "every line sent or stale: {s:#?}"
    );
    for m in &delivered {
        if m.text.contains("comment") {
            assert!(
                m.at.duration_since(queued_at) <= Duration::from_secs(21),
                "{:?} went out {:?} late",
                m.text,
                m.at.duration_since(queued_at)
            );
        }
    }
    assert!(delivered.iter().any(|m| m.text.contains("Rose")));
    assert_eq!(s.lines_in + s.extra_parts, s.accounted(), "{s:#?}");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    stop(shutdown, task).await;
}
