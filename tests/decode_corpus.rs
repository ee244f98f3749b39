//! The decoder against the shared corpus, read from `../shared` at test time (never
//! copied into this repository):
//!
//! - all 5,000 corpus frames decode with zero errors and every key field equal to the
//!   corpus' expectations;
//! - every malformed or odd corpus frame behaves as `edge.jsonl` says.
//!
//! The real captures are tests/decode_conformance.rs.

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use bytes::Bytes;
use serde_json::{Value, json};
use support::decode::{json_of, same};
use tiktwitch::event::{Event, EventKind};
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::decode_frame;

/// `../shared`, or `None` (with a message) when this checkout has no shared folder beside it.
fn shared() -> Option<PathBuf> {
    support::prereq::shared("")
}

/// The corpus' expectation for one message, checked against our event.
fn check_corpus_message(want: &Value, event: &Event) {
    let at = format!("frame {} message {}", want["f"], want["i"]);
    let ours = json_of(event);
    assert_eq!(ours["method"], want["method"], "{at}");
    assert!(same(&want["msg_id"], &ours["msg_id"]), "{at}: msg_id");
    if want["known"] == false {
        // The corpus' generator maps no hourly rank; issue 19 types it (tests/decode_kinds).
        if want["method"] == "WebcastHourlyRankMessage" {
            assert_eq!(ours["type"], "hourly_rank", "{at}");
        } else {
            assert_eq!(ours["type"], "unknown", "{at}");
        }
        return;
    }
    if let Some(user) = want.get("user") {
        assert!(same(&user["id"], &ours["user"]["id"]), "{at}: user.id");
        assert_eq!(ours["user"]["username"], user["unique_id"], "{at}");
        assert_eq!(ours["user"]["nickname"], user["nickname"], "{at}");
    }
    match want["method"].as_str().unwrap() {
        "WebcastChatMessage" => {
            assert_eq!(ours["type"], "chat", "{at}");
            assert_eq!(ours["text"], want["content"], "{at}");
        }
        "WebcastGiftMessage" => {
            assert_eq!(ours["type"], "gift", "{at}");
            assert!(same(&want["gift_id"], &ours["gift"]["id"]), "{at}");
            assert_eq!(ours["gift"]["name"], want["gift_name"], "{at}");
            assert!(
                same(&want["diamond_count"], &ours["gift"]["diamonds"]),
                "{at}"
            );
            assert_eq!(ours["gift"]["streakable"], want["gift_type"] == 1, "{at}");
            assert!(same(&want["repeat_count"], &ours["count"]), "{at}");
            assert_eq!(ours["complete"], want["streak_final"], "{at}");
            assert_eq!(ours["streak_end"], want["repeat_end"] == 1, "{at}");
            assert!(same(&want["group_id"], &ours["streak_id"]), "{at}");
            if let Some(to) = want.get("to_user_id") {
                assert!(same(to, &ours["to_user"]["id"]), "{at}: to_user");
            }
        }
        "WebcastLikeMessage" => {
            assert!(same(&want["count"], &ours["count"]), "{at}");
            assert!(same(&want["total"], &ours["total"]), "{at}");
        }
        "WebcastMemberMessage" => {
            let expected = if want["action"] == 1 {
                "join"
            } else {
                "member"
            };
            assert_eq!(ours["type"], expected, "{at}");
        }
        "WebcastSocialMessage" => {
            assert_eq!(ours["type"], want["kind"], "{at}");
        }
        "WebcastRoomUserSeqMessage" => {
            assert!(same(&want["total"], &ours["current"]), "{at}");
            assert!(same(&want["total_user"], &ours["cumulative"]), "{at}");
        }
        "WebcastEmoteChatMessage" => {
            assert_eq!(ours["emote_ids"], want["emote_ids"], "{at}");
        }
        "WebcastQuestionNewMessage" => {
            assert_eq!(ours["text"], want["content"], "{at}");
        }
        "WebcastEnvelopeMessage" => {
            assert_eq!(ours["sender"], want["send_user_name"], "{at}");
            assert!(same(&want["diamond_count"], &ours["diamonds"]), "{at}");
            assert!(same(&want["people_count"], &ours["people"]), "{at}");
        }
        "WebcastImDeleteMessage" => {
            assert_eq!(ours["msg_ids"], want["delete_msg_ids"], "{at}");
            assert_eq!(ours["user_ids"], want["delete_user_ids"], "{at}");
        }
        "WebcastRoomMessage" => assert_eq!(ours["text"], want["content"], "{at}"),
        "WebcastControlMessage" => {
            let action =
                tiktwitch::event::ControlAction::from_wire(want["action"].as_i64().unwrap());
            assert!(
                matches!(event.kind, EventKind::Control { action: a } if a == action),
                "{at}"
            );
        }
        other => panic!("{at}: the corpus has a method this test does not know: {other}"),
    }
}

