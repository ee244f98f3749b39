//! What TikTok says about a user beyond id, handle and name: the avatar, how they follow
//! the creator, and their badges (moderator, subscriber, fan-club and user levels, top
//! gifter ...), for overlays. Every field is optional on the wire and omitted in JSON when
//! absent.

use serde::{Serialize, Serializer};

/// The extra details of a [`super::User`] (flattened into the user's JSON object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The avatar's first URL (`avatar_thumb.url_list[0]`: a signed CDN URL that expires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// `follow_info.follow_status`: 0 none, 1 follows, 2 friends (mutual); other values
    /// are passed on as sent (3 is seen in captures, meaning unknown).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub follow_role: u32,
    /// The fan-club level (the level of the user's fan-club badge), 0 when not a member.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub fan_club_level: u32,
    /// The user's TikTok gifter level (the level of the user-grade badge), 0 when unknown.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub user_level: u32,
    /// The badges shown next to the name, in TikTok's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub badges: Vec<Badge>,
}

impl Profile {
    /// True when TikTok said nothing beyond id, handle and name.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One badge (`User.badge_list[]`, TikTok's `BadgeStruct`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Badge {
    /// What the badge is for (`scene_type`).
    pub kind: BadgeKind,
    /// Its level (`log_extra.level`), 0 when it has none.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub level: u32,
    /// Its text ("Moderator", "No. 1", a level number), when it shows one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Its icon's first URL, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// A badge's `scene_type`, with the values seen in the 2023 and 2026 captures named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BadgeKind {
    /// 1: moderates the room.
    Moderator,
    /// 2: a new gifter ("New gifter").
    NewGifter,
    /// 4: subscribes to the creator.
    Subscriber,
    /// 6: on the room's gifter ranking ("No. 1").
    TopGifter,
    /// 8: TikTok's user (gifter) level.
    UserLevel,
    /// 10: a member of the creator's fan club.
    FanClub,
    /// Any other value, passed on as sent.
    Other(i64),
    /// Absent.
    #[default]
    Unknown,
}

impl BadgeKind {
    /// Maps `BadgeStruct.scene_type`.
    pub fn from_wire(scene: i64) -> Self {
        match scene {
            0 => Self::Unknown,
            1 => Self::Moderator,
            2 => Self::NewGifter,
            4 => Self::Subscriber,
            6 => Self::TopGifter,
            8 => Self::UserLevel,
            10 => Self::FanClub,
            other => Self::Other(other),
        }
    }

    /// The stable name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Moderator => "moderator",
            Self::NewGifter => "new_gifter",
            Self::Subscriber => "subscriber",
            Self::TopGifter => "top_gifter",
            Self::UserLevel => "user_level",
            Self::FanClub => "fan_club",
            Self::Other(_) => "other",
            Self::Unknown => "unknown",
        }
    }
}

/// Known kinds by name; others as their number.
impl Serialize for BadgeKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Other(n) => s.serialize_i64(*n),
            known => s.serialize_str(known.name()),
        }
    }
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_kinds_name_the_seen_values_and_keep_the_others() {
        let names: Vec<String> = [1, 2, 4, 6, 8, 10, 0, 77]
            .into_iter()
            .map(|n| serde_json::to_string(&BadgeKind::from_wire(n)).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "\"moderator\"",
                "\"new_gifter\"",
                "\"subscriber\"",
                "\"top_gifter\"",
                "\"user_level\"",
                "\"fan_club\"",
                "\"unknown\"",
                "77"
            ]
        );
        assert!(Profile::default().is_empty());
        let json = serde_json::to_value(Badge {
            kind: BadgeKind::FanClub,
            level: 4,
            ..Badge::default()
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({"kind": "fan_club", "level": 4}));
    }
}
