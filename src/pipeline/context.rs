//! What a template sees: the variables of each slot, built from an event or a summary.
//! TikTok's text only ever enters as a value here, never as template source.

use std::collections::BTreeMap;

use minijinja::Value;

use super::flood::Flood;
use super::summary::{JoinSummary, LikeSummary};
use crate::config::Slot;
use crate::event::{BattleSide, Event, EventKind, User};

/// `user` (and `to_user`): `id`, `username`, `nickname`, `name` (nickname, else handle),
/// `roles.{follower, subscriber, moderator, gift_giver, friend, creator}`.
pub fn user_value(user: &User) -> Value {
    let r = &user.roles;
    let roles = Value::from_pairs([
        ("follower", Value::from(r.follower)),
        ("subscriber", Value::from(r.subscriber)),
        ("moderator", Value::from(r.moderator)),
        ("gift_giver", Value::from(r.gift_giver)),
        ("friend", Value::from(r.friend)),
        ("creator", Value::from(r.creator)),
    ]);
    Value::from_pairs([
        // A string: ids pass 2^53 and must never look like floats.
        ("id", Value::from(user.id.to_string())),
        ("username", Value::from(user.username.as_str())),
        ("nickname", Value::from(user.nickname.as_str())),
        ("name", Value::from(user.display_name())),
        ("roles", roles),
    ])
}

fn optional_user(user: Option<&User>) -> Value {
    // "someone" rather than an empty name when TikTok left the user out.
    user_value(user.unwrap_or(&User::default()))
}

fn side_value(side: &BattleSide) -> Value {
    let name = if !side.nickname.is_empty() {
        side.nickname.clone()
    } else if !side.username.is_empty() {
        side.username.clone()
    } else {
        side.user_id.to_string()
    };
    Value::from_pairs([
        ("user_id", Value::from(side.user_id.to_string())),
        ("username", Value::from(side.username.as_str())),
        ("nickname", Value::from(side.nickname.as_str())),
        ("name", Value::from(name)),
        ("score", Value::from(side.score)),
        ("result", side.result.map_or(Value::from(()), Value::from)),
    ])
}

/// The variables of `slot` for `event` (`kind` and `streamer` included).
pub fn event_context(slot: Slot, event: &Event, streamer: &str) -> Value {
    let mut vars: BTreeMap<&'static str, Value> = BTreeMap::new();
    vars.insert("kind", Value::from(slot.line_kind()));
    vars.insert("streamer", Value::from(streamer));
    match &event.kind {
        EventKind::Chat {
            user,
            text,
            language,
        } => {
            vars.insert("user", user_value(user));
            vars.insert("text", Value::from(text.as_str()));
            vars.insert("language", Value::from(language.as_str()));
        }
        EventKind::Emote { user, emote_ids } => {
            vars.insert("user", user_value(user));
            vars.insert("count", Value::from(emote_ids.len()));
        }
        EventKind::Gift {
            user,
            gift,
            count,
            to_user,
            ..
        } => {
            vars.insert("user", user_value(user));
            vars.insert(
                "gift",
                Value::from_pairs([
                    ("id", Value::from(gift.id.to_string())),
                    ("name", Value::from(gift.name.as_str())),
                    ("diamonds", Value::from(gift.diamonds)),
                    ("streakable", Value::from(gift.streakable)),
                    // "" when unknown, so `{% if gift.image %}` works.
                    ("image", Value::from(gift.image.as_deref().unwrap_or(""))),
                ]),
            );
            vars.insert("count", Value::from(*count));
            vars.insert("total_diamonds", Value::from(total_diamonds(event)));
            vars.insert(
                "to_user",
                to_user.as_ref().map_or(Value::from(()), user_value),
            );
        }
        EventKind::Like { user, count, total } => {
            vars.insert("user", optional_user(user.as_ref()));
            vars.insert("count", Value::from(*count));
            vars.insert("total", Value::from(*total));
        }
        EventKind::Join { user } | EventKind::Follow { user } | EventKind::Share { user } => {
            vars.insert("user", user_value(user));
        }
        EventKind::Subscribe { user, months } => {
            vars.insert("user", user_value(user));
            vars.insert("months", Value::from(*months));
        }
        EventKind::Question { user, text } => {
            vars.insert("user", optional_user(user.as_ref()));
            vars.insert("text", Value::from(text.as_str()));
        }
        EventKind::Envelope {
            sender,
            diamonds,
            people,
        } => {
            vars.insert("sender", Value::from(sender.as_str()));
            vars.insert("diamonds", Value::from(*diamonds));
            vars.insert("people", Value::from(*people));
        }
        EventKind::Battle {
            battle_id,
            stage,
            sides,
        } => {
            let stage = match stage {
                crate::event::BattleStage::Started => "started",
                crate::event::BattleStage::Finished => "finished",
                crate::event::BattleStage::Scores => "scores",
                crate::event::BattleStage::Other => "other",
            };
            vars.insert("battle_id", Value::from(battle_id.to_string()));
            vars.insert("stage", Value::from(stage));
            vars.insert("sides", sides.iter().map(side_value).collect());
        }
        EventKind::Viewers {
            current,
            cumulative,
        } => {
            vars.insert("current", Value::from(*current));
            vars.insert("cumulative", Value::from(*cumulative));
        }
        EventKind::Control { action } => {
            vars.insert("action", Value::from(action.name()));
        }
        kind if is_overlay_kind(kind) => overlay_vars(slot, kind, &mut vars),
        _ => {}
    }
    Value::from(vars)
}

