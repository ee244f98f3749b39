//! How old a line may be when its turn comes (issue 21, "freshness"): a line older than its
//! route's `max_age_secs` ([`Freshness::by_kind`]; else [`Freshness::chat`] for chat,
//! [`Freshness::events`] for the rest) is dropped and counted as shed with reason `stale`,
//! instead of reaching chat minutes after it was written. Status lines (the live paused,
//! resumed, ended) are never stale unless their route sets an age: they say what is true
//! now.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::queue::Queued;
use crate::limits::{SINK_CHAT_MAX_AGE, SINK_EVENT_MAX_AGE};

/// The line kinds that count as chat for freshness.
use super::select::CHAT_KINDS;

/// Maximum ages; `None` keeps lines of that group whatever their age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// For comments, questions, emotes and chat flood summaries without their own age.
    pub chat: Option<Duration>,
    /// For every other line but status lines, without their own age.
    pub events: Option<Duration>,
    /// Each line kind's own age (`[routes.<kind>] max_age_secs`), over the two above.
    pub by_kind: BTreeMap<String, Option<Duration>>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            chat: Some(SINK_CHAT_MAX_AGE),
            events: Some(SINK_EVENT_MAX_AGE),
            by_kind: BTreeMap::new(),
        }
    }
}

impl Freshness {
    /// Keeps every line whatever its age (the behaviour before issue 21).
    pub const UNBOUNDED: Self = Self {
        chat: None,
        events: None,
        by_kind: BTreeMap::new(),
    };

    /// The config's `max_age_secs` of each line kind (0: no limit), as
    /// [`crate::config::RoutesConfig::max_ages`] lists them.
    pub fn from_routes(routes: &crate::config::RoutesConfig) -> Self {
        Self {
            by_kind: routes
                .max_ages()
                .into_iter()
                .map(|(kind, secs)| (kind.to_owned(), (secs > 0).then(|| Duration::from_secs(secs))))
                .collect(),
            ..Self::default()
        }
    }

    /// The maximum age of a line of `kind`, if it has one.
    pub fn max_age(&self, kind: &str) -> Option<Duration> {
        if let Some(age) = self.by_kind.get(kind) {
            *age
        } else if crate::line::is_status_kind(kind) {
            None
        } else if CHAT_KINDS.contains(&kind) {
            self.chat
        } else {
            self.events
        }
    }

    /// One line for `check`: each kind's age, the ones that differ from the default named.
    pub fn summary(&self) -> String {
        let secs = |age: Option<Duration>| match age {
            Some(d) => format!("{} s", d.as_secs()),
            None => "no limit".to_owned(),
        };
        let mut out = format!(
            "chat {}, other lines {}, status lines never",
            secs(self.max_age("chat")),
            secs(self.max_age("gift"))
        );
        for (kind, age) in &self.by_kind {
            let usual = if CHAT_KINDS.contains(&kind.as_str()) {
                self.max_age("chat")
            } else if crate::line::is_status_kind(kind) {
                None
            } else {
                self.max_age("gift")
            };
            if *age != usual {
                out.push_str(&format!("; {kind} {}", secs(*age)));
            }
        }
        out
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
            meta: Default::default(),
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

    #[tokio::test(start_paused = true)]
    async fn each_route_has_its_own_age_from_the_config() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut routes = crate::config::RoutesConfig::default();
        routes.follow.max_age_secs = 30;
        routes.chat.max_age_secs = 0;
        routes.live_ended.max_age_secs = 600;
        let f = Freshness::from_routes(&routes);
        assert!(f.is_stale(&queued("follow", t0), at(31)));
        assert!(!f.is_stale(&queued("chat", t0), at(10_000)), "0 keeps it");
        assert!(!f.is_stale(&queued("chat_flood", t0), at(10_000)));
        assert!(f.is_stale(&queued("question", t0), at(21)), "question keeps 20 s");
        assert!(!f.is_stale(&queued("gift", t0), at(120)));
        assert!(f.is_stale(&queued("gift", t0), at(121)));
        assert!(f.is_stale(&queued("live_ended", t0), at(601)));
        assert!(!f.is_stale(&queued("reconnecting", t0), at(100_000)));
        let summary = f.summary();
        assert!(summary.contains("chat no limit") && summary.contains("follow 30 s"), "{summary}");
        assert_eq!(
            Freshness::from_routes(&crate::config::RoutesConfig::default()).summary(),
            "chat 20 s, other lines 120 s, status lines never"
        );
    }
}
