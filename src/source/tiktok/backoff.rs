//! Reconnect delays: exponential with jitter, so many bridges dropped at once by the same
//! outage do not reconnect in lockstep.

use std::time::Duration;

use rand::Rng;

/// The delay before attempt `attempt` (1-based): `min * 2^(attempt-1)` capped at `max`,
/// then a uniformly random point in its upper half.
pub fn delay(attempt: u32, min: Duration, max: Duration) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = min.saturating_mul(1u32 << exp).min(max).max(min.min(max));
    let half = full / 2;
    half + rand::rng().random_range(Duration::ZERO..=full - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_jittered() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..200 {
            let d1 = delay(1, min, max);
            assert!(d1 >= Duration::from_millis(500) && d1 <= min, "{d1:?}");
            let d4 = delay(4, min, max);
            assert!(
                d4 >= Duration::from_secs(4) && d4 <= Duration::from_secs(8),
                "{d4:?}"
            );
            let d40 = delay(40, min, max);
            assert!(d40 >= Duration::from_secs(30) && d40 <= max, "{d40:?}");
        }
    }
}
