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
    /// Who and what is behind it, for the sink's choice of what to send first
    /// ([`LineMeta`]); the default (nothing known) for summaries and hand-made lines.
    pub meta: LineMeta,
}

/// What the sink's selection policy needs to know about a line beyond its text: set by the
/// pipeline from the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMeta {
    /// TikTok's user id of the author (0 when unknown): round-robin between users.
    pub user_id: u64,
    /// The author's shown name: the summary part of several follows, shares or gifts
    /// (`A, B and 5 others followed`).
    pub user_name: String,
    /// A Q&A question, or a comment that asks something (ends with `?`).
    pub question: bool,
    /// The author's first comment of the session.
    pub first_comment: bool,
    /// The author moderates the creator's room.
    pub moderator: bool,
    /// The author is among the session's top gifters (by diamonds).
    pub top_gifter: bool,
    /// The author supports the creator: a TikTok subscriber, or a fan-club member (the
    /// user's `fan_club` badge level, the event model's `Profile::fan_club_level`).
    pub fan_club: bool,
    /// Of a gift: its total value in diamonds (big gifts keep their own line).
    pub diamonds: u64,
    /// Of a comment: its text normalised ([`text_key`]); equal keys from several users
    /// collapse into one part with `×N`. Empty: never collapsed.
    pub text_key: String,
}

impl LineMeta {
    /// True when the line should go before other chat (question, first comment,
    /// moderator, top gifter, fan club).
    pub fn is_notable(&self) -> bool {
        self.question || self.first_comment || self.moderator || self.top_gifter || self.fan_club
    }
}

/// The normalised form of a comment, for collapsing near-identical ones: lowercase, letters,
/// digits and emoji only, and every run of three or more of one character cut to one (a
/// double letter or digit stays: `11` is not `1`). `"888"`, `"8 8 8!"` and `"88888"` give
/// `"8"`; `"LOL!!!"` and `"lol"` give `"lol"`; `"🔥🔥🔥"` gives `"🔥"`. A text of
/// punctuation only gives `""` (never collapsed).
pub fn text_key(text: &str) -> String {
    let kept: Vec<char> = text
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric() || is_symbol(*c))
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < kept.len() {
        let c = kept[i];
        let run = kept[i..].iter().take_while(|&&x| x == c).count();
        let keep = if run >= 3 { 1 } else { run };
        out.extend(std::iter::repeat_n(c, keep));
        i += run;
    }
    out
}

/// Emoji and other pictographs (above the Latin/punctuation blocks, not letters), minus the
/// joiners and variation selectors that glue emoji sequences together.
fn is_symbol(c: char) -> bool {
    let cp = u32::from(c);
    cp >= 0x2190
        && !c.is_alphanumeric()
        && !matches!(cp, 0x200D | 0xFE00..=0xFE0F | 0x1F3FB..=0x1F3FF)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_identical_comments_share_a_key() {
        for (a, b) in [
            ("888", "8 8 8!"),
            ("888", "88888"),
            ("LOL!!!", "lol"),
            ("🔥🔥🔥", "🔥"),
            ("Hello, World", "hello world"),
        ] {
            assert_eq!(text_key(a), text_key(b), "{a} / {b}");
        }
        assert_ne!(text_key("lol"), text_key("lmao"));
        assert_ne!(text_key("88"), text_key("89"));
        assert_ne!(text_key("comment 1"), text_key("comment 11"));
        assert_eq!(text_key("sooooo good"), text_key("so good"));
        assert_eq!(text_key("?!..."), "");
        assert_eq!(text_key("888"), "8");
    }
}
