//! Turning floods into single lines: like and join summaries per window, and viewer counts
//! at most every interval and only on change. (Identical comments: [`super::flood`].)
//!
//! Like summaries are built on the room's running total, because TikTok stops sending a
//! user's like events after 10–20 likes while the total keeps rising (TikTok-Live-Connector
//! #300); the sum of the bursts received is the fallback when the total is missing.
//!
//! Pure and clock-free: every call takes `now`. A window opens at the first event after the
//! previous one closed and lasts `window`.

use std::time::{Duration, Instant};

use crate::limits::MAX_SUMMARY_NAMES;

/// A finished like window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikeSummary {
    /// Likes in the window.
    pub likes: u64,
    /// The room's total at the window's end (0 when TikTok did not say).
    pub total: u64,
}

#[derive(Debug)]
struct LikeOpen {
    ends: Instant,
    base_total: Option<u64>,
    sum: u64,
}

/// Like windows.
#[derive(Debug)]
pub struct LikeWindow {
    window: Duration,
    open: Option<LikeOpen>,
    /// The highest room total seen, kept across windows so consecutive summaries add up.
    last_total: u64,
}

impl LikeWindow {
    /// Summaries cover `window` each.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            open: None,
            last_total: 0,
        }
    }

    /// A like burst of `count` with the room's running `total` (0 when unknown).
    pub fn push(&mut self, count: u32, total: u64, now: Instant) {
        let previous_total = self.last_total;
        let open = self.open.get_or_insert_with(|| LikeOpen {
            ends: super::deadline(now, self.window),
            base_total: None,
            sum: 0,
        });
        if total > 0 && open.base_total.is_none() {
            let before_this = total.saturating_sub(u64::from(count));
            // Continue from the previous window's total when we have one, so likes between
            // windows are not lost; but never from a total above this one (a new room).
            open.base_total = Some(if previous_total > 0 && previous_total <= total {
                previous_total
            } else {
                before_this
            });
        }
        open.sum += u64::from(count);
        self.last_total = self.last_total.max(total);
    }

    /// The window's summary once it is over.
    pub fn expire(&mut self, now: Instant) -> Option<LikeSummary> {
        if self.open.as_ref().is_some_and(|o| o.ends <= now) {
            return self.drain();
        }
        None
    }

    /// The open window's summary now (shutdown, stream end).
    pub fn drain(&mut self) -> Option<LikeSummary> {
        let open = self.open.take()?;
        let by_total = open
            .base_total
            .map_or(0, |base| self.last_total.saturating_sub(base));
        let likes = by_total.max(open.sum);
        (likes > 0).then_some(LikeSummary {
            likes,
            total: self.last_total,
        })
    }

    /// When the open window closes.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open.as_ref().map(|o| o.ends)
    }
}

/// A finished join window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSummary {
    /// Joins in the window.
    pub joins: u64,
    /// The first few joiners' names.
    pub users: Vec<String>,
}

/// Join windows.
#[derive(Debug)]
pub struct JoinWindow {
    window: Duration,
    open: Option<(Instant, JoinSummary)>,
}

impl JoinWindow {
    /// Summaries cover `window` each.
    pub fn new(window: Duration) -> Self {
        Self { window, open: None }
    }

    /// Someone named `name` joined.
    pub fn push(&mut self, name: &str, now: Instant) {
        let (_, summary) = self.open.get_or_insert_with(|| {
            (
                super::deadline(now, self.window),
                JoinSummary {
                    joins: 0,
                    users: Vec::new(),
                },
            )
        });
        summary.joins += 1;
        if summary.users.len() < MAX_SUMMARY_NAMES {
            summary.users.push(name.to_owned());
        }
    }

    /// The window's summary once it is over.
    pub fn expire(&mut self, now: Instant) -> Option<JoinSummary> {
        if self.open.as_ref().is_some_and(|(ends, _)| *ends <= now) {
            return self.drain();
        }
        None
    }

    /// The open window's summary now.
    pub fn drain(&mut self) -> Option<JoinSummary> {
        self.open.take().map(|(_, s)| s)
    }

    /// When the open window closes.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open.as_ref().map(|(ends, _)| *ends)
    }
}

/// Viewer counts: at most one line per interval, and only when the count changed.
#[derive(Debug)]
pub struct ViewerGate {
    interval: Duration,
    last: Option<(Instant, u64)>,
}

