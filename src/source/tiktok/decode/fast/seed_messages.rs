//! A message with every field the fast decoders read set (users with avatars, follow
//! info and badges, the gift struct with its image), for the fast/prost equivalence tests
//! to mutate.

use crate::proto;

fn image(url: &str) -> proto::ImageModel {
    proto::ImageModel {
        url_list: vec![url.to_owned(), format!("{url}?2")],
    }
}

fn badge(seed: u64, text: &str) -> proto::BadgeStruct {
    let (key, default_pattern) = ("pm_mt_moderator_im".to_owned(), text.to_owned());
    proto::BadgeStruct {
        display_type: 4,
        scene_type: 10,
        log_extra: Some(proto::BadgeLogExtra {
            level: seed.to_string(),
        }),
        image: Some(proto::BadgeImage {
            image: Some(image("https://cdn/b.png")),
        }),
        text: Some(proto::BadgeText {
            key: key.clone(),
            default_pattern,
        }),
        combine: Some(proto::BadgeCombine {
            icon: Some(image("https://cdn/icon.png")),
            text: Some(proto::BadgeCombineText {
                key,
                default_pattern: "No. 1".into(),
            }),
            str: "16".into(),
        }),
    }
}

/// A gift message with every declared field set, its users and gift included, so
/// mutations land on declared fields as well as on skipped ones.
pub(super) fn full_gift(seed: u64, text: &str) -> proto::WebcastGiftMessage {
    let user = |id: u64| proto::User {
        id,
        nickname: format!("{text} nick"),
        display_id: format!("{text}_handle"),
        user_attr: Some(proto::UserAttr {
            is_muted: seed.is_multiple_of(2),
            is_admin: true,
            is_super_admin: seed.is_multiple_of(3),
        }),
        avatar_thumb: Some(image(&format!("https://cdn/{text}.webp"))),
        follow_info: Some(proto::FollowInfo {
            follow_status: (seed % 4) as i64,
        }),
        badge_list: vec![badge(seed, text), proto::BadgeStruct::default()],
    };
    proto::WebcastGiftMessage {
        common: Some(proto::CommonMessageData {
            msg_id: seed.wrapping_mul(7_300_000_000_000_000_001),
            room_id: seed ^ 0x7fff_ffff_ffff,
            create_time: seed as i64 - 5,
        }),
        gift_id: seed,
        group_count: -(seed as i64),
        repeat_count: seed as i32,
        combo_count: 3,
        user: Some(user(seed.wrapping_add(1))),
        to_user: Some(user(seed.wrapping_add(2))),
        repeat_end: 1,
        group_id: seed << 7,
        gift: Some(proto::GiftStruct {
            image: Some(image("https://cdn/gift.webp")),
            id: seed,
            combo: true,
            r#type: 1,
            diamond_count: -1,
            name: text.to_owned(),
        }),
        send_type: 4,
        user_identity: Some(proto::UserIdentity {
            is_gift_giver_of_anchor: true,
            is_subscriber_of_anchor: seed % 2 == 1,
            is_mutual_following_with_anchor: true,
            is_follower_of_anchor: true,
            is_moderator_of_anchor: seed.is_multiple_of(5),
            is_anchor: false,
        }),
    }
}
