//! Builders for the frames the fake pushes: `msg` push frames around fetch results, and
//! the few messages a script needs (chat, gift, control).

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message;

use crate::proto;

/// A `msg` push frame around `result`, gzipped (header `compress_type=gzip`) like TikTok's.
pub fn msg_frame(seq_id: u64, log_id: u64, result: &proto::ProtoMessageFetchResult) -> Bytes {
    let raw = result.encode_to_vec();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&raw);
    let payload = gz.finish().unwrap_or_default();
    proto::WebcastPushFrame {
        seq_id,
        log_id,
        headers: vec![proto::PushHeader {
            key: "compress_type".into(),
            value: "gzip".into(),
        }],
        payload_encoding: "pb".into(),
        payload_type: "msg".into(),
        payload: payload.into(),
        ..Default::default()
    }
    .encode_to_vec()
    .into()
}

/// A fetch result carrying `messages`, asking for an ack with `internal_ext`.
pub fn batch(
    messages: Vec<proto::BaseProtoMessage>,
    internal_ext: &str,
) -> proto::ProtoMessageFetchResult {
    proto::ProtoMessageFetchResult {
        messages,
        cursor: format!("fake-cursor-{internal_ext}"),
        internal_ext: internal_ext.into(),
        need_ack: true,
        ..Default::default()
    }
}

fn common(msg_id: u64, room_id: u64) -> Option<proto::CommonMessageData> {
    Some(proto::CommonMessageData {
        msg_id,
        room_id,
        ..Default::default()
    })
}

/// A `WebcastChatMessage` from `username` saying `text`.
pub fn chat_message(
    msg_id: u64,
    room_id: u64,
    username: &str,
    text: &str,
) -> proto::BaseProtoMessage {
    let chat = proto::WebcastChatMessage {
        common: common(msg_id, room_id),
        user: Some(proto::User {
            id: 6_000_000_000_000_000_000 + msg_id % 1_000_000,
            nickname: username.to_uppercase(),
            display_id: username.into(),
            ..Default::default()
        }),
        content: text.into(),
        ..Default::default()
    };
    proto::BaseProtoMessage {
        method: "WebcastChatMessage".into(),
        payload: chat.encode_to_vec().into(),
        msg_id,
        ..Default::default()
    }
}

/// What a scripted gift message says.
#[derive(Debug, Clone, Copy, Default)]
pub struct GiftSpec<'a> {
    /// TikTok's gift id (5655 is the Rose).
    pub gift_id: u64,
    /// The count so far (the final count at the streak's end).
    pub repeat_count: i32,
    /// The streak ended (`repeat_end = 1`).
    pub repeat_end: bool,
    /// The streak id.
    pub group_id: u64,
    /// The message's own gift struct `(name, diamonds, type)`; `None` leaves it out, as
    /// some real messages do, so only the gift catalogue can name the gift.
    pub details: Option<(&'a str, i64, i64)>,
}

/// A `WebcastGiftMessage` from `username`.
pub fn gift_message(
    msg_id: u64,
    room_id: u64,
    username: &str,
    spec: GiftSpec<'_>,
) -> proto::BaseProtoMessage {
    let GiftSpec {
        gift_id,
        repeat_count,
        repeat_end,
        group_id,
        details,
    } = spec;
    let gift = proto::WebcastGiftMessage {
        common: common(msg_id, room_id),
        gift_id,
        repeat_count,
        repeat_end: i32::from(repeat_end),
        group_id,
        user: Some(proto::User {
            id: 6_000_000_000_000_000_000 + msg_id % 1_000_000,
            nickname: username.to_uppercase(),
            display_id: username.into(),
            ..Default::default()
        }),
        gift: details.map(|(name, diamond_count, kind)| proto::GiftStruct {
            id: gift_id,
            name: name.into(),
            diamond_count,
            r#type: kind,
            ..Default::default()
        }),
        ..Default::default()
    };
    proto::BaseProtoMessage {
        method: "WebcastGiftMessage".into(),
        payload: gift.encode_to_vec().into(),
        msg_id,
        ..Default::default()
    }
}

/// A `WebcastControlMessage` (1 paused, 2 resumed, 3 ended, 4 suspended).
pub fn control_message(msg_id: u64, room_id: u64, action: i64) -> proto::BaseProtoMessage {
    let control = proto::WebcastControlMessage {
        common: common(msg_id, room_id),
        action,
        ..Default::default()
    };
    proto::BaseProtoMessage {
        method: "WebcastControlMessage".into(),
        payload: control.encode_to_vec().into(),
        msg_id,
        ..Default::default()
    }
}

/// A one-message `msg` frame (ack requested).
pub fn single(log_id: u64, message: proto::BaseProtoMessage) -> Bytes {
    msg_frame(
        log_id,
        log_id,
        &batch(vec![message], &format!("ext-{log_id}")),
    )
}
