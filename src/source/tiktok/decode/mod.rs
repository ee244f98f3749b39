//! Pure decoding: push frame bytes -> (gunzip) -> fetch result -> one [`Event`] per message.
//!
//! Failure is contained at the smallest unit that failed: a frame whose envelope or gzip
//! stream is broken is rejected as a whole (there is nothing to salvage), but inside a good
//! batch one malformed message becomes one [`MessageError`] and its neighbours still decode.
//! Nothing here panics on any input, allocates more than
//! [`MAX_INFLATED_BYTES`](crate::limits::MAX_INFLATED_BYTES) for an inflated batch, or
//! trusts a length prefix beyond the bytes actually present.
//!
//! Speed: gzip batches inflate through a per-thread [`Inflater`] (libdeflate for the usual
//! single-member batch, a reused zlib-rs state otherwise) into a per-thread reused buffer.
//! The push frame, the batch envelope and the six message types that are nearly all of a
//! live's traffic are read by hand-written decoders over borrowed slices
//! (`decode/fast/`) that fall back to prost on anything unusual; mapped method names are
//! borrowed, not allocated. `BENCHMARKS.md` has the numbers.

use std::borrow::Cow;

use bytes::Bytes;
use prost::Message;

use crate::event::Event;
use crate::proto;

mod fast;
mod inflate;
mod kind;
mod lossy;
mod overlay_kinds;
mod proto_walker;
pub use inflate::Inflater;
use kind::{Decoder, decode_kind, event};

/// The gzip magic number; TikTok's batches start with it when compressed.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A push frame that could not be decoded at all.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The `WebcastPushFrame` envelope is not valid protobuf.
    #[error("push frame is not valid protobuf: {0}")]
    PushFrame(#[source] prost::DecodeError),
    /// The gzip stream is corrupt, truncated, or fails its CRC.
    #[error("payload does not gunzip: {0}")]
    Gunzip(#[source] std::io::Error),
    /// The payload inflates past [`MAX_INFLATED_BYTES`](crate::limits::MAX_INFLATED_BYTES).
    #[error("payload inflates past {limit} bytes; dropped as a gzip bomb")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The (inflated) payload is not a valid `ProtoMessageFetchResult`.
    #[error("fetch result is not valid protobuf: {0}")]
    FetchResult(#[source] prost::DecodeError),
}

impl FrameError {
    /// A short stable name for counting errors by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PushFrame(_) => "push_frame",
            Self::Gunzip(_) => "gunzip",
            Self::TooLarge { .. } => "too_large",
            Self::FetchResult(_) => "fetch_result",
        }
    }
}

/// One message of a batch that could not be decoded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method} message {msg_id} is not valid protobuf: {source}")]
pub struct MessageError {
    /// The message's `method`.
    pub method: String,
    /// The envelope's message id (0 when absent).
    pub msg_id: u64,
    /// What prost said.
    #[source]
    pub source: prost::DecodeError,
}

impl MessageError {
    /// A short stable name for counting errors by kind.
    pub fn kind(&self) -> &'static str {
        "message"
    }
}

/// A decoded push frame.
#[derive(Debug)]
pub struct Frame {
    /// The frame's sequence id.
    pub seq_id: u64,
    /// Echoed in the ack.
    pub log_id: u64,
    /// `msg`, `hb`, `ack`, `im_enter_room_resp` ...
    pub payload_type: String,
    /// The decoded batch, for `msg` frames with a protobuf payload.
    pub batch: Option<Batch>,
}

/// A decoded `ProtoMessageFetchResult`.
#[derive(Debug, Default)]
pub struct Batch {
    /// Resume cursor.
    pub cursor: String,
    /// Opaque; the ack payload and a socket query parameter.
    pub internal_ext: String,
    /// The frame must be acknowledged.
    pub need_ack: bool,
    /// WebSocket base URL (in the first fetch result).
    pub push_server: String,
    /// Extra socket query parameters (in the first fetch result).
    pub route_params: Vec<(String, String)>,
    /// Heartbeat interval the server asks for, in milliseconds (0 when absent).
    pub heartbeat_ms: i64,
    /// Server time, milliseconds.
    pub now_ms: i64,
    /// The first batch of a connection.
    pub is_first: bool,
    /// Every message in order: an event, or the error that message alone caused.
    pub messages: Vec<Result<Event, MessageError>>,
    /// Of those events, how many had invalid UTF-8 in a text field, decoded lossily
    /// (U+FFFD) instead of dropping the message.
    pub repaired_text: u64,
}

