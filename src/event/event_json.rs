//! An event's JSON form (schema version [`SCHEMA_VERSION`], `schema/events.schema.json`):
//! the envelope fields every event has (`type`, `v`, `platform`, `method`, `msg_id`,
//! `room_id`, `ts`, `received_at`, `history`), then the kind's own fields. The feed adds
//! `bridge` (and a gift's `usd`) around this, in one place (`feed::feed_json`).

use serde::{Serialize, Serializer};

use super::{Event, EventKind, is_false};

/// The version of the event JSON. 1: the fields before the envelope; 2 (issue 19) added
/// `v`, `platform`, `room_id`, `ts`, `received_at` (and on the feed `bridge`, a gift's
/// `usd`), the user's avatar, follow role, levels and badges, the gift's image, and the
/// lifecycle types. Nothing of version 1 was renamed or removed; a change that renames or
/// removes a field raises it.
pub const SCHEMA_VERSION: u32 = 2;

/// The JSON form: `type`, `v`, `platform`, `method`, ids and times, `history`, then the
/// kind's own fields. Ids are decimal strings; absent or zero ones are omitted.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "type")]
            type_name: &'static str,
            v: u32,
            platform: &'static str,
            #[serde(skip_serializing_if = "str::is_empty")]
            method: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            msg_id: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            room_id: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            ts: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            received_at: Option<i64>,
            #[serde(skip_serializing_if = "is_false")]
            history: bool,
            #[serde(flatten)]
            kind: &'a EventKind,
        }
        let meta = &self.meta;
        Wire {
            type_name: self.type_name(),
            v: SCHEMA_VERSION,
            platform: self.platform(),
            method: &meta.method,
            msg_id: (meta.msg_id != 0).then(|| meta.msg_id.to_string()),
            room_id: (meta.room_id != 0).then(|| meta.room_id.to_string()),
            ts: (meta.create_time_ms > 0).then_some(meta.create_time_ms),
            received_at: (meta.received_at_ms > 0).then_some(meta.received_at_ms),
            history: meta.history,
            kind: &self.kind,
        }
        .serialize(s)
    }
}
