//! The room's gift catalogue: `GET {webcast}/webcast/gift/list/?aid=1988&room_id=..` ->
//! `data.gifts[]` (id, name, diamond_count, image.url_list, type), fetched once per room.
//!
//! It is optional enrichment: gift messages normally carry their own name, value and type,
//! but some omit the gift struct. [`GiftCatalogue::enrich`] fills what a gift event left
//! empty. The list is big (~2.6 MB), so the body ([`MAX_GIFT_LIST_BODY_BYTES`]) and the gift
//! count ([`MAX_CATALOGUE_GIFTS`]) are bounded, and one malformed entry is skipped rather
//! than failing the whole list.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::transport::{describe, read_limited};
use super::preset::DevicePreset;
use crate::event::{Event, EventKind};
use crate::limits::{GIFT_NAME_MAX_CHARS, MAX_CATALOGUE_GIFTS, PROFILE_URL_MAX_CHARS};

/// Why the catalogue could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The request failed (connection, timeout, body over the limit).
    #[error("gift list request failed: {0}")]
    Transport(String),
    /// A non-200 answer.
    #[error("gift list answered HTTP {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// Not the expected JSON.
    #[error("gift list is malformed: {0}")]
    Malformed(String),
    /// TikTok answered with an error code.
    #[error("gift list refused: status_code {code} {message:?}")]
    Refused {
        /// `status_code`.
        code: i64,
        /// `data.message` or `message`, when given.
        message: String,
    },
}

/// One gift of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueGift {
    /// TikTok's gift id.
    pub id: u64,
    /// Its name ("Rose").
    pub name: String,
    /// Diamonds (coins) per unit.
    pub diamonds: u32,
    /// The first image URL, when an `http(s)` one is given.
    pub image: Option<String>,
    /// TikTok's gift type (1 = streakable).
    pub kind: i64,
}

/// The gifts of one room by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GiftCatalogue {
    gifts: HashMap<u64, CatalogueGift>,
    /// Entries skipped: malformed, duplicate ids, or past [`MAX_CATALOGUE_GIFTS`].
    pub skipped: usize,
}

impl GiftCatalogue {
    /// A catalogue of `gifts` (the first of a repeated id wins; at most
    /// [`MAX_CATALOGUE_GIFTS`]).
    pub fn new(gifts: impl IntoIterator<Item = CatalogueGift>) -> Self {
        let mut catalogue = Self::default();
        for gift in gifts {
            if catalogue.gifts.len() >= MAX_CATALOGUE_GIFTS
                || catalogue.gifts.contains_key(&gift.id)
            {
                catalogue.skipped += 1;
                continue;
            }
            catalogue.gifts.insert(gift.id, gift);
        }
        catalogue
    }

    /// The gift with this id.
    pub fn get(&self, id: u64) -> Option<&CatalogueGift> {
        self.gifts.get(&id)
    }

    /// Gifts held.
    pub fn len(&self) -> usize {
        self.gifts.len()
    }

    /// True when it holds no gift.
    pub fn is_empty(&self) -> bool {
        self.gifts.is_empty()
    }

    /// Fills what a gift event left out: an empty name, zero diamonds, no image. When the
    /// message carried no gift details at all (no name, no value, not streakable) and the
    /// catalogue says the gift streaks (type 1), the event becomes a streak tick that is
    /// complete only at its end, as it would have with the details. Returns true when
    /// anything changed; other events are left alone.
    pub fn enrich(&self, event: &mut Event) -> bool {
        let EventKind::Gift {
            gift,
            streak_end,
            complete,
            ..
        } = &mut event.kind
        else {
            return false;
        };
        let Some(known) = self.get(gift.id) else {
            return false;
        };
        let bare = gift.name.is_empty() && gift.diamonds == 0 && !gift.streakable;
        let mut changed = false;
        if gift.name.is_empty() && !known.name.is_empty() {
            gift.name = known.name.clone();
            changed = true;
        }
        if gift.diamonds == 0 && known.diamonds != 0 {
            gift.diamonds = known.diamonds;
            changed = true;
        }
        if gift.image.is_none() && known.image.is_some() {
            gift.image = known.image.clone();
            changed = true;
        }
        if bare && known.kind == 1 {
            gift.streakable = true;
            *complete = *streak_end;
            changed = true;
        }
        changed
    }
}

