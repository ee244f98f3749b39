//! Chat packing: several lines waiting for one channel go out as one Twitch message.
//!
//! Twitch counts messages, not characters: 20 lines of up to 500 characters per 30 s. A
//! comment with its author's name is 30-60 characters, so one comment per line spends a
//! tenth of the budget. When a packable line's turn comes, the engine takes the other
//! packable lines already waiting for that channel (in the selection policy's order, never
//! past a status line, see [`super::select`] and `engine/compose.rs`) and joins them with a
//! separator into one line of at most [`PackSettings::max_chars`]: comments (near-identical
//! ones as one part with `×N`), and waiting follows, shares and small gifts as one summary
//! part per kind (`[TT] ➕ A, B and 5 others followed`).
//!
//! Each part was rendered by its own route template and sanitized on the way in; a part is
//! never split (one that does not fit waits for the next line). Status lines (stream ended,
//! paused ...) and the kinds not listed in [`PackSettings::kinds`] (gifts, subscriptions)
//! keep their own lines. The packed line is sanitized again as a whole and then passes the
//! same duplicate rule and 1-s gap as any other line.

use std::collections::{HashMap, HashSet};

use super::sanitize::{self, SafeText};
use crate::limits::MAX_MESSAGE_CHARS;

/// What goes between two parts of a packed line (`routes.chat.pack_separator`'s default).
pub use crate::config::routes::PACK_SEPARATOR;

/// The line kinds packed by default: chat, questions and flood summaries, and the small
/// announcements (follows, shares, gifts below `routes.gift.big_diamonds`: several waiting
/// become one summary part, [`super::select`]) that would otherwise each spend a whole line.
/// Big gifts, subscriptions and status lines keep their own lines.
pub const PACK_DEFAULT_KINDS: [&str; 6] = [
    "chat",
    "question",
    "chat_flood",
    "follow",
    "share",
    "gift",
];

/// How lines are packed (`[routes.chat] pack`, `pack_max_chars`, `pack_separator`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSettings {
    /// Pack at all (default on).
    pub enabled: bool,
    /// Longest packed line, in characters (Unicode scalar values, as Twitch counts); never
    /// above Twitch's [`MAX_MESSAGE_CHARS`] whatever is set.
    pub max_chars: usize,
    /// Put between two parts (default ` · `).
    pub separator: String,
    /// Line kinds that may share a line (chat, questions, flood summaries, follows, shares).
    pub kinds: Vec<String>,
}

impl Default for PackSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_chars: crate::config::routes::PACK_MAX_CHARS,
            separator: PACK_SEPARATOR.to_owned(),
            kinds: PACK_DEFAULT_KINDS.iter().map(|k| (*k).to_owned()).collect(),
        }
    }
}

/// [`PackSettings`] made ready for the engine.
#[derive(Debug, Clone)]
pub struct Packer {
    enabled: bool,
    max_chars: usize,
    separator: String,
    separator_chars: usize,
    kinds: HashSet<String>,
}

impl Packer {
    /// A packer for `settings`, its length capped at Twitch's 500.
    pub fn new(settings: &PackSettings) -> Self {
        Self {
            enabled: settings.enabled,
            max_chars: settings.max_chars.min(MAX_MESSAGE_CHARS),
            separator: settings.separator.clone(),
            separator_chars: settings.separator.chars().count(),
            kinds: settings.kinds.iter().cloned().collect(),
        }
    }

    /// True when a line of `kind` may share a line with others.
    pub fn packs(&self, kind: &str) -> bool {
        self.enabled && self.kinds.contains(kind)
    }

    /// The length of a line of `chars` characters with one more part of `part` characters.
    pub fn with_part(&self, chars: usize, part: usize) -> usize {
        chars + self.separator_chars + part
    }

    /// True when a line of `chars` characters stays within the limit.
    pub fn fits(&self, chars: usize) -> bool {
        chars <= self.max_chars
    }

    /// Joins sanitized parts, in order, into one sanitized line. `None` when `parts` is
    /// empty. The caller chose parts that fit; the sanitizer's cap still bounds the result.
    pub fn join<'a>(&self, parts: impl IntoIterator<Item = &'a SafeText>) -> Option<SafeText> {
        let joined = parts
            .into_iter()
            .map(SafeText::as_str)
            .collect::<Vec<_>>()
            .join(&self.separator);
        sanitize::sanitize(&joined)
    }
}

/// The packer of each bridge (its own `[bridge.routes.chat]` settings), and the default one
/// for lines sent without a bridge name and for bridges not listed.
#[derive(Debug, Clone)]
pub struct Packers {
    default: Packer,
    by_origin: HashMap<String, Packer>,
}

