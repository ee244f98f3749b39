//! From one decoded protobuf message to a typed [`Event`]: which message type each method
//! carries, how its fields become an [`EventKind`], users and their roles, and the
//! saturation of TikTok's untrusted integers.

use std::borrow::Cow;

use prost::Message;

use super::fast;
use crate::event::{
    Badge, BadgeKind, BattleSide, BattleStage, ControlAction, Event, EventKind, Gift, Meta,
    Profile, Roles, User,
};
use crate::limits::{BADGE_TEXT_MAX_CHARS, MAX_USER_BADGES, PROFILE_URL_MAX_CHARS};
use crate::proto;

/// How the hot message types are decoded.
#[derive(Debug, Clone, Copy)]
pub(super) enum Decoder {
    /// The hand-written decoders of [`fast`], falling back to prost on anything unusual.
    Fast,
    /// prost only (the reference).
    Prost,
}

impl Decoder {
    pub(super) fn decode<M: fast::FastDecode>(
        self,
        payload: &[u8],
    ) -> Result<M, prost::DecodeError> {
        match self {
            Self::Fast => fast::decode(payload),
            Self::Prost => M::decode(payload),
        }
    }
}

/// An event from its parts.
pub(super) fn event(
    method: Cow<'static, str>,
    common: Option<proto::CommonMessageData>,
    kind: EventKind,
) -> Event {
    let common = common.unwrap_or_default();
    Event {
        meta: Meta {
            method,
            msg_id: common.msg_id,
            room_id: common.room_id,
            create_time_ms: common.create_time,
            received_at_ms: 0,
            history: false,
        },
        kind,
    }
}

