//! What `/healthz`, `/metrics` and the status lines read: each bridge's live state and
//! counters, shared between the bridge tasks and the HTTP listener.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::event::Event;
use crate::limits::FEED_CHANNEL_CAPACITY;

use crate::pipeline::PipelineStats;
use crate::source::tiktok::error::utc;
use crate::source::tiktok::{Profile, SourceStats};

/// Whether a bridge in `tiktok_state` has its TikTok socket open.
pub fn is_connected_state(tiktok_state: &str) -> bool {
    matches!(tiktok_state, "live" | "paused")
}

/// Whether a bridge in `tiktok_state` knows the creator to be live (a reconnect does not
/// end the live).
pub fn is_live_state(tiktok_state: &str) -> bool {
    matches!(tiktok_state, "live" | "paused" | "reconnecting")
}

/// Whether a bridge in `tiktok_state` is doing its job, for `/readyz`: relaying a live, or
/// waiting for one as configured. Starting, connecting, reconnecting and failed are not.
/// A creator going offline keeps the bridge ready: it is where it should be.
pub fn is_ready_state(tiktok_state: &str) -> bool {
    matches!(
        tiktok_state,
        "live" | "paused" | "waiting_for_live" | "ended"
    )
}

/// One bridge's state, as the HTTP listener shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BridgeState {
    /// The bridge's name.
    pub name: String,
    /// The TikTok creator.
    pub tiktok: String,
    /// The source's state (`connecting`, `live`, `waiting_for_live`, `reconnecting`,
    /// `ended`, `failed` ...).
    pub tiktok_state: String,
    /// The room, once live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// The live's latest viewer count (from the room lookup, then each viewer update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewers: Option<u64>,
    /// When the last event arrived (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event: Option<String>,
    /// The last error, when the bridge failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Times the bridge failed and was restarted.
    pub restarts: u64,
    /// Twitch channels it posts to.
    pub channels: Vec<String>,
    /// The creator's profile from the latest successful room lookup (absent until one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

/// The counters of one bridge, readable from any task.
#[derive(Debug, Clone)]
pub struct BridgeCounters {
    /// The source's counters (replaced when the bridge restarts its source).
    pub source: Arc<Mutex<SourceCounters>>,
    /// The pipeline's counters (one pipeline lives as long as the bridge).
    pub pipeline: PipelineStats,
    /// Lines not sent to Twitch because the bridge was paused (`POST /api/.../pause`).
    pub paused_lines: Arc<AtomicU64>,
}

/// A bridge's source counters across restarts: the running source's live counters plus the
/// sum of every source that ran before it (so restarts never grow memory).
#[derive(Debug, Default)]
pub struct SourceCounters {
    finished: crate::source::tiktok::SourceStatsSnapshot,
    current: Option<Arc<SourceStats>>,
}

impl SourceCounters {
    /// A new source starts: the previous one's counters are folded into the total.
    pub fn replace(&mut self, next: Arc<SourceStats>) {
        if let Some(previous) = self.current.replace(next) {
            self.finished = super::metrics::sum_sources([self.finished, previous.snapshot()]);
        }
    }

    /// Everything counted so far.
    pub fn snapshot(&self) -> crate::source::tiktok::SourceStatsSnapshot {
        let current = self
            .current
            .as_ref()
            .map(|s| s.snapshot())
            .unwrap_or_default();
        super::metrics::sum_sources([self.finished, current])
    }
}

/// One bridge's shared record.
#[derive(Debug, Clone)]
pub struct BridgeHealth {
    state: Arc<Mutex<BridgeState>>,
    /// Its counters.
    pub counters: BridgeCounters,
    /// Every event the bridge receives from TikTok (before filtering), for the event
    /// feed, webhooks and the REST ring: see [`BridgeHealth::subscribe`]. Made on the first
    /// subscription (its buffer is allocated whole, and most processes run no feed).
    feed: Arc<OnceLock<broadcast::Sender<Arc<Event>>>>,
    /// While set, the bridge's lines are not sent to Twitch (counted in
    /// [`BridgeCounters::paused_lines`]); events still reach the feed.
    paused: Arc<AtomicBool>,
    /// At a pause the sink keeps the bridge's queued lines this long (`None`: drops them).
    pause_keep: Option<std::time::Duration>,
}

impl BridgeHealth {
    /// A fresh record.
    pub fn new(name: &str, tiktok: &str, channels: &[String], pipeline: PipelineStats) -> Self {
        Self {
            state: Arc::new(Mutex::new(BridgeState {
                name: name.to_owned(),
                tiktok: tiktok.to_owned(),
                tiktok_state: "starting".into(),
                channels: channels.to_vec(),
                ..BridgeState::default()
            })),
            counters: BridgeCounters {
                source: Arc::default(),
                pipeline,
                paused_lines: Arc::default(),
            },
            feed: Arc::default(),
            paused: Arc::default(),
            pause_keep: None,
        }
    }

    /// Sets what a pause does with the bridge's queued lines (`twitch.pause_keep_secs`).
    pub fn with_pause_keep(mut self, keep: Option<std::time::Duration>) -> Self {
        self.pause_keep = keep;
        self
    }

    /// How long a pause keeps queued lines (`None`: they are dropped).
    pub fn pause_keep(&self) -> Option<std::time::Duration> {
        self.pause_keep
    }

    /// The bridge's name.
    pub fn name(&self) -> String {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .name
            .clone()
    }

    /// Changes the state under the lock.
    pub fn update(&self, f: impl FnOnce(&mut BridgeState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> BridgeState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every event the bridge receives from now on. A receiver that falls more than
    /// [`FEED_CHANNEL_CAPACITY`] events behind misses events (it sees `Lagged`) instead of
    /// slowing the bridge.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.feed
            .get_or_init(|| broadcast::channel(FEED_CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Offers an event to the feed's subscribers (if any).
    pub fn publish(&self, event: &Event) {
        if let Some(feed) = self.feed.get()
            && feed.receiver_count() > 0
        {
            let _ = feed.send(Arc::new(event.clone()));
        }
    }

    /// Pauses (or resumes) relaying this bridge's lines to Twitch.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// True while relaying to Twitch is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Notes that an event just arrived.
    pub fn touch(&self) {
        let now = utc(SystemTime::now());
        self.update(|s| s.last_event = Some(now));
    }

    /// True when the bridge is not failing.
    pub fn is_healthy(&self) -> bool {
        self.snapshot().tiktok_state != "failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn source_counters_fold_restarts_without_keeping_old_sources() {
        let mut counters = SourceCounters::default();
        let first = Arc::new(SourceStats::default());
        first.messages.fetch_add(3, Ordering::Relaxed);
        counters.replace(first.clone());
        let second = Arc::new(SourceStats::default());
        second.messages.fetch_add(2, Ordering::Relaxed);
        counters.replace(second.clone());
        second.messages.fetch_add(1, Ordering::Relaxed);
        assert_eq!(counters.snapshot().messages, 6);
        assert_eq!(
            Arc::strong_count(&first),
            1,
            "the old source's counters are not kept"
        );
    }
}
