//! Each bridge's status, in one home: its live state, counters and pause flag, written by
//! the bridge tasks (`daemon`) and read by `/healthz`, `/metrics`, the status lines and the
//! feed's `/api/status` and pages. It imports neither `daemon` nor `feed`, so both can read
//! it without importing each other.
//!
//! - [`exposition`]: the Prometheus text writer both `/metrics` halves (daemon, feed) use.
//! - [`control_view`]: what moderators set on a bridge (mutes, `only`, pause), as shown.
//! - [`chat_share`]: the relayed share (chat comments that reached Twitch / received).

pub mod control_view;
pub mod exposition;
pub mod chat_share;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;

use crate::pipeline::PipelineStats;
use crate::sink::SinkHandle;
use crate::format::utc;
use crate::source::tiktok::{Profile, SourceStats, SourceStatsSnapshot};

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
    /// What moderators set (mutes, `only`, pause) and Shared Chat, when commands run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<control_view::ControlView>,
    /// Its Twitch channels' streams (live, title, category, since, source), when the
    /// stream watch runs (`[twitch_stream]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub twitch_stream: Vec<crate::twitch_live::ChannelLive>,
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
    finished: SourceStatsSnapshot,
    current: Option<Arc<SourceStats>>,
}

impl SourceCounters {
    /// A new source starts: the previous one's counters are folded into the total.
    pub fn replace(&mut self, next: Arc<SourceStats>) {
        if let Some(previous) = self.current.replace(next) {
            self.finished = sum_sources([self.finished, previous.snapshot()]);
        }
    }

    /// Everything counted so far.
    pub fn snapshot(&self) -> SourceStatsSnapshot {
        let current = self
            .current
            .as_ref()
            .map(|s| s.snapshot())
            .unwrap_or_default();
        sum_sources([self.finished, current])
    }
}

/// One bridge's shared record.
#[derive(Debug, Clone)]
pub struct BridgeHealth {
    state: Arc<Mutex<BridgeState>>,
    /// Its counters.
    pub counters: BridgeCounters,
    /// While set, the bridge's lines are not sent to Twitch (counted in
    /// [`BridgeCounters::paused_lines`]); events still reach the feed.
    paused: Arc<AtomicBool>,
    /// At a pause the sink keeps the bridge's queued lines this long (`None`: drops them).
    pause_keep: Option<std::time::Duration>,
    /// Who carries out `POST /api/bridges/{name}/pause|resume` when moderator control runs
    /// (so the pause persists and is announced like a chat command's).
    pause_control: Arc<std::sync::OnceLock<Arc<dyn PauseControl>>>,
    /// The Unix second `last_event` was last set to: `touch` runs for every event and only
    /// formats and locks when the second changes.
    touched_secs: Arc<AtomicU64>,
}

/// Pauses and resumes bridges on behalf of the API (the moderator controller).
pub trait PauseControl: Send + Sync + std::fmt::Debug {
    /// Pauses (or resumes) bridge `name` as the API asked.
    fn set_paused(&self, name: &str, paused: bool);
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
            paused: Arc::default(),
            pause_keep: None,
            pause_control: Arc::default(),
            touched_secs: Arc::default(),
        }
    }

    /// Hands the API's pause and resume of this bridge to `control` (once; later calls are
    /// ignored).
    pub fn set_pause_control(&self, control: Arc<dyn PauseControl>) {
        let _ = self.pause_control.set(control);
    }

    /// Who carries out the API's pause and resume, when not [`set_paused`] alone.
    pub fn pause_control(&self) -> Option<Arc<dyn PauseControl>> {
        self.pause_control.get().cloned()
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
        let now = SystemTime::now();
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // `last_event` has one-second resolution: within the same second it is unchanged.
        if self.touched_secs.swap(secs, Ordering::Relaxed) == secs {
            return;
        }
        let now = utc(now);
        self.update(|s| s.last_event = Some(now));
    }

    /// True when the bridge is not failing.
    pub fn is_healthy(&self) -> bool {
        self.snapshot().tiktok_state != "failed"
    }
}

/// Pauses (or resumes) relaying bridge `health` to Twitch, at once: the bridge's fan-out
/// withholds its new lines, and the sink drops the ones already queued, or keeps them for
/// the resume (`twitch.pause_keep_secs`), sending those still fresh then. Lines dropped
/// from the queue are added to the bridge's `paused_lines` (and shed `paused` in the
/// sink's counters). Here, not in `daemon`, because the feed's API calls it.
pub fn set_paused(health: &BridgeHealth, sink: Option<&SinkHandle>, paused: bool) {
    let name = health.name();
    let dropped = if paused {
        // The fan-out first, so nothing new reaches the queue while it is emptied.
        health.set_paused(true);
        sink.map_or(0, |s| s.pause(&name, health.pause_keep()))
    } else {
        // The sink first, so a line the fan-out lets through again is queued, not shed.
        let dropped = sink.map_or(0, |s| s.resume(&name));
        health.set_paused(false);
        dropped
    };
    health
        .counters
        .paused_lines
        .fetch_add(dropped, Ordering::Relaxed);
}

/// Sums the counters of every source a bridge has run (one per restart).
pub fn sum_sources(
    snapshots: impl IntoIterator<Item = SourceStatsSnapshot>,
) -> SourceStatsSnapshot {
    snapshots
        .into_iter()
        .fold(SourceStatsSnapshot::default(), |a, b| SourceStatsSnapshot {
            frames: a.frames + b.frames,
            messages: a.messages + b.messages,
            history: a.history + b.history,
            duplicates: a.duplicates + b.duplicates,
            frame_errors: a.frame_errors + b.frame_errors,
            message_errors: a.message_errors + b.message_errors,
            repaired_text: a.repaired_text + b.repaired_text,
            acks: a.acks + b.acks,
            heartbeats: a.heartbeats + b.heartbeats,
            connects: a.connects + b.connects,
            reconnects: a.reconnects + b.reconnects,
            room_lookups: a.room_lookups + b.room_lookups,
            signer_calls: a.signer_calls + b.signer_calls,
            signer_rate_limited: a.signer_rate_limited + b.signer_rate_limited,
            signer_failures: a.signer_failures + b.signer_failures,
            gift_catalogues: a.gift_catalogues + b.gift_catalogues,
            gift_catalogue_failures: a.gift_catalogue_failures + b.gift_catalogue_failures,
            gifts_enriched: a.gifts_enriched + b.gifts_enriched,
        })
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

    #[test]
    fn touch_sets_last_event_once_per_second_and_again_in_a_new_second() {
        let unix_secs = || {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let health = BridgeHealth::new("b", "creator", &[], PipelineStats::default());
        assert_eq!(health.snapshot().last_event, None);
        health.touch();
        let first = health.snapshot().last_event.expect("set by the first touch");
        assert!(first.ends_with('Z') && first.len() == 20, "{first}");
        // A new second is written.
        health.touched_secs.store(0, Ordering::Relaxed);
        health.update(|s| s.last_event = None);
        health.touch();
        assert!(health.snapshot().last_event.is_some());
        // Within the same second nothing is locked or formatted: the value stays (retried
        // if the clock crossed a second boundary in between).
        loop {
            let secs = unix_secs();
            health.touched_secs.store(secs, Ordering::Relaxed);
            health.update(|s| s.last_event = Some("kept".into()));
            health.touch();
            if unix_secs() == secs {
                assert_eq!(health.snapshot().last_event.as_deref(), Some("kept"));
                break;
            }
        }
    }
}
