//! Issue 21, the relayed share, measured at the sink: the real twitch-irc sink delivers a
//! known burst from two bridges into the strict stand-in Twitch on 127.0.0.1 under paused
//! tokio time, and the sink's per-bridge count of chat comments in accepted lines is exact:
//! a packed line counts every comment it carries, gifts count nothing, a line Twitch
//! refuses (alone or packed) counts nothing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::sink::{Delivery, chat, line, start_delivery, stop, until_active, until_idle};
use tiktwitch::line::Priority;
use tiktwitch::sink::pack::{PACK_SEPARATOR, PackSettings};
use tiktwitch::sink::sink_stats::ChatRelayed;

const A_COMMENTS: u64 = 30;
const B_COMMENTS: u64 = 12;
const GIFTS: u64 = 3;

/// Lines Twitch accepted whose text contains `needle`.
fn delivered_with(d: &Delivery, needle: &str) -> Vec<String> {
    d.fake
        .delivered()
        .into_iter()
        .map(|m| m.text)
        .filter(|t| t.contains(needle))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn packed_lines_count_every_comment_they_carry_per_bridge() {
    let d = start_delivery::<1>(PackSettings::default()).await;
    until_active(&d.handle, "chan").await;
    let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
    let mut id = 0;
    for i in 0..A_COMMENTS {
        id += 1;
        d.handle.send_from(
            &a,
            "chan",
            chat(format!("[TT] viewer{i}: comment {i} from a"), id),
        );
        if i % 10 == 0 {
            id += 1;
            let gift = format!("🎁 viewer{i} sent a Rose from a");
            // A big gift: it keeps its own line (small ones would be summed up).
            let mut gift = line(gift, Priority::High, "gift", id);
            gift.meta.diamonds = 10_000;
            d.handle.send_from(&a, "chan", gift);
        }
        if i < B_COMMENTS {
            id += 1;
            d.handle.send_from(
                &b,
                "chan",
                chat(format!("[TT] fan{i}: comment {i} from b"), id),
            );
        }
    }
    until_idle(&d.handle, Duration::from_secs(120)).await;
    assert!(d.fake.violations().is_empty(), "{:?}", d.fake.violations());
    let s = d.handle.stats();
    assert_eq!(s.shed_total(), 0, "nothing shed: {s:#?}");
    assert!(s.packed > 0, "{s:#?}");

    // Gifts keep their own lines: the lines with a comment of `a` are a's chat lines.
    let a_lines = delivered_with(&d, " from a");
    let a_chat_lines = a_lines.iter().filter(|t| t.contains("comment")).count() as u64;
    let b_lines = delivered_with(&d, "from b");
    assert_eq!(delivered_with(&d, "Rose").len() as u64, GIFTS);
    // Every comment reached Twitch once, in fewer lines than comments.
    let all = d
        .fake
        .delivered()
        .into_iter()
        .map(|m| m.text)
        .collect::<Vec<_>>()
        .join(PACK_SEPARATOR);
    assert_eq!(all.matches(" from a").count() as u64, A_COMMENTS + GIFTS);
    assert_eq!(all.matches(" from b").count() as u64, B_COMMENTS);
    assert!(a_chat_lines < A_COMMENTS, "{a_lines:#?}");
    assert!(
        !b_lines.iter().any(|t| t.contains(" from a")),
        "a line carries one bridge's parts only: {b_lines:#?}"
    );

    assert_eq!(
        s.chat_relayed_for("a"),
        ChatRelayed {
            comments: A_COMMENTS,
            lines: a_chat_lines,
        },
        "{s:#?}"
    );
    assert_eq!(
        s.chat_relayed_for("b"),
        ChatRelayed {
            comments: B_COMMENTS,
            lines: b_lines.len() as u64,
        },
        "{s:#?}"
    );
    assert_eq!(s.chat_relayed.len(), 2, "{s:#?}");
    stop(d.shutdown, d.task).await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_line_counts_nothing_alone_or_packed() {
    // One per line: Twitch refuses the first comment, the other four count; a follow is no
    // comment.
    let d = start_delivery::<2>(PackSettings {
        enabled: false,
        ..PackSettings::default()
    })
    .await;
    until_active(&d.handle, "chan").await;
    let a: Arc<str> = Arc::from("a");
    d.handle.send_from(
        &a,
        "chan",
        line("➕ v9 followed", Priority::High, "follow", 9),
    );
    until_idle(&d.handle, Duration::from_secs(60)).await;
    d.fake.refuse_next(
        "chan",
        "msg_rejected",
        "Your message is being checked by mods.",
    );
    for i in 0..5 {
        d.handle
            .send_from(&a, "chan", chat(format!("[TT] v{i}: alone {i}"), i + 1));
    }
    until_idle(&d.handle, Duration::from_secs(60)).await;
    let s = d.handle.stats();
    assert_eq!(s.rejected, 1, "{s:#?}");
    assert_eq!(d.fake.delivered().len(), 5, "{:?}", d.fake.delivered());
    assert_eq!(
        s.chat_relayed_for("a"),
        ChatRelayed {
            comments: 4,
            lines: 4
        },
        "{s:#?}"
    );
    stop(d.shutdown, d.task).await;

    // Packed: the ten comments queued at once go out as one line; Twitch refuses it, so
    // none of them was relayed although the sink wrote it.
    let d = start_delivery::<3>(PackSettings::default()).await;
    until_active(&d.handle, "chan").await;
    d.fake
        .refuse_next("chan", "msg_rejected", "Held for review.");
    for i in 0..10 {
        d.handle
            .send_from(&a, "chan", chat(format!("[TT] v{i}: packed {i}"), i + 1));
    }
    until_idle(&d.handle, Duration::from_secs(60)).await;
    let s = d.handle.stats();
    assert_eq!((s.rejected, s.packed), (1, 9), "{s:#?}");
    assert!(d.fake.delivered().is_empty(), "{:?}", d.fake.delivered());
    assert_eq!(s.chat_relayed_for("a"), ChatRelayed::default(), "{s:#?}");
    assert!(s.chat_relayed.is_empty(), "{s:#?}");
    stop(d.shutdown, d.task).await;
}