#[test]
fn all_corpus_frames_decode_with_every_key_field_equal() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let frames = FrameReader::new(BufReader::new(
        fs::File::open(corpus.join("frames.bin")).unwrap(),
    ));
    let expected = BufReader::new(flate2::read::GzDecoder::new(
        fs::File::open(corpus.join("expected.jsonl.gz")).unwrap(),
    ));
    let mut expected = expected
        .lines()
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap());

    let (mut n_frames, mut n_messages) = (0, 0);
    let mut ended = false;
    for (f, record) in frames.enumerate() {
        let want_frame = expected.next().expect("an expectation per frame");
        assert_eq!(want_frame["t"], "frame");
        assert_eq!(want_frame["f"], f);
        let frame = decode_frame(record.unwrap()).unwrap_or_else(|e| panic!("frame {f}: {e}"));
        assert!(
            same(&want_frame["log_id"], &json!(frame.log_id)),
            "frame {f}: log_id"
        );
        assert!(
            same(&want_frame["seq_id"], &json!(frame.seq_id)),
            "frame {f}: seq_id"
        );
        let batch = frame.batch.expect("every corpus frame is a msg frame");
        assert_eq!(json!(batch.cursor), want_frame["cursor"], "frame {f}");
        assert_eq!(json!(batch.need_ack), want_frame["need_ack"], "frame {f}");
        assert!(same(&want_frame["now"], &json!(batch.now_ms)), "frame {f}");
        assert_eq!(json!(batch.messages.len()), want_frame["n"], "frame {f}");
        for message in &batch.messages {
            let event = message
                .as_ref()
                .unwrap_or_else(|e| panic!("frame {f}: {e}"));
            let want = expected.next().expect("an expectation per message");
            assert_eq!(want["t"], "msg");
            check_corpus_message(&want, event);
            ended = event.is_stream_end();
            n_messages += 1;
        }
        n_frames += 1;
    }
    assert!(expected.next().is_none(), "expectations left over");
    assert_eq!((n_frames, n_messages), (5000, 45_705));
    assert!(ended, "the corpus' very last message ends the stream");
}

/// What an edge case must do, keyed by its name in `edge.jsonl`.
enum Outcome {
    /// The frame is rejected with an error of this kind.
    Rejected(&'static str),
    /// The frame carries no batch (not a message frame).
    NoBatch,
    /// A batch with these message outcomes, in order: a type name, or "error".
    Messages(&'static [&'static str]),
    /// A batch of `n` messages, all decoded.
    Count(usize),
}

fn edge_outcome(name: &str) -> Outcome {
    use Outcome::*;
    match name {
        "control_good" => Messages(&["chat", "like"]),
        "truncated_frame_half" | "truncated_frame_in_varint" | "frame_len_prefix_overrun" => {
            Rejected("push_frame")
        }
        "empty_frame"
        | "payload_type_hb"
        | "payload_type_ack"
        | "payload_type_im_enter_room_resp"
        | "payload_encoding_json" => NoBatch,
        "bad_gzip_corrupt_body" | "bad_gzip_crc" | "bad_gzip_truncated" => Rejected("gunzip"),
        // We reject trailing junk rather than guess where the batch ends; it must not hang.
        "gzip_trailing_garbage" => Rejected("gunzip"),
        "gzip_header_but_raw_payload" | "gzip_payload_no_header" | "gzip_two_members" => {
            Messages(&["chat", "like"])
        }
        "gzip_bomb_64MiB" => Rejected("too_large"),
        "unknown_methods" => Messages(&["unknown", "unknown", "unknown", "unknown", "chat"]),
        "empty_payloads" => Messages(&[
            "chat", "gift", "like", "member", "social", "viewers", "control",
        ]),
        "empty_response" => Count(0),
        "garbage_payload_in_middle" => Messages(&["chat", "error", "like"]),
        "varint_11_bytes" | "varint_10_bytes_overflow" => Messages(&["error"]),
        "field_number_zero" => Messages(&["error"]),
        "group_wire_types" | "unknown_fields_all_wiretypes" => Messages(&["chat"]),
        "wire_type_mismatch" => Messages(&["error"]),
        "huge_repeat_count_int32_max"
        | "negative_repeat_count"
        | "int32_field_with_64bit_value" => Messages(&["gift"]),
        "like_count_max" => Messages(&["like"]),
        "negative_ids" | "user_id_zero_no_names" | "irc_injection_content" => Messages(&["chat"]),
        // Decoded lossily (U+FFFD), as the corpus allows and JS clients do: a comment is
        // never dropped for one bad byte (its text is checked below).
        "invalid_utf8_content" => Messages(&["chat"]),
        "duplicate_embedded_message_merge" | "duplicate_scalar_last_wins" => Messages(&["chat"]),
        "packed_and_unpacked_repeated" => Messages(&["delete"]),
        "deep_nesting_2000" => Messages(&["chat"]),
        "many_messages_5000" => Count(5000),
        "control_unknown_enum" => Messages(&["control"]),
        "control_stream_ended" => Messages(&["control", "chat"]),
        "response_truncated_after_gunzip" => Rejected("fetch_result"),
        other => panic!("edge case {other} has no expectation here: add one"),
    }
}

