//! What the source tells its consumer besides events: [`SourceItem`] and [`Status`].

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::format::utc;
use super::profile::Profile;
use crate::event::{ControlAction, Event};

/// One thing the source sends downstream.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceItem {
    /// A decoded message. `event.meta.history` marks replayed history (first fetch result).
    /// Boxed, like the profile, so the item is small: every bridge's channel holds its
    /// first block of slots for its whole life (32 slots of 400 bytes unboxed).
    Event(Box<Event>),
    /// A lifecycle change.
    Status(Status),
    /// The creator's profile, after each successful room lookup.
    Profile(Box<Profile>),
}

/// The source's lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Resolving the room, signing, opening the socket.
    Connecting {
        /// The normalised handle.
        username: String,
    },
    /// The creator is offline; polling the unsigned room status.
    WaitingForLive {
        /// The normalised handle.
        username: String,
        /// When the room was last checked.
        checked_at: SystemTime,
        /// When it will be checked again.
        next_check_in: Duration,
    },
    /// Connected and receiving.
    Live {
        /// The room.
        room_id: u64,
        /// Viewers at connect time, when known.
        viewers: Option<u64>,
    },
    /// The creator paused the stream.
    Paused,
    /// The stream ended or was suspended; the socket is closed.
    Ended {
        /// `Ended` or `Suspended`.
        action: ControlAction,
    },
    /// The connection failed or dropped; trying again.
    Reconnecting {
        /// Failed attempts in a row so far.
        attempt: u32,
        /// Delay before the next attempt.
        delay: Duration,
        /// Why.
        reason: String,
    },
    /// Stopped for good.
    Failed {
        /// Why.
        error: String,
    },
}

impl Status {
    /// A stable short name (`connecting`, `live`, `reconnecting` ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting { .. } => "connecting",
            Self::WaitingForLive { .. } => "waiting_for_live",
            Self::Live { .. } => "live",
            Self::Paused => "paused",
            Self::Ended { .. } => "ended",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connecting { username } => write!(f, "connecting to @{username}"),
            Self::WaitingForLive {
                username,
                checked_at,
                next_check_in,
            } => write!(
                f,
                "@{username} is not live (checked {}); checking again in {}s",
                utc(*checked_at),
                next_check_in.as_secs()
            ),
            Self::Live { room_id, viewers } => {
                write!(f, "live in room {room_id}")?;
                match viewers {
                    Some(n) => write!(f, " ({n} viewers)"),
                    None => Ok(()),
                }
            }
            Self::Paused => write!(f, "paused by the creator"),
            Self::Ended { action } => write!(f, "stream {}", action.name()),
            Self::Reconnecting {
                attempt,
                delay,
                reason,
            } => write!(
                f,
                "reconnecting in {:.1}s (attempt {attempt}): {reason}",
                delay.as_secs_f64()
            ),
            Self::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}
