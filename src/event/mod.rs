//! The typed event: the one contract between the TikTok source, the pipeline and the sinks.
//!
//! An [`Event`] is what one WebCast message means to the bridge, with the protobuf detail
//! stripped away. Its JSON form (through `serde`) is the public event schema printed by
//! `tiktwitch decode`, `tiktwitch tail --json` and the event feed:
//!
//! ```json
//! {"type":"chat","method":"WebcastChatMessage","msg_id":"7286185052676410117",
//!  "user":{"id":"6838513576418182149","username":"ursored","nickname":"UrsoRed"},
//!  "text":"hello"}
//! ```
//!
//! Ids are `u64` in Rust and decimal strings in JSON: they exceed 2^53 and must never pass
//! through a float. Absent optional fields are omitted.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

mod event_json;
mod kinds_lifecycle;
mod kinds_linkmic;
mod kinds_room;
mod kinds_twitch;
mod user_profile;

pub use event_json::SCHEMA_VERSION;
pub use kinds_lifecycle::{Lifecycle, TwitchStream};
pub use kinds_linkmic::{BattlePunishFinish, BattleTask, FanTicket, FanTickets, Link, LinkMic};
pub use kinds_room::{
    Goal, InRoomBanner, MsgDetect, Poll, PollOption, Rank, RankEntry, RankText, RoomPin,
    RoomVerify, Shopping, SuperFan, UnauthorizedMember,
};
pub use kinds_twitch::{BridgeControl, TwitchChat, TwitchUser};
pub use user_profile::{Badge, BadgeKind, Profile};

/// Who did something in the room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct User {
    /// TikTok's numeric user id.
    #[serde(serialize_with = "id_string")]
    pub id: u64,
    /// The @handle without the `@` (TikTok's `display_id` / `uniqueId`).
    pub username: String,
    /// The free-form display name.
    pub nickname: String,
    /// How the user relates to the creator, when TikTok says so.
    #[serde(skip_serializing_if = "Roles::is_empty")]
    pub roles: Roles,
    /// Avatar, follow role, levels and badges, when TikTok sent them (flattened).
    #[serde(flatten)]
    pub profile: Profile,
}

impl User {
    /// The best name to show: the nickname, else the @handle, else a fallback.
    pub fn display_name(&self) -> &str {
        if !self.nickname.trim().is_empty() {
            &self.nickname
        } else if !self.username.is_empty() {
            &self.username
        } else {
            "someone"
        }
    }
}

/// The user's relation to the creator (from TikTok's user-identity flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// Follows the creator.
    #[serde(skip_serializing_if = "is_false")]
    pub follower: bool,
    /// Subscribes to the creator.
    #[serde(skip_serializing_if = "is_false")]
    pub subscriber: bool,
    /// Moderates the creator's room.
    #[serde(skip_serializing_if = "is_false")]
    pub moderator: bool,
    /// Has sent the creator a gift before.
    #[serde(skip_serializing_if = "is_false")]
    pub gift_giver: bool,
    /// Follows and is followed by the creator.
    #[serde(skip_serializing_if = "is_false")]
    pub friend: bool,
    /// Is the creator.
    #[serde(skip_serializing_if = "is_false")]
    pub creator: bool,
}

impl Roles {
    /// True when no flag is set.
    pub fn is_empty(&self) -> bool {
        *self == Roles::default()
    }
}

/// What was gifted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Gift {
    /// TikTok's gift id (5655 is the Rose).
    pub id: u64,
    /// The gift's name, e.g. "Rose".
    pub name: String,
    /// Diamonds per unit.
    pub diamonds: u32,
    /// True when TikTok sends this gift as a streak (gift type 1).
    pub streakable: bool,
    /// The gift's image URL, from the room's gift catalogue (omitted when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// A stream lifecycle change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAction {
    /// The creator paused the stream (action 1).
    Paused,
    /// The stream resumed (action 2).
    Resumed,
    /// The stream ended (action 3).
    Ended,
    /// TikTok ended the stream for a violation (action 4).
    Suspended,
    /// Any other value, kept as sent; never treated as the end of the stream.
    Other(i64),
}

