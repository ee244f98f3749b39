//! Twitch stream awareness: whether each Twitch channel the bridges post into is live, its
//! title and category, and since when, kept on one [`LiveBoard`] that `daemon` reads (to
//! hold a bridge while its stream is offline, to announce a stream going live) and shows
//! (`/api/status`, `/metrics`).
//!
//! ```text
//! stream_watch::run ─ Helix GET /users (ids), GET /streams (the state now)
//!     ├─ eventsub: WebSocket session → POST /eventsub/subscriptions → notifications
//!     │     (stream.online, stream.offline, channel.update), keepalive timeout → reconnect,
//!     │     session_reconnect → the new URL, then the old socket closes
//!     └─ poll: GET /streams every poll interval, when EventSub cannot be used (no user
//!           token, subscriptions refused, repeated failures)
//! ```
//!
//! The wire types are hand-written ([`eventsub_messages`], [`stream_api`]): the few fields read here
//! are five small structs, while `twitch_api` brings its own HTTP client traits, a large
//! type tree and several extra crates to compile on the 2-core CI for them.
//!
//! - [`eventsub_messages`]: EventSub WebSocket messages (pure serde).
//! - [`stream_api`]: the Helix calls (users, streams, subscriptions).
//! - [`eventsub`]: one EventSub WebSocket session after another.
//! - [`poll`]: the Helix polling fallback.
//! - [`stream_watch`]: the whole watch: which of the two, and when to switch.

pub mod error;
pub mod eventsub;
pub mod stream_api;
pub mod eventsub_messages;
pub mod poll;
pub mod stream_watch;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::broadcast;

pub use error::TwitchLiveError;
pub use stream_watch::{WatchSettings, run};

/// How the current state of a channel was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateSource {
    /// An EventSub notification (or the Helix read at the start of an EventSub session).
    Eventsub,
    /// Helix `GET /streams` polling.
    Polling,
}

/// One Twitch channel's stream, as `/api/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelLive {
    /// The channel login.
    pub channel: String,
    /// The stream is live.
    pub live: bool,
    /// The stream's (or channel's) title, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The category (game) name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Since when it is live (Twitch's `started_at`) or offline (when that was seen), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// How this was learned.
    pub source: StateSource,
}

/// What changed on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The channel's stream went live (from offline or unknown; `first` when it was unknown,
    /// i.e. the stream was already live when the watch started).
    Online {
        /// The new state.
        state: ChannelLive,
        /// The state was unknown before (the watch's first look), not offline.
        first: bool,
    },
    /// The channel's stream went offline (or was first seen offline).
    Offline {
        /// The new state.
        state: ChannelLive,
        /// The state was unknown before.
        first: bool,
    },
    /// The title or category changed while the state stayed.
    ChannelUpdate {
        /// The new state.
        state: ChannelLive,
    },
}

impl Change {
    /// The channel's state after the change.
    pub fn state(&self) -> &ChannelLive {
        match self {
            Self::Online { state, .. } | Self::Offline { state, .. } | Self::ChannelUpdate { state } => {
                state
            }
        }
    }

    /// The feed's name of the change.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Online { .. } => "twitch_online",
            Self::Offline { .. } => "twitch_offline",
            Self::ChannelUpdate { .. } => "twitch_channel_update",
        }
    }
}

/// An update the watch reports for one channel: all of it (`live` known) or only the
/// channel's title and category (`channel.update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The channel login.
    pub channel: String,
    /// `Some`: the stream is live or not; `None`: a channel update only.
    pub live: Option<bool>,
    /// The title, when the report carries one.
    pub title: Option<String>,
    /// The category, when the report carries one.
    pub category: Option<String>,
    /// Since when (RFC 3339), when the report carries it.
    pub since: Option<String>,
    /// Where it came from.
    pub source: StateSource,
}

/// How many changes a slow reader of [`LiveBoard::subscribe`] may fall behind.
const CHANGES_CAPACITY: usize = 64;

#[derive(Debug, Default)]
struct Channels {
    /// Channels whose state is known.
    known: BTreeMap<String, ChannelLive>,
    /// Title and category from a `channel.update` that came before the state was known.
    early: BTreeMap<String, (Option<String>, Option<String>)>,
}

/// Every watched channel's state, and a stream of its changes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveBoard {
    channels: Arc<Mutex<Channels>>,
    changes: broadcast::Sender<Change>,
}

impl Default for LiveBoard {
    fn default() -> Self {
        Self {
            channels: Arc::default(),
            changes: broadcast::channel(CHANGES_CAPACITY).0,
        }
    }
}

impl LiveBoard {
    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// One channel's state, once known.
    pub fn get(&self, channel: &str) -> Option<ChannelLive> {
        self.lock().known.get(channel).cloned()
    }