impl Packers {
    /// Packers for `default` and the bridges in `by_origin`.
    pub fn new(default: &PackSettings, by_origin: &HashMap<String, PackSettings>) -> Self {
        Self {
            default: Packer::new(default),
            by_origin: by_origin
                .iter()
                .map(|(name, s)| (name.clone(), Packer::new(s)))
                .collect(),
        }
    }

    /// The packer for lines of the bridge `origin`.
    pub fn for_origin(&self, origin: Option<&str>) -> &Packer {
        origin
            .and_then(|o| self.by_origin.get(o))
            .unwrap_or(&self.default)
    }
}

/// One line for `check` and `replay`: whether and how lines are packed.
pub fn summary(settings: &PackSettings) -> String {
    if settings.enabled {
        format!(
            "on: waiting comments, questions, follows, shares and small gifts share lines of up to {} characters, joined with {:?} (routes.chat.pack = false: one line each)",
            settings.max_chars.min(MAX_MESSAGE_CHARS),
            settings.separator
        )
    } else {
        "off (routes.chat.pack = false): one line per comment".to_owned()
    }
}

/// Characters of a sanitized text, as Twitch counts them.
pub fn chars_of(text: &SafeText) -> usize {
    text.as_str().chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(s: &str) -> SafeText {
        sanitize::sanitize(s).unwrap()
    }

    #[test]
    fn parts_join_with_the_separator_in_order() {
        let p = Packer::new(&PackSettings::default());
        let parts = [safe("[TT] A: hi"), safe("[TT] B: hello"), safe("➕ C followed")];
        let line = p.join(&parts).unwrap();
        assert_eq!(line.as_str(), "[TT] A: hi · [TT] B: hello · ➕ C followed");
    }

    #[test]
    fn the_limit_is_never_above_twitchs_500() {
        let p = Packer::new(&PackSettings {
            max_chars: 10_000,
            ..PackSettings::default()
        });
        assert!(p.fits(500));
        assert!(!p.fits(501));
        let small = Packer::new(&PackSettings {
            max_chars: 40,
            ..PackSettings::default()
        });
        // 20 + " · " (3) + 17 = 40 fits; one more character does not.
        assert_eq!(small.with_part(20, 17), 40);
        assert!(small.fits(small.with_part(20, 17)));
        assert!(!small.fits(small.with_part(20, 18)));
    }

    #[test]
    fn only_listed_kinds_pack_and_off_means_off() {
        let p = Packer::new(&PackSettings::default());
        // Gifts pack only below `big_diamonds` (the selection policy decides that).
        for kind in ["chat", "question", "follow", "share", "chat_flood", "gift"] {
            assert!(p.packs(kind), "{kind}");
        }
        for kind in ["subscribe", "live_ended", "live_paused", "likes"] {
            assert!(!p.packs(kind), "{kind}");
        }
        let off = Packer::new(&PackSettings {
            enabled: false,
            ..PackSettings::default()
        });
        assert!(!off.packs("chat"));
    }

    #[test]
    fn the_summary_says_on_or_off_and_the_real_limit() {
        let on = summary(&PackSettings {
            max_chars: 9_000,
            ..PackSettings::default()
        });
        assert!(on.starts_with("on:") && on.contains("up to 500 characters"), "{on}");
        assert!(on.contains("\" · \""), "{on}");
        let off = summary(&PackSettings {
            enabled: false,
            ..PackSettings::default()
        });
        assert!(off.starts_with("off"), "{off}");
    }

    #[test]
    fn each_bridge_packs_with_its_own_settings() {
        let off = PackSettings {
            enabled: false,
            ..PackSettings::default()
        };
        let packers = Packers::new(
            &PackSettings::default(),
            &HashMap::from([("quiet".to_owned(), off)]),
        );
        assert!(packers.for_origin(None).packs("chat"));
        assert!(packers.for_origin(Some("other")).packs("chat"));
        assert!(!packers.for_origin(Some("quiet")).packs("chat"));
    }

    #[test]
    fn a_separator_that_looks_like_a_command_cannot_start_a_line() {
        let p = Packer::new(&PackSettings {
            separator: "\r\n/ban x ".into(),
            ..PackSettings::default()
        });
        let line = p.join(&[safe("a"), safe("b")]).unwrap();
        assert!(!line.as_str().contains('\n'));
        assert_eq!(chars_of(&line), line.as_str().chars().count());
    }
}