impl ControlAction {
    /// Maps TikTok's `WebcastControlMessage.action`.
    pub fn from_wire(action: i64) -> Self {
        match action {
            1 => Self::Paused,
            2 => Self::Resumed,
            3 => Self::Ended,
            4 => Self::Suspended,
            other => Self::Other(other),
        }
    }

    /// True when the stream is over (ended or suspended).
    pub fn is_end(self) -> bool {
        matches!(self, Self::Ended | Self::Suspended)
    }

    /// The stable name used in JSON and templates.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Resumed => "resumed",
            Self::Ended => "ended",
            Self::Suspended => "suspended",
            Self::Other(_) => "other",
        }
    }
}

impl Serialize for ControlAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Other(n) => s.serialize_i64(*n),
            known => s.serialize_str(known.name()),
        }
    }
}

/// A link-mic (PK) battle's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BattleStage {
    /// The battle started (action 4).
    Started,
    /// The battle finished, results attached (action 5 or 6).
    Finished,
    /// A score update (from `WebcastLinkMicArmies`).
    Scores,
    /// Any other battle action (invites, rejections ...).
    Other,
}

/// One side of a battle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BattleSide {
    /// The creator's user id.
    #[serde(serialize_with = "id_string")]
    pub user_id: u64,
    /// The creator's @handle, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// The creator's display name, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nickname: String,
    /// Points (diamonds) so far.
    pub score: i64,
    /// "win", "lose" or "draw" once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
}

/// Metadata every event carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The `BaseProtoMessage.method` it came from, e.g. `WebcastChatMessage`. Borrowed
    /// from a static list for the methods the decoder maps, so most events allocate none.
    pub method: Cow<'static, str>,
    /// TikTok's message id (the dedupe key); 0 when absent.
    pub msg_id: u64,
    /// The room it belongs to; 0 when absent.
    pub room_id: u64,
    /// When TikTok created it, milliseconds since the epoch; 0 when absent.
    pub create_time_ms: i64,
    /// When the daemon decoded it, milliseconds since the epoch; 0 when not recorded
    /// (`tiktwitch decode` of a file).
    pub received_at_ms: i64,
    /// True for replayed history (the first fetch result, or TikTok's own history flag):
    /// not relayed by default.
    pub history: bool,
}

