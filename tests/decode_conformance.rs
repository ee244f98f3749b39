//! The decoder against real captures and the shared corpus, read from `../shared` at test
//! time (never copied into this repository).
//!
//! - every real capture decodes, and the key fields of every reference row match ours;
//! - all 5,000 corpus frames decode with zero errors and every key field equal to the
//!   corpus' expectations;
//! - every malformed or odd corpus frame behaves as `edge.jsonl` says.

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use tiktwitch::event::{Event, EventKind};
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::{decode_fetch_result, decode_frame, decode_message};

/// `../shared`, or `None` (with a message) when this checkout has no shared folder beside it.
fn shared() -> Option<PathBuf> {
    support::prereq::shared("")
}

/// The event as JSON, the public schema the reference rows are compared against.
fn json_of(event: &Event) -> Value {
    serde_json::to_value(event).expect("events always serialize")
}

fn payload_of(line: &Value) -> Bytes {
    let b64 = line["payload"].as_str().expect("payload");
    Bytes::from(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .expect("base64"),
    )
}

/// Compares one reference value with ours, in the reference's representation.
fn same(expected: &Value, ours: &Value) -> bool {
    match (expected, ours) {
        (Value::String(a), Value::Number(b)) | (Value::Number(b), Value::String(a)) => {
            *a == b.to_string()
        }
        (Value::Bool(a), Value::String(b)) | (Value::String(b), Value::Bool(a)) => {
            a.to_string() == *b
        }
        _ => expected == ours,
    }
}

#[test]
fn real_2023_captures_match_the_reference_decode() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("fixtures/webcast");
    let captures = fs::read_to_string(dir.join("real-2023.jsonl")).unwrap();
    let expected = fs::read_to_string(dir.join("real-2023.expected.jsonl")).unwrap();
    let mut compared_rows = 0;
    let mut compared_fields = 0;
    for (n, (line, reference)) in captures.lines().zip(expected.lines()).enumerate() {
        let line: Value = serde_json::from_str(line).unwrap();
        let reference: Value = serde_json::from_str(reference).unwrap();
        let method = line["method"].as_str().unwrap();
        assert_eq!(reference["method"], method, "line {n}: files out of step");
        let event = decode_message(method, payload_of(&line))
            .unwrap_or_else(|e| panic!("line {n} ({method}) failed to decode: {e}"));
        let ours = json_of(&event);
        if reference["oracle"] != "ok" {
            continue;
        }
        if let Some(id) = reference["msg_id"].as_str() {
            assert_eq!(ours["msg_id"], id, "line {n}: msg_id");
        }
        let Some(expected_type) = reference["type"].as_str() else {
            continue;
        };
        compared_rows += 1;
        assert_eq!(ours["type"], expected_type, "line {n} ({method}): type");
        for key in [
            "text",
            "count",
            "streak_end",
            "total",
            "current",
            "cumulative",
        ] {
            if let Some(want) = reference.get(key) {
                assert!(
                    same(want, &ours[key]),
                    "line {n} ({method}) {key}: reference {want}, ours {}",
                    ours[key]
                );
                compared_fields += 1;
            }
        }
        for key in ["id", "username", "nickname"] {
            if let Some(want) = reference["user"].get(key) {
                assert!(
                    same(want, &ours["user"][key]),
                    "line {n} ({method}) user.{key}: reference {want}, ours {}",
                    ours["user"][key]
                );
                compared_fields += 1;
            }
        }
        for key in ["id", "name", "diamonds"] {
            if let Some(want) = reference["gift"].get(key) {
                assert!(
                    same(want, &ours["gift"][key]),
                    "line {n} gift.{key}: reference {want}, ours {}",
                    ours["gift"][key]
                );
                compared_fields += 1;
            }
        }
        if let Some(action) = reference.get("action").and_then(Value::as_i64) {
            match &event.kind {
                EventKind::Control { action: ours } => {
                    assert_eq!(*ours, tiktwitch::event::ControlAction::from_wire(action))
                }
                EventKind::Join { .. } => assert_eq!(action, 1, "line {n}: join is action 1"),
                EventKind::Follow { .. } => assert_eq!(action, 1, "line {n}: follow is action 1"),
                EventKind::Share { .. } => assert_eq!(action, 3, "line {n}: share is action 3"),
                _ => assert!(same(&json!(action), &ours["action"]), "line {n}: action"),
            }
            compared_fields += 1;
        }
    }
    assert_eq!(compared_rows, 161, "every typed reference row was compared");
    assert!(compared_fields > 700, "{compared_fields} fields compared");
}

