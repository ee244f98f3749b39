//! The seam between the sink's pacing task and a way of delivering lines to Twitch.
//!
//! Two backends implement [`ChatBackend`]: IRC through twitch-irc ([`super::twitch`]) and the
//! Helix `POST /chat/messages` endpoint ([`super::helix`]). Both are event-driven from the
//! engine's point of view: `send` returns at once and every outcome comes back through
//! `next_event`, so the engine keeps reading NOTICEs, ROOMSTATEs and login failures while a
//! line is on its way.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::sanitize::SafeText;

/// Something a backend observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendEvent {
    /// A login succeeded (IRC `001`); after the first one, each is a reconnect.
    LoggedIn,
    /// The server confirmed our JOIN of a channel.
    Joined {
        /// Channel login.
        channel: String,
    },
    /// We left a channel.
    Parted {
        /// Channel login.
        channel: String,
    },
    /// USERSTATE: our badges in a channel; after a JOIN it completes the join, after a line
    /// it confirms the line.
    UserState {
        /// Channel login.
        channel: String,
        /// Moderator, VIP or broadcaster badge present.
        elevated: bool,
    },
    /// A synchronous delivery confirmation (Helix `is_sent: true`).
    Delivered {
        /// Channel login.
        channel: String,
        /// The line's sequence number.
        seq: u64,
    },
    /// ROOMSTATE: channel modes (`None` = not mentioned in this update).
    RoomState {
        /// Channel login.
        channel: String,
        /// Slow-mode delay (zero = off).
        slow: Option<Duration>,
        /// Emote-only mode.
        emote_only: Option<bool>,
        /// Followers-only mode.
        followers_only: Option<bool>,
        /// Subscribers-only mode.
        subs_only: Option<bool>,
    },
    /// A NOTICE (IRC) or a drop reason (Helix).
    Notice {
        /// The channel it is about, if any.
        channel: Option<String>,
        /// Twitch's msg-id, if any.
        msg_id: Option<String>,
        /// The human text.
        text: String,
    },
    /// The bot itself was timed out or banned (IRC CLEARCHAT naming the bot).
    BotRemoved {
        /// Channel login.
        channel: String,
        /// `"timed_out"` or `"banned"`.
        reason: &'static str,
    },
    /// The server refused our credentials.
    LoginFailed {
        /// The server's text.
        text: String,
    },
    /// The server asked us to reconnect (twitch-irc does it by itself).
    ReconnectRequested,
    /// A line left for the server (written to the socket / HTTP request made) at `at`.
    Written {
        /// The line's sequence number.
        seq: u64,
        /// When it was written.
        at: Instant,
    },
    /// A line could not be written; the engine requeues it.
    WriteFailed {
        /// The line's sequence number.
        seq: u64,
        /// Why.
        error: String,
    },
    /// Someone wrote in a channel (IRC PRIVMSG; never the bot's own lines).
    Chat(Box<super::incoming::ChatMessage>),
    /// Helix answered `is_sent: false` for a line: counted by code, then handled as the
    /// NOTICE of that msg-id.
    Dropped {
        /// Channel login.
        channel: String,
        /// The line's sequence number.
        seq: u64,
        /// `drop_reason.code` (`"none"` when Helix gave none).
        code: String,
        /// `drop_reason.message`.
        message: String,
    },
    /// Helix answered 429: nothing goes out before `until` (from `Ratelimit-Reset`); the
    /// line is requeued, not lost.
    RateLimited {
        /// The line's sequence number.
        seq: u64,
        /// When the rate-limit bucket is full again.
        until: Instant,
    },
}

/// A way of delivering sanitized lines to Twitch chat.
#[async_trait]
pub trait ChatBackend: Send + 'static {
    /// Starts delivering `text` to `channel`; returns at once. Outcomes arrive through
    /// [`ChatBackend::next_event`]: `Written` then a confirmation or a `Notice`, or
    /// `WriteFailed`. The engine has at most one line in flight.
    fn send(&mut self, seq: u64, channel: &str, text: &SafeText);

    /// The next event. Must be cancel-safe (it is polled in a `select!`). `None` when the
    /// backend is finished for good.
    async fn next_event(&mut self) -> Option<BackendEvent>;

    /// Drops the session and opens a fresh one (after the credentials were refreshed).
    async fn restart(&mut self);

    /// Stops the session.
    fn stop(&mut self);

    /// True when a channel can be sent to only after a JOIN was confirmed (IRC); false when
    /// every configured channel can be sent to at once (Helix).
    fn needs_join(&self) -> bool;

    /// Sends a JOIN of `channel` (the engine paces them); `Joined` then `UserState` follow.
    /// Backends without JOINs ignore it.
    fn join(&mut self, _channel: &str) {}
}
