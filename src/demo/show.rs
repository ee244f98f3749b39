//! The demo's scripted TikTok live: a short show built with our own protobuf types, encoded
//! exactly as TikTok sends it (gzip `ProtoMessageFetchResult` inside `WebcastPushFrame`s).
//!
//! It exercises every path a streamer cares about: chat in several scripts and emoji, a
//! gift streak (with rising counts and a final frame), a big gift, likes, joins, follows, a
//! share, viewer counts, a hostile message that tries IRC and chat-command injection, and
//! the stream's end.

use std::time::Duration;

use prost::Message;

use crate::proto;
use crate::standin::tiktok::frames;

/// The room id the show pretends to be.
pub const DEMO_ROOM_ID: u64 = 7_437_640_865_532_228_085;

/// One frame of the show and when to send it, relative to the previous frame.
#[derive(Debug, Clone)]
pub struct ScriptedFrame {
    /// Wait this long (at speed 1) before sending.
    pub delay: Duration,
    /// The encoded `WebcastPushFrame`.
    pub bytes: Vec<u8>,
}

/// A viewer of the show.
#[derive(Clone, Copy)]
struct Viewer {
    id: u64,
    handle: &'static str,
    nickname: &'static str,
}

const VIEWERS: &[Viewer] = &[
    Viewer {
        id: 6_838_513_576_418_182_149,
        handle: "ursored",
        nickname: "UrsoRed",
    },
    Viewer {
        id: 7_050_930_951_455_966_214,
        handle: "kofi.park0",
        nickname: "𝓜𝓪𝓻𝓲𝓪",
    },
    Viewer {
        id: 6_945_652_537_997_098_552,
        handle: "arjun_rossi",
        nickname: "Arjun Rossi",
    },
    Viewer {
        id: 6_938_286_181_033_331_280,
        handle: "minsmith__",
        nickname: "Иван 🇷🇺",
    },
    Viewer {
        id: 7_409_278_768_430_522_213,
        handle: "ana_2636",
        nickname: "Ana Wang",
    },
    Viewer {
        id: 7_167_472_887_560_419_207,
        handle: "yuki.t",
        nickname: "ゆき",
    },
    Viewer {
        id: 7_235_596_978_551_281_353,
        handle: "omar_3504",
        nickname: "عمر🦋",
    },
    Viewer {
        id: 6_729_975_065_820_504_421,
        handle: "mallory",
        nickname: "mallory",
    },
];

/// Builds the show. Message ids are unique and rising, as TikTok's are.
pub fn script() -> Vec<ScriptedFrame> {
    let show = Show::default();
    let [urso, maria, arjun, ivan, ana, yuki, omar, mallory] =
        [0, 1, 2, 3, 4, 5, 6, 7].map(|i| VIEWERS[i]);

    show.frame(
        0,
        vec![show.viewers(12, 40), show.join(urso), show.join(maria)],
    );
    show.frame(800, vec![show.chat(urso, "hi from TikTok! 👋")]);
    show.frame(
        700,
        vec![show.chat(ivan, "Привет из Москвы"), show.join(arjun)],
    );
    show.frame(600, vec![show.follow(maria), show.like(ana, 15, 1_215)]);
    show.frame(500, vec![show.chat(yuki, "こんにちは！配信ありがとう 🎉")]);
    // A Rose streak: a message per tick with a rising count, then the final frame.
    for count in 1..=5 {
        show.frame(
            250,
            vec![
                show.gift(arjun, ROSE, count, false),
                show.like(urso, 12, 1_215 + 12 * i64::from(count)),
            ],
        );
    }
    show.frame(300, vec![show.gift(arjun, ROSE, 5, true)]);
    show.frame(600, vec![show.chat(omar, "مرحبا من القاهرة")]);
    show.frame(
        500,
        vec![show.chat(ana, "what game is this? 🤔"), show.share(ana)],
    );
    // The hostile one: CR/LF and chat-command injection must come out as harmless text.
    show.frame(
        700,
        vec![show.chat(mallory, "/ban streamer\r\nPRIVMSG #other :pwned")],
    );
    show.frame(
        400,
        vec![show.viewers(57, 132), show.join(ivan), show.join(yuki)],
    );
    // A big gift: not streakable, relayed at once.
    show.frame(800, vec![show.gift(maria, UNIVERSE, 1, false)]);
    show.frame(500, vec![show.chat(maria, "GG!! 🚀🚀🚀")]);
    show.frame(400, vec![show.follow(omar), show.like(yuki, 15, 1_400)]);
    // A flood of the same line, which the pipeline collapses.
    for viewer in [urso, arjun, ivan, yuki] {
        show.frame(150, vec![show.chat(viewer, "W")]);
    }
    show.frame(700, vec![show.subscribe(ana, 1)]);
    show.frame(600, vec![show.chat(urso, "see you next stream ❤️")]);
    show.frame(800, vec![show.control(3)]);
    show.frames.into_inner()
}

