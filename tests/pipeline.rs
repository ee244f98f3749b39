//! The pipeline as a whole: events in, lines out, with an injected clock (and tokio's paused
//! clock for `run`). Every test also checks the accounting balances.

mod support;

use std::time::{Duration, Instant};

use support::events::{comment, ev, user};
use tiktwitch::config::routes::{BlockedAction, RoleName};
use tiktwitch::event::{ControlAction, Event, EventKind, Gift, Meta};
use tiktwitch::line::{Line, Priority};
use tiktwitch::pipeline::{Pipeline, PipelineConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn chat(msg_id: u64, handle: &str, text: &str) -> Event {
    comment(msg_id, user(msg_id % 1000 + 1, handle), text)
}

fn rose(msg_id: u64, streak: u64, count: u32, end: bool) -> Event {
    ev(
        msg_id,
        EventKind::Gift {
            user: user(42, "giver"),
            gift: Gift {
                id: 5655,
                name: "Rose".into(),
                diamonds: 1,
                streakable: true,
                image: None,
            },
            count,
            streak_end: end,
            complete: end,
            streak_id: streak,
            to_user: None,
        },
    )
}

fn pipeline(edit: impl FnOnce(&mut PipelineConfig)) -> Pipeline {
    let mut config = PipelineConfig::default();
    edit(&mut config);
    Pipeline::new(&config).expect("valid pipeline config")
}

fn texts(lines: &[Line]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

fn assert_balanced(p: &Pipeline) {
    let s = p.stats().snapshot();
    assert!(s.balanced(), "accounting does not balance: {s:#?}");
}

#[test]
fn a_200_message_gift_streak_gives_one_line_with_its_final_count() {
    let t0 = Instant::now();
    let mut p = pipeline(|_| {});
    let mut lines = Vec::new();
    for n in 1..200u32 {
        lines.extend(p.push(
            rose(u64::from(n), 7, n, false),
            t0 + Duration::from_millis(u64::from(n) * 10),
        ));
    }
    lines.extend(p.push(rose(200, 7, 200, true), t0 + Duration::from_secs(3)));
    lines.extend(p.tick(t0 + Duration::from_secs(60)));
    lines.extend(p.flush());
    assert_eq!(texts(&lines), ["[TT] 🎁 GIVER sent 200× Rose (200 💎)"]);
    assert_eq!(lines[0].priority, Priority::High);
    assert_eq!(lines[0].msg_id, 200);
    let s = p.stats().snapshot();
    assert_eq!(s.kinds["gift"].received, 200);
    assert_eq!(s.kinds["gift"].relayed, 1);
    assert_eq!(s.kinds["gift"].coalesced, 199);
    assert_balanced(&p);
}

#[test]
fn a_200_message_gift_streak_without_its_end_frame_gives_one_line_after_the_timeout() {
    let t0 = Instant::now();
    let mut p = pipeline(|_| {});
    let mut lines = Vec::new();
    for n in 1..=200u32 {
        lines.extend(p.push(
            rose(u64::from(n), 7, n, false),
            t0 + Duration::from_millis(u64::from(n) * 10),
        ));
    }
    let last = t0 + Duration::from_millis(2_000);
    assert!(p.tick(last + Duration::from_millis(4_999)).is_empty());
    assert_eq!(p.stats().snapshot().kinds["gift"].pending, 1);
    assert_balanced(&p);
    assert_eq!(p.next_deadline(), Some(last + Duration::from_secs(5)));
    lines.extend(p.tick(last + Duration::from_secs(5)));
    // The end frame arriving late does not relay the streak again.
    lines.extend(p.push(rose(999, 7, 200, true), last + Duration::from_secs(6)));
    assert_eq!(texts(&lines), ["[TT] 🎁 GIVER sent 200× Rose (200 💎)"]);
    let s = p.stats().snapshot();
    assert_eq!((s.kinds["gift"].relayed, s.kinds["gift"].pending), (1, 0));
    assert_balanced(&p);
}

#[test]
fn the_gift_timeout_is_configurable_and_min_diamonds_applies_to_the_streak_total() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| {
        c.coalesce.gift_streak_timeout_secs = 2;
        c.filters.min_gift_diamonds = 10;
    });
    for n in 1..=9 {
        p.push(rose(n, 1, n as u32, false), t0);
    }
    assert!(
        p.tick(t0 + Duration::from_secs(2)).is_empty(),
        "9 diamonds < 10"
    );
    for n in 1..=10 {
        p.push(
            rose(100 + n, 2, n as u32, false),
            t0 + Duration::from_secs(3),
        );
    }
    assert_eq!(p.tick(t0 + Duration::from_secs(5)).len(), 1);
    assert_eq!(p.stats().snapshot().filtered_by_rule["min_diamonds"], 1);
    assert_balanced(&p);
}

