//! Hand-written decoders for the six message types that are ~96% of a live's traffic
//! (chat, like, member, gift, social, viewer counts), producing the very prost structs
//! `decode_kind` maps.
//!
//! They read the same declared fields with the same protobuf rules as prost (merge into
//! the existing value for repeated embedded messages, last scalar wins, a `bool` is any
//! non-zero varint, an `int32` the low 32 bits), over a borrowed slice with [`walk`]. When
//! they meet anything unusual they give up and [`decode`] hands the bytes to prost, whose
//! answer (value or error) is then the answer. The equivalence is tested field by field
//! against prost on the real captures, the synthetic corpus and random mutations (the
//! tests below), and event by event in `tests/decode_props.rs` and the `decode_message`
//! fuzz target.

use prost::Message;

use super::MethodName;
use super::proto_walker::{Unusual, walk};
use crate::proto;

mod messages;

/// A `WebcastPushFrame`, borrowed (its headers are checked, not kept: the bytes say
/// whether the payload is gzip).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct PushFrame<'a> {
    pub seq_id: u64,
    pub log_id: u64,
    pub payload_encoding: &'a str,
    pub payload_type: &'a str,
    pub payload: &'a [u8],
}

impl<'a> From<&'a proto::WebcastPushFrame> for PushFrame<'a> {
    /// The same view of a frame prost decoded (the fallback path).
    fn from(frame: &'a proto::WebcastPushFrame) -> Self {
        Self {
            seq_id: frame.seq_id,
            log_id: frame.log_id,
            payload_encoding: &frame.payload_encoding,
            payload_type: &frame.payload_type,
            payload: &frame.payload,
        }
    }
}

/// Reads a push frame's envelope without copying.
pub(super) fn push_frame(buf: &[u8]) -> Result<PushFrame<'_>, Unusual> {
    let mut out = PushFrame::default();
    walk(buf, |number, value| {
        match number {
            1 => out.seq_id = value.varint()?,
            2 => out.log_id = value.varint()?,
            3 | 4 => {
                value.varint()?;
            }
            5 => {
                map_entry(value.bytes()?)?;
            }
            6 => out.payload_encoding = value.str()?,
            7 => out.payload_type = value.str()?,
            8 => out.payload = value.bytes()?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

/// One `BaseProtoMessage` of a batch, borrowed from the inflated bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Envelope<'a> {
    /// Names the protobuf type of `payload`.
    pub method: MethodName<'a>,
    /// The message itself.
    pub payload: &'a [u8],
    /// The envelope's message id (0 when absent).
    pub msg_id: u64,
    /// TikTok's own history flag.
    pub is_history: bool,
}

/// A `ProtoMessageFetchResult`, borrowed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct FetchResult<'a> {
    pub messages: Vec<Envelope<'a>>,
    pub cursor: &'a str,
    pub internal_ext: &'a str,
    pub push_server: &'a str,
    /// The `map<string, string>`, as prost builds it: a repeated key keeps its last value.
    pub route_params: Vec<(&'a str, &'a str)>,
    pub heartbeat_duration: i64,
    pub now: i64,
    pub need_ack: bool,
    pub is_first: bool,
}

impl<'a> From<&'a proto::BaseProtoMessage> for Envelope<'a> {
    fn from(message: &'a proto::BaseProtoMessage) -> Self {
        Self {
            method: MethodName::of(&message.method),
            payload: &message.payload,
            msg_id: message.msg_id,
            is_history: message.is_history,
        }
    }
}

impl<'a> From<&'a proto::ProtoMessageFetchResult> for FetchResult<'a> {
    /// The same view of a batch prost decoded (the fallback path).
    fn from(result: &'a proto::ProtoMessageFetchResult) -> Self {
        Self {
            messages: result.messages.iter().map(Envelope::from).collect(),
            cursor: &result.cursor,
            internal_ext: &result.internal_ext,
            push_server: &result.push_server,
            route_params: result
                .route_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            heartbeat_duration: result.heartbeat_duration,
            now: result.now,
            need_ack: result.need_ack,
            is_first: result.is_first,
        }
    }
}

