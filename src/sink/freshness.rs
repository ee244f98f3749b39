//! How old a line may be when its turn comes (issue 21, "freshness"): a chat line older than
//! [`Freshness::chat`] or another line older than [`Freshness::events`] is dropped and counted
//! as shed with reason `stale`, instead of reaching chat minutes after it was written.
//! Status lines (the live paused, resumed, ended) are never stale: they say what is true now.

use std::time::Duration;

use tokio::time::Instant;

use super::queue::Queued;
use crate::limits::{SINK_CHAT_MAX_AGE, SINK_EVENT_MAX_AGE};

/// The line kinds that count as chat for freshness.
const CHAT_KINDS: [&str; 4] = ["chat", "chat_flood", "question", "emote"];

/// Maximum ages; `None` keeps lines of that group whatever their age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// For comments, questions, emotes and chat flood summaries.
    pub chat: Option<Duration>,
    /// For every other line but status lines.
    pub events: Option<Duration>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            chat: Some(SINK_CHAT_MAX_AGE),
            events: Some(SINK_EVENT_MAX_AGE),
        }
    }
}

impl Freshness {
    /// Keeps every line whatever its age (the behaviour before issue 21).
    pub const UNBOUNDED: Self = Self {
        chat: None,
        events: None,
    };

    /// The maximum age of a line of `kind`, if it has one.
    pub fn max_age(&self, kind: &str) -> Option<Duration> {
        if crate::line::is_status_kind(kind) {
            None
        } else if CHAT_KINDS.contains(&kind) {
            self.chat
        } else {
            self.events
        }
    }

    /// True when `item` waited longer than its kind allows, at `now`.
    /// Lines kept over a pause (`pause_keep_secs`) were judged fresh enough at the resume and
    /// are never stale.
    pub fn is_stale(&self, item: &Queued, now: Instant) -> bool {
        !item.kept_over_pause
            && self
                .max_age(item.kind)
            .is_some_and(|max| now.saturating_duration_since(item.queued_at) > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Priority;
    use crate::sink::sanitize::sanitize;

    fn queued(kind: &'static str, at: Instant) -> Queued {
        Queued {
            channel: "a".into(),
            text: sanitize("x").unwrap(),
            priority: Priority::Normal,
            kind,
            msg_id: 1,
            seq: 1,
            queued_at: at,
            origin: None,
            kept_over_pause: false,
            comments: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn chat_goes_stale_before_gifts_and_status_lines_never() {
        let t0 = Instant::now();
        let f = Freshness::default();
        let at = |s| t0 + Duration::from_secs(s);
        assert!(!f.is_stale(&queued("chat", t0), at(20)));
        assert!(f.is_stale(&queued("chat", t0), at(21)));
        assert!(f.is_stale(&queued("question", t0), at(21)));
        assert!(!f.is_stale(&queued("gift", t0), at(21)));
        assert!(f.is_stale(&queued("gift", t0), at(121)));
        assert!(!f.is_stale(&queued("live_ended", t0), at(100_000)));
        assert!(!Freshness::UNBOUNDED.is_stale(&queued("chat", t0), at(100_000)));
        let kept = Queued {
            kept_over_pause: true,
            ..queued("chat", t0)
        };
        assert!(!f.is_stale(&kept, at(100)));
    }
}