/// The kinds whose template variables are their JSON fields (goals, polls, pins, ranks ...).
fn is_overlay_kind(kind: &EventKind) -> bool {
    use EventKind as K;
    matches!(
        kind,
        K::Goal(_)
            | K::Poll(_)
            | K::RoomPin(_)
            | K::RankUpdate(_)
            | K::HourlyRank(_)
            | K::RankText(_)
            | K::InRoomBanner(_)
            | K::UnauthorizedMember(_)
            | K::Shopping(_)
            | K::MsgDetect(_)
            | K::RoomVerify(_)
            | K::SuperFan(_)
            | K::BattlePunishFinish(_)
            | K::BattleTask(_)
            | K::FanTicket(_)
            | K::LinkMic(_)
            | K::Link(_)
            | K::LinkLayer(_)
    )
}

/// An overlay kind's variables: each variable the slot lists, from the event's JSON field of
/// that name (so the JSON schema describes both), `none` when the field is absent; the user
/// variable is the usual user value (`name`, `roles` ...).
fn overlay_vars(slot: Slot, kind: &EventKind, vars: &mut BTreeMap<&'static str, Value>) {
    let fields = match serde_json::to_value(kind) {
        Ok(serde_json::Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    for (name, attrs) in slot.variables() {
        let value = if attrs.is_empty() {
            fields.get(*name).map_or(Value::from(()), json_value)
        } else {
            optional_user(kind.user())
        };
        vars.insert(name, value);
    }
}

/// A JSON value as a template value (minijinja is built without its `serde` feature).
/// Numbers stay integers when they are; ids are already strings in the JSON.
fn json_value(value: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match value {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .unwrap_or_else(|| Value::from(n.as_f64().unwrap_or_default())),
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => items.iter().map(json_value).collect(),
        J::Object(map) => Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), json_value(v)))),
    }
}

/// Diamonds × count of a gift event (0 for anything else).
pub fn total_diamonds(event: &Event) -> u64 {
    match &event.kind {
        EventKind::Gift { gift, count, .. } => u64::from(gift.diamonds) * u64::from(*count),
        _ => 0,
    }
}

/// `likes`, `total`, `window_secs`.
pub fn like_summary_context(summary: &LikeSummary, window_secs: u64, streamer: &str) -> Value {
    Value::from_pairs([
        ("kind", Value::from(Slot::LikeSummary.line_kind())),
        ("streamer", Value::from(streamer)),
        ("likes", Value::from(summary.likes)),
        ("total", Value::from(summary.total)),
        ("window_secs", Value::from(window_secs)),
    ])
}

/// `joins`, `users`, `window_secs`.
pub fn join_summary_context(summary: &JoinSummary, window_secs: u64, streamer: &str) -> Value {
    Value::from_pairs([
        ("kind", Value::from(Slot::JoinSummary.line_kind())),
        ("streamer", Value::from(streamer)),
        ("joins", Value::from(summary.joins)),
        (
            "users",
            summary
                .users
                .iter()
                .map(String::as_str)
                .map(Value::from)
                .collect(),
        ),
        ("window_secs", Value::from(window_secs)),
    ])
}

/// `text`, `count`, `window_secs`.
pub fn flood_context(flood: &Flood, window_secs: u64, streamer: &str) -> Value {
    Value::from_pairs([
        ("kind", Value::from(Slot::ChatFlood.line_kind())),
        ("streamer", Value::from(streamer)),
        ("text", Value::from(flood.text.as_str())),
        ("count", Value::from(flood.count)),
        ("window_secs", Value::from(window_secs)),
    ])
}