/// Decodes one payload by its `method` into its common header and its kind.
pub(super) fn decode_kind(
    decoder: Decoder,
    method: &str,
    payload: &[u8],
) -> Result<(Option<proto::CommonMessageData>, EventKind), prost::DecodeError> {
    use proto::*;
    Ok(match method {
        "WebcastChatMessage" => {
            let m = decoder.decode::<WebcastChatMessage>(payload)?;
            let roles = roles(m.user_identity.as_ref());
            let kind = EventKind::Chat {
                user: user_with_roles(m.user, roles),
                text: m.content,
                language: m.content_language,
            };
            (m.common, kind)
        }
        "WebcastEmoteChatMessage" => {
            let m = WebcastEmoteChatMessage::decode(payload)?;
            let roles = roles(m.user_identity.as_ref());
            let kind = EventKind::Emote {
                user: user_with_roles(m.user, roles),
                emote_ids: m.emote_list.into_iter().map(|e| e.emote_id).collect(),
            };
            (m.common, kind)
        }
        "WebcastGiftMessage" => {
            let m = decoder.decode::<WebcastGiftMessage>(payload)?;
            let roles = roles(m.user_identity.as_ref());
            let mut details = m.gift.unwrap_or_default();
            let streakable = details.r#type == 1;
            let image = details.image.take().and_then(first_url);
            let kind = EventKind::Gift {
                user: user_with_roles(m.user, roles),
                gift: Gift {
                    id: if m.gift_id != 0 {
                        m.gift_id
                    } else {
                        details.id
                    },
                    name: details.name,
                    diamonds: clamp_u32(details.diamond_count),
                    streakable,
                    image,
                },
                count: clamp_u32(i64::from(m.repeat_count)),
                streak_end: m.repeat_end == 1,
                // Only type-1 gifts streak; any other gift is complete in one message,
                // whatever its `repeat_end` says.
                complete: !streakable || m.repeat_end == 1,
                streak_id: m.group_id,
                to_user: m.to_user.map(user),
            };
            (m.common, kind)
        }
        "WebcastLikeMessage" => {
            let m = decoder.decode::<WebcastLikeMessage>(payload)?;
            let kind = EventKind::Like {
                user: m.user.map(user),
                count: clamp_u32(m.count),
                total: clamp_u64(m.total),
            };
            (m.common, kind)
        }
        "WebcastMemberMessage" => {
            let m = decoder.decode::<WebcastMemberMessage>(payload)?;
            let kind = match (m.action, m.user) {
                (1, Some(u)) => EventKind::Join { user: user(u) },
                (action, u) => EventKind::Member {
                    user: u.map(user),
                    action,
                },
            };
            (m.common, kind)
        }
        "WebcastSocialMessage" => {
            let m = decoder.decode::<WebcastSocialMessage>(payload)?;
            let kind = match (m.action, m.user) {
                (1, Some(u)) => EventKind::Follow { user: user(u) },
                (3, Some(u)) => EventKind::Share { user: user(u) },
                (action, u) => EventKind::Social {
                    user: u.map(user),
                    action,
                },
            };
            (m.common, kind)
        }
        "WebcastRoomUserSeqMessage" => {
            let m = decoder.decode::<WebcastRoomUserSeqMessage>(payload)?;
            let kind = EventKind::Viewers {
                current: clamp_u64(m.total),
                cumulative: clamp_u64(m.total_user),
            };
            (m.common, kind)
        }
        "WebcastControlMessage" => {
            let m = WebcastControlMessage::decode(payload)?;
            let kind = EventKind::Control {
                action: ControlAction::from_wire(m.action),
            };
            (m.common, kind)
        }
        "WebcastSubNotifyMessage" => {
            let m = WebcastSubNotifyMessage::decode(payload)?;
            let kind = EventKind::Subscribe {
                user: m.user.map(user).unwrap_or_default(),
                months: clamp_u32(m.sub_month),
            };
            (m.common, kind)
        }
        "WebcastQuestionNewMessage" => {
            let m = WebcastQuestionNewMessage::decode(payload)?;
            let q = m.details.unwrap_or_default();
            let kind = EventKind::Question {
                user: q.user.map(user),
                text: q.content,
            };
            (m.common, kind)
        }
        "WebcastEnvelopeMessage" => {
            let m = WebcastEnvelopeMessage::decode(payload)?;
            let info = m.envelope_info.unwrap_or_default();
            let kind = EventKind::Envelope {
                sender: info.send_user_name,
                diamonds: clamp_u32(info.diamond_count),
                people: clamp_u32(info.people_count),
            };
            (m.common, kind)
        }
        "WebcastLinkMicBattle" => {
            let m = WebcastLinkMicBattle::decode(payload)?;
            let stage = match m.action {
                4 => BattleStage::Started,
                5 | 6 => BattleStage::Finished,
                _ => BattleStage::Other,
            };
            let mut sides: std::collections::BTreeMap<u64, BattleSide> = Default::default();
            for (id, info) in m.anchor_info {
                let base = info.user.unwrap_or_default();
                let side = sides.entry(id).or_default();
                side.user_id = id;
                side.username = base.display_id;
                side.nickname = base.nick_name;
            }
            for (id, result) in m.battle_result {
                let side = sides.entry(id).or_default();
                side.user_id = id;
                side.score = result.score;
                side.result = Some(match result.result {
                    0 => "win",
                    1 => "lose",
                    _ => "draw",
                });
            }
            let kind = EventKind::Battle {
                battle_id: m.battle_id,
                stage,
                sides: sides.into_values().collect(),
            };
            (m.common, kind)
        }
        "WebcastLinkMicArmies" => {
            let m = WebcastLinkMicArmies::decode(payload)?;
            let mut sides: Vec<BattleSide> = m
                .armies
                .into_iter()
                .map(|(id, army)| BattleSide {
                    user_id: id,
                    score: army.host_score,
                    ..BattleSide::default()
                })
                .collect();
            sides.sort_by_key(|s| s.user_id);
            let kind = EventKind::Battle {
                battle_id: m.battle_id,
                stage: BattleStage::Scores,
                sides,
            };
            (m.common, kind)
        }
        "WebcastImDeleteMessage" => {
            let m = WebcastImDeleteMessage::decode(payload)?;
            let kind = EventKind::Delete {
                msg_ids: m.delete_msg_ids,
                user_ids: m.delete_user_ids,
            };
            (m.common, kind)
        }
        "WebcastLiveIntroMessage" => {
            let m = WebcastLiveIntroMessage::decode(payload)?;
            let kind = EventKind::Intro {
                user: m.host.map(user),
                text: m.content,
            };
            (m.common, kind)
        }
        "WebcastRoomMessage" | "RoomMessage" => {
            let m = WebcastRoomMessage::decode(payload)?;
            (m.common, EventKind::System { text: m.content })
        }
        "WebcastSystemMessage" => {
            let m = WebcastSystemMessage::decode(payload)?;
            (m.common, EventKind::System { text: m.message })
        }
        "WebcastCaptionMessage" => {
            let m = WebcastCaptionMessage::decode(payload)?;
            let first = m.content.into_iter().next().unwrap_or_default();
            let kind = EventKind::Caption {
                language: first.lang,
                text: first.content,
            };
            (m.common, kind)
        }
        other => match super::overlay_kinds::decode(other, payload) {
            Some(decoded) => decoded?,
            None => {
                let common = UnmappedMessage::decode(payload).ok().and_then(|m| m.common);
                (common, EventKind::Unknown)
            }
        },
    })
}

