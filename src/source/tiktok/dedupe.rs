//! Drops messages already relayed: the first fetch result replays recent history on every
//! (re)connect, so the same `msg_id` comes back. Memory is bounded: the oldest ids are
//! forgotten first.

use std::collections::{HashSet, VecDeque};

/// The most recent `capacity` message ids.
#[derive(Debug)]
pub struct RecentIds {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl RecentIds {
    /// Remembers at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            seen: HashSet::with_capacity(capacity.min(4096)),
            order: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
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
        assert!(ids.first_sight(0) && ids.first_sight(0), "0 is never a repeat");
        for id in 2..=4 {
            assert!(ids.first_sight(id));
        }
        assert_eq!(ids.len(), 3);
        assert!(ids.first_sight(1), "1 was forgotten (oldest)");
        assert!(!ids.first_sight(4));
    }
}