/// Decodes one WebSocket binary message (a `WebcastPushFrame`).
///
/// Frames that are not `msg`, or whose payload encoding is not protobuf, come back with
/// `batch: None`: they carry no events.
pub fn decode_frame(bytes: Bytes) -> Result<Frame, FrameError> {
    let decoded;
    let (frame, payload) = match fast::push_frame(&bytes) {
        Ok(frame) => (frame, bytes.slice_ref(frame.payload)),
        // Anything unusual: prost, whose answer is the answer.
        Err(_) => {
            decoded =
                proto::WebcastPushFrame::decode(bytes.clone()).map_err(FrameError::PushFrame)?;
            (fast::PushFrame::from(&decoded), decoded.payload.clone())
        }
    };
    let is_protobuf = frame.payload_encoding.is_empty() || frame.payload_encoding == "pb";
    let batch = if frame.payload_type == "msg" && is_protobuf {
        Some(decode_fetch_result(payload)?)
    } else {
        None
    };
    Ok(Frame {
        seq_id: frame.seq_id,
        log_id: frame.log_id,
        payload_type: frame.payload_type.to_owned(),
        batch,
    })
}

/// Decodes a `ProtoMessageFetchResult`, gunzipping it first when it starts with the gzip
/// magic (whatever the frame's `compress_type` header claims: the bytes are the truth).
pub fn decode_fetch_result(payload: Bytes) -> Result<Batch, FrameError> {
    if payload.starts_with(&GZIP_MAGIC) {
        // Events own their data, so the inflated batch is only needed while it is parsed:
        // it lives in this thread's reused buffer.
        inflate::with_shared(&payload, parse_fetch_result)?
    } else {
        parse_fetch_result(&payload)
    }
}

/// Decodes an inflated `ProtoMessageFetchResult`.
fn parse_fetch_result(raw: &[u8]) -> Result<Batch, FrameError> {
    let decoded;
    let result = match fast::fetch_result(raw) {
        Ok(result) => result,
        // Anything unusual: prost, whose answer is the answer.
        Err(_) => {
            decoded =
                proto::ProtoMessageFetchResult::decode(raw).map_err(FrameError::FetchResult)?;
            fast::FetchResult::from(&decoded)
        }
    };
    let mut repaired = 0;
    Ok(Batch {
        cursor: result.cursor.to_owned(),
        internal_ext: result.internal_ext.to_owned(),
        need_ack: result.need_ack,
        push_server: result.push_server.to_owned(),
        route_params: result
            .route_params
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        heartbeat_ms: result.heartbeat_duration,
        now_ms: result.now,
        is_first: result.is_first,
        messages: result
            .messages
            .iter()
            .map(|m| decode_envelope(m, &mut repaired))
            .collect(),
        repaired_text: repaired,
    })
}

/// Decodes one message of a batch: its event, or the error it alone caused.
/// `repaired` counts the messages whose text had to be decoded lossily.
fn decode_envelope(base: &fast::Envelope<'_>, repaired: &mut u64) -> Result<Event, MessageError> {
    let method = base.method.as_str();
    let (common, kind) =
        decode_kind_lossy(Decoder::Fast, method, base.payload, repaired).map_err(|source| {
            MessageError {
                method: method.to_owned(),
                msg_id: base.msg_id,
                source,
            }
        })?;
    let mut event = event(base.method.to_name(), common, kind);
    // The envelope's id is always there in real pushes; the header's is the fallback (and
    // the only one in payload captures).
    if base.msg_id != 0 {
        event.meta.msg_id = base.msg_id;
    }
    event.meta.history |= base.is_history;
    Ok(event)
}

/// [`decode_kind`], and when it fails on invalid UTF-8 in a text field, again on the
/// bytes with that text repaired (counted in `repaired`); any other failure is the error.
fn decode_kind_lossy(
    decoder: Decoder,
    method: &str,
    payload: &[u8],
    repaired: &mut u64,
) -> Result<(Option<proto::CommonMessageData>, crate::event::EventKind), prost::DecodeError> {
    match decode_kind(decoder, method, payload) {
        Ok(decoded) => Ok(decoded),
        Err(error) => {
            let Some((fixed, _fields)) = lossy::repair(method, payload) else {
                return Err(error);
            };
            let decoded = decode_kind(decoder, method, &fixed).map_err(|_| error)?;
            *repaired += 1;
            Ok(decoded)
        }
    }
}

/// Inflates a (possibly multi-member) gzip stream, refusing to grow past
/// [`MAX_INFLATED_BYTES`](crate::limits::MAX_INFLATED_BYTES). Uses a per-thread
/// [`Inflater`], so repeated calls reuse its states.
pub fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, FrameError> {
    inflate::gunzip_shared(compressed)
}

