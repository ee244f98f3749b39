//! The data of the link-mic (co-host, PK battle) kinds beyond the battle itself: the
//! punishment phase ending, battle tasks, fan tickets and the link-mic plumbing messages.
//! Each struct is the payload of one [`super::EventKind`] variant.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{id_string, is_zero_i64};

/// A battle's punishment phase finished (`WebcastLinkMicBattlePunishFinish`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BattlePunishFinish {
    /// The battle's id.
    #[serde(serialize_with = "id_string")]
    pub battle_id: u64,
    /// The link-mic channel.
    #[serde(serialize_with = "id_string")]
    pub channel_id: u64,
    /// Who ended it.
    #[serde(serialize_with = "id_string")]
    pub operator_id: u64,
    /// TikTok's reason code.
    pub reason: i64,
    /// The battle's length, seconds.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub duration_secs: i64,
}

/// A battle task ("win by 1809 points", `WebcastLinkmicBattleTaskMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BattleTask {
    /// The battle's id (0 when TikTok leaves it out).
    #[serde(serialize_with = "id_string")]
    pub battle_id: u64,
    /// TikTok's task message type (1 start, 2 settle, 3 progress ...).
    pub task_type: i64,
    /// The task's text key (`pm_mt_live_match_desc_2`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// The text's parameters, e.g. `{"sum": "1809"}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// Seconds left for the task (0: not sent).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub time_left_secs: i64,
}

/// One host's fan tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FanTickets {
    /// The host.
    #[serde(serialize_with = "id_string")]
    pub user_id: u64,
    /// Their tickets.
    pub tickets: i64,
}

/// Link-mic fan ticket counts (`WebcastLinkMicFanTicketMethod`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FanTicket {
    /// Every host's tickets.
    pub users: Vec<FanTickets>,
    /// The total.
    pub total: i64,
}

/// A link-mic signal (`WebcastLinkMicMethod` and `LinkMicMethod`): guests joining,
/// leaving, being invited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkMic {
    /// TikTok's message type.
    pub message_type: i64,
    /// The guest it concerns (0: none).
    #[serde(serialize_with = "id_string")]
    pub user_id: u64,
    /// The link-mic channel.
    #[serde(serialize_with = "id_string")]
    pub channel_id: u64,
    /// The guest's fan tickets, when sent.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub fan_tickets: i64,
}

/// A multi-guest list change (`WebcastLinkMessage`, and `WebcastLinkLayerMessage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Link {
    /// TikTok's message type.
    pub message_type: i64,
    /// The linker (session) id, or the channel id for a layer message.
    #[serde(serialize_with = "id_string")]
    pub linker_id: u64,
    /// TikTok's scene.
    pub scene: i64,
    /// Guests on the mic now, when the list is sent.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub linked: i64,
    /// Guests who asked to join, when the list is sent.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub applied: i64,
}
