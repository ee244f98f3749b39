//! What can go wrong watching the Twitch stream. No variant carries a token: requests are
//! named by URL (which holds none) and answers by status and Twitch's message.

/// Why a Helix call or an EventSub session failed.
#[derive(Debug, thiserror::Error)]
pub enum TwitchLiveError {
    /// There is no user token (EventSub over WebSocket needs one).
    #[error("no user access token")]
    NoToken,
    /// The request did not get an answer.
    #[error("{url}: {reason}")]
    Http {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// Helix answered with an error status.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status.
        status: u16,
        /// Twitch's message (its body, cut short).
        message: String,
    },
    /// An answer or message that is not what Twitch sends.
    #[error("{0}")]
    Protocol(String),
    /// The WebSocket failed.
    #[error("EventSub WebSocket: {0}")]
    WebSocket(String),
}

impl TwitchLiveError {
    /// Twitch refused the request for good (a 4xx other than 429): retrying the same will
    /// not help, so the watch falls back to polling.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::NoToken)
            || matches!(self, Self::Status { status, .. } if (400..500).contains(status) && *status != 429)
    }
}