/// Decodes one message's payload by its `method`. A method we do not map is
/// [`EventKind::Unknown`], never an error; only a payload that is not valid protobuf for a
/// method we do map fails.
pub fn decode_message(method: &str, payload: Bytes) -> Result<Event, prost::DecodeError> {
    let (common, kind) = decode_kind_lossy(Decoder::Fast, method, &payload, &mut 0)?;
    Ok(event(MethodName::of(method).to_name(), common, kind))
}

/// [`decode_message`] with prost alone, bypassing the hand-written fast decoders: the
/// reference the fast path is tested and fuzzed against. Not for production use (slower,
/// same results).
pub fn decode_message_with_prost(
    method: &str,
    payload: Bytes,
) -> Result<Event, prost::DecodeError> {
    let (common, kind) = decode_kind_lossy(Decoder::Prost, method, &payload, &mut 0)?;
    Ok(event(MethodName::of(method).to_name(), common, kind))
}

/// Every method [`decode_kind`] maps, the commonest first. An event of one of these borrows
/// its method name from here instead of allocating it, and the batch reader checks a
/// method against this list before it bothers validating UTF-8.
const MAPPED_METHODS: [&str; 38] = [
    "WebcastChatMessage",
    "WebcastLikeMessage",
    "WebcastMemberMessage",
    "WebcastGiftMessage",
    "WebcastRoomUserSeqMessage",
    "WebcastSocialMessage",
    "WebcastEmoteChatMessage",
    "WebcastQuestionNewMessage",
    "WebcastEnvelopeMessage",
    "WebcastRoomMessage",
    "RoomMessage",
    "WebcastImDeleteMessage",
    "WebcastControlMessage",
    "WebcastSubNotifyMessage",
    "WebcastLinkMicBattle",
    "WebcastLinkMicArmies",
    "WebcastLiveIntroMessage",
    "WebcastSystemMessage",
    "WebcastCaptionMessage",
    "WebcastGoalUpdateMessage",
    "WebcastPollMessage",
    "WebcastBarrageMessage",
    "WebcastRoomPinMessage",
    "WebcastRankUpdateMessage",
    "WebcastHourlyRankMessage",
    "WebcastRankTextMessage",
    "WebcastInRoomBannerMessage",
    "WebcastUnauthorizedMemberMessage",
    "WebcastOecLiveShoppingMessage",
    "WebcastMsgDetectMessage",
    "WebcastRoomVerifyMessage",
    "WebcastLinkMicBattlePunishFinish",
    "WebcastLinkmicBattleTaskMessage",
    "WebcastLinkMicFanTicketMethod",
    "WebcastLinkMicMethod",
    "LinkMicMethod",
    "WebcastLinkMessage",
    "WebcastLinkLayerMessage",
];

/// The static copy of a mapped method's name.
fn mapped_method(method: &[u8]) -> Option<&'static str> {
    MAPPED_METHODS
        .iter()
        .copied()
        .find(|known| known.as_bytes() == method)
}

