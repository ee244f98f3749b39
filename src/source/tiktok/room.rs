//! Room lookup, unsigned: `@user` -> room id + live status.
//!
//! First `GET {web}/api-live/user/room/?aid=1988&sourceType=54&uniqueId=..` (JSON), then, if
//! that fails for a reason other than a definite answer, the `SIGI_STATE` JSON embedded in
//! `GET {web}/@user/live`. Never the signer: polling "is live?" through it burns its budget.

use std::time::SystemTime;

use serde_json::Value;

use super::error::LookupError;
use super::transport::{describe, read_limited};
use super::preset::DevicePreset;
use super::profile::Profile;
use crate::limits::MAX_LOOKUP_BODY_BYTES;

/// TikTok's "no such user" code (`message: user_not_found`).
const USER_NOT_FOUND_CODE: i64 = 19_881_007;
/// TikTok's "age restricted" status code.
const AGE_RESTRICTED_CODE: i64 = 4_003_110;
/// Room status values.
const STATUS_LIVE: i64 = 2;

/// Normalises what a user typed: `@User`, `user`, `https://www.tiktok.com/@user/live`,
/// `tiktok.com/@user?lang=en` -> `user` (lower case: TikTok stores handles in lower case
/// and lookups can be case-sensitive).
pub fn normalise_username(input: &str) -> Result<String, LookupError> {
    let invalid = || LookupError::InvalidUsername {
        input: input.to_string(),
    };
    let mut s = input.trim();
    if let Some(at) = s.find("tiktok.com/") {
        s = &s[at + "tiktok.com/".len()..];
    }
    let s = s.split(['?', '#']).next().unwrap_or("");
    let s = s.trim_end_matches('/');
    let s = s.strip_suffix("/live").unwrap_or(s);
    let s = s.trim_start_matches('@').trim();
    let valid = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        return Err(invalid());
    }
    Ok(s.to_ascii_lowercase())
}

/// Which path answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupPath {
    /// `api-live/user/room`.
    Api,
    /// The `SIGI_STATE` of `/@user/live`.
    Html,
}

/// A creator's room as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
    /// The normalised handle.
    pub username: String,
    /// The room id (0 when none). It persists after a stream ends: check `status`.
    pub room_id: u64,
    /// 2 live, 3 paused, 4 offline.
    pub status: i64,
    /// Viewers now, when TikTok says.
    pub viewers: Option<u64>,
    /// When this was fetched.
    pub checked_at: SystemTime,
    /// Which path answered.
    pub via: LookupPath,
    /// The creator's profile, from the same answer.
    pub profile: Profile,
}

impl RoomInfo {
    /// Live only when the status is 2 and there is a room id.
    pub fn is_live(&self) -> bool {
        self.status == STATUS_LIVE && self.room_id != 0
    }
}

/// Resolves creators to rooms over plain HTTP.
#[derive(Debug, Clone)]
pub struct RoomLookup {
    http: reqwest::Client,
    web_base: String,
    preset: &'static DevicePreset,
}

impl RoomLookup {
    /// A lookup against `web_base` (e.g. `https://www.tiktok.com`).
    pub fn new(http: reqwest::Client, web_base: &str, preset: &'static DevicePreset) -> Self {
        Self {
            http,
            web_base: web_base.trim_end_matches('/').to_string(),
            preset,
        }
    }

    /// Resolves `username` (already normalised): the JSON API first, the live page second.
    /// A definite answer (no such user, age restricted) from the API is final.
    pub async fn resolve(&self, username: &str) -> Result<RoomInfo, LookupError> {
        let api_error = match self.via_api(username).await {
            Ok(info) => return Ok(info),
            Err(
                e @ (LookupError::UserNotFound { .. }
                | LookupError::AgeRestricted { .. }
                | LookupError::InvalidUsername { .. }),
            ) => return Err(e),
            Err(e) => e,
        };
        tracing::debug!(%api_error, "room API failed; trying the live page");
        match self.via_html(username).await {
            Ok(info) => Ok(info),
            // The page's answer is the more telling one when it is definite.
            Err(
                e @ (LookupError::Blocked { .. }
                | LookupError::UserNotFound { .. }
                | LookupError::AgeRestricted { .. }),
            ) => Err(e),
            Err(html_error) => {
                tracing::debug!(%html_error, "live page failed too");
                Err(api_error)
            }
        }
    }