/// Reads a batch's envelope without copying anything but the message list.
pub(super) fn fetch_result(buf: &[u8]) -> Result<FetchResult<'_>, Unusual> {
    let mut out = FetchResult::default();
    walk(buf, |number, value| {
        match number {
            1 => out.messages.push(envelope(value.bytes()?)?),
            2 => out.cursor = value.str()?,
            4 => out.now = value.int64()?,
            5 => out.internal_ext = value.str()?,
            8 => out.heartbeat_duration = value.int64()?,
            9 => out.need_ack = value.bool()?,
            10 => out.push_server = value.str()?,
            11 => out.is_first = value.bool()?,
            // Declared and unread: prost would still refuse another wire type.
            3 | 6 => {
                value.varint()?;
            }
            7 => {
                let (key, value) = map_entry(value.bytes()?)?;
                match out.route_params.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = value,
                    None => out.route_params.push((key, value)),
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

/// One entry of a `map<string, string>` (or a `PushHeader`, the same on the wire): an
/// embedded message of `key = 1`, `value = 2`.
fn map_entry(buf: &[u8]) -> Result<(&str, &str), Unusual> {
    let (mut key, mut value) = ("", "");
    walk(buf, |number, field| {
        match number {
            1 => key = field.str()?,
            2 => value = field.str()?,
            _ => {}
        }
        Ok(())
    })?;
    Ok((key, value))
}

fn envelope(buf: &[u8]) -> Result<Envelope<'_>, Unusual> {
    let mut out = Envelope {
        method: MethodName::Other(""),
        payload: &[],
        msg_id: 0,
        is_history: false,
    };
    walk(buf, |number, value| {
        match number {
            // A mapped method is valid UTF-8 by construction: only the others are checked.
            1 => {
                out.method = match super::mapped_method(value.bytes()?) {
                    Some(known) => MethodName::Mapped(known),
                    None => MethodName::Other(value.str()?),
                }
            }
            2 => out.payload = value.bytes()?,
            3 => out.msg_id = value.varint()?,
            4 | 5 => {
                value.varint()?;
            }
            6 => out.is_history = value.bool()?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

/// A message type with a hand-written decoder.
pub(super) trait FastDecode: Message + Default {
    /// Merges the fields in `buf` into `self`, as prost's `merge` would.
    fn merge_fast(&mut self, buf: &[u8]) -> Result<(), Unusual>;
}

/// Decodes `buf` with the fast decoder, or with prost when the fast one gives up.
pub(super) fn decode<M: FastDecode>(buf: &[u8]) -> Result<M, prost::DecodeError> {
    let mut message = M::default();
    match message.merge_fast(buf) {
        Ok(()) => Ok(message),
        Err(Unusual) => M::decode(buf),
    }
}

#[cfg(test)]
mod seed_messages;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use bytes::Bytes;
    use proptest::prelude::*;

    use super::seed_messages::full_gift;
    use super::*;
    use crate::source::tiktok::capture::{FrameReader, parse_payload_line};

    /// Every `(method, payload)` of the real captures and the synthetic corpus in
    /// `../shared` (empty, with a message, when this checkout has none beside it).
    fn shared() -> Option<PathBuf> {
        let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
        if shared.is_dir() {
            Some(shared)
        } else {
            // tests/support/prereq.rs's rule: CI sets TIKTWITCH_REQUIRE_ALL=1.
            if std::env::var("TIKTWITCH_REQUIRE_ALL").as_deref() == Ok("1") {
                panic!(
                    "{} is absent, and TIKTWITCH_REQUIRE_ALL=1",
                    shared.display()
                );
            }
            eprintln!("SKIPPED: {} is absent (CI always has it)", shared.display());
            None
        }
    }

    /// Every inflated batch of the real capture and the synthetic corpus.
    fn shared_batches() -> Vec<Bytes> {
        let Some(shared) = shared() else {
            return Vec::new();
        };
        let real = shared.join("fixtures/webcast/real-2026/batch.pb");
        let mut out = vec![Bytes::from(std::fs::read(real).unwrap())];
        let frames = std::fs::File::open(shared.join("corpus/frames.bin")).unwrap();
        for frame in FrameReader::new(std::io::BufReader::new(frames)) {
            let frame = proto::WebcastPushFrame::decode(frame.unwrap()).unwrap();
            out.push(super::super::gunzip(&frame.payload).unwrap().into());
        }
        out
    }

    fn shared_messages() -> Vec<(String, Bytes)> {
        let Some(shared) = shared() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for batch in shared_batches() {
            let result = proto::ProtoMessageFetchResult::decode(batch).expect("fetch result");
            out.extend(result.messages.into_iter().map(|m| (m.method, m.payload)));
        }
        let webcast = shared.join("fixtures/webcast");
        let lines = std::fs::read_to_string(webcast.join("real-2023.jsonl")).unwrap();
        for (n, line) in lines.lines().enumerate() {
            out.push(parse_payload_line(n + 1, line).unwrap());
        }
        for (file, method) in [
            (
                "real-2023-single/MessageWebcastChatMessage.bin",
                "WebcastChatMessage",
            ),
            (
                "real-2023-single/MessageWebcastGiftMessage.bin",
                "WebcastGiftMessage",
            ),
            (
                "real-2023-single/MessageWebcastSocialMessage.bin",
                "WebcastSocialMessage",
            ),
            (
                "real-2023-single/WebcastMemberMessage.bin",
                "WebcastMemberMessage",
            ),
            // Misnamed upstream: it holds a member message.
            ("real-2023-single/LikeMessage.bin", "WebcastMemberMessage"),
            ("real-2026/chat.pb", "WebcastChatMessage"),
            ("real-2026/gift.pb", "WebcastGiftMessage"),
            ("real-2026/like.pb", "WebcastLikeMessage"),
            ("real-2026/member.pb", "WebcastMemberMessage"),
            ("real-2026/social.pb", "WebcastSocialMessage"),
            ("real-2026/room-user.pb", "WebcastRoomUserSeqMessage"),
        ] {
            let bytes = std::fs::read(webcast.join(file)).unwrap();
            // The 2023 singles are one line of base64 each.
            let bytes = if file.ends_with(".bin") {
                use base64::Engine;
                let text = String::from_utf8(bytes).unwrap();
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .unwrap()
            } else {
                bytes
            };
            out.push((method.to_owned(), bytes.into()));
        }
        out
    }

    /// The fast decoder of `M` must take `payload` without falling back, and agree with
    /// prost on every field.
    fn takes_and_matches<M: FastDecode + std::fmt::Debug + PartialEq>(payload: &[u8]) {
        let mut fast = M::default();
        assert_eq!(fast.merge_fast(payload), Ok(()), "the fast path gave up");
        assert_eq!(fast, M::decode(payload).expect("prost decodes it"));
    }

    #[test]
    fn every_real_and_corpus_message_takes_the_fast_path_and_matches_prost() {
        let mut checked = 0;
        for (method, payload) in shared_messages() {
            let p = payload.as_ref();
            match method.as_str() {
                "WebcastChatMessage" => takes_and_matches::<proto::WebcastChatMessage>(p),
                "WebcastLikeMessage" => takes_and_matches::<proto::WebcastLikeMessage>(p),
                "WebcastMemberMessage" => takes_and_matches::<proto::WebcastMemberMessage>(p),
                "WebcastGiftMessage" => takes_and_matches::<proto::WebcastGiftMessage>(p),
                "WebcastSocialMessage" => takes_and_matches::<proto::WebcastSocialMessage>(p),
                "WebcastRoomUserSeqMessage" => {
                    takes_and_matches::<proto::WebcastRoomUserSeqMessage>(p)
                }
                _ => continue,
            }
            checked += 1;
        }
        if checked > 0 {
            // The corpus alone has 43,678 of these; the real captures add the rest.
            assert!(checked > 43_678, "only {checked} messages checked");
        }
    }

    /// The fast envelope reader against prost: `Ok` only where prost reads the same.
    fn envelope_agrees(buf: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(mut fast) = fetch_result(buf) {
            let prost = proto::ProtoMessageFetchResult::decode(buf);
            prop_assert!(prost.is_ok(), "fast read what prost refuses: {prost:?}");
            let prost = prost.unwrap();
            let mut theirs = FetchResult::from(&prost);
            // prost's map is a HashMap: compare the parameters as sets.
            fast.route_params.sort();
            theirs.route_params.sort();
            prop_assert_eq!(fast, theirs);
        }
        Ok(())
    }

    /// The fast push-frame reader against prost: `Ok` only where prost reads the same.
    fn push_frame_agrees(buf: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(fast) = push_frame(buf) {
            let prost = proto::WebcastPushFrame::decode(buf);
            prop_assert!(prost.is_ok(), "fast read what prost refuses: {prost:?}");
            let prost = prost.unwrap();
            prop_assert_eq!(fast, PushFrame::from(&prost));
        }
        Ok(())
    }

    #[test]
    fn every_corpus_frame_takes_the_fast_reader_and_matches_prost() {
        let Some(shared) = shared() else { return };
        let frames = std::fs::File::open(shared.join("corpus/frames.bin")).unwrap();
        for frame in FrameReader::new(std::io::BufReader::new(frames)) {
            let frame = frame.unwrap();
            assert!(push_frame(&frame).is_ok());
            push_frame_agrees(&frame).unwrap();
        }
    }

    #[test]
    fn every_corpus_batch_takes_the_fast_envelope_and_matches_prost() {
        let batches = shared_batches();
        let mut with_params = 0;
        for (n, batch) in batches.iter().enumerate() {
            let fast = fetch_result(batch).unwrap_or_else(|_| panic!("batch {n} left to prost"));
            with_params += usize::from(!fast.route_params.is_empty());
            envelope_agrees(batch).unwrap();
        }
        assert!(
            batches.is_empty() || with_params > 0,
            "the map is exercised"
        );
    }

    /// The fallback-backed decoder and prost agree: the same value, or both an error.
    fn agree<M: FastDecode + std::fmt::Debug + PartialEq>(
        payload: &[u8],
    ) -> Result<(), TestCaseError> {
        match (decode::<M>(payload), M::decode(payload)) {
            (Ok(fast), Ok(prost)) => prop_assert_eq!(fast, prost),
            (Err(_), Err(_)) => {}
            (fast, prost) => prop_assert!(false, "fast {fast:?} but prost {prost:?}"),
        }
        // And whenever the fast path itself accepts, prost must agree on the value.
        let mut fast = M::default();
        if fast.merge_fast(payload).is_ok() {
            prop_assert_eq!(Ok(fast), M::decode(payload));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn fast_and_prost_agree_on_mutated_messages(
            seed in any::<u64>(),
            text in "\\PC{0,12}",
            // A second encoding appended: protobuf's merge of repeated occurrences.
            twice in any::<bool>(),
            flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(),
            junk in prop::collection::vec(any::<u8>(), 0..24),
        ) {
            let mut bytes = full_gift(seed, &text).encode_to_vec();
            if twice {
                bytes.extend(full_gift(seed.rotate_left(9), "second").encode_to_vec());
            }
            let len = bytes.len();
            for (at, bits) in flips {
                bytes[at % len] ^= bits;
            }
            let at = cut % (len + 1);
            bytes.splice(at..at, junk);
            for payload in [&bytes[..], &bytes[..at]] {
                agree::<proto::WebcastGiftMessage>(payload)?;
                agree::<proto::WebcastChatMessage>(payload)?;
                agree::<proto::WebcastLikeMessage>(payload)?;
                agree::<proto::WebcastMemberMessage>(payload)?;
                agree::<proto::WebcastSocialMessage>(payload)?;
                agree::<proto::WebcastRoomUserSeqMessage>(payload)?;
                agree::<proto::User>(payload)?;
            }
        }

        #[test]
        fn the_fast_envelope_and_prost_agree_on_mutated_batches(
            seed in any::<u64>(),
            flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(),
        ) {
            let batch = proto::ProtoMessageFetchResult {
                messages: (0..3)
                    .map(|n| proto::BaseProtoMessage {
                        method: "WebcastGiftMessage".into(),
                        payload: full_gift(seed.wrapping_add(n), "x").encode_to_vec().into(),
                        msg_id: seed ^ n,
                        msg_type: 1,
                        offset: -(n as i64),
                        is_history: n == 1,
                    })
                    .collect(),
                cursor: format!("cursor-{seed}"),
                fetch_interval: 1000,
                now: seed as i64,
                internal_ext: "ext".into(),
                fetch_type: 2,
                heartbeat_duration: 10_000,
                need_ack: true,
                push_server: "wss://push".into(),
                is_first: seed.is_multiple_of(2),
                route_params: [("wrss", "w"), ("imprp", "i")]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), format!("{v}{seed}")))
                    .collect(),
            };
            let mut bytes = batch.encode_to_vec();
            let len = bytes.len();
            for (at, bits) in flips {
                bytes[at % len] ^= bits;
            }
            envelope_agrees(&bytes)?;
            envelope_agrees(&bytes[..cut % (len + 1)])?;
        }

        #[test]
        fn the_fast_push_frame_reader_and_prost_agree_on_mutated_frames(
            seed in any::<u64>(),
            flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(),
        ) {
            let frame = proto::WebcastPushFrame {
                seq_id: seed,
                log_id: seed.rotate_left(17),
                service: 5,
                method: -1,
                headers: vec![
                    proto::PushHeader { key: "compress_type".into(), value: "gzip".into() },
                    proto::PushHeader { key: "im-cursor".into(), value: format!("{seed}") },
                ],
                payload_encoding: "pb".into(),
                payload_type: "msg".into(),
                payload: full_gift(seed, "frame").encode_to_vec().into(),
            };
            let mut bytes = frame.encode_to_vec();
            let len = bytes.len();
            for (at, bits) in flips {
                bytes[at % len] ^= bits;
            }
            push_frame_agrees(&bytes)?;
            push_frame_agrees(&bytes[..cut % (len + 1)])?;
        }

        #[test]
        fn fast_and_prost_agree_on_random_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            agree::<proto::WebcastChatMessage>(&bytes)?;
            agree::<proto::WebcastGiftMessage>(&bytes)?;
            agree::<proto::User>(&bytes)?;
            envelope_agrees(&bytes)?;
            push_frame_agrees(&bytes)?;
        }
    }
}
