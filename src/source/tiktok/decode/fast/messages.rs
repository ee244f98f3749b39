//! [`FastDecode`] for each hot message type: the declared fields by number, exactly as
//! prost reads them (see the parent module for the rules and how equivalence is tested).

use super::super::proto_walker::{Unusual, Value, walk};
use super::FastDecode;
use crate::proto;

/// Merges an embedded message field into its `Option` (prost's rule for a message field
/// that appears more than once).
#[inline]
fn merge_into<M: FastDecode>(slot: &mut Option<M>, value: Value<'_>) -> Result<(), Unusual> {
    slot.get_or_insert_with(M::default)
        .merge_fast(value.bytes()?)
}

impl FastDecode for proto::CommonMessageData {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                2 => self.msg_id = value.varint()?,
                3 => self.room_id = value.varint()?,
                4 => self.create_time = value.int64()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::User {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => self.id = value.varint()?,
                3 => self.nickname = value.string()?,
                9 => merge_into(&mut self.avatar_thumb, value)?,
                22 => merge_into(&mut self.follow_info, value)?,
                32 => merge_into(&mut self.user_attr, value)?,
                38 => self.display_id = value.string()?,
                64 => {
                    let mut badge = proto::BadgeStruct::default();
                    badge.merge_fast(value.bytes()?)?;
                    self.badge_list.push(badge);
                }
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::ImageModel {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            if number == 1 {
                self.url_list.push(value.string()?);
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::FollowInfo {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            if number == 3 {
                self.follow_status = value.int64()?;
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::BadgeStruct {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => self.display_type = value.int64()?,
                3 => self.scene_type = value.int64()?,
                12 => merge_into(&mut self.log_extra, value)?,
                20 => merge_into(&mut self.image, value)?,
                21 => merge_into(&mut self.text, value)?,
                23 => merge_into(&mut self.combine, value)?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::BadgeLogExtra {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            if number == 5 {
                self.level = value.string()?;
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::BadgeImage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            if number == 2 {
                merge_into(&mut self.image, value)?;
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::BadgeText {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                2 => self.key = value.string()?,
                3 => self.default_pattern = value.string()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::BadgeCombine {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                2 => merge_into(&mut self.icon, value)?,
                3 => merge_into(&mut self.text, value)?,
                4 => self.str = value.string()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::BadgeCombineText {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => self.key = value.string()?,
                2 => self.default_pattern = value.string()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::UserAttr {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => self.is_muted = value.bool()?,
                2 => self.is_admin = value.bool()?,
                3 => self.is_super_admin = value.bool()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::UserIdentity {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => self.is_gift_giver_of_anchor = value.bool()?,
                2 => self.is_subscriber_of_anchor = value.bool()?,
                3 => self.is_mutual_following_with_anchor = value.bool()?,
                4 => self.is_follower_of_anchor = value.bool()?,
                5 => self.is_moderator_of_anchor = value.bool()?,
                6 => self.is_anchor = value.bool()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::WebcastChatMessage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.common, value)?,
                2 => merge_into(&mut self.user, value)?,
                3 => self.content = value.string()?,
                14 => self.content_language = value.string()?,
                18 => merge_into(&mut self.user_identity, value)?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::WebcastMemberMessage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.common, value)?,
                2 => merge_into(&mut self.user, value)?,
                3 => self.member_count = value.int64()?,
                10 => self.action = value.int64()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::WebcastLikeMessage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.common, value)?,
                2 => self.count = value.int64()?,
                3 => self.total = value.int64()?,
                5 => merge_into(&mut self.user, value)?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::WebcastGiftMessage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.common, value)?,
                2 => self.gift_id = value.varint()?,
                4 => self.group_count = value.int64()?,
                5 => self.repeat_count = value.int32()?,
                6 => self.combo_count = value.int32()?,
                7 => merge_into(&mut self.user, value)?,
                8 => merge_into(&mut self.to_user, value)?,
                9 => self.repeat_end = value.int32()?,
                11 => self.group_id = value.varint()?,
                15 => merge_into(&mut self.gift, value)?,
                17 => self.send_type = value.int64()?,
                32 => merge_into(&mut self.user_identity, value)?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::GiftStruct {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.image, value)?,
                5 => self.id = value.varint()?,
                10 => self.combo = value.bool()?,
                11 => self.r#type = value.int64()?,
                12 => self.diamond_count = value.int64()?,
                16 => self.name = value.string()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::WebcastSocialMessage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.common, value)?,
                2 => merge_into(&mut self.user, value)?,
                3 => self.share_type = value.int64()?,
                4 => self.action = value.int64()?,
                5 => self.share_target = value.string()?,
                6 => self.follow_count = value.int64()?,
                8 => self.share_count = value.int64()?,
                _ => {}
            }
            Ok(())
        })
    }
}

impl FastDecode for proto::WebcastRoomUserSeqMessage {
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual> {
        walk(buf, |number, value| {
            match number {
                1 => merge_into(&mut self.common, value)?,
                3 => self.total = value.int64()?,
                6 => self.popularity = value.int64()?,
                7 => self.total_user = value.int64()?,
                8 => self.anonymous = value.int64()?,
                _ => {}
            }
            Ok(())
        })
    }
}