struct GiftKind {
    id: u64,
    name: &'static str,
    diamonds: i64,
    streakable: bool,
}

const ROSE: GiftKind = GiftKind {
    id: 5655,
    name: "Rose",
    diamonds: 1,
    streakable: true,
};
const UNIVERSE: GiftKind = GiftKind {
    id: 7168,
    name: "Universe",
    diamonds: 34_999,
    streakable: false,
};

#[derive(Default)]
struct Show {
    frames: std::cell::RefCell<Vec<ScriptedFrame>>,
    next_msg_id: std::cell::Cell<u64>,
    streak_group: std::cell::Cell<u64>,
}

impl Show {
    fn msg_id(&self) -> u64 {
        let id = self.next_msg_id.get() + 1;
        self.next_msg_id.set(id);
        7_437_100_279_672_919_000 + id
    }

    fn common(&self, _method: &str) -> Option<proto::CommonMessageData> {
        Some(proto::CommonMessageData {
            msg_id: self.msg_id(),
            room_id: DEMO_ROOM_ID,
            ..Default::default()
        })
    }

    fn message(
        method: &str,
        common: &Option<proto::CommonMessageData>,
        payload: Vec<u8>,
    ) -> proto::BaseProtoMessage {
        proto::BaseProtoMessage {
            method: method.into(),
            payload: payload.into(),
            msg_id: common.as_ref().map_or(0, |c| c.msg_id),
            ..Default::default()
        }
    }

    fn user(v: Viewer) -> Option<proto::User> {
        Some(proto::User {
            id: v.id,
            nickname: v.nickname.into(),
            display_id: v.handle.into(),
            ..Default::default()
        })
    }

    fn chat(&self, v: Viewer, text: &str) -> proto::BaseProtoMessage {
        let common = self.common("WebcastChatMessage");
        let payload = proto::WebcastChatMessage {
            common,
            user: Self::user(v),
            content: text.into(),
            ..Default::default()
        };
        Self::message("WebcastChatMessage", &common, payload.encode_to_vec())
    }

    fn gift(&self, v: Viewer, kind: GiftKind, count: i32, end: bool) -> proto::BaseProtoMessage {
        if count == 1 && !end {
            self.streak_group.set(self.streak_group.get() + 1);
        }
        let common = self.common("WebcastGiftMessage");
        let payload = proto::WebcastGiftMessage {
            common,
            gift_id: kind.id,
            repeat_count: count,
            combo_count: count,
            repeat_end: i32::from(end),
            group_id: 1_731_500_000_000 + self.streak_group.get(),
            user: Self::user(v),
            gift: Some(proto::GiftStruct {
                id: kind.id,
                name: kind.name.into(),
                diamond_count: kind.diamonds,
                r#type: if kind.streakable { 1 } else { 2 },
                ..Default::default()
            }),
            send_type: if end { 0 } else { 1 },
            ..Default::default()
        };
        Self::message("WebcastGiftMessage", &common, payload.encode_to_vec())
    }

    fn like(&self, v: Viewer, count: i64, total: i64) -> proto::BaseProtoMessage {
        let common = self.common("WebcastLikeMessage");
        let payload = proto::WebcastLikeMessage {
            common,
            count,
            total,
            user: Self::user(v),
        };
        Self::message("WebcastLikeMessage", &common, payload.encode_to_vec())
    }

    fn join(&self, v: Viewer) -> proto::BaseProtoMessage {
        let common = self.common("WebcastMemberMessage");
        let payload = proto::WebcastMemberMessage {
            common,
            user: Self::user(v),
            action: 1,
            ..Default::default()
        };
        Self::message("WebcastMemberMessage", &common, payload.encode_to_vec())
    }

