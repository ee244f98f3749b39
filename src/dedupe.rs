//! Drops messages already relayed: the first fetch result replays recent history on every
//! (re)connect, so the same `msg_id` comes back. Memory is bounded: the oldest ids are
//! forgotten first.
//!
//! The key is the message id together with its method: a replay repeats both, while an id
//! that collides across two message types (seen in the corpus) must not drop a chat.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

/// The dedupe key of a message: 0 (never a repeat) when it has no id.
pub fn message_key(method: &str, msg_id: u64) -> u64 {
    if msg_id == 0 {
        return 0;
    }
    // `DefaultHasher::new()` has fixed keys: the same key for the same message, always.
    let mut hasher = DefaultHasher::new();
    method.hash(&mut hasher);
    msg_id.hash(&mut hasher);
    hasher.finish().max(1)
}

/// The most recent `capacity` message ids.
#[derive(Debug)]
pub struct RecentIds {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl RecentIds {
    /// Remembers at most `capacity` ids (at least 1). Nothing is reserved up front: a
    /// process with a thousand quiet bridges should not hold a thousand full tables.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// True the first time `id` is offered (and remembers it); false for a repeat.
    /// Id 0 means "no id": always new, never remembered.
    pub fn first_sight(&mut self, id: u64) -> bool {
        if id == 0 {
            return true;
        }
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_dropped_and_memory_is_bounded() {
        let mut ids = RecentIds::new(3);
        assert!(ids.first_sight(1));
        assert!(!ids.first_sight(1));
        assert!(
            ids.first_sight(0) && ids.first_sight(0),
            "0 is never a repeat"
        );
        for id in 2..=4 {
            assert!(ids.first_sight(id));
        }
        assert_eq!(ids.len(), 3);
        assert!(ids.first_sight(1), "1 was forgotten (oldest)");
        assert!(!ids.first_sight(4));
    }

    #[test]
    fn keys_separate_methods_and_keep_no_id_apart() {
        assert_eq!(message_key("WebcastChatMessage", 0), 0);
        assert_eq!(
            message_key("WebcastChatMessage", 7),
            message_key("WebcastChatMessage", 7)
        );
        assert_ne!(
            message_key("WebcastChatMessage", 7),
            message_key("WebcastLikeMessage", 7)
        );
    }
}
