//! Each webhook's delivery rate: a governor GCRA quota (`rate_per_sec` with a burst of
//! `rate_burst`) on tokio's clock, so paused test time drives it like everything else.
//! A POST over the rate waits in the sender (never dropped): the events behind it wait in
//! the webhook's bounded queue, and only when that is full are new events dropped (counted).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// governor's clock as time since the limiter was made, read from tokio's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

/// One webhook's rate limit.
pub(crate) struct DeliveryRate {
    limiter: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>,
    clock: TokioClock,
}

impl std::fmt::Debug for DeliveryRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryRate").finish_non_exhaustive()
    }
}

impl DeliveryRate {
    /// `per_sec` POSTs a second on average, `burst` at once after a quiet spell (0s are
    /// taken as 1: config validation refuses them).
    pub(crate) fn new(per_sec: u32, burst: u32) -> Self {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_second(NonZeroU32::new(per_sec).unwrap_or(one))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(one));
        let clock = TokioClock {
            start: tokio::time::Instant::now(),
        };
        Self {
            limiter: RateLimiter::direct_with_clock(quota, clock),
            clock,
        }
    }

    /// Waits until one more POST is within the rate, and takes it. True when it had to
    /// wait.
    pub(crate) async fn until_ready(&self) -> bool {
        let mut waited = false;
        while let Err(not_until) = self.limiter.check() {
            waited = true;
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
        waited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_burst_goes_at_once_then_the_rate_spaces_posts() {
        let rate = DeliveryRate::new(4, 2);
        let start = tokio::time::Instant::now();
        assert!(!rate.until_ready().await);
        assert!(!rate.until_ready().await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(rate.until_ready().await);
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        assert!(rate.until_ready().await);
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
