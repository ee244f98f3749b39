//! The kinds that matter to overlays and automation rather than to chat: goals, polls,
//! banners and super fans, pinned messages, leaderboards, shop cards, moderation probes and
//! the link-mic plumbing. All go through prost (none is hot traffic), so the hand-written
//! decoders of the six hot types stay as they are.

use prost::Message;

use super::kind::{clamp_u64, user};
use crate::event::{
    BattlePunishFinish, BattleTask, EventKind, FanTicket, FanTickets, Goal, InRoomBanner, Link,
    LinkMic, MsgDetect, Poll, PollOption, Rank, RankEntry, RankText, RoomPin, RoomVerify, Shopping,
    SuperFan, UnauthorizedMember,
};
use crate::proto;

/// What [`decode`] returns: the common header and the kind.
type Decoded = (Option<proto::CommonMessageData>, EventKind);

/// The barrage key prefix of super fan notices (peers derive their super fan events from it).
const SUPER_FAN_KEY: &str = "ttlive_superfan";
/// The key suffix of a viewer who just became a super fan.
const SUPER_FAN_JOINED_KEY: &str = "superfanjoined";

/// Decodes `payload` when `method` is one of this module's kinds; `None` for any other.
pub(super) fn decode(method: &str, payload: &[u8]) -> Option<Result<Decoded, prost::DecodeError>> {
    use proto::*;
    Some(match method {
        "WebcastGoalUpdateMessage" => WebcastGoalUpdateMessage::decode(payload).map(goal),
        "WebcastPollMessage" => WebcastPollMessage::decode(payload).map(poll),
        "WebcastBarrageMessage" => WebcastBarrageMessage::decode(payload).map(barrage),
        "WebcastRoomPinMessage" => WebcastRoomPinMessage::decode(payload).map(room_pin),
        "WebcastRankUpdateMessage" => WebcastRankUpdateMessage::decode(payload).map(rank_update),
        "WebcastHourlyRankMessage" => WebcastHourlyRankMessage::decode(payload).map(hourly_rank),
        "WebcastRankTextMessage" => WebcastRankTextMessage::decode(payload).map(rank_text),
        "WebcastInRoomBannerMessage" => WebcastInRoomBannerMessage::decode(payload).map(|m| {
            (
                m.common,
                EventKind::InRoomBanner(InRoomBanner { json: m.json }),
            )
        }),
        "WebcastUnauthorizedMemberMessage" => {
            WebcastUnauthorizedMemberMessage::decode(payload).map(unauthorized_member)
        }
        "WebcastOecLiveShoppingMessage" => {
            WebcastOecLiveShoppingMessage::decode(payload).map(shopping)
        }
        "WebcastMsgDetectMessage" => WebcastMsgDetectMessage::decode(payload).map(|m| {
            let kind = EventKind::MsgDetect(MsgDetect {
                detect_type: m.detect_type,
                from_region: m.from_region,
            });
            (m.common, kind)
        }),
        "WebcastRoomVerifyMessage" => WebcastRoomVerifyMessage::decode(payload).map(|m| {
            let kind = EventKind::RoomVerify(RoomVerify {
                action: m.action,
                content: m.content,
            });
            (m.common, kind)
        }),
        "WebcastLinkMicBattlePunishFinish" => {
            WebcastLinkMicBattlePunishFinish::decode(payload).map(punish_finish)
        }
        "WebcastLinkmicBattleTaskMessage" => {
            WebcastLinkmicBattleTaskMessage::decode(payload).map(battle_task)
        }
        "WebcastLinkMicFanTicketMethod" => {
            WebcastLinkMicFanTicketMethod::decode(payload).map(fan_ticket)
        }
        "WebcastLinkMicMethod" | "LinkMicMethod" => {
            WebcastLinkMicMethod::decode(payload).map(|m| {
                let kind = EventKind::LinkMic(LinkMic {
                    message_type: m.message_type,
                    user_id: m.user_id,
                    channel_id: m.channel_id,
                    fan_tickets: m.fan_ticket,
                });
                (m.common, kind)
            })
        }
        "WebcastLinkMessage" => WebcastLinkMessage::decode(payload).map(|m| {
            let list = m.list_change.unwrap_or_default();
            let kind = EventKind::Link(Link {
                message_type: m.message_type,
                linker_id: m.linker_id,
                scene: m.scene,
                linked: count(list.linked.len()),
                applied: count(list.applied.len()),
            });
            (m.common, kind)
        }),
        "WebcastLinkLayerMessage" => WebcastLinkLayerMessage::decode(payload).map(|m| {
            let kind = EventKind::LinkLayer(Link {
                message_type: m.message_type,
                linker_id: m.channel_id,
                scene: m.scene,
                ..Link::default()
            });
            (m.common, kind)
        }),
        _ => return None,
    })
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn goal(m: proto::WebcastGoalUpdateMessage) -> Decoded {
    let g = m.goal.unwrap_or_default();
    // A goal can have several sub-goals (one per gift): the totals are what a bar shows.
    let target = g
        .sub_goals
        .iter()
        .fold(0i64, |n, s| n.saturating_add(s.target));
    let progress = g
        .sub_goals
        .iter()
        .fold(0i64, |n, s| n.saturating_add(s.progress));
    let item = g
        .sub_goals
        .into_iter()
        .find_map(|s| s.gift.map(|gift| gift.name))
        .unwrap_or_default();
    let kind = EventKind::Goal(Goal {
        goal_id: g.id,
        description: g.description,
        item,
        target,
        progress,
        expires_at: g.expire_time,
        contributor: m.contributor_display_id,
        count: m.contribute_count,
    });
    (m.common, kind)
}

fn poll_options(options: Vec<proto::PollOptionInfo>) -> Vec<PollOption> {
    options
        .into_iter()
        .map(|o| PollOption {
            text: o.content,
            votes: o.votes,
        })
        .collect()
}

fn poll(m: proto::WebcastPollMessage) -> Decoded {
    let stage = match m.message_type {
        0 => "started",
        2 => "ended",
        _ => "updated",
    };
    let mut out = Poll {
        poll_id: m.poll_id,
        stage,
        ..Poll::default()
    };
    // Each stage carries its own content; whichever is present says the most.
    if let Some(start) = m.start_content {
        out.question = start.title;
        out.options = poll_options(start.options);
        out.ends_at_ms = start.end_time;
        out.operator = start.operator.map(user);
    }
    if let Some(update) = m.update_content.filter(|u| !u.options.is_empty()) {
        out.options = poll_options(update.options);
    }
    if let Some(end) = m.end_content {
        if !end.options.is_empty() {
            out.options = poll_options(end.options);
        }
        if out.operator.is_none() {
            out.operator = end.operator.map(user);
        }
    }
    (m.common, EventKind::Poll(out))
}

fn barrage(m: proto::WebcastBarrageMessage) -> Decoded {
    let text = m
        .content
        .filter(|t| !t.key.is_empty())
        .or(m.common_barrage_content)
        .unwrap_or_default();
    let grade = m.user_grade.unwrap_or_default();
    let named = text
        .pieces
        .into_iter()
        .find_map(|p| p.user_value.and_then(|v| v.user))
        .or(grade.user);
    let kind = if text.key.contains(SUPER_FAN_KEY) {
        EventKind::SuperFan(SuperFan {
            user: named.map(user).unwrap_or_default(),
            level: clamp_u64(grade.grade),
            joined: text.key.ends_with(SUPER_FAN_JOINED_KEY),
            key: text.key,
        })
    } else {
        EventKind::Barrage {
            key: text.key,
            user: named.map(user),
        }
    };
    (m.common, kind)
}

fn room_pin(m: proto::WebcastRoomPinMessage) -> Decoded {
    let (text, author) = match (m.chat, m.gift) {
        (Some(chat), _) => (chat.content, chat.user),
        (None, Some(gift)) => (gift.gift.unwrap_or_default().name, gift.user),
        (None, None) => (String::new(), None),
    };
    let kind = EventKind::RoomPin(RoomPin {
        pinned_method: m.original_msg_type,
        pinned_msg_id: m.pinned_msg_id,
        text,
        author: author.map(user),
        pinned_by: m.operator.map_or(0, |u| u.id),
        action: m.action,
        duration_secs: m.display_duration,
    });
    (m.common, kind)
}

fn rank_entry(rank_type: i64, rank: i64, text: Option<proto::Text>, countdown: i64) -> RankEntry {
    let text = text.unwrap_or_default();
    RankEntry {
        rank_type,
        list: text.default_pattern,
        key: text.key,
        rank,
        countdown_secs: countdown,
    }
}

fn rank_update(m: proto::WebcastRankUpdateMessage) -> Decoded {
    let lists = m
        .updates
        .into_iter()
        .map(|u| rank_entry(u.rank_type, u.owner_rank, u.default_content, u.countdown))
        .collect();
    (m.common, EventKind::RankUpdate(Rank { lists, delta: 0 }))
}

fn hourly_rank(m: proto::WebcastHourlyRankMessage) -> Decoded {
    // Unreadable data (another schema's string) leaves the list empty; the event stays.
    let d = proto::HourlyRankData::decode(&m.data[..]).unwrap_or_default();
    let kind = EventKind::HourlyRank(Rank {
        lists: vec![rank_entry(d.rank_type, d.owner_rank, d.content, 0)],
        delta: d.delta,
    });
    (m.common, kind)
}

fn rank_text(m: proto::WebcastRankTextMessage) -> Decoded {
    // The "other" text names the user for everyone watching; the "self" one is for them.
    let text = m
        .other_get_badge_msg
        .filter(|t| !t.key.is_empty())
        .or(m.self_get_badge_msg)
        .unwrap_or_default();
    let named = text
        .pieces
        .into_iter()
        .find_map(|p| p.user_value.and_then(|v| v.user));
    let kind = EventKind::RankText(RankText {
        key: text.key,
        pattern: text.default_pattern,
        user: named.map(user),
        rank: m.owner_idx_after_update,
        previous_rank: m.owner_idx_before_update,
    });
    (m.common, kind)
}

fn unauthorized_member(m: proto::WebcastUnauthorizedMemberMessage) -> Decoded {
    // The prefix is a pattern like `Viewer%s`; the name is what fills it.
    let prefix = m.nick_name_prefix.unwrap_or_default().default_pattern;
    let nickname = if prefix.contains("%s") {
        prefix.replacen("%s", &m.nick_name, 1)
    } else {
        format!("{prefix}{}", m.nick_name)
    };
    let kind = EventKind::UnauthorizedMember(UnauthorizedMember {
        action: m.action,
        nickname,
        key: m.enter_text.unwrap_or_default().key,
    });
    (m.common, kind)
}

fn shopping(m: proto::WebcastOecLiveShoppingMessage) -> Decoded {
    let p = m.pop_product.unwrap_or_default();
    let kind = EventKind::Shopping(Shopping {
        action: m.action_type,
        title: p.title,
        price: p.price_string,
        image: p.image,
        product_id: p.product_id,
        shop: p.shop_name,
    });
    (m.common, kind)
}

fn punish_finish(m: proto::WebcastLinkMicBattlePunishFinish) -> Decoded {
    let settings = m.battle_settings.unwrap_or_default();
    let kind = EventKind::BattlePunishFinish(BattlePunishFinish {
        battle_id: if m.battle_id != 0 {
            m.battle_id
        } else {
            settings.battle_id
        },
        channel_id: m.channel_id,
        operator_id: m.op_uid,
        reason: m.reason,
        duration_secs: settings.duration,
    });
    (m.common, kind)
}

fn battle_task(m: proto::WebcastLinkmicBattleTaskMessage) -> Decoded {
    let update = m.task_update.unwrap_or_default();
    let prompt = update.prompt.unwrap_or_default();
    let kind = EventKind::BattleTask(BattleTask {
        battle_id: m.battle_id,
        task_type: m.task_message_type,
        key: prompt.key,
        params: prompt
            .params
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect(),
        time_left_secs: update.time_left,
    });
    (m.common, kind)
}

fn fan_ticket(m: proto::WebcastLinkMicFanTicketMethod) -> Decoded {
    let notice = m.notice.unwrap_or_default();
    let kind = EventKind::FanTicket(FanTicket {
        users: notice
            .users
            .into_iter()
            .map(|u| FanTickets {
                user_id: u.user_id,
                tickets: u.fan_ticket,
            })
            .collect(),
        total: notice.total,
    });
    (m.common, kind)
}
