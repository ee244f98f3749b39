//! The creator's public profile, read from the room lookup TikTok already answers (no extra
//! request): handle, nickname, avatar, follower counts, live status, room title, viewers.
//!
//! `api-live/user/room` carries `user.{id, uniqueId, nickname, avatarLarger}`,
//! `stats.{followerCount, followingCount}` and `liveRoom.{status, title,
//! liveRoomStats.userCount}`; the live page's `SIGI_STATE` has the same shape under
//! `LiveRoom.liveRoomUserInfo`. Whatever is missing stays `None`. Text from TikTok is bounded
//! ([`PROFILE_TEXT_MAX_CHARS`]) and the avatar must be an `http(s)` URL, since overlays show it.

use std::time::SystemTime;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::format::utc;
use super::room::LookupPath;
use crate::limits::{PROFILE_TEXT_MAX_CHARS, PROFILE_URL_MAX_CHARS};

/// A creator's profile as last seen by the room lookup. Its JSON form is the `profile` of
/// each bridge in `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// TikTok's numeric user id, when given (a string in JSON: it passes 2^53).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_id_string"
    )]
    pub user_id: Option<u64>,
    /// The @handle without `@` (TikTok's `uniqueId`; the looked-up handle when absent).
    pub unique_id: String,
    /// The display name (empty when TikTok left it out).
    pub nickname: String,
    /// The large avatar's URL (a signed CDN link that expires after a while).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// Followers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    /// Accounts the creator follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<u64>,
    /// Live now (status 2 with a room id).
    pub live: bool,
    /// `live`, `paused`, `offline` or `unknown` (TikTok's status 2, 3, 4, other).
    pub status: &'static str,
    /// The room id, when there is one (it persists after a stream ends).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_id_string"
    )]
    pub room_id: Option<u64>,
    /// The live's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_title: Option<String>,
    /// Viewers now, when TikTok says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewers: Option<u64>,
    /// Which lookup answered: `api` or `html`.
    pub via: &'static str,
    /// When it was looked up (RFC 3339, UTC).
    pub checked_at: String,
}

impl Profile {
    /// Reads the profile out of the lookup's `data` (API) or `liveRoomUserInfo` (page).
    pub(crate) fn from_json(
        data: &Value,
        username: &str,
        room_id: u64,
        status: i64,
        via: LookupPath,
        checked_at: SystemTime,
    ) -> Self {
        let user = data.get("user");
        let live_room = data.get("liveRoom");
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(|s| bounded(s.trim(), PROFILE_TEXT_MAX_CHARS))
                .filter(|s| !s.is_empty())
        };
        let stats = data.get("stats");
        Self {
            user_id: user.and_then(|u| u.get("id")).and_then(number),
            unique_id: text(user.and_then(|u| u.get("uniqueId")))
                .unwrap_or_else(|| username.to_string()),
            nickname: text(user.and_then(|u| u.get("nickname"))).unwrap_or_default(),
            avatar_url: user
                .and_then(|u| u.get("avatarLarger").or_else(|| u.get("avatarMedium")))
                .and_then(Value::as_str)
                .and_then(web_url),
            followers: stats.and_then(|s| s.get("followerCount")).and_then(number),
            following: stats.and_then(|s| s.get("followingCount")).and_then(number),
            live: status == 2 && room_id != 0,
            status: status_name(status),
            room_id: (room_id != 0).then_some(room_id),
            room_title: text(live_room.and_then(|r| r.get("title"))),
            viewers: live_room
                .and_then(|r| r.pointer("/liveRoomStats/userCount"))
                .and_then(number),
            via: match via {
                LookupPath::Api => "api",
                LookupPath::Html => "html",
            },
            checked_at: utc(checked_at),
        }
    }

    /// `Fake Creator (@fakecreator), 12,345 followers, 67 following, "title", avatar URL`:
    /// what `check --online` prints.
    pub fn summary(&self) -> String {
        use crate::format::group_thousands;
        let count = |n: u64| group_thousands(i64::try_from(n).unwrap_or(i64::MAX));
        let mut parts = Vec::new();
        parts.push(if self.nickname.is_empty() {
            format!("@{}", self.unique_id)
        } else {
            format!("{} (@{})", self.nickname, self.unique_id)
        });
        if let Some(n) = self.followers {
            parts.push(format!("{} followers", count(n)));
        }
        if let Some(n) = self.following {
            parts.push(format!("{} following", count(n)));
        }
        if let Some(title) = &self.room_title {
            parts.push(format!("title {title:?}"));
        }
        if let Some(url) = &self.avatar_url {
            parts.push(format!("avatar {url}"));
        }
        parts.join(", ")
    }
}

fn status_name(status: i64) -> &'static str {
    match status {
        2 => "live",
        3 => "paused",
        4 => "offline",
        _ => "unknown",
    }
}

