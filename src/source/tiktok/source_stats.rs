//! The source's counters. Owned by one [`super::lifecycle::TikTokSource`]; `snapshot()` gives
//! plain numbers.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters (atomics, shared with the running source).
#[derive(Debug, Default)]
pub struct SourceStats {
    pub(crate) frames: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) history: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) frame_errors: AtomicU64,
    pub(crate) message_errors: AtomicU64,
    pub(crate) repaired_text: AtomicU64,
    pub(crate) acks: AtomicU64,
    pub(crate) heartbeats: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) room_lookups: AtomicU64,
    pub(crate) signer_calls: AtomicU64,
    pub(crate) signer_rate_limited: AtomicU64,
    pub(crate) signer_failures: AtomicU64,
    pub(crate) gift_catalogues: AtomicU64,
    pub(crate) gift_catalogue_failures: AtomicU64,
    pub(crate) gifts_enriched: AtomicU64,
}

/// A point-in-time copy of [`SourceStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStatsSnapshot {
    /// Binary WebSocket frames received.
    pub frames: u64,
    /// Events emitted (history included, duplicates not).
    pub messages: u64,
    /// Of which history (from a first fetch result).
    pub history: u64,
    /// Messages dropped as already seen (intentional).
    pub duplicates: u64,
    /// Frames that did not decode (dropped, failure).
    pub frame_errors: u64,
    /// Single messages that did not decode (dropped, failure).
    pub message_errors: u64,
    /// Messages with invalid UTF-8 in a text field, relayed with U+FFFD in its place.
    pub repaired_text: u64,
    /// Acks sent.
    pub acks: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// Sockets opened (101 received).
    pub connects: u64,
    /// Reconnect attempts scheduled after a failure or an unexpected close.
    pub reconnects: u64,
    /// Room lookups made (unsigned).
    pub room_lookups: u64,
    /// Signer calls made.
    pub signer_calls: u64,
    /// Signer calls answered 429.
    pub signer_rate_limited: u64,
    /// Signer calls that failed otherwise.
    pub signer_failures: u64,
    /// Gift catalogues fetched and parsed (once per room).
    pub gift_catalogues: u64,
    /// Gift catalogue fetches that failed (the live went on without one).
    pub gift_catalogue_failures: u64,
    /// Gift events whose name, value or image came from the catalogue.
    pub gifts_enriched: u64,
}

impl SourceStats {
    /// Copies the counters.
    pub fn snapshot(&self) -> SourceStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SourceStatsSnapshot {
            frames: get(&self.frames),
            messages: get(&self.messages),
            history: get(&self.history),
            duplicates: get(&self.duplicates),
            frame_errors: get(&self.frame_errors),
            message_errors: get(&self.message_errors),
            repaired_text: get(&self.repaired_text),
            acks: get(&self.acks),
            heartbeats: get(&self.heartbeats),
            connects: get(&self.connects),
            reconnects: get(&self.reconnects),
            room_lookups: get(&self.room_lookups),
            signer_calls: get(&self.signer_calls),
            signer_rate_limited: get(&self.signer_rate_limited),
            signer_failures: get(&self.signer_failures),
            gift_catalogues: get(&self.gift_catalogues),
            gift_catalogue_failures: get(&self.gift_catalogue_failures),
            gifts_enriched: get(&self.gifts_enriched),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