/// The built-in price table: the gifts of the real captures (`../shared/fixtures`) with
/// their diamonds, `(id, name, diamonds)`. The fallback for a gift whose message carries no
/// details when the room's catalogue (fetched at connect, which overrides this) has none
/// either: the catalogue failed, is still loading, or lacks the gift.
pub const STATIC_GIFT_PRICES: &[(u64, &str, u32)] = &[
    (5269, "TikTok", 1),
    (5479, "Coffee", 1),
    (5487, "Finger Heart", 5),
    (5523, "Fire", 1),
    (5655, "Rose", 1),
    (5827, "Ice Cream Cone", 1),
    (5879, "Doughnut", 30),
    (6912, "Cat Paws", 1),
    (7096, "It's corn", 1),
    (7813, "Health Potion", 1),
    (7934, "Heart Me", 1),
    (9333, "LIVE Fest Clappers", 100),
    (9334, "LIVE Fest", 1),
];

/// Fills a gift's empty name and zero diamonds from [`STATIC_GIFT_PRICES`]; true when
/// anything changed. Run after [`GiftCatalogue::enrich`], so the room's catalogue wins.
pub fn fill_from_static_table(event: &mut Event) -> bool {
    let EventKind::Gift { gift, .. } = &mut event.kind else {
        return false;
    };
    let Some((_, name, diamonds)) = STATIC_GIFT_PRICES.iter().find(|(id, ..)| *id == gift.id)
    else {
        return false;
    };
    let mut changed = false;
    if gift.name.is_empty() {
        gift.name = (*name).to_string();
        changed = true;
    }
    if gift.diamonds == 0 {
        gift.diamonds = *diamonds;
        changed = true;
    }
    changed
}

/// Parses a `webcast/gift/list` answer.
pub fn parse_gift_list(body: &[u8]) -> Result<GiftCatalogue, CatalogueError> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        status_code: Option<i64>,
        #[serde(default)]
        data: Option<Data>,
    }
    #[derive(Deserialize)]
    struct Data {
        #[serde(default)]
        gifts: Option<Vec<Value>>,
        #[serde(default)]
        message: Option<Value>,
    }
    let body: Body =
        serde_json::from_slice(body).map_err(|e| CatalogueError::Malformed(e.to_string()))?;
    let code = body.status_code.unwrap_or(0);
    let data = body.data;
    if code != 0 {
        let message = data
            .as_ref()
            .and_then(|d| d.message.as_ref())
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Err(CatalogueError::Refused { code, message });
    }
    let gifts = data
        .and_then(|d| d.gifts)
        .ok_or_else(|| CatalogueError::Malformed("no data.gifts".into()))?;
    let total = gifts.len();
    let parsed: Vec<CatalogueGift> = gifts.iter().filter_map(gift_from_json).collect();
    let malformed = total - parsed.len();
    let mut catalogue = GiftCatalogue::new(parsed);
    catalogue.skipped += malformed;
    Ok(catalogue)
}

/// One `data.gifts[]` entry; `None` when it has no usable id.
fn gift_from_json(v: &Value) -> Option<CatalogueGift> {
    let number = |v: Option<&Value>| match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let id = u64::try_from(number(v.get("id"))?)
        .ok()
        .filter(|id| *id != 0)?;
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .map(|s| s.trim().chars().take(GIFT_NAME_MAX_CHARS).collect())
        .unwrap_or_default();
    let diamonds = number(v.get("diamond_count"))
        .map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
        .unwrap_or(0);
    let image = v
        .pointer("/image/url_list")
        .and_then(Value::as_array)
        .and_then(|urls| urls.iter().find_map(Value::as_str))
        .map(str::trim)
        .filter(|url| {
            let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
            (lower.starts_with("https://") || lower.starts_with("http://"))
                && url.len() <= PROFILE_URL_MAX_CHARS
                && !url.chars().any(char::is_whitespace)
        })
        .map(str::to_string);
    Some(CatalogueGift {
        id,
        name,
        diamonds,
        image,
        kind: number(v.get("type")).unwrap_or(0),
    })
}

