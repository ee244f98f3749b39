//! What the sink does about each answer Twitch can give to a line.
//!
//! The msg-ids are Twitch's (dev.twitch.tv/docs/irc/msg-id; docs/twitch.md §2.4); the Helix
//! `drop_reason.code` uses the same ids, so both backends share this table.

use std::time::Duration;

/// The sink's reaction to a NOTICE (or a Helix drop reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// `msg_ratelimit`: pause the account window, then run at half rate; retry the line.
    RateLimited,
    /// `msg_duplicate`: drop the line.
    DropDuplicate,
    /// `msg_slowmode`: hold the channel for the given time (or the ROOMSTATE delay) and retry.
    SlowMode(Option<Duration>),
    /// Followers-, subscribers- or emote-only: hold the channel until ROOMSTATE lifts the mode;
    /// the line stays queued.
    HoldChannel(HoldReason),
    /// Banned, timed out, channel suspended ...: stop sending to that channel, loudly.
    StopChannel,
    /// AutoMod, blocked term, bad characters, r9k ...: drop this line, keep going.
    DropLine,
    /// Not an answer to a line (informational NOTICE): only counted.
    Unrelated,
}

/// Why a channel is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldReason {
    /// Followers-only mode and the bot does not qualify.
    FollowersOnly,
    /// Subscribers-only mode.
    SubsOnly,
    /// Emote-only mode.
    EmoteOnly,
}

impl HoldReason {
    /// Stable name for status and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::FollowersOnly => "followers_only",
            Self::SubsOnly => "subs_only",
            Self::EmoteOnly => "emote_only",
        }
    }
}

/// Classifies a NOTICE msg-id; `text` is the human message (slow-mode seconds are in it).
pub fn classify(msg_id: &str, text: &str) -> Reaction {
    match msg_id {
        "msg_ratelimit" => Reaction::RateLimited,
        "msg_duplicate" => Reaction::DropDuplicate,
        "msg_slowmode" => Reaction::SlowMode(seconds_in(text).map(Duration::from_secs)),
        "msg_followersonly" | "msg_followersonly_followed" | "msg_followersonly_zero" => {
            Reaction::HoldChannel(HoldReason::FollowersOnly)
        }
        "msg_subsonly" => Reaction::HoldChannel(HoldReason::SubsOnly),
        "msg_emoteonly" => Reaction::HoldChannel(HoldReason::EmoteOnly),
        "msg_banned"
        | "msg_timedout"
        | "msg_channel_suspended"
        | "msg_channel_blocked"
        | "msg_suspended"
        | "msg_room_not_found"
        | "msg_requires_verified_phone_number"
        | "msg_verified_email" => Reaction::StopChannel,
        "msg_rejected"
        | "msg_rejected_mandatory"
        | "msg_bad_characters"
        | "msg_r9k"
        | "msg_facebook" => Reaction::DropLine,
        _ => Reaction::Unrelated,
    }
}

/// True for the NOTICE Twitch sends (with no msg-id) when PASS is refused.
pub fn is_login_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("login authentication failed")
        || t.contains("improperly formatted auth")
        || t.contains("login unsuccessful")
}

/// The first number in `text` ("You will be able to talk again in 7 seconds." -> 7).
fn seconds_in(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(classify("msg_ratelimit", ""), Reaction::RateLimited);
        assert_eq!(
            classify(
                "msg_slowmode",
                "This room is in slow mode and you are sending messages too quickly. You will be able to talk again in 7 seconds."
            ),
            Reaction::SlowMode(Some(Duration::from_secs(7)))
        );
        assert_eq!(classify("msg_timedout", "x"), Reaction::StopChannel);
        assert_eq!(
            classify("msg_emoteonly", "x"),
            Reaction::HoldChannel(HoldReason::EmoteOnly)
        );
        assert_eq!(classify("msg_rejected", "x"), Reaction::DropLine);
        assert_eq!(classify("host_on", "x"), Reaction::Unrelated);
        assert!(is_login_failure("Login authentication failed"));
        assert!(!is_login_failure("msg_banned"));
    }
}
