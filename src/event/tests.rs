//! The JSON form of events, checked field by field.

use super::*;

fn user() -> User {
    User {
        id: 7_300_000_000_000_000_123,
        username: "ursored".into(),
        nickname: "UrsoRed".into(),
        roles: Roles::default(),
        profile: Profile::default(),
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
        r#"{"type":"chat","v":2,"platform":"tiktok","method":"WebcastChatMessage","msg_id":"7286185052676410117","user":{"id":"7300000000000000123","username":"ursored","nickname":"UrsoRed"},"text":"hi"}"#
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

#[test]
fn the_envelope_fields_and_the_user_profile_are_in_the_json() {
    let mut fan = user();
    fan.profile = Profile {
        avatar: Some("https://p16.example/a.webp".into()),
        follow_role: 2,
        fan_club_level: 4,
        user_level: 16,
        badges: vec![Badge {
            kind: BadgeKind::FanClub,
            level: 4,
            text: "Ⅰ".into(),
            image: None,
        }],
    };
    let event = Event {
        meta: Meta {
            method: "WebcastChatMessage".into(),
            msg_id: 7_286_185_052_676_410_117,
            room_id: 7_286_000_000_000_000_001,
            create_time_ms: 1_754_000_000_123,
            received_at_ms: 1_754_000_000_456,
            history: false,
        },
        kind: EventKind::Chat {
            user: fan,
            text: "hi".into(),
            language: String::new(),
        },
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["v"], SCHEMA_VERSION);
    assert_eq!(json["platform"], "tiktok");
    assert_eq!(json["room_id"], "7286000000000000001");
    assert_eq!(json["ts"], 1_754_000_000_123_i64);
    assert_eq!(json["received_at"], 1_754_000_000_456_i64);
    let user = &json["user"];
    assert_eq!(user["avatar"], "https://p16.example/a.webp");
    assert_eq!(user["follow_role"], 2);
    assert_eq!(user["fan_club_level"], 4);
    assert_eq!(user["user_level"], 16);
    assert_eq!(user["badges"][0]["kind"], "fan_club");
    // A lifecycle event: its type is its own, Twitch ones say so.
    let twitch = Event {
        meta: Meta::default(),
        kind: EventKind::Lifecycle(Lifecycle::TwitchDisconnected {
            reason: "shut down".into(),
        }),
    };
    let json = serde_json::to_value(&twitch).unwrap();
    assert_eq!(json["type"], "twitch_disconnected");
    assert_eq!(json["platform"], "twitch");
    assert_eq!(json["reason"], "shut down");
    assert!(json.get("method").is_none(), "no TikTok method");
    let paused = Event {
        meta: Meta::default(),
        kind: EventKind::Lifecycle(Lifecycle::Paused {}),
    };
    assert_eq!(
        serde_json::to_string(&paused).unwrap(),
        r#"{"type":"paused","v":2,"platform":"tiktok"}"#
    );
}
