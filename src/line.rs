//! A rendered chat line: the one type that crosses from the pipeline to the sinks.

use std::fmt;

/// How much a line matters when the sink must choose what to send or shed.
///
/// Gifts, follows, subscriptions and stream-end outrank chat; chat outranks joins, like
/// summaries and viewer counts. When the sink's queue is full it sheds the lowest priority
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Joins, like summaries, viewer counts: nice to have.
    Low,
    /// Chat and questions.
    Normal,
    /// Gifts, follows, shares, subscriptions, stream lifecycle.
    High,
}

impl Priority {
    /// The stable name used in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// One line for Twitch chat, not yet sanitized (the sink sanitizes every line it sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text as rendered by the template.
    pub text: String,
    /// Its priority when the sink must shed.
    pub priority: Priority,
    /// The event type it came from (`"chat"`, `"gift"` ... or `"likes"` for a summary),
    /// for accounting.
    pub kind: &'static str,
    /// The TikTok message id behind it (0 for summaries), for tracing a line to its event.
    pub msg_id: u64,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The line kinds that report the stream's state (paused, resumed, ended, reconnecting): the
/// sink never sheds them and sends them only after every line queued before them for the same
/// channel, so "the live has ended" never overtakes the chat that came before it.
pub const STATUS_KINDS: [&str; 4] = ["live_paused", "live_resumed", "live_ended", "reconnecting"];

/// True when a line of `kind` is a status line ([`STATUS_KINDS`]).
pub fn is_status_kind(kind: &str) -> bool {
    STATUS_KINDS.contains(&kind)
}
