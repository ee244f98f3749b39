//! Issue 21, chat packing, end to end: the real pipeline renders a burst (comments, blank
//! comments, follows, a gift, then the live's end), the real twitch-irc sink paces it into the
//! stand-in Twitch on 127.0.0.1 under paused tokio time. With packing on (the default) the
//! comments and follows share lines of at most 500 characters (the follows as one summary
//! part), each comment reaches Twitch exactly once, the gift keeps its own line, the end comes last and no part is contentless;
//! with `pack` off the same burst costs one line per comment.

mod support;

use std::time::{Duration, Instant as StdInstant};

use support::events::ev;
use support::sink::{Delivery, start_delivery, stop, until_idle};
use tiktwitch::event::{ControlAction, EventKind, Roles, User};
use tiktwitch::line::Line;
use tiktwitch::pipeline::{Pipeline, PipelineConfig};
use tiktwitch::sink::pack::{PACK_SEPARATOR, PackSettings};

const COMMENTS: u64 = 30;
const FOLLOWS: u64 = 4;

fn user(id: u64) -> User {
    User {
        id,
        username: format!("viewer{id}"),
        nickname: format!("Viewer{id}"),
        roles: Roles::default(),
        ..User::default()
    }
}

/// The burst, rendered by the default pipeline: comments with blank ones between them,
/// follows, one gift, then the end of the live.
fn burst() -> Vec<Line> {
    let mut pipeline = Pipeline::new(&PipelineConfig::default()).expect("defaults are valid");
    let t0 = StdInstant::now();
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    let mut lines = Vec::new();
    for i in 0..COMMENTS {
        let n = next();
        let chat = EventKind::Chat {
            user: user(n),
            text: format!("comment number {i} about the stream"),
            language: String::new(),
        };
        lines.extend(pipeline.push(ev(n, chat), t0));
        let n = next();
        let blank = EventKind::Chat {
            user: user(n),
            text: " \u{200B} ".into(),
            language: String::new(),
        };
        lines.extend(pipeline.push(ev(n, blank), t0));
        if i < FOLLOWS {
            let n = next();
            lines.extend(pipeline.push(ev(n, EventKind::Follow { user: user(n) }), t0));
        }
    }
    let n = next();
    lines.extend(pipeline.push(
        ev(
            n,
            EventKind::Control {
                action: ControlAction::Ended,
            },
        ),
        t0,
    ));
    lines.extend(pipeline.flush());
    assert!(pipeline.stats().snapshot().balanced());
    lines
}