pub(super) fn user(u: proto::User) -> User {
    let roles = Roles {
        moderator: u
            .user_attr
            .as_ref()
            .is_some_and(|a| a.is_admin || a.is_super_admin),
        ..Roles::default()
    };
    let profile = profile(u.avatar_thumb, u.follow_info, u.badge_list);
    let mut roles = roles;
    // A moderator or subscriber badge says so even where no identity flags came along
    // (joins, likes, shares carry none).
    for badge in &profile.badges {
        match badge.kind {
            BadgeKind::Moderator => roles.moderator = true,
            BadgeKind::Subscriber => roles.subscriber = true,
            _ => {}
        }
    }
    User {
        id: u.id,
        username: u.display_id,
        nickname: u.nickname,
        roles,
        profile,
    }
}

/// The avatar, follow role and badges of a wire user.
fn profile(
    avatar: Option<proto::ImageModel>,
    follow: Option<proto::FollowInfo>,
    badges: Vec<proto::BadgeStruct>,
) -> Profile {
    let badges: Vec<Badge> = badges
        .into_iter()
        .take(MAX_USER_BADGES)
        .map(badge)
        .collect();
    let level_of = |kind| {
        badges
            .iter()
            .find(|b| b.kind == kind)
            .map_or(0, |b: &Badge| b.level)
    };
    Profile {
        avatar: avatar.and_then(first_url),
        follow_role: follow.map_or(0, |f| clamp_u32(f.follow_status)),
        fan_club_level: level_of(BadgeKind::FanClub),
        user_level: level_of(BadgeKind::UserLevel),
        badges,
    }
}

fn badge(b: proto::BadgeStruct) -> Badge {
    let level = b
        .log_extra
        .and_then(|l| l.level.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let combine = b.combine.unwrap_or_default();
    let text = b
        .text
        .map(|t| t.default_pattern)
        .filter(|t| !t.is_empty())
        .or_else(|| combine.text.map(|t| t.default_pattern))
        .filter(|t| !t.is_empty())
        .unwrap_or(combine.str);
    let image = b
        .image
        .and_then(|i| i.image)
        .and_then(first_url)
        .or_else(|| combine.icon.and_then(first_url));
    Badge {
        kind: BadgeKind::from_wire(b.scene_type),
        level,
        text: text.chars().take(BADGE_TEXT_MAX_CHARS).collect(),
        image,
    }
}

/// An image's first URL, when it is a plain `http(s)` one of a sane length.
pub(super) fn first_url(image: proto::ImageModel) -> Option<String> {
    let url = image.url_list.into_iter().next()?;
    let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
    ((lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() <= PROFILE_URL_MAX_CHARS
        && !url.chars().any(char::is_whitespace))
    .then_some(url)
}

fn user_with_roles(u: Option<proto::User>, roles: Roles) -> User {
    let mut out = u.map(user).unwrap_or_default();
    out.roles.follower |= roles.follower;
    out.roles.subscriber |= roles.subscriber;
    out.roles.moderator |= roles.moderator;
    out.roles.gift_giver |= roles.gift_giver;
    out.roles.friend |= roles.friend;
    out.roles.creator |= roles.creator;
    out
}

fn roles(identity: Option<&proto::UserIdentity>) -> Roles {
    identity.map_or_else(Roles::default, |i| Roles {
        follower: i.is_follower_of_anchor || i.is_mutual_following_with_anchor,
        subscriber: i.is_subscriber_of_anchor,
        moderator: i.is_moderator_of_anchor,
        gift_giver: i.is_gift_giver_of_anchor,
        friend: i.is_mutual_following_with_anchor,
        creator: i.is_anchor,
    })
}

/// Saturates a wire integer into `0..=u32::MAX` (TikTok counts can be negative or absurd).
fn clamp_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Saturates a wire integer into `0..=i64::MAX` as `u64`.
pub(super) fn clamp_u64(n: i64) -> u64 {
    n.max(0).unsigned_abs()
}