/// Fetches and parses the gift list of `room_id` from `webcast_base`, reading at most
/// `max_bytes` of body.
pub async fn fetch_gift_catalogue(
    http: &reqwest::Client,
    webcast_base: &str,
    room_id: u64,
    preset: &DevicePreset,
    max_bytes: usize,
) -> Result<GiftCatalogue, CatalogueError> {
    let base = webcast_base.trim_end_matches('/');
    let response = http
        .get(format!("{base}/webcast/gift/list/"))
        .query(&[
            ("aid", "1988".to_string()),
            ("room_id", room_id.to_string()),
        ])
        .header("User-Agent", preset.user_agent)
        .header("Accept", "application/json, text/plain, */*")
        .header("Referer", "https://www.tiktok.com/")
        .send()
        .await
        .map_err(|e| CatalogueError::Transport(describe(e)))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(CatalogueError::Status { status });
    }
    let body = read_limited(response, max_bytes)
        .await
        .map_err(CatalogueError::Transport)?;
    parse_gift_list(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Gift, Meta, User};

    fn list(gifts: &str) -> Vec<u8> {
        format!(r#"{{"data":{{"gifts":[{gifts}]}},"extra":{{}},"status_code":0}}"#).into_bytes()
    }

    #[test]
    fn gifts_parse_with_odd_fields_skipped_not_fatal() {
        let body = list(
            r#"{"id":5655,"name":"Rose","diamond_count":1,"type":1,"image":{"url_list":["https://cdn/rose.webp","https://cdn/rose2.webp"]},"describe":"sent Rose"},
               {"id":"6369","name":" Lion ","diamond_count":"29999","type":2,"image":{"url_list":[]}},
               {"id":7,"name":12,"diamond_count":-4,"image":{"url_list":["javascript:x"]}},
               {"name":"no id"},
               {"id":"abc"},
               "not an object",
               {"id":5655,"name":"Rose again"}"#,
        );
        let c = parse_gift_list(&body).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.skipped, 4, "three without an id, one duplicate");
        let rose = c.get(5655).unwrap();
        assert_eq!(
            (rose.name.as_str(), rose.diamonds, rose.kind),
            ("Rose", 1, 1)
        );
        assert_eq!(rose.image.as_deref(), Some("https://cdn/rose.webp"));
        let lion = c.get(6369).unwrap();
        assert_eq!(
            (lion.name.as_str(), lion.diamonds, lion.image.as_deref()),
            ("Lion", 29_999, None)
        );
        let odd = c.get(7).unwrap();
        assert_eq!(
            (odd.name.as_str(), odd.diamonds, odd.image.as_deref()),
            ("", 0, None)
        );
    }

    #[test]
    fn errors_and_bounds() {
        assert!(matches!(
            parse_gift_list(br#"{"data":{"message":"params_error"},"status_code":10011}"#),
            Err(CatalogueError::Refused { code: 10011, message }) if message == "params_error"
        ));
        assert!(matches!(
            parse_gift_list(b"<html>captcha</html>"),
            Err(CatalogueError::Malformed(_))
        ));
        assert!(matches!(
            parse_gift_list(br#"{"data":{},"status_code":0}"#),
            Err(CatalogueError::Malformed(_))
        ));
        let many: Vec<String> = (1..=MAX_CATALOGUE_GIFTS as u64 + 10)
            .map(|id| format!(r#"{{"id":{id},"name":"g{id}","diamond_count":1}}"#))
            .collect();
        let c = parse_gift_list(&list(&many.join(","))).unwrap();
        assert_eq!(c.len(), MAX_CATALOGUE_GIFTS);
        assert_eq!(c.skipped, 10);
        let long = "n".repeat(1000);
        let c = parse_gift_list(&list(&format!(r#"{{"id":1,"name":"{long}"}}"#))).unwrap();
        assert_eq!(c.get(1).unwrap().name.chars().count(), GIFT_NAME_MAX_CHARS);
    }

    fn gift_event(gift: Gift, repeat_end: bool) -> Event {
        let complete = !gift.streakable || repeat_end;
        Event {
            meta: Meta {
                method: "WebcastGiftMessage".into(),
                ..Meta::default()
            },
            kind: EventKind::Gift {
                user: User::default(),
                gift,
                count: 3,
                streak_end: repeat_end,
                complete,
                streak_id: 1,
                to_user: None,
            },
        }
    }

    fn parts(event: &Event) -> (Gift, bool) {
        match &event.kind {
            EventKind::Gift { gift, complete, .. } => (gift.clone(), *complete),
            _ => unreachable!(),
        }
    }

    #[test]
    fn enrich_fills_only_what_the_message_left_out() {
        let c = parse_gift_list(&list(
            r#"{"id":5655,"name":"Rose","diamond_count":1,"type":1,"image":{"url_list":["https://cdn/rose.webp"]}},
               {"id":6369,"name":"Lion","diamond_count":29999,"type":2}"#,
        ))
        .unwrap();
        // A bare streak tick: filled, and only its end is complete.
        let bare = |id, end| {
            gift_event(
                Gift {
                    id,
                    ..Gift::default()
                },
                end,
            )
        };
        let mut tick = bare(5655, false);
        assert!(
            parts(&tick).1,
            "without details the decoder calls it complete"
        );
        assert!(c.enrich(&mut tick));
        let (gift, complete) = parts(&tick);
        assert_eq!((gift.name.as_str(), gift.diamonds), ("Rose", 1));
        assert_eq!(gift.image.as_deref(), Some("https://cdn/rose.webp"));
        assert!(gift.streakable && !complete);
        let mut end = bare(5655, true);
        c.enrich(&mut end);
        assert!(parts(&end).1);
        // A non-streakable gift stays complete.
        let mut lion = bare(6369, false);
        c.enrich(&mut lion);
        assert_eq!(
            parts(&lion),
            (
                Gift {
                    id: 6369,
                    name: "Lion".into(),
                    diamonds: 29_999,
                    ..Gift::default()
                },
                true
            )
        );
        // What the message said wins.
        let said = Gift {
            id: 5655,
            name: "Rosa".into(),
            diamonds: 10,
            streakable: true,
            image: Some("https://cdn/own.webp".into()),
        };
        let mut own = gift_event(said.clone(), true);
        assert!(!c.enrich(&mut own));
        assert_eq!(parts(&own).0, said);
        // Unknown gifts and other events are left alone.
        let mut unknown = bare(1, false);
        assert!(!c.enrich(&mut unknown));
        let mut chat = Event {
            meta: Meta::default(),
            kind: EventKind::Chat {
                user: User::default(),
                text: "hi".into(),
                language: String::new(),
            },
        };
        assert!(!c.enrich(&mut chat));
    }

    #[test]
    fn the_static_table_fills_only_what_is_still_missing() {
        let bare = |id| {
            gift_event(
                Gift {
                    id,
                    ..Gift::default()
                },
                true,
            )
        };
        let mut doughnut = bare(5879);
        assert!(fill_from_static_table(&mut doughnut));
        let gift = parts(&doughnut).0;
        assert_eq!((gift.name.as_str(), gift.diamonds), ("Doughnut", 30));
        // What the message (or the catalogue before) said wins.
        let mut said = gift_event(
            Gift {
                id: 5879,
                name: "Donut".into(),
                diamonds: 31,
                ..Gift::default()
            },
            true,
        );
        assert!(!fill_from_static_table(&mut said));
        assert_eq!(parts(&said).0.diamonds, 31);
        let mut unknown = bare(1);
        assert!(!fill_from_static_table(&mut unknown));
        assert_eq!(parts(&unknown).0.diamonds, 0);
    }
}