/// What happened, with the fields the bridge uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EventKind {
    /// A viewer comment.
    Chat {
        /// Who wrote it.
        user: User,
        /// The comment.
        text: String,
        /// TikTok's guess of the comment's language.
        #[serde(skip_serializing_if = "String::is_empty")]
        language: String,
    },
    /// A sticker-only comment (subscriber emotes).
    Emote {
        /// Who sent it.
        user: User,
        /// The emote ids.
        emote_ids: Vec<String>,
    },
    /// A gift. Streakable gifts arrive once per tick; `streak_end` marks the final count.
    Gift {
        /// Who sent it.
        user: User,
        /// What was sent.
        gift: Gift,
        /// How many so far (the final count when `complete`), clamped to `0..=u32::MAX`.
        count: u32,
        /// TikTok's own flag (`repeat_end == 1`): the sender released the button.
        streak_end: bool,
        /// True when this message carries the gift's final count, so it is the one to
        /// relay: the streak ended, or the gift cannot streak at all.
        complete: bool,
        /// The streak id (TikTok's `group_id`).
        #[serde(serialize_with = "id_string")]
        streak_id: u64,
        /// The recipient in multi-guest rooms.
        #[serde(skip_serializing_if = "Option::is_none")]
        to_user: Option<User>,
    },
    /// A burst of likes.
    Like {
        /// Who liked.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<User>,
        /// Likes in this burst.
        count: u32,
        /// The room's running total.
        total: u64,
    },
    /// A viewer joined.
    Join {
        /// Who joined.
        user: User,
    },
    /// A member message that is not a join (moderation actions and the like).
    Member {
        /// Whom it concerns.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<User>,
        /// TikTok's `MemberMessageAction`.
        action: i64,
    },
    /// A viewer followed the creator.
    Follow {
        /// Who followed.
        user: User,
    },
    /// A viewer shared the live.
    Share {
        /// Who shared.
        user: User,
    },
    /// A social message that is neither a follow nor a share.
    Social {
        /// Whom it concerns.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<User>,
        /// TikTok's social action.
        action: i64,
    },
    /// The viewer count.
    Viewers {
        /// Watching now.
        current: u64,
        /// Watched at some point.
        cumulative: u64,
    },
    /// A subscription.
    Subscribe {
        /// Who subscribed.
        user: User,
        /// Months subscribed, when known.
        #[serde(skip_serializing_if = "is_zero_u32")]
        months: u32,
    },
    /// A Q&A question.
    Question {
        /// Who asked.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<User>,
        /// The question.
        text: String,
    },
    /// A treasure box (envelope).
    Envelope {
        /// The sender's display name as TikTok gives it.
        sender: String,
        /// Diamonds in the box.
        diamonds: u32,
        /// How many viewers can claim it.
        people: u32,
    },
    /// A link-mic (PK) battle.
    Battle {
        /// The battle's id.
        #[serde(serialize_with = "id_string")]
        battle_id: u64,
        /// What happened.
        stage: BattleStage,
        /// The sides, with scores and results when known (sorted by user id).
        sides: Vec<BattleSide>,
    },
    /// A stream lifecycle change.
    Control {
        /// What changed.
        action: ControlAction,
    },
    /// Moderators deleted messages.
    Delete {
        /// Deleted message ids.
        #[serde(serialize_with = "id_strings")]
        msg_ids: Vec<u64>,
        /// Users whose messages were deleted.
        #[serde(serialize_with = "id_strings")]
        user_ids: Vec<u64>,
    },
    /// The room's intro text.
    Intro {
        /// The host.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<User>,
        /// The intro.
        text: String,
    },
    /// A room or system notice ("Welcome to TikTok LIVE! ...").
    System {
        /// The notice.
        text: String,
    },
    /// A live caption line.
    Caption {
        /// Its language.
        language: String,
        /// The text.
        text: String,
    },
    /// A LIVE goal's state and the contribution that moved it.
    Goal(Goal),
    /// A poll started, updated or ended.
    Poll(Poll),
    /// A banner notice (super fans, level-ups ...).
    Barrage {
        /// TikTok's text key, e.g. `ttlive_superfan`.
        key: String,
        /// The user it is about, when named.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<User>,
    },
    /// A message pinned to the top of the room.
    RoomPin(RoomPin),
    /// Leaderboard positions (`WebcastRankUpdateMessage`).
    RankUpdate(Rank),
    /// The hourly/weekly leaderboard (`WebcastHourlyRankMessage`).
    HourlyRank(Rank),
    /// A gifter-badge notice.
    RankText(RankText),
    /// An in-room banner (JSON passed through).
    InRoomBanner(InRoomBanner),
    /// A viewer who is not logged in joined.
    UnauthorizedMember(UnauthorizedMember),
    /// A TikTok Shop product card.
    Shopping(Shopping),
    /// TikTok's delivery probe.
    MsgDetect(MsgDetect),
    /// The room's verification state.
    RoomVerify(RoomVerify),
    /// A super fan notice.
    SuperFan(SuperFan),
    /// A battle's punishment phase finished.
    BattlePunishFinish(BattlePunishFinish),
    /// A battle task.
    BattleTask(BattleTask),
    /// Link-mic fan tickets.
    FanTicket(FanTicket),
    /// A link-mic signal.
    LinkMic(LinkMic),
    /// A multi-guest list change.
    Link(Link),
    /// A multi-guest layout change.
    LinkLayer(Link),
    /// The daemon's own connection events (connected, disconnected, stream_end ...).
    Lifecycle(Lifecycle),
    /// A message whose method the bridge does not map. Never an error.
    Unknown,
    /// Someone wrote in the bridge's Twitch channel (`platform: "twitch"`).
    TwitchChat(TwitchChat),
    /// A moderator or the API changed the bridge (pause, mute, only ...).
    BridgeControl(BridgeControl),
}