#[test]
fn real_2023_single_payloads_decode_despite_out_of_order_fields() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("fixtures/webcast/real-2023-single");
    // `LikeMessage.bin` really holds a member message (upstream misnamed it).
    let cases = [
        (
            "MessageWebcastChatMessage.bin",
            "WebcastChatMessage",
            "chat",
        ),
        (
            "MessageWebcastGiftMessage.bin",
            "WebcastGiftMessage",
            "gift",
        ),
        ("LikeMessage.bin", "WebcastMemberMessage", "join"),
        (
            "MessageWebcastImDeleteMessage.bin",
            "WebcastImDeleteMessage",
            "delete",
        ),
        (
            "MessageWebcastSocialMessage.bin",
            "WebcastSocialMessage",
            "follow",
        ),
        ("WebcastMemberMessage.bin", "WebcastMemberMessage", "join"),
    ];
    for (file, method, want) in cases {
        let b64 = fs::read_to_string(dir.join(file)).unwrap();
        let payload = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap();
        let event =
            decode_message(method, payload.into()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let ours = event.type_name();
        // Social payloads may be follows or shares; both are fine so long as they map.
        let ok = ours == want || (want == "follow" && ours == "share");
        assert!(ok, "{file}: {ours}, wanted {want}");
        if let Some(user) = event.kind.user() {
            assert_ne!(user.id, 0, "{file}: user id decoded");
        }
    }
}

#[test]
fn real_2026_batch_and_payloads_decode() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("fixtures/webcast/real-2026");
    let batch = decode_fetch_result(Bytes::from(fs::read(dir.join("batch.pb")).unwrap())).unwrap();
    assert_eq!(batch.messages.len(), 13);
    assert_eq!(
        batch.push_server,
        "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/"
    );
    assert!(batch.is_first);
    assert_eq!(batch.route_params.len(), 2);
    let types: Vec<&str> = batch
        .messages
        .iter()
        .map(|m| m.as_ref().expect("no message fails").type_name())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "chat").count(),
        6,
        "{types:?}"
    );
    assert!(
        types.contains(&"system"),
        "RoomMessage maps to a system notice"
    );
    assert!(types.contains(&"intro"));

    let single = |file: &str, method: &str| -> Value {
        let bytes = fs::read(dir.join(file)).unwrap();
        json_of(&decode_message(method, bytes.into()).unwrap_or_else(|e| panic!("{file}: {e}")))
    };
    let reference = |name: &str| -> Value {
        serde_json::from_str(&fs::read_to_string(dir.join("expected").join(name)).unwrap()).unwrap()
    };
    let check_user = |ours: &Value, want: &Value| {
        assert!(same(&want["id"], &ours["user"]["id"]));
        assert_eq!(ours["user"]["nickname"], want["nickname"]);
        assert_eq!(ours["user"]["username"], want["unique_id"]);
    };

    let chat = single("chat.pb", "WebcastChatMessage");
    let want = reference("chat.json");
    assert_eq!(chat["type"], "chat");
    assert_eq!(chat["text"], want["comment"]);
    check_user(&chat, &want["user"]);

    let gift = single("gift.pb", "WebcastGiftMessage");
    let want = reference("gift.json");
    check_user(&gift, &want["user"]);
    assert!(same(&want["gift_id"], &gift["gift"]["id"]));
    assert_eq!(gift["gift"]["name"], want["gift_name"]);
    assert!(same(&want["diamond_count"], &gift["gift"]["diamonds"]));
    assert!(same(&want["repeat_count"], &gift["count"]));
    assert!(same(&want["group_id"], &gift["streak_id"]));
    assert_eq!(gift["streak_end"], want["repeat_end"]);

    let like = single("like.pb", "WebcastLikeMessage");
    let want = reference("like.json");
    check_user(&like, &want["user"]);
    assert!(same(&want["count"], &like["count"]));
    assert!(same(&want["total"], &like["total"]));

    let member = single("member.pb", "WebcastMemberMessage");
    let want = reference("member.json");
    assert_eq!(want["action"], "1");
    assert_eq!(member["type"], "join");
    check_user(&member, &want["user"]);

    let viewers = single("room-user.pb", "WebcastRoomUserSeqMessage");
    let want = reference("room-user.json");
    assert!(same(&want["total"], &viewers["current"]));
    assert!(same(&want["total_user"], &viewers["cumulative"]));

    let social = single("social.pb", "WebcastSocialMessage");
    let want = reference("social.json");
    assert_eq!(want["action"], "1");
    assert_eq!(social["type"], "follow");
    check_user(&social, &want["user"]);

    // The real payloads we do not relay still decode, as their own type or `unknown`.
    for (file, method) in [
        ("live-intro.pb", "WebcastLiveIntroMessage"),
        ("room.pb", "RoomMessage"),
        ("gift-panel-update.pb", "WebcastGiftPanelUpdateMessage"),
        (
            "gift-dynamic-restriction.pb",
            "WebcastGiftDynamicRestrictionMessage",
        ),
        (
            "link-mic-layout-state.pb",
            "WebcastLinkMicLayoutStateMessage",
        ),
        (
            "update-share-revenue-notice.pb",
            "WebcastUpdateShareRevenueNoticeMessage",
        ),
        (
            "webcast-link-mic-fan-ticket-method.pb",
            "WebcastLinkMicFanTicketMethod",
        ),
    ] {
        let ours = single(file, method);
        assert_ne!(ours["type"], "error", "{file}");
    }
}

/// The corpus' expectation for one message, checked against our event.
fn check_corpus_message(want: &Value, event: &Event) {
    let at = format!("frame {} message {}", want["f"], want["i"]);
    let ours = json_of(event);
    assert_eq!(ours["method"], want["method"], "{at}");
    assert!(same(&want["msg_id"], &ours["msg_id"]), "{at}: msg_id");
    if want["known"] == false {
        assert_eq!(ours["type"], "unknown", "{at}");
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
