//! Identical comments ("W", "gg", "❤️" from fifty viewers at once): the first is relayed at
//! once, the repeats within the window become one line with a count when it closes.
//!
//! Pure and clock-free: every call takes `now` (non-decreasing). Windows close in the order
//! they opened, so expiry walks a queue instead of scanning every tracked text.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::limits::MAX_FLOOD_KEYS;

/// A collapsed run of identical comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// The comment as first written.
    pub text: String,
    /// How many identical comments followed the first within the window.
    pub count: u64,
}

#[derive(Debug)]
struct Open {
    ends: Instant,
    text: String,
    repeats: u64,
}

/// Open windows by normalized text.
#[derive(Debug)]
pub struct ChatFlood {
    window: Duration,
    /// Keys are shared with `order` (one allocation per comment, not two).
    open: HashMap<Arc<str>, Open>,
    /// (window end, key) in opening order.
    order: VecDeque<(Instant, Arc<str>)>,
}

impl ChatFlood {
    /// Repeats within `window` of the first are collapsed.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            open: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// True when this comment is relayed; false when it repeats one relayed within the
    /// window (it will be counted in the flood line).
    pub fn push(&mut self, text: &str, now: Instant) -> bool {
        let key = flood_key(text);
        if let Some(open) = self.open.get_mut(key.as_str())
            && open.ends > now
        {
            open.repeats += 1;
            return false;
        }
        // A window that closed but was not expired yet: hand out its line first.
        if self.open.get(key.as_str()).is_some_and(|o| o.repeats > 0) {
            return true; // tracked again after expire(); rare, and never loses a count
        }
        if self.open.len() < MAX_FLOOD_KEYS || self.open.contains_key(key.as_str()) {
            let ends = super::deadline(now, self.window);
            let key: Arc<str> = Arc::from(key);
            self.order.push_back((ends, key.clone()));
            self.open.insert(
                key,
                Open {
                    ends,
                    text: text.to_owned(),
                    repeats: 0,
                },
            );
        }
        true
    }

    /// Windows that closed with repeats, as flood lines, oldest first (windows without
    /// repeats vanish).
    pub fn expire(&mut self, now: Instant) -> Vec<Flood> {
        let mut out = Vec::new();
        while let Some((ends, _)) = self.order.front() {
            if *ends > now {
                break;
            }
            let Some((ends, key)) = self.order.pop_front() else {
                break;
            };
            // Only the entry that matches the open window closes it (a re-opened text has
            // a later entry further back).
            if self.open.get(&key).is_some_and(|o| o.ends == ends)
                && let Some(open) = self.open.remove(&key)
                && open.repeats > 0
            {
                out.push(Flood {
                    text: open.text,
                    count: open.repeats,
                });
            }
        }
        out
    }

    /// Every open window with repeats, now.
    pub fn drain(&mut self) -> Vec<Flood> {
        match self.order.back().map(|(ends, _)| *ends) {
            Some(last) => self.expire(last),
            None => Vec::new(),
        }
    }

    /// When the oldest window closes.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.order.front().map(|(ends, _)| *ends)
    }
}

/// Comments that differ only in case and spacing are the same comment. Built in one
/// buffer (this runs for every chat): ASCII text, most chat, is lowercased in place;
/// other text goes through `str::to_lowercase` (which knows the final sigma).
fn flood_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(word);
    }
    if key.is_ascii() {
        key.make_ascii_lowercase();
        key
    } else {
        key.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identical_floods_collapse() {
        let t0 = Instant::now();
        let mut f = ChatFlood::new(Duration::from_secs(10));
        let mut relayed = 0;
        for i in 0..1_000u64 {
            let text = if i % 2 == 0 { "W" } else { " w " };
            if f.push(text, t0 + Duration::from_millis(i * 5)) {
                relayed += 1;
            }
        }
        assert!(f.push("something else", t0 + Duration::from_secs(5)));
        assert_eq!(relayed, 1);
        assert_eq!(f.next_deadline(), Some(t0 + Duration::from_secs(10)));
        let floods = f.expire(t0 + Duration::from_secs(10));
        assert_eq!(
            floods,
            vec![Flood {
                text: "W".into(),
                count: 999
            }]
        );
        assert!(
            f.push("W", t0 + Duration::from_secs(11)),
            "a new window relays again"
        );
        assert!(
            f.expire(t0 + Duration::from_secs(15)).is_empty(),
            "no repeats, no line"
        );
    }

    proptest! {
        /// Every comment is either relayed or counted in exactly one flood line, whether
        /// or not expire() is called on time.
        #[test]
        fn floods_account_for_every_comment(
            texts in proptest::collection::vec(prop_oneof!["a", "b", "c", "[a-z]{1,3}"], 0..300),
            gaps_ms in proptest::collection::vec(0u64..4_000, 300),
            expire_every in 1usize..20,
        ) {
            let t0 = Instant::now();
            let mut f = ChatFlood::new(Duration::from_secs(10));
            let mut now = t0;
            let (mut relayed, mut collapsed) = (0u64, 0u64);
            for (i, text) in texts.iter().enumerate() {
                now += Duration::from_millis(gaps_ms[i]);
                if i % expire_every == 0 {
                    collapsed += f.expire(now).iter().map(|fl| fl.count).sum::<u64>();
                }
                if f.push(text, now) { relayed += 1; }
            }
            collapsed += f.drain().iter().map(|fl| fl.count).sum::<u64>();
            prop_assert_eq!(relayed + collapsed, texts.len() as u64);
        }

        /// The one-buffer key is the old `split_whitespace().join(" ").to_lowercase()`,
        /// for ASCII and for any text (final sigma, Turkish İ, wide spaces).
        #[test]
        fn flood_key_is_the_normalized_text(text in "([ \t\u{3000}]|[a-zA-Z]|ΣΑΣ|İ|ß|\\PC){0,24}") {
            let old = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            prop_assert_eq!(flood_key(&text), old);
        }
    }
}
