//! The data of the room-level kinds overlays and automation consume: goals, polls, pinned
//! messages, leaderboards, banners, shop cards, anonymous viewers, moderation notices and
//! super fans. Each struct is the payload of one [`super::EventKind`] variant and serializes
//! flat into the event's JSON (ids as decimal strings, absent values omitted).

use serde::Serialize;

use super::{User, id_string, is_zero_i64, is_zero_u64};

/// A LIVE goal's state (`WebcastGoalUpdateMessage`), with the contribution that moved it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Goal {
    /// The goal's id.
    #[serde(serialize_with = "id_string")]
    pub goal_id: u64,
    /// The creator's description ("Meta de rosas!").
    pub description: String,
    /// What the goal counts, e.g. the gift's name ("Rose"), when it is a gift goal.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub item: String,
    /// How many the goal asks for (sum over its sub-goals).
    pub target: i64,
    /// How many so far (sum over its sub-goals).
    pub progress: i64,
    /// When the goal expires, seconds since the epoch (0: unknown).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub expires_at: i64,
    /// The contributor's @handle, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub contributor: String,
    /// How much they contributed.
    pub count: i64,
}

/// One option of a poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollOption {
    /// What the option says.
    pub text: String,
    /// Votes so far (0 at the start).
    pub votes: i64,
}

/// A poll started, updated or ended (`WebcastPollMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Poll {
    /// The poll's id.
    #[serde(serialize_with = "id_string")]
    pub poll_id: u64,
    /// "started", "updated" or "ended".
    pub stage: &'static str,
    /// The question (TikTok allows an empty one: emoji-only polls).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub question: String,
    /// The options in order, with their votes.
    pub options: Vec<PollOption>,
    /// When voting closes, ms since the epoch (0: not sent with this stage); time left is
    /// `ends_at_ms - ts`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub ends_at_ms: i64,
    /// Who started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<User>,
}

/// A message pinned to the top of the room (`WebcastRoomPinMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoomPin {
    /// The pinned message's method, e.g. `WebcastChatMessage`.
    pub pinned_method: String,
    /// The pinned message's id.
    #[serde(serialize_with = "id_string")]
    pub pinned_msg_id: u64,
    /// The pinned comment (or the gift's own text for a pinned gift).
    pub text: String,
    /// Who wrote (or sent) what was pinned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<User>,
    /// Who pinned it (TikTok sends the id only).
    #[serde(serialize_with = "id_string")]
    pub pinned_by: u64,
    /// TikTok's action (1 = pinned).
    pub action: i64,
    /// How long it stays pinned, seconds.
    pub duration_secs: i64,
}

/// A leaderboard entry of the room (`WebcastRankUpdateMessage`, `WebcastHourlyRankMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RankEntry {
    /// TikTok's list type (1 weekly, 8 daily ...).
    pub rank_type: i64,
    /// The list's name as TikTok shows it ("Weekly Ranking").
    pub list: String,
    /// The list's text key (`pm_mt_Live_WR`).
    pub key: String,
    /// The creator's place on the list (0: not ranked).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub rank: i64,
    /// Seconds until the list resets (0: not sent).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub countdown_secs: i64,
}

/// A leaderboard change: one entry per list TikTok updated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rank {
    /// The lists.
    pub lists: Vec<RankEntry>,
    /// Places gained (positive) or lost, when TikTok says (`hourlyRank` only).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub delta: i64,
}

/// A gifter-badge notice ("{0:user} just got the No. {1:string} gifter badge").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RankText {
    /// The text key (`pm_mt_badge_got_host`).
    pub key: String,
    /// The pattern, `{n:...}` placeholders kept.
    pub pattern: String,
    /// The user it names, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The badge's place after the update (No. 1, 2, 3).
    pub rank: i64,
    /// The place before it (0: none).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub previous_rank: i64,
}

/// An in-room banner: TikTok sends its description as JSON text, passed through as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InRoomBanner {
    /// The banner's JSON, as a string (never parsed: its shape changes per campaign).
    pub json: String,
}

/// A viewer who is not logged in joined (`WebcastUnauthorizedMemberMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnauthorizedMember {
    /// TikTok's action (1 = joined).
    pub action: i64,
    /// The placeholder name, e.g. `Viewer889589`.
    pub nickname: String,
    /// The text key of what happened (`live_room_enter_toast`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// A TikTok Shop product card (`WebcastOecLiveShoppingMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Shopping {
    /// TikTok's action (1 = product popped up).
    pub action: i64,
    /// The product's title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Its price as displayed, currency included ("฿100.00").
    #[serde(skip_serializing_if = "String::is_empty")]
    pub price: String,
    /// Its image URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The product id.
    #[serde(serialize_with = "id_string")]
    pub product_id: u64,
    /// The shop's name ("TikTok Shop").
    #[serde(skip_serializing_if = "String::is_empty")]
    pub shop: String,
}

/// A moderation or anti-abuse probe (`WebcastMsgDetectMessage`): timing data TikTok uses
/// to measure delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MsgDetect {
    /// TikTok's detect type.
    pub detect_type: i64,
    /// The region it came from ("TR").
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from_region: String,
}

/// The room's verification state changed (`WebcastRoomVerifyMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoomVerify {
    /// TikTok's action.
    pub action: i64,
    /// The notice text, when sent.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
}

/// A super fan notice (a banner whose key contains `ttlive_superfan`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SuperFan {
    /// Who.
    pub user: User,
    /// Their level as the banner shows it (0: not sent).
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub level: u64,
    /// True when they just became a super fan (`..._superfanjoined`).
    pub joined: bool,
    /// TikTok's text key.
    pub key: String,
}