#[test]
fn every_edge_case_behaves_as_documented() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let cases: Vec<Value> = fs::read_to_string(corpus.join("edge.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let frames: Vec<Bytes> = FrameReader::new(fs::File::open(corpus.join("edge.bin")).unwrap())
        .map(Result::unwrap)
        .collect();
    assert_eq!(cases.len(), frames.len());
    assert_eq!(cases.len(), 43);

    let mut events_by_case: HashMap<String, Vec<Event>> = HashMap::new();
    for (case, bytes) in cases.iter().zip(frames) {
        let name = case["name"].as_str().unwrap();
        let decoded = decode_frame(bytes);
        match (edge_outcome(name), decoded) {
            (Outcome::Rejected(kind), Err(e)) => assert_eq!(e.kind(), kind, "{name}: {e}"),
            (Outcome::NoBatch, Ok(frame)) => assert!(frame.batch.is_none(), "{name}"),
            (Outcome::Count(n), Ok(frame)) => {
                let batch = frame.batch.unwrap_or_else(|| panic!("{name}: no batch"));
                assert_eq!(batch.messages.len(), n, "{name}");
                assert!(batch.messages.iter().all(Result::is_ok), "{name}");
            }
            (Outcome::Messages(want), Ok(frame)) => {
                let batch = frame.batch.unwrap_or_else(|| panic!("{name}: no batch"));
                let got: Vec<&str> = batch
                    .messages
                    .iter()
                    .map(|m| m.as_ref().map_or("error", Event::type_name))
                    .collect();
                assert_eq!(got, want, "{name}");
                events_by_case.insert(
                    name.to_owned(),
                    batch.messages.into_iter().filter_map(Result::ok).collect(),
                );
            }
            (_, outcome) => panic!("{name}: unexpected outcome {outcome:?}"),
        }
    }

    // The field-level promises of the cases that decode.
    let only = |name: &str| events_by_case[name][0].kind.clone();
    match only("huge_repeat_count_int32_max") {
        EventKind::Gift { count, gift, .. } => {
            assert_eq!(count, i32::MAX as u32);
            // Totals are computed in u64 and cannot overflow.
            assert!(
                u64::from(count)
                    .checked_mul(u64::from(gift.diamonds))
                    .is_some()
            );
        }
        other => panic!("{other:?}"),
    }
    match only("negative_repeat_count") {
        EventKind::Gift { count, .. } => assert_eq!(count, 0, "negative counts saturate to 0"),
        other => panic!("{other:?}"),
    }
    match only("int32_field_with_64bit_value") {
        EventKind::Gift { count, .. } => assert_eq!(count, 7, "int32 truncation, as protobuf"),
        other => panic!("{other:?}"),
    }
    match only("like_count_max") {
        EventKind::Like { count, total, .. } => {
            assert_eq!(count, i32::MAX as u32);
            assert_eq!(total, i64::MAX as u64);
        }
        other => panic!("{other:?}"),
    }
    match only("negative_ids") {
        // Ids are unsigned; -1 on the wire reads as its two's complement.
        EventKind::Chat { user, .. } => assert_eq!(user.id, u64::MAX),
        other => panic!("{other:?}"),
    }
    match only("user_id_zero_no_names") {
        EventKind::Chat { user, .. } => {
            assert_eq!(user.id, 0);
            assert_eq!(user.display_name(), "someone");
        }
        other => panic!("{other:?}"),
    }
    match only("irc_injection_content") {
        EventKind::Chat { text, .. } => {
            assert!(text.contains('\n'), "decoded verbatim; the sink sanitizes")
        }
        other => panic!("{other:?}"),
    }
    match only("duplicate_embedded_message_merge") {
        EventKind::Chat { user, .. } => {
            assert_eq!(user.id, 42);
            assert_eq!(user.nickname, "merged");
        }
        other => panic!("{other:?}"),
    }
    match only("duplicate_scalar_last_wins") {
        EventKind::Chat { text, .. } => assert_eq!(text, "second"),
        other => panic!("{other:?}"),
    }
    match only("packed_and_unpacked_repeated") {
        EventKind::Delete { msg_ids, user_ids } => {
            assert_eq!(msg_ids, [111, 222, 333]);
            assert_eq!(user_ids, [444]);
        }
        other => panic!("{other:?}"),
    }
    let control = &events_by_case["control_unknown_enum"][0];
    assert!(
        !control.is_stream_end(),
        "unknown control actions never end the stream"
    );
    assert_eq!(json_of(control)["action"], 99);
    assert!(events_by_case["control_stream_ended"][0].is_stream_end());
    match only("invalid_utf8_content") {
        EventKind::Chat { text, .. } => assert_eq!(text, "bad \u{fffd}\u{fffd} utf8 \u{fffd}"),
        other => panic!("{other:?}"),
    }
}
