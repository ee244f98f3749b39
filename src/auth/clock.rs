//! Wall-clock time for token expiry, injectable so tests can move it.

use std::fmt::Debug;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the token manager reads the wall-clock time (token expiry is wall-clock: it is
/// persisted and must survive restarts).
pub trait Clock: Debug + Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time in whole seconds since the Unix epoch.
    fn unix_now(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A wall clock that moves with tokio's clock: `start` plus the tokio time elapsed since it
/// was made. Under `tokio::time::pause()` it moves only on `advance` (or auto-advance), so
/// expiry logic and the manager's sleeps stay in step in tests.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: SystemTime,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    /// A clock reading the system time now.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.start + self.origin.elapsed()
    }
}

/// Seconds from `now` until `deadline` (both Unix seconds), zero if past.
pub(crate) fn until(now: u64, deadline: u64) -> Duration {
    Duration::from_secs(deadline.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_moves_with_paused_time() {
        let clock = TokioClock::starting_at(UNIX_EPOCH + Duration::from_secs(1000));
        assert_eq!(clock.unix_now(), 1000);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(clock.unix_now(), 4600);
        assert_eq!(until(4600, 4700), Duration::from_secs(100));
        assert_eq!(until(4800, 4700), Duration::ZERO);
    }
}