    async fn via_api(&self, username: &str) -> Result<RoomInfo, LookupError> {
        let url = format!("{}/api-live/user/room/", self.web_base);
        let response = self
            .http
            .get(&url)
            .query(&[
                ("aid", "1988"),
                ("sourceType", "54"),
                ("uniqueId", username),
            ])
            .header("User-Agent", self.preset.user_agent)
            .header("Accept", "application/json, text/plain, */*")
            .header("Referer", format!("{}/", self.web_base))
            .send()
            .await
            .map_err(|e| LookupError::Transport(describe(e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(LookupError::Status { url, status });
        }
        let body = read_limited(response, MAX_LOOKUP_BODY_BYTES)
            .await
            .map_err(LookupError::Transport)?;
        parse_api_response(&body, username)
    }

    async fn via_html(&self, username: &str) -> Result<RoomInfo, LookupError> {
        let url = format!("{}/@{username}/live", self.web_base);
        let response = self
            .http
            .get(&url)
            .header("User-Agent", self.preset.user_agent)
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .map_err(|e| LookupError::Transport(describe(e)))?;
        let status = response.status().as_u16();
        if status == 403 {
            return Err(LookupError::Blocked {
                username: username.into(),
                reason: "live page answered HTTP 403".into(),
            });
        }
        if status != 200 {
            return Err(LookupError::Status { url, status });
        }
        let body = read_limited(response, MAX_LOOKUP_BODY_BYTES)
            .await
            .map_err(LookupError::Transport)?;
        parse_live_html(&String::from_utf8_lossy(&body), username)
    }
}

/// Parses the `api-live/user/room` JSON.
pub fn parse_api_response(body: &[u8], username: &str) -> Result<RoomInfo, LookupError> {
    let malformed = |detail: String| LookupError::Malformed {
        username: username.into(),
        detail,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("empty body".into()));
    }
    let json: Value = match serde_json::from_slice(body) {
        Ok(json) => json,
        Err(e) => {
            let text = String::from_utf8_lossy(body);
            if looks_like_captcha(&text) {
                return Err(LookupError::Blocked {
                    username: username.into(),
                    reason: "room API answered with a captcha page".into(),
                });
            }
            return Err(malformed(format!("not JSON: {e}")));
        }
    };
    let code = json.get("statusCode").and_then(Value::as_i64).unwrap_or(0);
    let message = json.get("message").and_then(Value::as_str).unwrap_or("");
    if message == "user_not_found" || code == USER_NOT_FOUND_CODE {
        return Err(LookupError::UserNotFound {
            username: username.into(),
            detail: format!("{message} / {code}"),
        });
    }
    if code == AGE_RESTRICTED_CODE {
        return Err(LookupError::AgeRestricted {
            username: username.into(),
        });
    }
    if code != 0 {
        return Err(malformed(format!("statusCode {code} {message:?}")));
    }
    let data = json
        .get("data")
        .ok_or_else(|| malformed("no `data`".into()))?;
    room_from_json(data, username, LookupPath::Api).ok_or_else(|| malformed("no `user`".into()))
}

/// Parses the `SIGI_STATE` JSON out of a `/@user/live` page.
pub fn parse_live_html(html: &str, username: &str) -> Result<RoomInfo, LookupError> {
    let Some(json_text) = sigi_state(html) else {
        let reason = if looks_like_captcha(html) {
            "live page is a captcha / verify page"
        } else {
            "live page has no SIGI_STATE (anti-bot shell?)"
        };
        return Err(LookupError::Blocked {
            username: username.into(),
            reason: reason.into(),
        });
    };
    let json: Value = serde_json::from_str(json_text).map_err(|e| LookupError::Malformed {
        username: username.into(),
        detail: format!("SIGI_STATE is not JSON: {e}"),
    })?;
    let Some(info) = json.pointer("/LiveRoom/liveRoomUserInfo") else {
        return Err(LookupError::UserNotFound {
            username: username.into(),
            detail: "no LiveRoom in the live page".into(),
        });
    };
    room_from_json(info, username, LookupPath::Html).ok_or_else(|| LookupError::Malformed {
        username: username.into(),
        detail: "SIGI_STATE has no user".into(),
    })
}

/// Reads `{ user: {roomId, status}, liveRoom: {status, liveRoomStats: {userCount}} }` and
/// the profile around it.
fn room_from_json(data: &Value, username: &str, via: LookupPath) -> Option<RoomInfo> {
    let user = data.get("user")?;
    let room_id = match user.get("roomId") {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    };
    let live_room = data.get("liveRoom");
    let status = live_room
        .and_then(|r| r.get("status"))
        .and_then(Value::as_i64)
        .or_else(|| user.get("status").and_then(Value::as_i64))
        .unwrap_or(0);
    let viewers = live_room
        .and_then(|r| r.pointer("/liveRoomStats/userCount"))
        .and_then(Value::as_u64);
    let checked_at = SystemTime::now();
    Some(RoomInfo {
        username: username.into(),
        room_id,
        status,
        viewers,
        checked_at,
        via,
        profile: Profile::from_json(data, username, room_id, status, via, checked_at),
    })
}

/// The text inside `<script id="SIGI_STATE" ...>...</script>`.
fn sigi_state(html: &str) -> Option<&str> {
    let at = html.find("id=\"SIGI_STATE\"")?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find("</script>")?;
    Some(&rest[start..start + end])
}

fn looks_like_captcha(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("tiktok-verify-page") || lower.contains("captcha")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_normalise() {
        for input in [
            "@Maya_Fami",
            "maya_fami",
            " https://www.tiktok.com/@Maya_Fami/live ",
            "https://www.tiktok.com/@maya_fami?lang=en",
            "tiktok.com/@maya_fami/live/",
        ] {
            assert_eq!(normalise_username(input).unwrap(), "maya_fami", "{input}");
        }
        for bad in ["", "@", "https://www.tiktok.com/", "a b", "x/y"] {
            assert!(normalise_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn api_answers_map_to_rooms_and_errors() {
        let live = br#"{"statusCode":0,"message":"","data":{"user":{"roomId":"7300000000000000001","status":2},"liveRoom":{"status":2,"liveRoomStats":{"userCount":42}}}}"#;
        let info = parse_api_response(live, "u").unwrap();
        assert!(info.is_live());
        assert_eq!(info.room_id, 7_300_000_000_000_000_001);
        assert_eq!(info.viewers, Some(42));

        let ended =
            br#"{"statusCode":0,"data":{"user":{"roomId":"7300000000000000001","status":4}}}"#;
        assert!(!parse_api_response(ended, "u").unwrap().is_live());
        let zero = br#"{"statusCode":0,"data":{"user":{"roomId":"0","status":2}}}"#;
        assert!(!parse_api_response(zero, "u").unwrap().is_live());

        let missing = br#"{"statusCode":19881007,"message":"user_not_found","data":{}}"#;
        assert!(matches!(
            parse_api_response(missing, "u"),
            Err(LookupError::UserNotFound { .. })
        ));
        let age = br#"{"statusCode":4003110,"message":"","data":{}}"#;
        assert!(matches!(
            parse_api_response(age, "u"),
            Err(LookupError::AgeRestricted { .. })
        ));
        let captcha = b"<html><div id=\"tiktok-verify-page\">captcha</div></html>";
        assert!(matches!(
            parse_api_response(captcha, "u"),
            Err(LookupError::Blocked { .. })
        ));
        assert!(matches!(
            parse_api_response(b"", "u"),
            Err(LookupError::Malformed { .. })
        ));
    }

    #[test]
    fn live_page_sigi_state_is_read() {
        let html = r#"<html><script id="SIGI_STATE" type="application/json">{"LiveRoom":{"liveRoomUserInfo":{"user":{"roomId":"123","status":2},"liveRoom":{"status":2}}}}</script></html>"#;
        let info = parse_live_html(html, "u").unwrap();
        assert_eq!(
            (info.room_id, info.status, info.via),
            (123, 2, LookupPath::Html)
        );
        let none = r#"<script id="SIGI_STATE" type="application/json">{"AppContext":{}}</script>"#;
        assert!(matches!(
            parse_live_html(none, "u"),
            Err(LookupError::UserNotFound { .. })
        ));
        assert!(matches!(
            parse_live_html("<html>please wait</html>", "u"),
            Err(LookupError::Blocked { .. })
        ));
    }
}
