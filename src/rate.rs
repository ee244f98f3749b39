//! GCRA rate limits with governor, on tokio's clock.
//!
//! governor keeps its own notion of time; its default clock reads the OS, so a test that
//! pauses tokio time (`start_paused`, `tokio::time::advance`) would see governor refuse for
//! real seconds. [`TokioClock`] is a governor clock that reads `tokio::time::Instant`, so a
//! limiter follows paused time exactly and production time otherwise.
//!
//! [`Gcra`] is the one way the crate uses governor: `try_take` spends a cell or says when
//! the next one is free; the caller waits with tokio (`sleep_until`), never with governor's
//! own futures-timer based waits.
//!
//! A GCRA quota of burst `b` and period `p` admits `b + floor(W / p)` cells in a window `W`
//! (the burst, then one per period), so a limit of "N in any window W" needs a period of
//! [`sliding_safe_period`]`(N, b, W)`, not `W / N`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, ReasonablyRealtime};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// A governor clock that follows tokio's clock (paused in tests): the time since the
/// clock was made.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    /// A clock starting at zero now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The tokio instant of a reading of this clock.
    pub fn instant(&self, reading: Duration) -> Instant {
        self.origin + reading
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }
}

impl ReasonablyRealtime for TokioClock {}

/// The GCRA period that keeps a quota of `burst` cells at most `limit` cells in any
/// `window`: `window / (limit - burst + 1)` plus 1 ms for nanosecond truncation
/// (docs/twitch.md §5.2). With it, the burst plus one cell per period never adds up to
/// more than `limit` inside one window.
pub fn sliding_safe_period(limit: u32, burst: u32, window: Duration) -> Duration {
    window / (limit.saturating_sub(burst) + 1).max(1) + Duration::from_millis(1)
}

/// A direct (un-keyed) governor limiter on [`TokioClock`].
pub struct Gcra {
    limiter: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>,
    clock: TokioClock,
    burst: u32,
    period: Duration,
}

impl std::fmt::Debug for Gcra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gcra")
            .field("burst", &self.burst)
            .field("period", &self.period)
            .finish()
    }
}

impl Gcra {
    /// At most `limit` cells (at least 1) in any `window`, with a burst of `burst` cells
    /// (clamped to 1..=limit) and the period [`sliding_safe_period`] gives.
    pub fn at_most(limit: u32, burst: u32, window: Duration) -> Self {
        let limit = limit.max(1);
        let burst = burst.clamp(1, limit);
        let period = sliding_safe_period(limit, burst, window).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("the period is at least 1 ns")
            .allow_burst(NonZeroU32::new(burst).expect("burst is at least 1"));
        let clock = TokioClock::new();
        Self {
            limiter: RateLimiter::direct_with_clock(quota, clock),
            clock,
            burst,
            period,
        }
    }

    /// `per_sec` cells a second on average (at least 1), `burst` at once after a quiet
    /// spell (at least 1): a rate, not an "N in any window" cap (webhook deliveries).
    pub fn per_second(per_sec: u32, burst: u32) -> Self {
        let one = NonZeroU32::MIN;
        let burst = NonZeroU32::new(burst).unwrap_or(one);
        let quota = Quota::per_second(NonZeroU32::new(per_sec).unwrap_or(one)).allow_burst(burst);
        let clock = TokioClock::new();
        Self {
            limiter: RateLimiter::direct_with_clock(quota, clock),
            clock,
            burst: burst.get(),
            period: quota.replenish_interval(),
        }
    }

    /// Waits (on tokio's clock) until one more cell is free, and spends it. True when it
    /// had to wait.
    pub async fn until_ready(&self) -> bool {
        let mut waited = false;
        while let Err(at) = self.try_take() {
            waited = true;
            tokio::time::sleep_until(at).await;
        }
        waited
    }

    /// Spends one cell now, or returns the instant the next one is free (nothing spent).
    pub fn try_take(&self) -> Result<(), Instant> {
        self.limiter
            .check()
            .map_err(|not_until| self.clock.instant(not_until.earliest_possible()))
    }

    /// The burst.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The period between cells after the burst.
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most instants of `times` (sorted) inside any half-open window of `window`.
    fn max_in_any(times: &[Instant], window: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t - times[i] < window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_follows_paused_tokio_time_and_never_exceeds_the_limit() {
        let window = Duration::from_secs(10);
        for burst in [1, 5, 10, 20] {
            let gcra = Gcra::at_most(20, burst, window);
            let mut times = Vec::new();
            while times.len() < 120 {
                match gcra.try_take() {
                    Ok(()) => times.push(Instant::now()),
                    Err(at) => {
                        assert!(at > Instant::now());
                        tokio::time::sleep_until(at).await;
                    }
                }
            }
            assert!(max_in_any(&times, window) <= 20, "burst {burst}");
            assert_eq!(
                times.iter().filter(|t| **t == times[0]).count(),
                burst as usize
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_names_when_the_next_cell_is_free() {
        let gcra = Gcra::at_most(2, 1, Duration::from_secs(60));
        assert!(gcra.try_take().is_ok());
        let at = gcra.try_take().unwrap_err();
        assert_eq!(at - Instant::now(), gcra.period());
        tokio::time::advance(gcra.period()).await;
        assert!(gcra.try_take().is_ok());
    }
}
