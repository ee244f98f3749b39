//! The bounded memory of one bridge's recent events behind `GET /api/events`: the oldest
//! event goes when a new one comes, so memory stays fixed however long the stream runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::value::RawValue;

use super::Envelope;

/// One event the ring holds: published by a bridge of this process, or loaded back from
/// the `[api] ring_path` file at start (an event cannot be rebuilt from its JSON, so it is
/// served as stored). Both serialize as `{"seq":..,"bridge":..,"event":{..}}`.
#[derive(Debug, Clone)]
pub enum Held {
    /// Published since this process started.
    Live(Envelope),
    /// Loaded from the SQLite file.
    Stored(StoredEnvelope),
}

/// An event loaded from the ring's SQLite file.
#[derive(Debug, Clone)]
pub struct StoredEnvelope {
    /// Its sequence number (kept across restarts).
    pub seq: u64,
    /// The bridge's name.
    pub bridge: Arc<str>,
    /// The event's JSON, as written.
    pub event: Arc<RawValue>,
}

impl Held {
    /// The event's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Live(e) => e.seq,
            Self::Stored(e) => e.seq,
        }
    }
}

impl Serialize for StoredEnvelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            seq: u64,
            bridge: &'a str,
            event: &'a RawValue,
        }
        Wire {
            seq: self.seq,
            bridge: &self.bridge,
            event: &self.event,
        }
        .serialize(s)
    }
}

impl Serialize for Held {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Live(e) => e.serialize(s),
            Self::Stored(e) => e.serialize(s),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    capacity: usize,
    events: VecDeque<Held>,
    evicted: u64,
}

/// Recent events of one bridge, oldest first, at most `capacity` (0 keeps none).
#[derive(Debug, Clone, Default)]
pub struct Ring {
    inner: Arc<Mutex<Inner>>,
}

impl Ring {
    /// An empty ring.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                capacity,
                events: VecDeque::with_capacity(capacity.min(4096)),
                evicted: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `envelope`, forgetting the oldest when full.
    pub fn push(&self, envelope: Envelope) {
        self.push_held(Held::Live(envelope));
    }

    /// Keeps `held` (sequence numbers must increase), forgetting the oldest when full.
    pub fn push_held(&self, held: Held) {
        let mut inner = self.lock();
        if inner.capacity == 0 {
            return;
        }
        while inner.events.len() >= inner.capacity {
            inner.events.pop_front();
            inner.evicted += 1;
        }
        inner.events.push_back(held);
    }

    /// Up to `limit` events with a sequence number above `since`, oldest first.
    pub fn since(&self, since: u64, limit: usize) -> Vec<Held> {
        let inner = self.lock();
        // Sequence numbers increase along the ring: skip the older part by binary search.
        let start = inner.events.partition_point(|e| e.seq() <= since);
        inner.events.range(start..).take(limit).cloned().collect()
    }

    /// Events held now, and events forgotten to make room.
    pub fn counts(&self) -> (usize, u64) {
        let inner = self.lock();
        (inner.events.len(), inner.evicted)
    }

    /// The sequence number of the oldest event held.
    pub fn oldest(&self) -> Option<u64> {
        self.lock().events.front().map(Held::seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, Meta};

    fn envelope(seq: u64) -> Envelope {
        Envelope {
            seq,
            bridge: "a".into(),
            event: Arc::new(Event {
                meta: Meta::default(),
                kind: EventKind::Unknown,
            }),
            usd_per_diamond: 0.005,
        }
    }

    #[test]
    fn keeps_the_newest_and_answers_since() {
        let ring = Ring::new(3);
        for seq in [2, 4, 6, 8, 10] {
            ring.push(envelope(seq));
        }
        assert_eq!(ring.counts(), (3, 2));
        assert_eq!(ring.oldest(), Some(6));
        let seqs = |v: Vec<Held>| v.iter().map(Held::seq).collect::<Vec<_>>();
        assert_eq!(seqs(ring.since(0, 10)), [6, 8, 10]);
        assert_eq!(seqs(ring.since(6, 10)), [8, 10]);
        assert_eq!(seqs(ring.since(7, 1)), [8]);
        assert!(ring.since(10, 10).is_empty());
        let off = Ring::new(0);
        off.push(envelope(1));
        assert_eq!(off.counts(), (0, 0));
    }

    #[test]
    fn stored_and_live_events_serialize_alike() {
        let live = Held::Live(envelope(3));
        let stored = Held::Stored(StoredEnvelope {
            seq: 3,
            bridge: "a".into(),
            event: RawValue::from_string(r#"{"bridge":"a","type":"unknown","v":2,"platform":"tiktok"}"#.into())
                .unwrap()
                .into(),
        });
        assert_eq!(
            serde_json::to_string(&live).unwrap(),
            serde_json::to_string(&stored).unwrap()
        );
    }
}
