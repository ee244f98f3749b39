//! The decoder against real captures, read from `../shared` at test time (never copied
//! into this repository): every real capture decodes, and the key fields of every
//! reference row match ours. The synthetic corpus is tests/decode_corpus.rs.

mod support;

use std::fs;
use std::path::PathBuf;

use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use support::decode::{json_of, payload_of, same};
use tiktwitch::event::EventKind;
use tiktwitch::source::tiktok::decode::{decode_fetch_result, decode_message};

/// `../shared`, or `None` (with a message) when this checkout has no shared folder beside it.
fn shared() -> Option<PathBuf> {
    support::prereq::shared("")
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
