//! Control messages on a bridge's feed: what happens beside its TikTok events, as one JSON
//! object each with a `type` like the events have. Today: the bridge's Twitch stream
//! (`twitch_online`, `twitch_offline`, `twitch_channel_update`, with `bridge`, `channel`,
//! `live`, `title`, `category`, `since`, `source`), sent on `/ws/{bridge}` only (not to the
//! ring, `/api/events` or webhooks). `?types=` may name them like event types.

/// The control message types a feed client may ask for in `?types=`.
pub const CONTROL_TYPES: &[&str] = &["twitch_online", "twitch_offline", "twitch_channel_update"];

/// One control message, serialized once for every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlMessage {
    /// Its `type` (one of [`CONTROL_TYPES`]).
    pub name: &'static str,
    /// The JSON text sent.
    pub json: String,
}