/// A message's method name, looked up in [`MAPPED_METHODS`] once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MethodName<'a> {
    /// One of [`MAPPED_METHODS`].
    Mapped(&'static str),
    /// Any other, borrowed from the message.
    Other(&'a str),
}

impl<'a> MethodName<'a> {
    fn of(method: &'a str) -> Self {
        mapped_method(method.as_bytes()).map_or(Self::Other(method), Self::Mapped)
    }

    fn as_str(self) -> &'a str {
        match self {
            Self::Mapped(name) => name,
            Self::Other(name) => name,
        }
    }

    /// The name an event keeps: borrowed when mapped, owned otherwise.
    fn to_name(self) -> Cow<'static, str> {
        match self {
            Self::Mapped(name) => Cow::Borrowed(name),
            Self::Other(name) => Cow::Owned(name.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::limits::MAX_INFLATED_BYTES;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn chat_payload(text: &str) -> Vec<u8> {
        proto::WebcastChatMessage {
            common: Some(proto::CommonMessageData {
                msg_id: 42,
                ..Default::default()
            }),
            user: Some(proto::User {
                id: 7_300_000_000_000_000_001,
                nickname: "Nick".into(),
                display_id: "nick".into(),
                ..Default::default()
            }),
            content: text.into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn batch(messages: Vec<(&str, Vec<u8>)>) -> Vec<u8> {
        proto::ProtoMessageFetchResult {
            messages: messages
                .into_iter()
                .map(|(method, payload)| proto::BaseProtoMessage {
                    method: method.into(),
                    payload: payload.into(),
                    ..Default::default()
                })
                .collect(),
            cursor: "c".into(),
            need_ack: true,
            internal_ext: "ext".into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn frame(payload: Vec<u8>, payload_type: &str) -> Bytes {
        proto::WebcastPushFrame {
            log_id: 9,
            payload_type: payload_type.into(),
            payload_encoding: "pb".into(),
            headers: vec![proto::PushHeader {
                key: "compress_type".into(),
                value: "gzip".into(),
            }],
            payload: payload.into(),
            ..Default::default()
        }
        .encode_to_vec()
        .into()
    }

    #[test]
    fn a_bad_message_does_not_drop_its_batch() {
        let body = batch(vec![
            ("WebcastChatMessage", chat_payload("first")),
            ("WebcastChatMessage", vec![0xff, 0xff, 0xff]),
            ("WebcastChatMessage", chat_payload("third")),
        ]);
        let decoded = decode_frame(frame(gzip(&body), "msg")).unwrap();
        assert_eq!(decoded.log_id, 9);
        let batch = decoded.batch.unwrap();
        assert!(batch.need_ack);
        assert_eq!(batch.internal_ext, "ext");
        let texts: Vec<_> = batch
            .messages
            .iter()
            .map(|m| match m {
                Ok(Event {
                    kind: EventKind::Chat { text, .. },
                    ..
                }) => text.as_str(),
                Ok(_) => "other",
                Err(_) => "error",
            })
            .collect();
        assert_eq!(texts, ["first", "error", "third"]);
    }

    #[test]
    fn unknown_methods_are_unknown_not_errors() {
        let body = batch(vec![("WebcastSomethingNew", vec![0xff, 0x00])]);
        let b = decode_fetch_result(body.into()).unwrap();
        let event = b.messages[0].as_ref().unwrap();
        assert_eq!(event.kind, EventKind::Unknown);
        assert_eq!(event.meta.method, "WebcastSomethingNew");
    }

    #[test]
    fn raw_and_gzip_payloads_both_decode_whatever_the_header_says() {
        let body = batch(vec![("WebcastChatMessage", chat_payload("x"))]);
        for payload in [body.clone(), gzip(&body)] {
            let b = decode_frame(frame(payload, "msg")).unwrap().batch.unwrap();
            assert_eq!(b.messages.len(), 1);
            assert!(b.messages[0].is_ok());
        }
    }

    #[test]
    fn non_msg_frames_carry_no_batch() {
        for kind in ["hb", "ack", "im_enter_room_resp", ""] {
            let f = decode_frame(frame(vec![1, 2, 3], kind)).unwrap();
            assert!(f.batch.is_none(), "{kind}");
        }
    }

    #[test]
    fn every_mapped_method_is_mapped_and_borrows_its_name() {
        for method in MAPPED_METHODS {
            let event = decode_message(method, Bytes::new()).unwrap();
            assert_ne!(event.kind, EventKind::Unknown, "{method}");
            assert!(matches!(event.meta.method, Cow::Borrowed(m) if m == method));
        }
        let other = decode_message("WebcastNotMapped", Bytes::new()).unwrap();
        assert_eq!(other.kind, EventKind::Unknown);
        assert!(matches!(other.meta.method, Cow::Owned(ref m) if m == "WebcastNotMapped"));
    }

    #[test]
    fn gzip_bombs_are_refused() {
        let huge = vec![b'A'; MAX_INFLATED_BYTES + 10];
        let err = gunzip(&gzip(&huge)).unwrap_err();
        assert_eq!(err.kind(), "too_large");
    }

    #[test]
    fn gift_streak_rules() {
        let gift = |ty: i64, repeat_end: i32, count: i32| {
            let payload = proto::WebcastGiftMessage {
                gift_id: 5655,
                repeat_count: count,
                repeat_end,
                group_id: 17,
                gift: Some(proto::GiftStruct {
                    r#type: ty,
                    diamond_count: 1,
                    name: "Rose".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec();
            decode_message("WebcastGiftMessage", payload.into())
                .unwrap()
                .kind
        };
        let streak_end = |k: EventKind| match k {
            EventKind::Gift { complete, .. } => complete,
            _ => unreachable!(),
        };
        assert!(!streak_end(gift(1, 0, 3)), "a streak in progress");
        assert!(streak_end(gift(1, 1, 3)), "the streak's final message");
        assert!(streak_end(gift(2, 0, 1)), "non-streakable gifts are final");
        assert!(streak_end(gift(4, 1, 1)));
        match gift(1, 1, -5) {
            EventKind::Gift { count, .. } => assert_eq!(count, 0, "negative counts clamp"),
            _ => unreachable!(),
        }
    }
}
