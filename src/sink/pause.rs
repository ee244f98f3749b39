//! Pausing one bridge's lines in the shared sink (`POST /api/bridges/{name}/pause`).
//!
//! A pause takes effect at once, under the same lock the engine takes a line under: a line
//! of that bridge is either already on its way to Twitch (at most the one in flight) or it
//! never goes. Its queued lines are dropped, counted as shed with reason `paused`; or, with a
//! freshness (`pause_keep_secs`), held aside and queued again at the resume when they are
//! still that fresh (the rest are shed `paused` then). New lines from a paused bridge are
//! shed `paused` too, whatever the freshness: a pause is not a buffer.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::SinkHandle;
use super::handle::count_push;

impl SinkHandle {
    /// Pauses the lines of bridge `origin`: nothing more of it is sent. Its queued lines are
    /// dropped (`keep_fresh` = `None`) or held for [`SinkHandle::resume`]. Returns how many
    /// lines were dropped.
    pub fn pause(&self, origin: &str, keep_fresh: Option<Duration>) -> u64 {
        let shared = &self.shared;
        let mut gate = shared.lock_gate();
        gate.paused.insert(Arc::from(origin), keep_fresh);
        let gone = gate.queue.drain_origin(origin);
        let depth = gate.queue.len() as u64;
        let (count, kept) = (gone.len() as u64, keep_fresh.is_some());
        if kept {
            gate.held.extend(gone);
        } else {
            for q in &gone {
                shared.stats.shed(q.kind, "paused");
            }
        }
        shared.stats.update(|s| {
            s.queue_depth = depth;
            if kept {
                s.paused_held += count;
            }
        });
        if kept { 0 } else { count }
    }

    /// Resumes bridge `origin`: its held lines still fresh go back in the queue (in their
    /// order), the others are shed `paused`. Returns how many were dropped.
    pub fn resume(&self, origin: &str) -> u64 {
        let shared = &self.shared;
        let now = Instant::now();
        let mut gate = shared.lock_gate();
        let Some(keep) = gate.paused.remove(origin) else {
            return 0;
        };
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut gate.held)
            .into_iter()
            .partition(|q| q.origin.as_deref() == Some(origin));
        gate.held = others;
        let held = mine.len() as u64;
        let mut dropped = 0;
        for mut q in mine {
            q.kept_over_pause = true;
            let fresh = keep.is_some_and(|k| now.saturating_duration_since(q.queued_at) <= k);
            if fresh && !gate.closed && !gate.stopped_channels.contains(&q.channel) {
                count_push(shared, gate.queue.push(q));
            } else {
                dropped += 1;
                shared.stats.shed(q.kind, "paused");
            }
        }
        let depth = gate.queue.len() as u64;
        shared.stats.update(|s| {
            s.paused_held -= held.min(s.paused_held);
            s.queue_depth = depth;
        });
        drop(gate);
        shared.wake.notify_one();
        dropped
    }

    /// True while bridge `origin` is paused in the sink.
    pub fn is_paused(&self, origin: &str) -> bool {
        self.shared.lock_gate().paused.contains_key(origin)
    }
}
