//! At most one reply per command and channel per cooldown: a GCRA limit (governor), keyed
//! by (channel, command), on tokio's clock so paused test time drives it. A command always
//! acts; only its reply is held back, so a flood of `!tt status` costs one line.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

/// governor's clock read from tokio's (paused in tests, real otherwise).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type Key = (String, &'static str);

type Limiter = RateLimiter<Key, HashMapStateStore<Key>, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// The reply cooldown.
pub struct Cooldown {
    limiter: Option<Limiter>,
}

impl std::fmt::Debug for Cooldown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cooldown")
            .field("on", &self.limiter.is_some())
            .finish()
    }
}

impl Cooldown {
    /// One reply per `every` per key; zero: every reply goes.
    pub fn new(every: Duration) -> Self {
        let limiter = Quota::with_period(every)
            .map(|q| q.allow_burst(NonZeroU32::MIN))
            .map(|q| RateLimiter::hashmap_with_clock(q, TokioClock));
        Self { limiter }
    }

    /// True when a reply to `command` in `channel` may go now (and counts it).
    pub fn allow(&self, channel: &str, command: &'static str) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        let ok = limiter.check_key(&(channel.to_owned(), command)).is_ok();
        // Keys of channels that stopped commanding are forgotten now and then.
        if limiter.len() > 1024 {
            limiter.retain_recent();
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_reply_per_command_and_channel_per_period() {
        let cooldown = Cooldown::new(Duration::from_secs(30));
        assert!(cooldown.allow("a", "status"));
        assert!(!cooldown.allow("a", "status"));
        assert!(cooldown.allow("a", "help"), "another command has its own");
        assert!(cooldown.allow("b", "status"), "another channel has its own");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(!cooldown.allow("a", "status"));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cooldown.allow("a", "status"));
        assert!(Cooldown::new(Duration::ZERO).allow("a", "x") && Cooldown::new(Duration::ZERO).allow("a", "x"));
    }
}