#[test]
fn ten_thousand_likes_give_one_summary_per_window() {
    let t0 = Instant::now();
    let mut p = pipeline(|_| {});
    let mut lines = Vec::new();
    let mut total = 100_000u64;
    for i in 0..10_000u64 {
        total += 2;
        let like = ev(
            i + 1,
            EventKind::Like {
                user: Some(user(i % 50 + 1, "liker")),
                count: 2,
                total,
            },
        );
        lines.extend(p.push(like, t0 + Duration::from_millis(i * 30))); // 300 s
    }
    lines.extend(p.flush());
    assert_eq!(lines.len(), 5, "{:#?}", texts(&lines));
    assert!(
        lines
            .iter()
            .all(|l| l.kind == "likes" && l.priority == Priority::Low)
    );
    assert_eq!(lines[0].text, "[TT] ❤️ 4,000 likes in the last 60 s");
    let s = p.stats().snapshot();
    assert_eq!(s.kinds["like"].coalesced, 10_000);
    assert_eq!(s.lines["likes"], 5);
    assert_balanced(&p);
}

#[test]
fn identical_chat_floods_collapse_into_one_line_with_a_count() {
    let t0 = Instant::now();
    let mut p = pipeline(|_| {});
    let mut lines = Vec::new();
    for i in 0..500u64 {
        lines.extend(p.push(
            chat(i + 1, &format!("fan{i}"), "W"),
            t0 + Duration::from_millis(i * 10),
        ));
    }
    lines.extend(p.push(chat(9_999, "other", "gg"), t0 + Duration::from_secs(6)));
    lines.extend(p.tick(t0 + Duration::from_secs(10)));
    assert_eq!(
        texts(&lines),
        ["[TT] FAN0: W", "[TT] OTHER: gg", "[TT] W (×499 more)"]
    );
    assert_eq!(p.stats().snapshot().kinds["chat"].coalesced, 499);
    assert_balanced(&p);
}

#[test]
fn duplicates_and_history_are_dropped_before_anything_else() {
    let t0 = Instant::now();
    let mut p = pipeline(|_| {});
    let mut history = chat(2, "old", "from before");
    history.meta.history = true;
    assert_eq!(p.push(chat(1, "a", "hi"), t0).len(), 1);
    assert!(p.push(chat(1, "a", "hi"), t0).is_empty());
    assert!(p.push(history.clone(), t0).is_empty());
    let s = p.stats().snapshot();
    assert_eq!(s.filtered_by_rule["duplicate"], 1);
    assert_eq!(s.filtered_by_rule["history"], 1);

    let mut relaying = pipeline(|c| c.relay_history = true);
    assert_eq!(relaying.push(history, t0).len(), 1);
    assert_balanced(&p);
}

#[test]
fn default_routes_relay_what_users_expect() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| c.streamer = "creator".into());
    let u = || user(5, "viewer");
    let kinds = [
        (
            EventKind::Follow { user: u() },
            Some("[TT] ➕ VIEWER followed"),
        ),
        (
            EventKind::Share { user: u() },
            Some("[TT] 🔁 VIEWER shared the live"),
        ),
        (
            EventKind::Subscribe {
                user: u(),
                months: 1,
            },
            Some("[TT] ⭐ VIEWER subscribed"),
        ),
        (EventKind::Join { user: u() }, None),
        (
            EventKind::Like {
                user: Some(u()),
                count: 5,
                total: 10,
            },
            None,
        ),
        (
            EventKind::Viewers {
                current: 10,
                cumulative: 20,
            },
            None,
        ),
        (
            EventKind::Emote {
                user: u(),
                emote_ids: vec!["1".into()],
            },
            None,
        ),
        (
            EventKind::System {
                text: "Welcome".into(),
            },
            None,
        ),
        (
            EventKind::Control {
                action: ControlAction::Ended,
            },
            Some("[TT] ⏹️ The TikTok live has ended"),
        ),
    ];
    let mut expected_lines = Vec::new();
    let mut lines = Vec::new();
    for (i, (kind, expected)) in kinds.into_iter().enumerate() {
        let event = ev(i as u64 + 1, kind);
        if event.type_name() == "control" {
            // The like summary still open is flushed before the stream-end line.
            expected_lines.push("[TT] ❤️ 5 likes in the last 60 s".to_string());
        }
        expected_lines.extend(expected.map(str::to_string));
        lines.extend(p.push(event, t0));
    }
    assert_eq!(texts(&lines), expected_lines);
    let s = p.stats().snapshot();
    assert_eq!(s.filtered_by_rule["route_disabled"], 3, "{s:#?}"); // join, viewers, emote
    assert_eq!(s.filtered_by_rule["no_route"], 1); // system
    assert_balanced(&p);
}