/// A count or id, given as a number or a decimal string; anything else (negative, float,
/// text) is unknown.
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Only `http(s)` URLs of a sane length: an overlay may put it in an `<img src>`.
fn web_url(s: &str) -> Option<String> {
    let s = s.trim();
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    (web && s.len() <= PROFILE_URL_MAX_CHARS && !s.chars().any(char::is_whitespace))
        .then(|| s.to_string())
}

fn bounded(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn optional_id_string<S: Serializer>(id: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::room::{parse_api_response, parse_live_html};
    use super::*;

    #[test]
    fn the_api_answer_gives_the_whole_profile() {
        let body = br#"{"statusCode":0,"data":{
            "user":{"id":"6000000000000000001","uniqueId":"maya_fami","nickname":" Maya ",
                    "avatarLarger":"https://p16.tiktokcdn.com/a.webp?x-expires=1","roomId":"7300000000000000001","status":2},
            "stats":{"followerCount":12345,"followingCount":"67"},
            "liveRoom":{"status":2,"title":"cooking","liveRoomStats":{"userCount":42}}}}"#;
        let info = parse_api_response(body, "maya_fami").unwrap();
        let p = &info.profile;
        assert_eq!(p.user_id, Some(6_000_000_000_000_000_001));
        assert_eq!(
            (p.unique_id.as_str(), p.nickname.as_str()),
            ("maya_fami", "Maya")
        );
        assert_eq!(
            p.avatar_url.as_deref(),
            Some("https://p16.tiktokcdn.com/a.webp?x-expires=1")
        );
        assert_eq!((p.followers, p.following), (Some(12_345), Some(67)));
        assert_eq!((p.live, p.status, p.viewers), (true, "live", Some(42)));
        assert_eq!(p.room_title.as_deref(), Some("cooking"));
        assert_eq!(p.via, "api");
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["user_id"], "6000000000000000001");
        assert_eq!(json["room_id"], "7300000000000000001");
        assert_eq!(json["followers"], 12345);
        assert_eq!(
            p.summary(),
            "Maya (@maya_fami), 12,345 followers, 67 following, title \"cooking\", avatar https://p16.tiktokcdn.com/a.webp?x-expires=1"
        );
    }

    #[test]
    fn missing_and_odd_fields_stay_unknown() {
        let long = "x".repeat(5_000);
        let body = format!(
            r#"{{"statusCode":0,"data":{{"user":{{"roomId":"0","status":4,"nickname":"{long}",
                "avatarLarger":"javascript:alert(1)","id":-5}},
                "stats":{{"followerCount":-3,"followingCount":1.5}},
                "liveRoom":{{"title":17,"liveRoomStats":"none"}}}}}}"#
        );
        let p = parse_api_response(body.as_bytes(), "someone")
            .unwrap()
            .profile;
        assert_eq!(p.unique_id, "someone", "the looked-up handle stands in");
        assert_eq!(p.nickname.chars().count(), PROFILE_TEXT_MAX_CHARS);
        assert_eq!(p.avatar_url, None, "only http(s) avatars");
        assert_eq!((p.user_id, p.followers, p.following), (None, None, None));
        assert_eq!(
            (p.room_title.as_deref(), p.viewers, p.room_id),
            (None, None, None)
        );
        assert_eq!((p.live, p.status), (false, "offline"));
        let json = serde_json::to_value(&p).unwrap();
        for absent in [
            "user_id",
            "avatar_url",
            "followers",
            "room_title",
            "room_id",
        ] {
            assert!(json.get(absent).is_none(), "{absent}: {json}");
        }
        // A bare user object still makes a profile.
        let bare = br#"{"statusCode":0,"data":{"user":{}}}"#;
        let p = parse_api_response(bare, "u").unwrap().profile;
        assert_eq!((p.unique_id.as_str(), p.status), ("u", "unknown"));
    }

    #[test]
    fn the_live_page_fills_what_it_has() {
        let html = r#"<script id="SIGI_STATE" type="application/json">{"LiveRoom":{"liveRoomUserInfo":{
            "user":{"roomId":"123","status":3,"uniqueId":"pageuser","nickname":"Page","avatarLarger":"http://cdn/x.jpg"},
            "stats":{"followerCount":9},"liveRoom":{"status":3,"title":"brb"}}}}</script>"#;
        let p = parse_live_html(html, "pageuser").unwrap().profile;
        assert_eq!(p.via, "html");
        assert_eq!((p.status, p.live), ("paused", false));
        assert_eq!(p.followers, Some(9));
        assert_eq!(p.following, None);
        assert_eq!(p.avatar_url.as_deref(), Some("http://cdn/x.jpg"));
        assert_eq!(p.room_title.as_deref(), Some("brb"));
    }
}
