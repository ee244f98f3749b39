//! What moderators set on a bridge, as `/healthz` and `/api/status` show it (the `control`
//! object of each bridge). Written by `control`, read here so the feed's API shows it
//! without importing `control`.

use serde::Serialize;

/// A bridge's moderator settings and Shared Chat state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ControlView {
    /// Muted TikTok handles.
    pub muted: Vec<String>,
    /// `all`, `chat` or `gifts`.
    pub only: String,
    /// A moderator's pause: who set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_by: Option<String>,
    /// When that pause ends (RFC 3339); absent: until resumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<String>,
    /// Channels of the bridge in a Twitch Shared Chat session now (lines reach the partner
    /// channels too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_chat: Vec<String>,
}
