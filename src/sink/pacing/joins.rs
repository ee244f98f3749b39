//! Twitch's JOIN limit: 20 JOIN attempts per 10 s per account (docs/twitch.md §2.2), kept
//! with a governor GCRA quota ([`crate::rate::Gcra`]) on tokio's clock.
//!
//! The quota: a burst of a fifth of the limit, then one JOIN per
//! [`sliding_safe_period`](crate::rate::sliding_safe_period)`(limit, burst, span)`. A GCRA
//! quota admits its burst plus one cell per period in any window, so with that period the
//! burst and the steady JOINs that follow never add up to more than `limit` inside one
//! `span` (the naive "limit per span, burst limit" quota would admit almost twice the
//! limit). The sink's `limit` is already below Twitch's 20 (room for twitch-irc's own
//! unpaced rejoins) and `span` is the window plus a margin. The steady rate is
//! `limit - burst + 1` per span, so a small burst keeps it close to the limit (13 of 15 per
//! span: 200 channels in about 156 s) while a bot with a few channels still joins them at
//! once.
//!
//! JOINs that went out without asking (restored from the journal of an earlier process,
//! or twitch-irc's rejoins after a reconnect) are counted as if sent now when the quota has
//! room; when it has none, no paced JOIN goes out until a whole `span` has passed since the
//! unpaced one. Counting a past JOIN as later only makes the limit stricter, so neither way
//! can let more than `limit` through in any window.

use std::time::Duration;

use tokio::time::Instant;

use crate::rate::Gcra;

/// The JOIN burst is the limit divided by this (at least 1).
pub const JOIN_BURST_DIVISOR: u32 = 5;

/// When the next JOIN may go out.
#[derive(Debug)]
pub struct JoinPacer {
    gcra: Gcra,
    span: Duration,
    /// No paced JOIN before this (unpaced JOINs the quota had no room for).
    not_before: Option<Instant>,
    /// When the quota said the next cell is free, after its last refusal.
    refused_until: Option<Instant>,
}

impl JoinPacer {
    /// At most `limit` JOINs (at least 1) in any `span`.
    pub fn new(limit: u32, span: Duration) -> Self {
        let limit = limit.max(1);
        Self {
            gcra: Gcra::at_most(limit, limit / JOIN_BURST_DIVISOR, span),
            span,
            not_before: None,
            refused_until: None,
        }
    }

    /// Spends one JOIN now, or returns when to ask again.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(at) = self.not_before.filter(|at| *at > now) {
            return Err(at);
        }
        match self.gcra.try_take() {
            Ok(()) => {
                self.refused_until = None;
                Ok(())
            }
            Err(at) => {
                self.refused_until = Some(at);
                Err(at)
            }
        }
    }

    /// The earliest instant one more JOIN may go out, as far as the last refusal tells
    /// (`now` when nothing was refused since the last JOIN).
    pub fn ready_at(&self, now: Instant) -> Instant {
        [self.not_before, self.refused_until]
            .into_iter()
            .flatten()
            .fold(now, Instant::max)
    }

    /// Counts a JOIN that went out at `at` without asking (journal, unpaced rejoin).
    pub fn record(&mut self, at: Instant) {
        if self.gcra.try_take().is_err() {
            let quiet = at + self.span;
            self.not_before = Some(self.not_before.map_or(quiet, |n| n.max(quiet)));
        }
    }

    /// Counts a full window of JOINs as sent at `now` (nothing is known of what an earlier
    /// process did).
    pub fn assume_full(&mut self, now: Instant) {
        self.not_before = Some(now + self.span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn paced_joins(p: &mut JoinPacer, n: usize) -> Vec<Instant> {
        let mut times = Vec::new();
        while times.len() < n {
            let now = Instant::now();
            match p.try_take(now) {
                Ok(()) => times.push(now),
                Err(at) => {
                    assert_eq!(p.ready_at(now), at);
                    tokio::time::sleep_until(at).await;
                }
            }
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_limit_in_any_span() {
        let span = Duration::from_secs(10);
        let mut p = JoinPacer::new(15, span);
        let t0 = Instant::now();
        let times = paced_joins(&mut p, 100).await;
        for (i, t) in times.iter().enumerate() {
            let in_span = times[i..].iter().take_while(|u| **u - *t < span).count();
            assert!(in_span <= 15, "{in_span} JOINs within {span:?} of join {i}");
        }
        // A fifth of the limit at once, then steadily.
        assert_eq!(times[2], t0);
        assert!(times[3] > t0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_assumed_delays_the_first_join() {
        let t0 = Instant::now();
        let mut p = JoinPacer::new(15, Duration::from_secs(10));
        p.assume_full(t0);
        assert_eq!(p.try_take(t0), Err(t0 + Duration::from_secs(10)));
        assert_eq!(p.ready_at(t0), t0 + Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_joins_past_the_quota_mean_a_quiet_window() {
        let span = Duration::from_secs(10);
        let t0 = Instant::now();
        let mut p = JoinPacer::new(4, span);
        // Two fit the burst (counted as now); the third has no room: a quiet span.
        for _ in 0..3 {
            p.record(t0);
        }
        assert_eq!(p.try_take(t0), Err(t0 + span));
        tokio::time::advance(span).await;
        assert_eq!(p.try_take(Instant::now()), Ok(()));
    }
}
