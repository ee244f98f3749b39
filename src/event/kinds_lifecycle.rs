//! The daemon's own events about a bridge's connections (not TikTok messages): connected,
//! disconnected, errors, the stream's end, pause and resume, Twitch chat connected or not,
//! and the bridge's Twitch stream going live, offline or changing its title.
//! They reach the WebSocket feed, the webhooks and `/api/events` like every event, so an
//! overlay can show "reconnecting in 4 s" without polling `/api/status`.

use serde::Serialize;

use super::ControlAction;

/// A connection change, as [`super::EventKind::Lifecycle`]. Each variant is its own event
/// type (`connected`, `disconnected` ...: [`Lifecycle::type_name`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Lifecycle {
    /// The TikTok socket is up and receiving.
    Connected {
        /// The room joined.
        #[serde(serialize_with = "super::id_string")]
        room_id: u64,
        /// Viewers at connect time, when TikTok said.
        #[serde(skip_serializing_if = "Option::is_none")]
        viewers: Option<u64>,
    },
    /// The TikTok connection dropped, or an attempt to connect failed.
    Disconnected {
        /// Why, in words (never a secret: errors are redacted where they are made).
        reason: String,
        /// True when the daemon tries again by itself.
        will_retry: bool,
        /// Milliseconds until the next try, when one is planned.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_try_in_ms: Option<u64>,
    },
    /// Something failed for good (the source gave up, or cannot start).
    Error {
        /// Where: `tiktok` or `twitch`.
        kind: &'static str,
        /// What, in words (never a secret).
        message: String,
    },
    /// The creator ended the stream, or TikTok suspended it.
    StreamEnd {
        /// `ended` or `suspended`.
        action: ControlAction,
    },
    /// The creator paused the stream.
    Paused {},
    /// The paused stream resumed.
    Resumed {},
    /// Logged in to Twitch chat (again, after a reconnect, when `reconnects` > 0).
    TwitchConnected {
        /// Logins after the first one.
        reconnects: u64,
    },
    /// The Twitch chat sink stopped: no more lines reach Twitch.
    TwitchDisconnected {
        /// Why, in words (never a secret).
        reason: String,
    },
    /// The bridge's Twitch channel went live (EventSub `stream.online`, or seen by polling).
    TwitchOnline(TwitchStream),
    /// The bridge's Twitch channel went offline.
    TwitchOffline(TwitchStream),
    /// The channel's title or category changed while its state stayed.
    TwitchChannelUpdate(TwitchStream),
}

/// A Twitch channel's stream as the stream watch knows it (`[twitch_stream]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TwitchStream {
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
    /// How it was learned: `eventsub` or `polling`.
    pub source: &'static str,
}

impl Lifecycle {
    /// Every lifecycle type name, for config checks and the feed's `?types=`.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "connected",
        "disconnected",
        "error",
        "stream_end",
        "paused",
        "resumed",
        "twitch_connected",
        "twitch_disconnected",
        "twitch_online",
        "twitch_offline",
        "twitch_channel_update",
    ];

    /// The stable type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Connected { .. } => "connected",
            Self::Disconnected { .. } => "disconnected",
            Self::Error { .. } => "error",
            Self::StreamEnd { .. } => "stream_end",
            Self::Paused {} => "paused",
            Self::Resumed {} => "resumed",
            Self::TwitchConnected { .. } => "twitch_connected",
            Self::TwitchDisconnected { .. } => "twitch_disconnected",
            Self::TwitchOnline(_) => "twitch_online",
            Self::TwitchOffline(_) => "twitch_offline",
            Self::TwitchChannelUpdate(_) => "twitch_channel_update",
        }
    }

    /// The platform it is about: `twitch` for the Twitch ones, else `tiktok`.
    pub fn platform(&self) -> &'static str {
        match self {
            Self::TwitchConnected { .. }
            | Self::TwitchDisconnected { .. }
            | Self::TwitchOnline(_)
            | Self::TwitchOffline(_)
            | Self::TwitchChannelUpdate(_) => "twitch",
            _ => "tiktok",
        }
    }
}