#[test]
fn filters_apply_through_the_pipeline() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| {
        c.filters.blocked_words = vec!["spoiler".into()];
        c.filters.ignored_users = vec!["@troll".into()];
    });
    let lines = [
        p.push(chat(1, "troll", "hello"), t0),
        p.push(chat(2, "fan", "no SPOILER please"), t0),
    ]
    .concat();
    assert_eq!(texts(&lines), ["[TT] FAN: no *** please"]);

    let mut strict = pipeline(|c| {
        c.filters.blocked_words = vec!["spoiler".into()];
        c.filters.blocked_action = BlockedAction::Drop;
        c.filters.only_roles = vec![RoleName::Moderator];
    });
    let mut moderator = chat(3, "mod", "ok");
    if let EventKind::Chat { user, .. } = &mut moderator.kind {
        user.roles.moderator = true;
    }
    assert!(strict.push(chat(1, "fan", "hi"), t0).is_empty());
    assert!(strict.push(chat(2, "fan2", "spoiler"), t0).is_empty());
    assert_eq!(strict.push(moderator, t0).len(), 1);
    let s = strict.stats().snapshot();
    assert_eq!(
        s.filtered_by_rule["role"], 2,
        "the role filter runs before the blocklist"
    );
    assert_eq!(s.filtered_by_rule.get("blocked_word"), None);
    assert_balanced(&strict);
}

#[test]
fn viewer_counts_come_at_most_every_interval_and_only_on_change() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| {
        c.routes.viewers.enabled = true;
        c.coalesce.viewers_interval_secs = 120;
    });
    let v = |id, current| {
        ev(
            id,
            EventKind::Viewers {
                current,
                cumulative: 0,
            },
        )
    };
    let mut lines = Vec::new();
    lines.extend(p.push(v(1, 1_000), t0));
    lines.extend(p.push(v(2, 1_100), t0 + Duration::from_secs(60)));
    lines.extend(p.push(v(3, 1_200), t0 + Duration::from_secs(120)));
    lines.extend(p.push(v(4, 1_200), t0 + Duration::from_secs(400)));
    assert_eq!(
        texts(&lines),
        ["[TT] 👀 1,000 watching", "[TT] 👀 1,200 watching"]
    );
    assert_balanced(&p);
}

#[test]
fn join_summaries_when_asked_for() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| c.routes.join.summary = true);
    for i in 0..7 {
        assert!(
            p.push(
                ev(
                    i + 1,
                    EventKind::Join {
                        user: user(i, &format!("j{i}"))
                    }
                ),
                t0
            )
            .is_empty()
        );
    }
    let lines = p.tick(t0 + Duration::from_secs(60));
    assert_eq!(
        texts(&lines),
        ["[TT] 👋 7 joined in the last 60 s: J0, J1, J2, J3, J4 and more"]
    );
    assert_balanced(&p);
}

#[test]
fn a_template_failing_at_runtime_falls_back_and_is_counted() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| {
        c.routes.chat.template = "{% if text == 'boom' %}{{ 1 // 0 }}{% endif %}{{ text }}".into();
    });
    assert_eq!(texts(&p.push(chat(1, "a", "fine"), t0)), ["fine"]);
    assert_eq!(texts(&p.push(chat(2, "a", "boom"), t0)), ["[TT] A: boom"]);
    assert_eq!(p.stats().snapshot().render_fallbacks, 1);
    assert_balanced(&p);
}

