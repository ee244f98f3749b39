//! Property tests: the decoder never panics (and always returns) on random or mutated input,
//! and its hand-written fast path decodes exactly what prost alone decodes.

use std::io::Write;

use bytes::Bytes;
use flate2::{Compression, write::GzEncoder};
use proptest::prelude::*;
use prost::Message;
use tiktwitch::proto;
use tiktwitch::source::tiktok::decode::{decode_frame, decode_message, decode_message_with_prost};

const METHODS: &[&str] = &[
    "WebcastChatMessage",
    "WebcastGiftMessage",
    "WebcastLikeMessage",
    "WebcastMemberMessage",
    "WebcastSocialMessage",
    "WebcastRoomUserSeqMessage",
    "WebcastControlMessage",
    "WebcastLinkMicBattle",
    "WebcastLinkMicArmies",
    "WebcastBarrageMessage",
    "SomethingUnknown",
];

/// A valid push frame holding a chat and a gift, gzip or raw.
fn valid_frame(gzip: bool) -> Vec<u8> {
    let chat = proto::WebcastChatMessage {
        user: Some(proto::User {
            id: 7_300_000_000_000_000_001,
            nickname: "Nick".into(),
            display_id: "nick".into(),
            ..Default::default()
        }),
        content: "hello".into(),
        ..Default::default()
    };
    let gift = proto::WebcastGiftMessage {
        repeat_count: 3,
        gift: Some(proto::GiftStruct {
            r#type: 1,
            name: "Rose".into(),
            diamond_count: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    let batch = proto::ProtoMessageFetchResult {
        messages: vec![
            proto::BaseProtoMessage {
                method: "WebcastChatMessage".into(),
                payload: chat.encode_to_vec().into(),
                msg_id: 1,
                ..Default::default()
            },
            proto::BaseProtoMessage {
                method: "WebcastGiftMessage".into(),
                payload: gift.encode_to_vec().into(),
                msg_id: 2,
                ..Default::default()
            },
        ],
        cursor: "c".into(),
        need_ack: true,
        ..Default::default()
    }
    .encode_to_vec();
    let payload = if gzip {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&batch).unwrap();
        enc.finish().unwrap()
    } else {
        batch
    };
    proto::WebcastPushFrame {
        payload_type: "msg".into(),
        payload_encoding: "pb".into(),
        payload: payload.into(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// One way to damage a frame.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bits: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..32).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn apply(mut frame: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if frame.is_empty() {
            break;
        }
        let len = frame.len();
        match m {
            Mutation::Flip { at, bits } => frame[at % len] ^= bits,
            Mutation::Truncate { at } => frame.truncate(at % len),
            Mutation::Insert { at, bytes } => {
                let at = at % len;
                frame.splice(at..at, bytes.iter().copied());
            }
            Mutation::Remove { at, len: n } => {
                let at = at % len;
                let end = (at + n).min(len);
                frame.drain(at..end);
            }
        }
    }
    frame
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame(Bytes::from(bytes));
    }

    #[test]
    fn mutated_frames_never_panic(
        gzip in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let frame = apply(valid_frame(gzip), &mutations);
        if let Ok(decoded) = decode_frame(Bytes::from(frame)) {
            // Whatever survives is well-formed: every message is an event or its own error.
            if let Some(batch) = decoded.batch {
                prop_assert!(batch.messages.len() <= 2 + 16);
            }
        }
    }

    #[test]
    fn the_fast_path_and_prost_agree_on_mutated_payloads(
        method in prop::sample::select(METHODS),
        mutations in prop::collection::vec(mutation(), 0..5),
    ) {
        // A real-shaped batch's messages, as the payload of every method (wrong-type
        // payloads are a fine test too: they hit declared fields with other wire types).
        let frame = valid_frame(false);
        let batch = proto::WebcastPushFrame::decode(frame.as_slice()).unwrap().payload;
        let batch = proto::ProtoMessageFetchResult::decode(batch).unwrap();
        for message in batch.messages {
            let payload = Bytes::from(apply(message.payload.to_vec(), &mutations));
            match (
                decode_message(method, payload.clone()),
                decode_message_with_prost(method, payload),
            ) {
                (Ok(fast), Ok(prost)) => prop_assert_eq!(fast, prost),
                (Err(_), Err(_)) => {}
                (fast, prost) => prop_assert!(false, "{method}: fast {fast:?}, prost {prost:?}"),
            }
        }
    }

    #[test]
    fn random_payloads_for_every_method_never_panic(
        method in prop::sample::select(METHODS),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = decode_message(method, Bytes::from(bytes));
    }
}

#[test]
fn the_unmutated_frames_decode() {
    for gzip in [false, true] {
        let batch = decode_frame(Bytes::from(valid_frame(gzip)))
            .unwrap()
            .batch
            .unwrap();
        assert_eq!(batch.messages.len(), 2);
        assert!(batch.messages.iter().all(Result::is_ok));
    }
}
