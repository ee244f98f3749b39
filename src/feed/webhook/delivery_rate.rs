//! Each webhook's delivery rate: a governor GCRA quota (`rate_per_sec` with a burst of
//! `rate_burst`, [`crate::rate::Gcra::per_second`]) on tokio's clock, so paused test time
//! drives it like everything else. A POST over the rate waits in the sender (never
//! dropped): the events behind it wait in the webhook's bounded queue, and only when that
//! is full are new events dropped (counted).

use crate::rate::Gcra;

/// One webhook's rate limit.
#[derive(Debug)]
pub(crate) struct DeliveryRate {
    limit: Gcra,
}

impl DeliveryRate {
    /// `per_sec` POSTs a second on average, `burst` at once after a quiet spell (0s are
    /// taken as 1: config validation refuses them).
    pub(crate) fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            limit: Gcra::per_second(per_sec, burst),
        }
    }

    /// Waits until one more POST is within the rate, and takes it. True when it had to
    /// wait.
    pub(crate) async fn until_ready(&self) -> bool {
        self.limit.until_ready().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
