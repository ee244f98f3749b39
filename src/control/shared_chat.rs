//! Shared Chat awareness: while a channel is in a Twitch Shared Chat session, partner
//! channels' messages arrive with a `source-room-id` that is not the channel's `room-id`,
//! and every line the bot posts is shown in the partner channels too. A session starts at
//! the first such message and counts as over after
//! [`SHARED_CHAT_QUIET`](crate::limits::SHARED_CHAT_QUIET) without one.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// What changed for a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionChange {
    /// A session began.
    Started,
    /// A session ended.
    Ended,
}

/// The channels in a Shared Chat session, with the last partner message seen.
#[derive(Debug)]
pub struct SharedChat {
    quiet: Duration,
    active: HashMap<String, Instant>,
}

impl SharedChat {
    /// Sessions end after `quiet` without a partner message.
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            active: HashMap::new(),
        }
    }

    /// A partner channel's message arrived in `channel` at `now`.
    pub fn seen(&mut self, channel: &str, now: Instant) -> Option<SessionChange> {
        let started = self.active.insert(channel.to_owned(), now).is_none();
        started.then_some(SessionChange::Started)
    }

    /// The channels whose session is over at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let quiet = self.quiet;
        let over: Vec<String> = self
            .active
            .iter()
            .filter(|(_, last)| now.saturating_duration_since(**last) >= quiet)
            .map(|(c, _)| c.clone())
            .collect();
        for channel in &over {
            self.active.remove(channel);
        }
        over
    }

    /// When the next session may end.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.active.values().map(|last| *last + self.quiet).min()
    }

    /// True while `channel` is in a session.
    pub fn is_active(&self, channel: &str) -> bool {
        self.active.contains_key(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_session_starts_once_and_ends_after_the_quiet_time() {
        let quiet = Duration::from_secs(600);
        let mut shared = SharedChat::new(quiet);
        let t0 = Instant::now();
        assert_eq!(shared.seen("a", t0), Some(SessionChange::Started));
        assert_eq!(shared.seen("a", t0 + Duration::from_secs(60)), None, "once");
        assert!(shared.expire(t0 + Duration::from_secs(659)).is_empty());
        assert_eq!(shared.next_expiry(), Some(t0 + Duration::from_secs(660)));
        assert_eq!(shared.expire(t0 + Duration::from_secs(660)), vec!["a".to_owned()]);
        assert!(!shared.is_active("a"));
        assert_eq!(shared.seen("a", t0 + Duration::from_secs(700)), Some(SessionChange::Started));
    }
}
