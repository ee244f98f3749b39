//! Events that come from the Twitch side of the bridge, not from TikTok: the Twitch chat
//! the bot reads (`twitch_chat`, for overlays that show both chats) and changes moderators
//! made to the bridge (`bridge_control`: pause, mute, `only` ...). Both name their `platform`,
//! which the envelope writes (`Event::platform`), so a reader of the one feed tells them
//! from TikTok's events.

use serde::Serialize;

/// A Twitch chat user as the feed shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TwitchUser {
    /// Twitch's user id.
    pub id: String,
    /// Login name.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Badge names (`broadcaster`, `moderator`, `vip`, `subscriber` ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub badges: Vec<String>,
}

/// A message someone wrote in the bridge's Twitch channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TwitchChat {
    /// Always `"twitch"` (written by the envelope, not here).
    #[serde(skip)]
    pub platform: &'static str,
    /// The channel (login, without `#`).
    pub channel: String,
    /// Who wrote it.
    pub user: TwitchUser,
    /// The text.
    pub text: String,
    /// Twitch's message id.
    pub message_id: String,
    /// In a Shared Chat session, the room it was written in (when not this channel's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_room_id: Option<String>,
}

/// A change made to the bridge while it runs (from Twitch chat or the API), or a Shared
/// Chat session starting or ending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BridgeControl {
    /// `"twitch"` (a chat command or Shared Chat) or `"api"` (written by the envelope).
    #[serde(skip)]
    pub platform: &'static str,
    /// `pause`, `resume`, `mute`, `unmute`, `only`, `shared_chat_started`, `shared_chat_ended`.
    pub action: &'static str,
    /// Who did it (a Twitch login; absent for the API and for Shared Chat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The Twitch channel it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// mute/unmute: the TikTok user; only: `chat`, `gifts` or `all`; pause: the minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}