impl EventKind {
    /// The stable type name used in JSON, config routes, metrics and templates.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Chat { .. } => "chat",
            Self::Emote { .. } => "emote",
            Self::Gift { .. } => "gift",
            Self::Like { .. } => "like",
            Self::Join { .. } => "join",
            Self::Member { .. } => "member",
            Self::Follow { .. } => "follow",
            Self::Share { .. } => "share",
            Self::Social { .. } => "social",
            Self::Viewers { .. } => "viewers",
            Self::Subscribe { .. } => "subscribe",
            Self::Question { .. } => "question",
            Self::Envelope { .. } => "envelope",
            Self::Battle { .. } => "battle",
            Self::Control { .. } => "control",
            Self::Delete { .. } => "delete",
            Self::Intro { .. } => "intro",
            Self::System { .. } => "system",
            Self::Caption { .. } => "caption",
            Self::Goal { .. } => "goal",
            Self::Poll { .. } => "poll",
            Self::Barrage { .. } => "barrage",
            Self::RoomPin(_) => "room_pin",
            Self::RankUpdate(_) => "rank_update",
            Self::HourlyRank(_) => "hourly_rank",
            Self::RankText(_) => "rank_text",
            Self::InRoomBanner(_) => "in_room_banner",
            Self::UnauthorizedMember(_) => "unauthorized_member",
            Self::Shopping(_) => "shopping",
            Self::MsgDetect(_) => "msg_detect",
            Self::RoomVerify(_) => "room_verify",
            Self::SuperFan(_) => "super_fan",
            Self::BattlePunishFinish(_) => "battle_punish_finish",
            Self::BattleTask(_) => "battle_task",
            Self::FanTicket(_) => "fan_ticket",
            Self::LinkMic(_) => "link_mic",
            Self::Link(_) => "link",
            Self::LinkLayer(_) => "link_layer",
            Self::Lifecycle(l) => l.type_name(),
            Self::Unknown => "unknown",
            Self::TwitchChat(_) => "twitch_chat",
            Self::BridgeControl(_) => "bridge_control",
        }
    }

    /// The user the event is about, when there is one.
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::Chat { user, .. }
            | Self::Emote { user, .. }
            | Self::Gift { user, .. }
            | Self::Join { user }
            | Self::Follow { user }
            | Self::Share { user }
            | Self::Subscribe { user, .. } => Some(user),
            Self::Like { user, .. }
            | Self::Member { user, .. }
            | Self::Social { user, .. }
            | Self::Question { user, .. }
            | Self::Intro { user, .. }
            | Self::Barrage { user, .. } => user.as_ref(),
            Self::SuperFan(fan) => Some(&fan.user),
            Self::RoomPin(pin) => pin.author.as_ref(),
            Self::RankText(text) => text.user.as_ref(),
            Self::Poll(poll) => poll.operator.as_ref(),
            _ => None,
        }
    }
}

/// One decoded WebCast message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Where it came from.
    pub meta: Meta,
    /// What it says.
    pub kind: EventKind,
}

impl Event {
    /// The stable type name (`"chat"`, `"gift"` ...).
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// The stream ended or was suspended: the source closes after this event.
    ///
    /// (Gifts: the `complete` field says which message carries the final count.)
    pub fn is_stream_end(&self) -> bool {
        matches!(self.kind, EventKind::Control { action } if action.is_end())
    }

    /// The platform it comes from: `tiktok`, or `twitch` for the Twitch lifecycle events.
    pub fn platform(&self) -> &'static str {
        match &self.kind {
            EventKind::Lifecycle(l) => l.platform(),
            EventKind::TwitchChat(c) => c.platform,
            EventKind::BridgeControl(c) => c.platform,
            _ => "tiktok",
        }
    }
}

fn id_string<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn id_strings<S: Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.to_string()))
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests;
