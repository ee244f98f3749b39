//! [`SinkHandle`]: the pipeline's side of the sink.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::queue::{PushOutcome, Queued};
use super::sink_stats::{self, ChannelStatus, SinkState, StatsSnapshot};
use super::{Shared, sanitize};
use crate::line::Line;

/// The pipeline's side of the sink: cheap to clone, never blocks.
#[derive(Clone)]
pub struct SinkHandle {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for SinkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Counts what became of a line pushed into the queue.
pub(super) fn count_push(shared: &super::Shared, outcome: PushOutcome) {
    match outcome {
        PushOutcome::Queued => {}
        PushOutcome::QueuedAfterShedding(v) => shared.stats.shed(v.kind, "queue_full"),
        PushOutcome::Shed(v) => shared.stats.shed(v.kind, "queue_full"),
        PushOutcome::Coalesced(_) => shared.stats.update(|s| s.coalesced += 1),
    }
}

/// Lowercase, without a leading `#`.
pub(super) fn normalize_channel(channel: &str) -> String {
    channel.trim().trim_start_matches('#').to_ascii_lowercase()
}

impl SinkHandle {
    /// Every chat message read from the sink's channels from now on (IRC only; the bot's
    /// own lines excluded). A reader more than
    /// [`TWITCH_CHAT_READ_CAPACITY`](crate::limits::TWITCH_CHAT_READ_CAPACITY) messages
    /// behind misses the oldest (`Lagged`).
    pub fn subscribe_chat(
        &self,
    ) -> tokio::sync::broadcast::Receiver<Arc<super::incoming::ChatMessage>> {
        self.shared.chat.subscribe()
    }

    /// Sanitizes `line` and queues it for `channel`. Never blocks: when the queue is full the
    /// lowest-priority line is shed (counted in [`StatsSnapshot::shed`]). Lines for a channel
    /// that is not configured or was stopped, empty lines, and lines after the sink stopped
    /// are shed too (reasons `unknown_channel`, `channel_stopped`, `empty`, `sink_stopped`).
    pub fn send(&self, channel: &str, line: Line) {
        self.send_inner(None, channel, line);
    }

    /// [`SinkHandle::send`] for a line from the bridge `origin`: while that bridge is paused
    /// ([`SinkHandle::pause`]) its lines are shed (reason `paused`).
    pub fn send_from(&self, origin: &Arc<str>, channel: &str, line: Line) {
        self.send_inner(Some(origin), channel, line);
    }

    fn send_inner(&self, origin: Option<&Arc<str>>, channel: &str, line: Line) {
        let shared = &self.shared;
        shared.stats.update(|s| s.lines_in += 1);
        let channel = normalize_channel(channel);
        if !shared.channels.contains(&channel) {
            shared.stats.shed(line.kind, "unknown_channel");
            return;
        }
        let parts = if shared.split_kinds.contains(line.kind) {
            sanitize::sanitize_split(&line.text, shared.max_split_parts)
        } else {
            sanitize::sanitize(&line.text).into_iter().collect()
        };
        if parts.is_empty() {
            shared.stats.shed(line.kind, "empty");
            return;
        }
        let extra = parts.len() as u64 - 1;
        shared.stats.update(|s| s.extra_parts += extra);
        let mut gate = shared.lock_gate();
        let now = Instant::now();
        // A comment split over several parts counts once, with its first part.
        let mut comments = u32::from(line.kind == sink_stats::CHAT_COMMENT_KIND);
        for text in parts {
            if gate.closed {
                shared.stats.shed(line.kind, "sink_stopped");
                continue;
            }
            if gate.stopped_channels.contains(&channel) {
                shared.stats.shed(line.kind, "channel_stopped");
                continue;
            }
            if origin.is_some_and(|o| gate.paused.contains_key(o)) {
                shared.stats.shed(line.kind, "paused");
                continue;
            }
            let item = Queued {
                channel: channel.clone(),
                text,
                priority: line.priority,
                kind: line.kind,
                msg_id: line.msg_id,
                seq: shared.seq.fetch_add(1, Ordering::Relaxed),
                queued_at: now,
                origin: origin.cloned(),
                kept_over_pause: false,
                meta: line.meta.clone(),
                comments: std::mem::take(&mut comments),
            };
            count_push(shared, gate.queue.push(item));
        }
        let depth = gate.queue.len() as u64;
        shared.stats.update(|s| s.queue_depth = depth);
        drop(gate);
        shared.wake.notify_one();
    }

    /// Every counter, as plain numbers.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The sink's state (connecting, connected, stopped with the reason).
    pub fn state(&self) -> SinkState {
        self.shared.with_status(|s| s.sink.clone())
    }

    /// Told every state the sink sets (each login too, even when it was connected before).
    pub fn state_changes(&self) -> tokio::sync::watch::Receiver<SinkState> {
        self.shared.state_changes.subscribe()
    }

    /// Each configured channel's status.
    pub fn channels(&self) -> BTreeMap<String, ChannelStatus> {
        self.shared.with_status(|s| s.channels.clone())
    }

    /// The queue's capacity.
    pub fn queue_capacity(&self) -> usize {
        self.shared.lock_gate().queue.capacity()
    }
}