/// Sends the burst through a sink with `pack` into a fresh stand-in Twitch; returns the
/// texts Twitch received and the sink's counters.
async fn deliver<const SLOT: usize>(
    pack: PackSettings,
) -> (Vec<String>, tiktwitch::sink::sink_stats::StatsSnapshot) {
    let Delivery {
        fake,
        handle,
        task,
        shutdown,
    } = start_delivery::<SLOT>(pack).await;
    for line in burst() {
        handle.send("chan", line);
    }
    until_idle(&handle, Duration::from_secs(300)).await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let sent = fake.delivered().into_iter().map(|m| m.text).collect();
    let stats = handle.stats();
    assert_eq!(
        stats.lines_in + stats.extra_parts,
        stats.accounted(),
        "{stats:#?}"
    );
    stop(shutdown, task).await;
    (sent, stats)
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_packed_into_few_lines_and_ends_with_the_end_line() {
    let (sent, stats) = deliver::<1>(PackSettings::default()).await;

    // 30 comments of ~60 characters and 4 follows fit in a handful of 500-char lines.
    assert!(sent.len() <= 8, "{} lines: {sent:#?}", sent.len());
    assert!(stats.packed >= 25, "{stats:#?}");
    assert_eq!(stats.shed_total(), 0, "nothing shed: {stats:#?}");
    for text in &sent {
        assert!(
            text.chars().count() <= 500,
            "{} chars: {text}",
            text.chars().count()
        );
        for part in text.split(PACK_SEPARATOR) {
            let content = part.split_once(':').map(|(_, rest)| rest.trim());
            assert_ne!(content, Some(""), "contentless part {part:?} in {text:?}");
            assert!(!part.trim().is_empty(), "empty part in {text:?}");
        }
    }
    // Every comment exactly once, in the order written.
    let all = sent.join(PACK_SEPARATOR);
    let mut from = 0;
    for i in 0..COMMENTS {
        let needle = format!(": comment number {i} about the stream");
        assert_eq!(all.matches(&needle).count(), 1, "{needle} in {sent:#?}");
        let at = all.find(&needle).unwrap();
        assert!(at >= from, "comment {i} out of order: {sent:#?}");
        from = at;
    }
    // The follows waiting together become one summary part sharing a line with chat
    // (`[TT] ➕ Viewer3, Viewer6 and 2 others followed`); at least one line carries more
    // than one part.
    assert_eq!(all.matches("followed").count(), 1, "{sent:#?}");
    assert!(
        all.contains(&format!(
            "Viewer3, Viewer6 and {} others followed",
            FOLLOWS - 2
        )),
        "{sent:#?}"
    );
    assert!(sent.iter().any(|t| t.contains(PACK_SEPARATOR)), "{sent:#?}");
    // The end stands alone and last.
    let last = sent.last().unwrap();
    assert!(last.to_lowercase().contains("ended"), "{sent:#?}");
    assert!(!last.contains(PACK_SEPARATOR), "{last}");
    assert_eq!(
        sent.iter()
            .filter(|t| t.to_lowercase().contains("ended"))
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_packed_line_respects_pack_max_chars() {
    let (sent, stats) = deliver::<2>(PackSettings {
        max_chars: 120,
        ..PackSettings::default()
    })
    .await;
    assert!(stats.packed > 0, "{stats:#?}");
    for text in &sent {
        assert!(
            text.chars().count() <= 120,
            "{} chars: {text}",
            text.chars().count()
        );
    }
    let all = sent.join(PACK_SEPARATOR);
    for i in 0..COMMENTS {
        let needle = format!(": comment number {i} about the stream");
        let stale = stats.shed_for("stale");
        // A smaller line may leave a comment to age out, never to be split or repeated.
        assert!(all.matches(&needle).count() <= 1, "{needle}");
        if stale == 0 {
            assert_eq!(all.matches(&needle).count(), 1, "{needle} in {sent:#?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn with_pack_off_every_line_goes_alone() {
    let (sent, stats) = deliver::<3>(PackSettings {
        enabled: false,
        ..PackSettings::default()
    })
    .await;
    assert_eq!(stats.packed, 0);
    assert!(
        sent.iter().all(|t| !t.contains(PACK_SEPARATOR)),
        "{sent:#?}"
    );
    // One line per comment: 20 per 30 s, the rest waits and ages out as stale.
    assert!(sent.len() > 8, "{sent:#?}");
    assert!(
        sent.last().unwrap().to_lowercase().contains("ended"),
        "{sent:#?}"
    );
}

/// `[routes.chat] pack = false` reaches the sink, and a bridge's own `[bridge.routes.chat]`
/// applies to its lines only (the sink is shared, so it keeps one packer per bridge).
#[test]
fn the_config_turns_packing_off_globally_or_per_bridge() {
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
"#;
    let plan = |text: &str| {
        std::fs::write(&path, text).unwrap();
        let loaded = load_with_env(
            &path,
            Some(HashMap::new()),
            tiktwitch::pipeline::Pipeline::check,
        )
        .unwrap();
        Plan::from_config(&loaded, None).unwrap().sink
    };
    let sink = plan(base);
    assert_eq!(sink.pack, PackSettings::default());
    let sink = plan(&format!(
        "{base}[routes.chat]\npack = false\npack_max_chars = 300\n"
    ));
    assert!(!sink.pack.enabled);
    assert_eq!(sink.pack.max_chars, 300);
    let sink = plan(&format!(
        "{base}[[bridge]]\nname = \"loud\"\n[[bridge]]\nname = \"quiet\"\n[bridge.routes.chat]\npack = false\n"
    ));
    assert!(sink.pack.enabled);
    assert!(sink.pack_by_bridge["loud"].enabled);
    assert!(!sink.pack_by_bridge["quiet"].enabled);
}
