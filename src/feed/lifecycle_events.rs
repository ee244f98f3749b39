//! The bridges' connection changes as events on their streams, so the WebSocket feed, the
//! webhooks and `/api/events` carry them like any TikTok event (same envelope):
//!
//! - from the TikTok source's status ([`LifecycleTracker`], fed by the bridge):
//!   `connected`, `disconnected` (also after a failed attempt to connect; with whether and
//!   when it retries), `error` (the source failed), `stream_end`, `paused`, `resumed`;
//! - from the Twitch sink's state ([`watch_twitch`], one task per hub): `twitch_connected`
//!   (each login; `reconnects` > 0 after twitch-irc reconnected by itself) and
//!   `twitch_disconnected` (the sink stopped), on every bridge's stream.
//!
//! Their texts are the errors' own `Display`, which never holds a secret (the source and
//! the sink redact where they make them).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use super::EventStream;
use crate::event::{ControlAction, Event, EventKind, Lifecycle, Meta};
use crate::sink::{SinkHandle, SinkState};
use crate::source::tiktok::Status;

/// A lifecycle event now: `ts` and `received_at` are the daemon's clock.
pub fn lifecycle_event(lifecycle: Lifecycle, room_id: u64) -> Event {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Event {
        meta: Meta {
            method: "".into(),
            msg_id: 0,
            room_id,
            create_time_ms: now,
            received_at_ms: now,
            history: false,
        },
        kind: EventKind::Lifecycle(lifecycle),
    }
}

/// Turns one bridge's source statuses into lifecycle events.
#[derive(Debug, Default)]
pub struct LifecycleTracker {
    paused: bool,
    room_id: u64,
}

impl LifecycleTracker {
    /// The events `status` means (none for `connecting` and `waiting_for_live`).
    pub fn on_status(&mut self, status: &Status) -> Vec<Event> {
        let lifecycle = match status {
            Status::Live { room_id, viewers } => {
                self.room_id = *room_id;
                // The source reports a resume as live again.
                if std::mem::take(&mut self.paused) {
                    vec![Lifecycle::Resumed {}]
                } else {
                    vec![Lifecycle::Connected {
                        room_id: *room_id,
                        viewers: *viewers,
                    }]
                }
            }
            Status::Paused => {
                self.paused = true;
                vec![Lifecycle::Paused {}]
            }
            Status::Ended { action } => {
                self.paused = false;
                let action = match action {
                    ControlAction::Suspended => ControlAction::Suspended,
                    _ => ControlAction::Ended,
                };
                vec![Lifecycle::StreamEnd { action }]
            }
            Status::Reconnecting { delay, reason, .. } => {
                self.paused = false;
                vec![Lifecycle::Disconnected {
                    reason: reason.clone(),
                    will_retry: true,
                    next_try_in_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
                }]
            }
            // The bridge says whether it restarts the source ([`Self::source_ended`]).
            Status::Failed { error } => {
                self.paused = false;
                vec![Lifecycle::Error {
                    kind: "tiktok",
                    message: error.clone(),
                }]
            }
            Status::Connecting { .. } | Status::WaitingForLive { .. } => Vec::new(),
        };
        lifecycle
            .into_iter()
            .map(|l| lifecycle_event(l, self.room_id))
            .collect()
    }

    /// The source stopped with an error: the bridge restarts it after `retry_in`, or (None)
    /// gives up.
    pub fn source_ended(&mut self, reason: &str, retry_in: Option<Duration>) -> Event {
        self.paused = false;
        let lifecycle = Lifecycle::Disconnected {
            reason: reason.to_owned(),
            will_retry: retry_in.is_some(),
            next_try_in_ms: retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        lifecycle_event(lifecycle, self.room_id)
    }
}

/// Publishes the sink's state changes on every stream until `shutdown` or the sink is gone.
pub async fn watch_twitch(sink: SinkHandle, streams: Vec<EventStream>, shutdown: CancellationToken) {
    let mut changes = sink.state_changes();
    // The state it has now counts too (the sink may have logged in before the feed started).
    changes.mark_changed();
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
        }
        let state = changes.borrow_and_update().clone();
        let lifecycle = match state {
            SinkState::Connected => Lifecycle::TwitchConnected {
                reconnects: sink.stats().reconnects,
            },
            SinkState::Stopped(reason) => Lifecycle::TwitchDisconnected { reason },
            SinkState::Connecting => continue,
        };
        let event = lifecycle_event(lifecycle, 0);
        for stream in &streams {
            stream.publish(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(Event::type_name).collect()
    }

    #[test]
    fn statuses_become_lifecycle_events() {
        let mut t = LifecycleTracker::default();
        let connecting = Status::Connecting {
            username: "a".into(),
        };
        assert!(t.on_status(&connecting).is_empty());
        let live = Status::Live {
            room_id: 7,
            viewers: Some(12),
        };
        let up = t.on_status(&live);
        assert_eq!(types(&up), ["connected"]);
        let json = serde_json::to_value(&up[0]).unwrap();
        assert_eq!(json["room_id"], "7");
        assert_eq!(json["viewers"], 12);
        assert!(json["ts"].as_i64().unwrap() > 0);
        assert_eq!(types(&t.on_status(&Status::Paused)), ["paused"]);
        let resumed = Status::Live {
            room_id: 7,
            viewers: None,
        };
        assert_eq!(types(&t.on_status(&resumed)), ["resumed"]);
        let down = t.on_status(&Status::Reconnecting {
            attempt: 1,
            delay: Duration::from_millis(1500),
            reason: "socket closed".into(),
        });
        let json = serde_json::to_value(&down[0]).unwrap();
        assert_eq!(json["type"], "disconnected");
        assert_eq!(json["will_retry"], true);
        assert_eq!(json["next_try_in_ms"], 1500);
        assert_eq!(json["reason"], "socket closed");
        assert_eq!(types(&t.on_status(&live)), ["connected"], "not a resume");
        let end = t.on_status(&Status::Ended {
            action: ControlAction::Suspended,
        });
        assert_eq!(serde_json::to_value(&end[0]).unwrap()["action"], "suspended");
        let failed = t.on_status(&Status::Failed {
            error: "gave up".into(),
        });
        assert_eq!(types(&failed), ["error"]);
        let json = serde_json::to_value(&failed[0]).unwrap();
        assert_eq!(json["kind"], "tiktok");
        assert_eq!(json["message"], "gave up");
        let json = serde_json::to_value(t.source_ended("gave up", None)).unwrap();
        assert_eq!(json["type"], "disconnected");
        assert_eq!(json["will_retry"], false);
        assert!(json.get("next_try_in_ms").is_none());
        let json = serde_json::to_value(t.source_ended("boom", Some(Duration::from_secs(2))));
        let json = json.unwrap();
        assert_eq!(json["will_retry"], true);
        assert_eq!(json["next_try_in_ms"], 2000);
    }
}
