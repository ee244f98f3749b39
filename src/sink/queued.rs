//! [`Queued`]: one sanitized line in the sink's queue, with what the queue, the freshness
//! rule and the selection policy need to know about it; and [`text_key`], the duplicate key
//! of a (channel, text).

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::sanitize::SafeText;
use crate::line::{Priority, is_status_kind};

/// One sanitized line waiting for its turn.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The channel login (lowercase, no `#`).
    pub channel: String,
    /// The sanitized text.
    pub text: SafeText,
    /// Its priority class.
    pub priority: Priority,
    /// The event kind it came from, for accounting.
    pub kind: &'static str,
    /// The TikTok message id behind it.
    pub msg_id: u64,
    /// Arrival order, unique per sink.
    pub seq: u64,
    /// When it was queued.
    pub queued_at: Instant,
    /// The bridge it came from, when the sender said ([`super::SinkHandle::send_from`]):
    /// pausing a bridge drops (or holds) its lines.
    pub origin: Option<Arc<str>>,
    /// Held over a pause with `pause_keep_secs` and queued again at the resume: the operator
    /// chose that freshness, so the route's maximum age no longer applies.
    pub kept_over_pause: bool,
    /// Who and what is behind it, for the selection policy ([`super::select`]).
    pub meta: crate::line::LineMeta,
    /// TikTok chat comments this line carries: 1 for a comment's own line, the sum of its
    /// parts' for a packed line (×N parts included: they stand for their comments), 0
    /// otherwise. Counted as relayed when Twitch accepts it.
    pub comments: u32,
}

impl Queued {
    pub(super) fn key(&self) -> u64 {
        text_key(&self.channel, self.text.as_str())
    }

    /// True for a stream status line (never shed, ordered after earlier lines).
    pub fn is_status(&self) -> bool {
        is_status_kind(self.kind)
    }
}

/// A 64-bit key of (channel, text) for duplicate detection without keeping a second copy.
///
/// SHA-256, not `DefaultHasher`: the key is written to the pacing journal and must mean the
/// same thing to the next process (std's hasher is not promised stable across releases), and
/// the journal then holds no chat text.
pub fn text_key(channel: &str, text: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(channel.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

