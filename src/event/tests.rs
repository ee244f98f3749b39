//! The JSON form of events, checked field by field.

use super::*;

fn user() -> User {
    User {
        id: 7_300_000_000_000_000_123,
        username: "ursored".into(),
        nickname: "UrsoRed".into(),
        roles: Roles::default(),
    }
}

#[test]
fn chat_json_matches_the_public_schema() {
    let event = Event {
        meta: Meta {
            method: "WebcastChatMessage".into(),
            msg_id: 7_286_185_052_676_410_117,
            ..Meta::default()
        },
        kind: EventKind::Chat {
            user: user(),
            text: "hi".into(),
            language: String::new(),
        },
    };
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"type":"chat","method":"WebcastChatMessage","msg_id":"7286185052676410117","user":{"id":"7300000000000000123","username":"ursored","nickname":"UrsoRed"},"text":"hi"}"#
    );
}

#[test]
fn gift_json_has_streak_fields_and_ids_as_strings() {
    let event = Event {
        meta: Meta {
            method: "WebcastGiftMessage".into(),
            ..Meta::default()
        },
        kind: EventKind::Gift {
            user: user(),
            gift: Gift {
                id: 5655,
                name: "Rose".into(),
                diamonds: 1,
                streakable: true,
                image: None,
            },
            count: 7,
            streak_end: true,
            complete: true,
            streak_id: 1_739_382_910_000,
            to_user: None,
        },
    };
    let json: serde_json::Value = serde_json::to_value(&event).unwrap();
    assert_eq!(json["type"], "gift");
    assert_eq!(json["gift"]["id"], 5655);
    assert_eq!(json["gift"]["streakable"], true);
    assert_eq!(json["count"], 7);
    assert_eq!(json["streak_end"], true);
    assert_eq!(json["complete"], true);
    assert_eq!(json["streak_id"], "1739382910000");
    assert!(json.get("msg_id").is_none(), "absent msg_id is omitted");
    assert!(json.get("to_user").is_none());
    assert!(json["gift"].get("image").is_none(), "no image: omitted");
}

#[test]
fn control_actions_serialize_by_name_and_keep_unknown_numbers() {
    for (wire, json) in [(1, "\"paused\""), (3, "\"ended\""), (99, "99")] {
        let action = ControlAction::from_wire(wire);
        assert_eq!(serde_json::to_string(&action).unwrap(), json);
    }
    assert!(ControlAction::from_wire(4).is_end());
    assert!(!ControlAction::from_wire(99).is_end());
}

#[test]
fn roles_appear_only_when_set() {
    let mut u = user();
    assert!(!serde_json::to_string(&u).unwrap().contains("roles"));
    u.roles.moderator = true;
    assert!(
        serde_json::to_string(&u)
            .unwrap()
            .contains(r#""roles":{"moderator":true}"#)
    );
}

#[test]
fn display_name_falls_back() {
    let mut u = User::default();
    assert_eq!(u.display_name(), "someone");
    u.username = "handle".into();
    assert_eq!(u.display_name(), "handle");
    u.nickname = "Nick".into();
    assert_eq!(u.display_name(), "Nick");
}
