//! Drops messages TikTok sends twice (a reconnect replays the last batch; pollers overlap),
//! by `msg_id`, with bounded memory: the oldest ids are forgotten first.

use std::collections::{HashSet, VecDeque};

/// Remembers the last `capacity` message ids.
#[derive(Debug)]
pub struct Dedupe {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl Dedupe {
    /// Remembers up to `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            seen: HashSet::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// True the first time an id is seen (and always for id 0, which means "no id").
    pub fn first_time(&mut self, msg_id: u64) -> bool {
        if msg_id == 0 {
            return true;
        }
        if !self.seen.insert(msg_id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.order.push_back(msg_id);
        true
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repeats_are_caught_and_zero_is_never_a_repeat() {
        let mut d = Dedupe::new(4);
        assert!(d.first_time(7));
        assert!(!d.first_time(7));
        assert!(d.first_time(0));
        assert!(d.first_time(0));
    }

    #[test]
    fn the_oldest_id_is_forgotten_first() {
        let mut d = Dedupe::new(2);
        for id in [1, 2, 3] {
            assert!(d.first_time(id));
        }
        assert_eq!(d.len(), 2);
        assert!(!d.first_time(3));
        assert!(d.first_time(1), "1 fell out of the window");
    }

    proptest! {
        #[test]
        fn memory_is_bounded_and_recent_repeats_are_dropped(
            ids in proptest::collection::vec(1u64..50, 0..500),
            capacity in 1usize..64,
        ) {
            let mut d = Dedupe::new(capacity);
            let mut recent: VecDeque<u64> = VecDeque::new();
            for id in ids {
                let expected = !recent.contains(&id);
                prop_assert_eq!(d.first_time(id), expected);
                if expected {
                    recent.push_back(id);
                    if recent.len() > capacity { recent.pop_front(); }
                }
                prop_assert!(d.len() <= capacity);
            }
        }
    }
}