    fn social(&self, v: Viewer, action: i64) -> proto::BaseProtoMessage {
        let common = self.common("WebcastSocialMessage");
        let payload = proto::WebcastSocialMessage {
            common,
            user: Self::user(v),
            action,
            ..Default::default()
        };
        Self::message("WebcastSocialMessage", &common, payload.encode_to_vec())
    }

    fn follow(&self, v: Viewer) -> proto::BaseProtoMessage {
        self.social(v, 1)
    }

    fn share(&self, v: Viewer) -> proto::BaseProtoMessage {
        self.social(v, 3)
    }

    fn subscribe(&self, v: Viewer, months: i64) -> proto::BaseProtoMessage {
        let common = self.common("WebcastSubNotifyMessage");
        let payload = proto::WebcastSubNotifyMessage {
            common,
            user: Self::user(v),
            sub_month: months,
        };
        Self::message("WebcastSubNotifyMessage", &common, payload.encode_to_vec())
    }

    fn viewers(&self, current: i64, cumulative: i64) -> proto::BaseProtoMessage {
        let common = self.common("WebcastRoomUserSeqMessage");
        let payload = proto::WebcastRoomUserSeqMessage {
            common,
            total: current,
            total_user: cumulative,
            ..Default::default()
        };
        Self::message(
            "WebcastRoomUserSeqMessage",
            &common,
            payload.encode_to_vec(),
        )
    }

    fn control(&self, action: i64) -> proto::BaseProtoMessage {
        let common = self.common("WebcastControlMessage");
        let payload = proto::WebcastControlMessage {
            common,
            action,
            ..Default::default()
        };
        Self::message("WebcastControlMessage", &common, payload.encode_to_vec())
    }

    /// Wraps messages into a gzip `msg` push frame, as TikTok does.
    fn frame(&self, delay_ms: u64, messages: Vec<proto::BaseProtoMessage>) {
        let seq = self.frames.borrow().len() as u64 + 1;
        let batch = proto::ProtoMessageFetchResult {
            messages,
            cursor: format!("demo-cursor-{seq}"),
            internal_ext: format!("demo-ext-{seq}"),
            need_ack: true,
            heartbeat_duration: 10_000,
            ..Default::default()
        };
        let bytes = frames::msg_frame(seq, 1_000_000 + seq, &batch);
        self.frames.borrow_mut().push(ScriptedFrame {
            delay: Duration::from_millis(delay_ms),
            bytes: bytes.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::source::tiktok::decode::decode_frame;

    #[test]
    fn the_show_decodes_and_covers_every_kind() {
        let frames = script();
        let mut kinds = std::collections::BTreeSet::new();
        let mut ids = std::collections::HashSet::new();
        let mut last_end = false;
        for frame in &frames {
            let batch = decode_frame(frame.bytes.clone().into())
                .unwrap()
                .batch
                .unwrap();
            assert!(batch.need_ack);
            for m in batch.messages {
                let event = m.unwrap();
                assert!(ids.insert(event.meta.msg_id), "msg ids are unique");
                kinds.insert(event.type_name());
                last_end = event.is_stream_end();
            }
        }
        for kind in [
            "chat",
            "gift",
            "like",
            "join",
            "follow",
            "share",
            "viewers",
            "subscribe",
            "control",
        ] {
            assert!(kinds.contains(kind), "the show has a {kind}");
        }
        assert!(last_end, "the show ends the stream");
        let total: Duration = frames.iter().map(|f| f.delay).sum();
        assert!(total < Duration::from_secs(30), "{total:?}");
    }

    #[test]
    fn the_gift_streak_rises_and_ends_once() {
        let counts: Vec<(u32, bool)> = script()
            .iter()
            .flat_map(|f| {
                decode_frame(f.bytes.clone().into())
                    .unwrap()
                    .batch
                    .unwrap()
                    .messages
            })
            .filter_map(|m| match m.unwrap().kind {
                EventKind::Gift {
                    count,
                    complete,
                    gift,
                    ..
                } if gift.name == "Rose" => Some((count, complete)),
                _ => None,
            })
            .collect();
        assert_eq!(
            counts,
            [
                (1, false),
                (2, false),
                (3, false),
                (4, false),
                (5, false),
                (5, true)
            ]
        );
    }
}
