//! The frames the client sends: `im_enter_room`, `hb` and `ack` push frames (doc §2.7).

use bytes::Bytes;
use prost::Message;
use rand::Rng;

use crate::proto;

/// `im_enter_room`: sent right after the 101, before the first heartbeat. Without it a
/// valid socket can stay silent.
pub fn enter_room_frame(room_id: u64, cursor: &str) -> Bytes {
    let enter = proto::WebcastImEnterRoomMessage {
        room_id,
        live_id: 12,
        identity: "audience".into(),
        cursor: cursor.into(),
        // A random positive id the server echoes, so a switched room cannot bleed into this one.
        enter_unique_id: rand::rng().random_range(1..i64::MAX),
        filter_welcome_msg: "0".into(),
        ..Default::default()
    };
    push_frame(0, "im_enter_room", enter.encode_to_vec())
}

/// `hb` with the room id and a sequence number that starts at 1 and rises per heartbeat.
pub fn heartbeat_frame(room_id: u64, seq: u64) -> Bytes {
    let hb = proto::HeartBeatMessage {
        room_id,
        send_packet_seq_id: seq,
    };
    push_frame(0, "hb", hb.encode_to_vec())
}

/// `ack` for a `msg` frame with `need_ack`: its `log_id` echoed, and the batch's
/// `internal_ext` as the payload (`-` when empty).
pub fn ack_frame(log_id: u64, internal_ext: &str) -> Bytes {
    let payload = if internal_ext.is_empty() {
        b"-".to_vec()
    } else {
        internal_ext.as_bytes().to_vec()
    };
    push_frame(log_id, "ack", payload)
}

fn push_frame(log_id: u64, payload_type: &str, payload: Vec<u8>) -> Bytes {
    proto::WebcastPushFrame {
        log_id,
        payload_encoding: "pb".into(),
        payload_type: payload_type.into(),
        payload: payload.into(),
        ..Default::default()
    }
    .encode_to_vec()
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_documented_bytes() {
        // doc §2.7, room 7300000000000000000.
        let hb = heartbeat_frame(7_300_000_000_000_000_000, 1);
        assert_eq!(
            hb.as_ref(),
            [
                0x32, 0x02, 0x70, 0x62, 0x3a, 0x02, 0x68, 0x62, 0x42, 0x0c, 0x08, 0x80, 0x80, 0xe8,
                0xe2, 0xaa, 0xea, 0xb3, 0xa7, 0x65, 0x10, 0x01
            ]
        );
        let ack = ack_frame(123_456_789, "");
        assert_eq!(
            ack.as_ref(),
            [
                0x10, 0x95, 0x9a, 0xef, 0x3a, 0x32, 0x02, 0x70, 0x62, 0x3a, 0x03, 0x61, 0x63, 0x6b,
                0x42, 0x01, 0x2d
            ]
        );
        let enter = proto::WebcastPushFrame::decode(enter_room_frame(5, "c")).unwrap();
        assert_eq!(enter.payload_type, "im_enter_room");
        let body = proto::WebcastImEnterRoomMessage::decode(enter.payload).unwrap();
        assert_eq!(
            (body.room_id, body.live_id, body.identity.as_str()),
            (5, 12, "audience")
        );
        assert!(body.enter_unique_id > 0);
    }
}
