//! The one JSON form of an event on every output of the feed: a WebSocket message is a
//! [`FeedEvent`]; `/api/events`, webhooks and the ring file carry the same [`FeedEvent`] as
//! the `event` of an [`super::Envelope`] (`{"seq":..,"bridge":..,"event":{..}}`).
//!
//! A [`FeedEvent`] is the event's own JSON ([`crate::event`]: `type`, `v`, `platform`,
//! `msg_id`, `room_id`, `ts`, `received_at` ...) with `bridge` (which bridge it came
//! through) and, for gifts, `usd`: what the gift is worth to the creator so far (diamonds
//! per unit x count x `[pricing] usd_per_diamond`), an estimate.

use serde::Serialize;

use crate::event::{Event, EventKind};

/// One event as the feed sends it.
#[derive(Debug, Clone, Copy)]
pub struct FeedEvent<'a> {
    /// The bridge's name.
    pub bridge: &'a str,
    /// The event.
    pub event: &'a Event,
    /// US dollars per diamond, for a gift's `usd`.
    pub usd_per_diamond: f64,
}

impl FeedEvent<'_> {
    /// A gift's estimated worth to the creator in US dollars, rounded to tenths of a cent
    /// so the JSON shows `0.035`, not `0.035000000000000003`.
    pub fn usd(&self) -> Option<f64> {
        let EventKind::Gift { gift, count, .. } = &self.event.kind else {
            return None;
        };
        let usd = f64::from(gift.diamonds) * f64::from(*count) * self.usd_per_diamond;
        usd.is_finite().then(|| (usd * 1000.0).round() / 1000.0)
    }
}

impl Serialize for FeedEvent<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            bridge: &'a str,
            #[serde(flatten)]
            event: &'a Event,
            #[serde(skip_serializing_if = "Option::is_none")]
            usd: Option<f64>,
        }
        Wire {
            bridge: self.bridge,
            event: self.event,
            usd: self.usd(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Gift, Meta, User};

    #[test]
    fn a_gift_carries_its_bridge_and_usd_estimate_and_other_events_no_usd() {
        let gift = Event {
            meta: Meta {
                method: "WebcastGiftMessage".into(),
                msg_id: 9_007_199_254_740_993,
                ..Meta::default()
            },
            kind: EventKind::Gift {
                user: User::default(),
                gift: Gift {
                    id: 5879,
                    name: "Doughnut".into(),
                    diamonds: 30,
                    ..Gift::default()
                },
                count: 7,
                streak_end: true,
                complete: true,
                streak_id: 0,
                to_user: None,
            },
        };
        let json = serde_json::to_value(FeedEvent {
            bridge: "main",
            event: &gift,
            usd_per_diamond: 0.005,
        })
        .unwrap();
        assert_eq!(json["bridge"], "main");
        assert_eq!(json["type"], "gift");
        assert_eq!(json["msg_id"], "9007199254740993", "a string: past 2^53");
        assert_eq!(json["usd"], 1.05);
        let chat = Event {
            meta: Meta::default(),
            kind: EventKind::Chat {
                user: User::default(),
                text: "hi".into(),
                language: String::new(),
            },
        };
        let json = serde_json::to_value(FeedEvent {
            bridge: "main",
            event: &chat,
            usd_per_diamond: 0.005,
        })
        .unwrap();
        assert!(json.get("usd").is_none());
    }
}