    /// Every known channel's state.
    pub fn snapshot(&self) -> Vec<ChannelLive> {
        self.lock().known.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Channels> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a report; returns (and publishes) the change it makes, if any. A report that
    /// repeats the state (a second `stream.online`, a poll that sees nothing new) changes
    /// nothing.
    pub fn apply(&self, report: Report) -> Option<Change> {
        let change = {
            let mut channels = self.lock();
            let channel = report.channel.clone();
            let before = channels.known.get(&channel).cloned();
            let (live, title, category) = match (report.live, &before) {
                (None, None) => {
                    channels.early.insert(channel, (report.title, report.category));
                    return None;
                }
                (None, Some(b)) => (
                    b.live,
                    report.title.or_else(|| b.title.clone()),
                    report.category.or_else(|| b.category.clone()),
                ),
                (Some(live), _) => {
                    let (early_title, early_category) =
                        channels.early.remove(&channel).unwrap_or_default();
                    let old = |f: fn(&ChannelLive) -> &Option<String>| {
                        before.as_ref().and_then(|b| f(b).clone())
                    };
                    (
                        live,
                        report.title.or_else(|| old(|b| &b.title)).or(early_title),
                        report
                            .category
                            .or_else(|| old(|b| &b.category))
                            .or(early_category),
                    )
                }
            };
            let same_state = before.as_ref().is_some_and(|b| b.live == live);
            let state = ChannelLive {
                channel: channel.clone(),
                live,
                title,
                category,
                since: match &before {
                    Some(b) if same_state => b.since.clone(),
                    _ => report
                        .since
                        .or_else(|| Some(crate::format::utc(std::time::SystemTime::now()))),
                },
                source: report.source,
            };
            channels.known.insert(channel, state.clone());
            match before {
                Some(b) if same_state => {
                    if b.title == state.title && b.category == state.category {
                        return None;
                    }
                    Change::ChannelUpdate { state }
                }
                before if live => Change::Online {
                    state,
                    first: before.is_none(),
                },
                before => Change::Offline {
                    state,
                    first: before.is_none(),
                },
            }
        };
        let _ = self.changes.send(change.clone());
        Some(change)
    }

    /// `tiktwitch_twitch_live{channel=...}` 0/1 for every known channel, as Prometheus text.
    pub fn render_metrics(&self) -> String {
        let channels = self.snapshot();
        let mut text = String::new();
        if channels.is_empty() {
            return text;
        }
        text.push_str(
            "# HELP tiktwitch_twitch_live Whether the Twitch channel's stream is live (1) or not (0).\n# TYPE tiktwitch_twitch_live gauge\n",
        );
        for c in channels {
            let _ = writeln!(
                text,
                "tiktwitch_twitch_live{{channel=\"{}\"}} {}",
                c.channel,
                u8::from(c.live)
            );
        }
        text
    }
}

/// Where the watch gets its bearer token: the bot's user token (`None` when there is no
/// user token, e.g. an app token only; EventSub over WebSocket needs a user token).
#[async_trait]
pub trait TokenSource: Send + Sync + 'static {
    /// The current user access token, without `Bearer `.
    async fn user_token(&self) -> Option<String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(live: Option<bool>, title: Option<&str>) -> Report {
        Report {
            channel: "chan".into(),
            live,
            title: title.map(Into::into),
            category: None,
            since: Some("2026-01-01T00:00:00Z".into()),
            source: StateSource::Eventsub,
        }
    }

    #[test]
    fn the_board_reports_each_change_once() {
        let board = LiveBoard::default();
        let mut rx = board.subscribe();
        assert!(matches!(
            board.apply(report(Some(false), None)),
            Some(Change::Offline { first: true, .. })
        ));
        assert_eq!(board.apply(report(Some(false), None)), None);
        assert!(matches!(
            board.apply(report(Some(true), Some("hi"))),
            Some(Change::Online { first: false, .. })
        ));
        assert_eq!(board.apply(report(Some(true), None)), None, "a repeat");
        let update = board.apply(report(None, Some("new title"))).unwrap();
        assert_eq!(update.name(), "twitch_channel_update");
        assert!(update.state().live);
        assert_eq!(update.state().title.as_deref(), Some("new title"));
        let names: Vec<&str> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|c| c.name())
            .collect();
        assert_eq!(names, ["twitch_offline", "twitch_online", "twitch_channel_update"]);
        assert!(board
            .render_metrics()
            .contains("tiktwitch_twitch_live{channel=\"chan\"} 1\n"));
    }

    #[test]
    fn an_update_before_the_state_is_kept_for_later() {
        let board = LiveBoard::default();
        assert_eq!(board.apply(report(None, Some("early"))), None);
        let Some(Change::Online { state, first }) = board.apply(report(Some(true), None)) else {
            panic!("online expected");
        };
        assert!(first);
        assert_eq!(state.title.as_deref(), Some("early"));
    }
}
