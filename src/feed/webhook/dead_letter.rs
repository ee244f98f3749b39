//! Deliveries a webhook gave up on (attempts exhausted, or refused with a 4xx), kept per
//! webhook so they can be listed and replayed (`/api/webhooks/{id}/dead-letters`).
//!
//! Each queue holds at most [`WEBHOOK_DEAD_LETTER_CAPACITY`] deliveries; a new one finding
//! it full evicts the oldest, counted in `dropped`. A dead letter keeps the exact body
//! that was POSTed and its idempotency key, so a replay is the same delivery again (signed
//! afresh) and a receiver that did take it after all drops the repeat.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::limits::WEBHOOK_DEAD_LETTER_CAPACITY;

/// One delivery given up on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its number in its webhook's queue (increasing, never reused).
    pub id: u64,
    /// The `Idempotency-Key` it was (and is again, on replay) sent with.
    pub key: String,
    /// Events in it (more than one for a batch).
    pub events: usize,
    /// The first event's sequence number.
    pub first_seq: u64,
    /// When it was given up on (unix seconds).
    pub failed_at: u64,
    /// POSTs tried, replays included.
    pub attempts: u32,
    /// Why the last attempt failed (`HTTP 500`, `error sending request` ...).
    pub error: String,
    /// The JSON document POSTed.
    pub body: Box<RawValue>,
}

/// One webhook's dead letters, oldest first.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DeadLetterQueue {
    /// The next dead letter's `id`.
    next_id: u64,
    /// Dead letters evicted to make room since the queue was made.
    dropped: u64,
    items: VecDeque<DeadLetter>,
}

impl DeadLetterQueue {
    /// Keeps `letter` (its `id` is assigned here), evicting the oldest when full.
    pub fn push(&mut self, mut letter: DeadLetter) {
        self.next_id += 1;
        letter.id = self.next_id;
        while self.items.len() >= WEBHOOK_DEAD_LETTER_CAPACITY {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(letter);
    }

    /// The dead letters, oldest first.
    pub fn items(&self) -> &VecDeque<DeadLetter> {
        &self.items
    }

    /// Dead letters evicted because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The oldest `limit` dead letters (copies).
    pub fn oldest(&self, limit: usize) -> Vec<DeadLetter> {
        self.items.iter().take(limit).cloned().collect()
    }

    /// Removes the dead letter `id` (delivered on replay); false when it is not here.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.items.len();
        self.items.retain(|l| l.id != id);
        self.items.len() != before
    }

    /// Notes one more failed replay of `id`.
    pub fn failed_again(&mut self, id: u64, error: String, at: u64) {
        if let Some(letter) = self.items.iter_mut().find(|l| l.id == id) {
            letter.attempts = letter.attempts.saturating_add(1);
            letter.error = error;
            letter.failed_at = at;
        }
    }

    /// After loading from a file: at most the capacity, the newest kept.
    pub fn bounded(mut self) -> Self {
        while self.items.len() > WEBHOOK_DEAD_LETTER_CAPACITY {
            self.items.pop_front();
            self.dropped += 1;
        }
        let largest = self.items.iter().map(|l| l.id).max().unwrap_or(0);
        self.next_id = self.next_id.max(largest);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(key: &str) -> DeadLetter {
        DeadLetter {
            id: 0,
            key: key.into(),
            events: 1,
            first_seq: 1,
            failed_at: 0,
            attempts: 1,
            error: "HTTP 500".into(),
            body: RawValue::from_string("{\"a\":1}".into()).unwrap(),
        }
    }

    #[test]
    fn a_full_queue_evicts_the_oldest_and_counts_it() {
        let mut queue = DeadLetterQueue::default();
        for i in 0..WEBHOOK_DEAD_LETTER_CAPACITY + 3 {
            queue.push(letter(&i.to_string()));
        }
        assert_eq!(queue.items().len(), WEBHOOK_DEAD_LETTER_CAPACITY);
        assert_eq!(queue.dropped(), 3);
        assert_eq!(queue.items()[0].key, "3");
        let last = queue.items().back().unwrap().id;
        assert_eq!(last, WEBHOOK_DEAD_LETTER_CAPACITY as u64 + 3);
        assert!(queue.remove(last));
        assert!(!queue.remove(last));
        // Ids are never reused, also after a round trip through the file.
        let json = serde_json::to_string(&queue).unwrap();
        let mut back: DeadLetterQueue = serde_json::from_str::<DeadLetterQueue>(&json)
            .unwrap()
            .bounded();
        back.push(letter("new"));
        assert!(back.items().back().unwrap().id > last);
    }
}
