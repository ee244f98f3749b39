//! Twitch's JOIN limit: 20 JOIN attempts per 10 s per account (docs/twitch.md §2.2). A
//! sliding log like the line pacer's: at most `limit` JOINs in any window of `span`.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// When the next JOIN may go out.
#[derive(Debug)]
pub struct JoinPacer {
    limit: usize,
    span: Duration,
    log: VecDeque<Instant>,
}

impl JoinPacer {
    /// At most `limit` JOINs (at least 1) in any `span`.
    pub fn new(limit: u32, span: Duration) -> Self {
        Self {
            limit: (limit as usize).max(1),
            span,
            log: VecDeque::new(),
        }
    }

    /// The earliest instant one more JOIN may go out.
    pub fn ready_at(&self, now: Instant) -> Instant {
        if self.log.len() < self.limit {
            return now;
        }
        (self.log[self.log.len() - self.limit] + self.span).max(now)
    }

    /// Records a JOIN sent at `at` (kept in time order: a restored past JOIN goes in place).
    pub fn record(&mut self, at: Instant) {
        let pos = self.log.partition_point(|t| *t <= at);
        self.log.insert(pos, at);
        while self.log.len() > self.limit {
            self.log.pop_front();
        }
    }

    /// Counts a full window of JOINs as sent at `now` (nothing is known of what an earlier
    /// process did).
    pub fn assume_full(&mut self, now: Instant) {
        for _ in 0..self.limit {
            self.record(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_limit_in_any_span() {
        let span = Duration::from_secs(10);
        let mut p = JoinPacer::new(15, span);
        let t0 = Instant::now();
        let mut now = t0;
        let mut times = Vec::new();
        for _ in 0..100 {
            now = p.ready_at(now);
            p.record(now);
            times.push(now);
        }
        for (i, t) in times.iter().enumerate() {
            let in_span = times[i..].iter().take_while(|u| **u - *t < span).count();
            assert!(in_span <= 15, "{in_span} JOINs within {span:?} of join {i}");
        }
        assert_eq!(times[14], t0);
        assert_eq!(times[15], t0 + span);
    }

    #[test]
    fn a_full_window_assumed_delays_the_first_join() {
        let t0 = Instant::now();
        let mut p = JoinPacer::new(15, Duration::from_secs(10));
        p.assume_full(t0);
        assert_eq!(p.ready_at(t0), t0 + Duration::from_secs(10));
    }
}