impl ViewerGate {
    /// At most one line per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
        }
    }

    /// True when `current` should be relayed now.
    pub fn push(&mut self, current: u64, now: Instant) -> bool {
        let relay = match self.last {
            None => true,
            Some((at, value)) => value != current && now.duration_since(at) >= self.interval,
        };
        if relay {
            self.last = Some((now, current));
        }
        relay
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_too_long_for_the_clock_hold_instead_of_panicking() {
        let now = Instant::now();
        let mut likes = LikeWindow::new(Duration::MAX);
        likes.push(3, 100, now);
        assert_eq!(likes.expire(now + Duration::from_secs(86_400)), None);
        let mut joins = JoinWindow::new(Duration::MAX);
        joins.push("ana", now);
        assert!(joins.next_deadline().is_some_and(|d| d > now));
        let mut gifts = crate::pipeline::coalesce::GiftStreaks::new(Duration::MAX);
        let _ = gifts.push(
            crate::pipeline::coalesce::tests::gift(1, 9, 2, false, true),
            now,
        );
        assert!(gifts.next_deadline().is_some_and(|d| d > now));
        let mut flood = crate::pipeline::flood::ChatFlood::new(Duration::MAX);
        assert!(flood.push("hi", now));
        assert!(!flood.push("hi", now), "collapsed, not panicked");
        assert!(flood.next_deadline().is_some_and(|d| d > now));
    }

    use super::*;
    use proptest::prelude::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn ten_thousand_likes_give_one_summary_per_window() {
        let t0 = Instant::now();
        let mut w = LikeWindow::new(MINUTE);
        let mut summaries = Vec::new();
        let mut total = 5_000u64;
        for i in 0..10_000u64 {
            let now = t0 + Duration::from_millis(i * 60); // 600 s in all
            summaries.extend(w.expire(now));
            total += 3;
            w.push(3, total, now);
        }
        summaries.extend(w.expire(t0 + Duration::from_secs(700)));
        assert_eq!(summaries.len(), 10);
        assert_eq!(summaries.iter().map(|s| s.likes).sum::<u64>(), 30_000);
        assert_eq!(summaries.last().unwrap().total, 35_000);
    }

    #[test]
    fn likes_follow_the_room_total_when_user_events_stop() {
        let t0 = Instant::now();
        let mut w = LikeWindow::new(MINUTE);
        w.push(15, 1_000, t0);
        // Per-user events stopped, but the total kept rising (seen on another user's burst).
        w.push(1, 2_240, t0 + Duration::from_secs(30));
        let s = w.expire(t0 + MINUTE).unwrap();
        assert_eq!(s.likes, 1_240 + 15);
        assert_eq!(w.expire(t0 + MINUTE * 2), None, "no likes, no line");
    }

    #[test]
    fn likes_without_totals_sum_the_bursts() {
        let t0 = Instant::now();
        let mut w = LikeWindow::new(MINUTE);
        w.push(5, 0, t0);
        w.push(7, 0, t0);
        assert_eq!(w.drain().unwrap().likes, 12);
    }

    #[test]
    fn joins_are_counted_with_a_few_names() {
        let t0 = Instant::now();
        let mut w = JoinWindow::new(MINUTE);
        for i in 0..12 {
            w.push(&format!("u{i}"), t0);
        }
        assert_eq!(w.expire(t0 + Duration::from_secs(59)), None);
        let s = w.expire(t0 + MINUTE).unwrap();
        assert_eq!(s.joins, 12);
        assert_eq!(s.users.len(), MAX_SUMMARY_NAMES);
    }

    #[test]
    fn viewers_only_on_change_and_interval() {
        let t0 = Instant::now();
        let mut v = ViewerGate::new(Duration::from_secs(300));
        assert!(v.push(100, t0));
        assert!(!v.push(150, t0 + Duration::from_secs(299)));
        assert!(v.push(150, t0 + Duration::from_secs(300)));
        assert!(!v.push(150, t0 + Duration::from_secs(900)), "unchanged");
    }

    proptest! {
        /// Likes are never lost or invented: with totals consistent with the bursts, the
        /// summaries add up to exactly the likes sent, one summary per window at most.
        #[test]
        fn like_summaries_add_up(
            bursts in proptest::collection::vec((1u32..50, 0u64..5_000), 1..300),
        ) {
            let t0 = Instant::now();
            let mut w = LikeWindow::new(MINUTE);
            let mut now = t0;
            let mut total = 0u64;
            let mut sent = 0u64;
            let mut summaries = Vec::new();
            for (count, gap_ms) in bursts {
                now += Duration::from_millis(gap_ms);
                summaries.extend(w.expire(now));
                total += u64::from(count);
                sent += u64::from(count);
                w.push(count, total, now);
            }
            summaries.extend(w.drain());
            prop_assert_eq!(summaries.iter().map(|s| s.likes).sum::<u64>(), sent);
            let span = now.duration_since(t0).as_secs() / 60 + 1;
            prop_assert!(summaries.len() as u64 <= span);
        }

        /// Viewer lines never come closer than the interval, never repeat the last value,
        /// and the first count always goes out.
        #[test]
        fn viewer_lines_respect_interval_and_change(
            samples in proptest::collection::vec((0u64..5, 0u64..200), 1..300),
        ) {
            let t0 = Instant::now();
            let interval = Duration::from_secs(60);
            let mut gate = ViewerGate::new(interval);
            let mut now = t0;
            let mut relayed: Vec<(Instant, u64)> = Vec::new();
            for (i, (value, gap)) in samples.iter().enumerate() {
                now += Duration::from_secs(*gap);
                if gate.push(*value, now) {
                    relayed.push((now, *value));
                } else {
                    prop_assert!(i > 0, "the first count is relayed");
                }
            }
            for pair in relayed.windows(2) {
                prop_assert!(pair[1].0.duration_since(pair[0].0) >= interval);
                prop_assert_ne!(pair[1].1, pair[0].1);
            }
        }

        /// Every join is counted in exactly one summary.
        #[test]
        fn join_summaries_count_every_join(gaps in proptest::collection::vec(0u64..30_000, 0..300)) {
            let t0 = Instant::now();
            let mut w = JoinWindow::new(MINUTE);
            let mut now = t0;
            let mut counted = 0;
            for (i, gap) in gaps.iter().enumerate() {
                now += Duration::from_millis(*gap);
                counted += w.expire(now).map_or(0, |s| s.joins);
                w.push(&format!("u{i}"), now);
            }
            counted += w.drain().map_or(0, |s| s.joins);
            prop_assert_eq!(counted, gaps.len() as u64);
        }
    }
}