#[test]
fn a_template_that_renders_nothing_filters_the_event() {
    let t0 = Instant::now();
    let mut p = pipeline(|c| {
        c.routes.chat.template =
            "{% if text[:1] != '!' %}{{ user.name }}: {{ text }}{% endif %}".into();
    });
    assert!(p.push(chat(1, "a", "!command"), t0).is_empty());
    assert_eq!(p.push(chat(2, "a", "hi"), t0).len(), 1);
    assert_eq!(p.stats().snapshot().filtered_by_rule["empty_line"], 1);
    assert_balanced(&p);
}

#[tokio::test(start_paused = true)]
async fn run_flushes_lost_streaks_on_tokio_time_and_everything_at_shutdown() {
    let p = pipeline(|_| {});
    let stats = p.stats().clone();
    let (event_tx, event_rx) = mpsc::channel(16);
    let (line_tx, mut line_rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(p.run(event_rx, line_tx, shutdown.clone()));

    for n in 1..=3 {
        event_tx.send(rose(n, 1, n as u32, false)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(line_rx.try_recv().is_err(), "the streak is still open");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        line_rx.recv().await.unwrap().text,
        "[TT] 🎁 GIVER sent 3× Rose (3 💎)"
    );

    event_tx.send(rose(10, 2, 5, false)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(
        line_rx.recv().await.unwrap().text,
        "[TT] 🎁 GIVER sent 5× Rose (5 💎)"
    );
    let s = stats.snapshot();
    assert_eq!(s.total().pending, 0);
    assert!(s.balanced());
}

mod accounting {
    use super::*;
    use proptest::prelude::*;

    fn any_event() -> impl Strategy<Value = Event> {
        let kinds = prop_oneof![
            ("[a-c]{1,2}", 0u64..5).prop_map(|(text, u)| EventKind::Chat {
                user: user(u, &format!("u{u}")),
                text,
                language: String::new()
            }),
            (0u64..3, 0u64..3, 1u32..20, any::<bool>(), any::<bool>()).prop_map(
                |(u, s, count, end, streakable)| EventKind::Gift {
                    user: user(u, &format!("u{u}")),
                    gift: Gift {
                        id: 1,
                        name: "Rose".into(),
                        diamonds: 1,
                        streakable,
                        image: None,
                    },
                    count,
                    streak_end: end,
                    complete: end || !streakable,
                    streak_id: s,
                    to_user: None,
                }
            ),
            (1u32..20, 0u64..10_000).prop_map(|(count, total)| EventKind::Like {
                user: None,
                count,
                total
            }),
            (0u64..5).prop_map(|u| EventKind::Join { user: user(u, "j") }),
            (0u64..500).prop_map(|current| EventKind::Viewers {
                current,
                cumulative: 0
            }),
            (0u64..5).prop_map(|u| EventKind::Follow { user: user(u, "f") }),
            Just(EventKind::Control {
                action: ControlAction::Ended
            }),
            Just(EventKind::Unknown),
        ];
        (kinds, 0u64..40, any::<bool>()).prop_map(|(kind, msg_id, history)| Event {
            meta: Meta {
                method: "p".into(),
                msg_id,
                history,
                ..Meta::default()
            },
            kind,
        })
    }

    proptest! {
        /// Whatever arrives, in whatever order and timing, every event is accounted for at
        /// every step, and nothing is pending after a flush.
        #[test]
        fn every_event_is_accounted_for(
            events in proptest::collection::vec((any_event(), 0u64..8_000), 0..200),
            summaries in any::<bool>(),
        ) {
            let mut p = pipeline(|c| {
                c.routes.join.summary = summaries;
                c.routes.like.enabled = !summaries;
                c.routes.viewers.enabled = true;
            });
            let mut now = Instant::now();
            let mut lines = 0usize;
            for (event, gap_ms) in events {
                now += Duration::from_millis(gap_ms);
                lines += p.push(event, now).len();
                prop_assert!(p.stats().snapshot().balanced());
            }
            lines += p.flush().len();
            let s = p.stats().snapshot();
            prop_assert!(s.balanced());
            prop_assert_eq!(s.total().pending, 0);
            prop_assert_eq!(s.lines.values().sum::<u64>() as usize, lines);
        }
    }
}
