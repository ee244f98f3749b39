//! Every kind the protocol reference documents is typed (issue 19, item 1): real captures
//! from `../shared` where they exist, bytes encoded from our schema where none does; every
//! type has a JSON-schema entry (`schema/events.schema.json`) that the decoded JSON keeps
//! to, and a route that is off for Twitch chat by default.

mod support;

use std::collections::BTreeSet;
use std::fs;

use bytes::Bytes;
use prost::Message;
use serde_json::Value;
use support::decode::{json_of, payload_of};
use tiktwitch::config::feed::EVENT_TYPES;
use tiktwitch::config::{RoutesConfig, Slot};
use tiktwitch::event::{Event, EventKind};
use tiktwitch::pipeline::route::{Destination, destination};
use tiktwitch::pipeline::samples::{sample_context, sample_event};
use tiktwitch::pipeline::template::Templates;
use tiktwitch::proto;
use tiktwitch::source::tiktok::decode::decode_message;

/// The methods issue 19 lists as passing only as `unknown`, with the type each becomes.
const DOCUMENTED: &[(&str, &str)] = &[
    ("WebcastLinkMicArmies", "battle"),
    ("WebcastLinkMicBattlePunishFinish", "battle_punish_finish"),
    ("WebcastLinkmicBattleTaskMessage", "battle_task"),
    ("WebcastLinkMicFanTicketMethod", "fan_ticket"),
    ("WebcastLinkMicMethod", "link_mic"),
    ("LinkMicMethod", "link_mic"),
    ("WebcastHourlyRankMessage", "hourly_rank"),
    ("WebcastRankUpdateMessage", "rank_update"),
    ("WebcastRankTextMessage", "rank_text"),
    ("WebcastInRoomBannerMessage", "in_room_banner"),
    ("WebcastUnauthorizedMemberMessage", "unauthorized_member"),
    ("WebcastOecLiveShoppingMessage", "shopping"),
    ("WebcastMsgDetectMessage", "msg_detect"),
    ("WebcastLinkMessage", "link"),
    ("WebcastRoomVerifyMessage", "room_verify"),
    ("WebcastLinkLayerMessage", "link_layer"),
    ("WebcastRoomPinMessage", "room_pin"),
    ("WebcastGoalUpdateMessage", "goal"),
    ("WebcastPollMessage", "poll"),
];

/// Every real 2023 payload of `method`, decoded to JSON.
fn real(method: &str) -> Option<Vec<Value>> {
    let file = support::prereq::shared("fixtures/webcast/real-2023.jsonl")?;
    let events = fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["method"] == method)
        .map(|line| {
            let event = decode_message(method, payload_of(&line))
                .unwrap_or_else(|e| panic!("{method} fails to decode: {e}"));
            json_of(&event)
        })
        .collect::<Vec<_>>();
    assert!(!events.is_empty(), "no real {method} in the captures");
    Some(events)
}

fn encoded(method: &str, message: &impl Message) -> Value {
    let event = decode_message(method, Bytes::from(message.encode_to_vec())).unwrap();
    json_of(&event)
}

fn schema() -> Value {
    support::schema::events_schema()
}

/// `event` keeps to its type's schema entry, nested objects (users, badges, gifts) and all.
fn assert_follows_schema(schema: &Value, event: &Value) {
    support::schema::assert_valid_event(schema, event);
}

#[test]
fn real_captures_of_every_documented_kind_are_typed_not_unknown() {
    let Some(file) = support::prereq::shared("fixtures/webcast/real-2023.jsonl") else {
        return;
    };
    let mut seen = BTreeSet::new();
    for line in fs::read_to_string(file).unwrap().lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let method = line["method"].as_str().unwrap();
        let Some((known, type_name)) = DOCUMENTED.iter().find(|(m, _)| *m == method) else {
            continue;
        };
        let event = decode_message(method, payload_of(&line)).unwrap();
        assert_eq!(event.type_name(), *type_name, "{method}");
        seen.insert(*known);
    }
    // Every documented method but the layer message (not seen in captures) is in them.
    assert_eq!(seen.len(), DOCUMENTED.len() - 1, "{seen:?}");
}

#[test]
fn room_pin_carries_the_pinned_comment_its_author_and_who_pinned_it() {
    let Some(pins) = real("WebcastRoomPinMessage") else {
        return;
    };
    let chat = pins
        .iter()
        .find(|p| p["pinned_method"] == "WebcastChatMessage")
        .unwrap();
    assert_eq!(chat["text"], "lasst die ❤️❤️❤️ fliegen ");
    assert_eq!(chat["author"]["username"], "sandra.zicke");
    assert_eq!(chat["pinned_by"], "7117754109814883333");
    assert_eq!(chat["duration_secs"], 60);
    let gift = pins
        .iter()
        .find(|p| p["pinned_method"] == "WebcastGiftMessage")
        .unwrap();
    assert_eq!(gift["text"], "Duck");
    assert_eq!(gift["author"]["username"], "karollehp");
    assert_eq!(gift["pinned_msg_id"], "7286184975962966789");
}

#[test]
fn goal_has_its_target_and_progress_and_poll_its_question_and_options() {
    let Some(goals) = real("WebcastGoalUpdateMessage") else {
        return;
    };
    let goal = &goals[0];
    assert_eq!(goal["goal_id"], "7286143085868976929");
    assert_eq!(goal["description"], "Extra V-BUCKS !!!!");
    assert_eq!(goal["item"], "Rose");
    assert_eq!(
        (goal["progress"].clone(), goal["target"].clone()),
        (247.into(), 999.into())
    );
    assert_eq!(goal["contributor"], "yeatscum");
    let Some(polls) = real("WebcastPollMessage") else {
        return;
    };
    let asked = polls.iter().find(|p| p.get("question").is_some()).unwrap();
    assert_eq!(asked["question"], "wunschliste = teilnahme PS5 VERLOSUNG");
    let options: Vec<&str> = asked["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["text"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["👀", "🌹"]);
    assert_eq!(asked["ends_at_ms"], 1_696_490_360_854_i64);
    assert_eq!(asked["operator"]["username"], "sidooo1.0_double");
}

#[test]
fn rank_shop_and_audience_kinds_carry_their_data() {
    let Some(ranks) = real("WebcastRankUpdateMessage") else {
        return;
    };
    assert_eq!(ranks[0]["lists"][0]["list"], "Daily Ranking");
    assert_eq!(ranks[0]["lists"][0]["countdown_secs"], 45_624);
    let hourly = &real("WebcastHourlyRankMessage").unwrap()[0];
    assert_eq!(hourly["lists"][0]["key"], "pm_mt_Live_WR");
    let text = &real("WebcastRankTextMessage").unwrap()[0];
    assert_eq!(text["user"]["username"], "jjaylene.xoxo");
    assert_eq!(
        (text["rank"].clone(), text["previous_rank"].clone()),
        (3.into(), 12.into())
    );
    let shop = &real("WebcastOecLiveShoppingMessage").unwrap()[0];
    assert_eq!(shop["price"], "฿100.00");
    assert_eq!(shop["product_id"], "1729609008007580355");
    assert!(shop["image"].as_str().unwrap().starts_with("https://"));
    let banner = &real("WebcastInRoomBannerMessage").unwrap()[0];
    assert!(
        banner["json"]
            .as_str()
            .unwrap()
            .starts_with(r#"{"debug":false"#)
    );
    let anon = &real("WebcastUnauthorizedMemberMessage").unwrap()[0];
    assert_eq!(anon["nickname"], "Viewer889589");
    let detect = &real("WebcastMsgDetectMessage").unwrap()[0];
    assert_eq!(detect["from_region"], "TR");
    assert_eq!(real("WebcastRoomVerifyMessage").unwrap()[0]["action"], 4);
}

#[test]
fn link_mic_kinds_carry_battle_ids_tasks_and_tickets() {
    let Some(punish) = real("WebcastLinkMicBattlePunishFinish") else {
        return;
    };
    assert_eq!(punish[0]["battle_id"], "7286183425237322529");
    assert_eq!(punish[0]["duration_secs"], 301);
    let task = &real("WebcastLinkmicBattleTaskMessage").unwrap()[0];
    assert_eq!(task["key"], "pm_mt_live_match_desc_2");
    assert_eq!(task["params"]["sum"], "1809");
    let tickets = &real("WebcastLinkMicFanTicketMethod").unwrap()[0];
    assert_eq!(tickets["total"], 155);
    assert_eq!(tickets["users"][0]["user_id"], "7062462396455486469");
    let method = &real("WebcastLinkMicMethod").unwrap()[0];
    assert_eq!(method["user_id"], "6608441235148521478");
    assert_eq!(
        real("LinkMicMethod").unwrap()[0]["channel_id"],
        "7286104421582310175"
    );
    let link = &real("WebcastLinkMessage").unwrap()[0];
    assert_eq!(
        (link["linked"].clone(), link["applied"].clone()),
        (7.into(), 2.into())
    );
}

#[test]
fn kinds_not_seen_in_captures_decode_from_encoded_bytes() {
    let layer = proto::WebcastLinkLayerMessage {
        message_type: 3,
        channel_id: 7_300_000_000_000_000_001,
        scene: 2,
        ..Default::default()
    };
    let json = encoded("WebcastLinkLayerMessage", &layer);
    assert_eq!(json["type"], "link_layer");
    assert_eq!(json["linker_id"], "7300000000000000001");

    let fan = proto::User {
        id: 42,
        display_id: "fan.one".into(),
        ..Default::default()
    };
    let barrage = proto::WebcastBarrageMessage {
        content: Some(proto::Text {
            key: "ttlive_superfan_commentnotif_superfanjoined".into(),
            pieces: vec![proto::TextPiece {
                user_value: Some(proto::TextPieceUser {
                    user: Some(fan),
                    with_colon: false,
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        user_grade: Some(proto::BarrageUserGrade {
            grade: 7,
            user: None,
        }),
        ..Default::default()
    };
    let json = encoded("WebcastBarrageMessage", &barrage);
    assert_eq!(json["type"], "super_fan");
    assert_eq!(json["user"]["username"], "fan.one");
    assert_eq!(
        (json["level"].clone(), json["joined"].clone()),
        (7.into(), true.into())
    );

    // A poll's end carries the final votes.
    let option = |content: &str, votes| proto::PollOptionInfo {
        votes,
        content: content.into(),
        index: 0,
    };
    let ended = proto::WebcastPollMessage {
        message_type: 2,
        poll_id: 9,
        end_content: Some(proto::PollEndContent {
            options: vec![option("yes", 30), option("no", 4)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let json = encoded("WebcastPollMessage", &ended);
    assert_eq!(json["stage"], "ended");
    assert_eq!(json["options"][0]["votes"], 30);
    assert_eq!(json["options"][1]["text"], "no");
}

#[test]
fn hourly_rank_data_another_schema_wrote_as_text_keeps_the_event() {
    // The synthetic corpus (another peer's schema) puts a string in field 2; odd lengths of
    // it are not protobuf, and the event must survive that as an hourly_rank with no list.
    let mut bytes = Vec::new();
    prost::encoding::string::encode(2, &"xxxxxxx".to_owned(), &mut bytes);
    let event = decode_message("WebcastHourlyRankMessage", Bytes::from(bytes)).unwrap();
    assert_eq!(event.type_name(), "hourly_rank");
    assert_eq!(json_of(&event)["lists"][0]["list"], "");
}

#[test]
fn the_corpus_has_no_unknown_of_a_documented_kind() {
    let Some(file) = support::prereq::shared("corpus/frames.bin") else {
        return;
    };
    let data = fs::read(file).unwrap();
    let (mut at, mut typed) = (0, 0);
    while at + 4 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let frame = Bytes::copy_from_slice(&data[at + 4..at + 4 + len]);
        at += 4 + len;
        let frame = tiktwitch::source::tiktok::decode::decode_frame(frame).unwrap();
        for message in frame.batch.into_iter().flat_map(|b| b.messages) {
            let event: Event = message.expect("the main corpus has no bad message");
            if DOCUMENTED.iter().any(|(m, _)| *m == event.meta.method) {
                assert!(
                    !matches!(event.kind, EventKind::Unknown),
                    "{}",
                    event.meta.method
                );
                typed += 1;
            }
        }
    }
    assert!(typed > 0, "the corpus has hourly rank messages");
}

#[test]
fn every_type_has_a_schema_entry_and_decoded_json_keeps_to_it() {
    let schema = schema();
    let entries: BTreeSet<&str> = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["properties"]["type"]["const"].as_str().unwrap())
        .collect();
    let listed: BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
    assert_eq!(
        entries, listed,
        "schema entries vs config::feed::EVENT_TYPES"
    );
    for slot in Slot::ALL {
        if let Some(event) = sample_event(slot) {
            assert_follows_schema(&schema, &json_of(&event));
        }
    }
    let Some(file) = support::prereq::shared("fixtures/webcast/real-2023.jsonl") else {
        return;
    };
    for line in fs::read_to_string(file).unwrap().lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let event = decode_message(line["method"].as_str().unwrap(), payload_of(&line)).unwrap();
        assert_follows_schema(&schema, &json_of(&event));
    }
}

#[test]
fn every_new_kind_has_its_own_route_off_for_chat_and_a_template_that_renders() {
    let routes = RoutesConfig::default();
    let templates = Templates::compile(&routes).unwrap();
    let mut routed = BTreeSet::new();
    for slot in Slot::ALL {
        let Some(event) = sample_event(slot) else {
            continue;
        };
        assert_eq!(destination(&event), Destination::Slot(slot), "{slot:?}");
        let type_name = event.type_name();
        if DOCUMENTED.iter().any(|(_, t)| *t == type_name) && type_name != "battle" {
            assert!(
                !routes.slot_enabled(slot),
                "{slot:?} must be off for Twitch chat"
            );
            assert_eq!(slot.route(), type_name);
            let line = templates
                .render(slot, &sample_context(slot, "creator"))
                .unwrap();
            assert!(
                !line.fell_back && line.text.starts_with("[TT]"),
                "{slot:?}: {line:?}"
            );
            routed.insert(type_name);
        }
    }
    // Every documented type but the battle (its own route already) and super_fan (below).
    let documented: BTreeSet<&str> = DOCUMENTED
        .iter()
        .map(|(_, t)| *t)
        .filter(|t| *t != "battle")
        .collect();
    assert_eq!(routed, documented);
    assert!(!routes.slot_enabled(Slot::SuperFan));
}

#[test]
fn readme_event_table_lists_every_type() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("\n## Events\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has an Events section");
    let first_cells: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|line| line.split(" |").next())
        .collect();
    for type_name in EVENT_TYPES {
        let cell = format!("`{type_name}`");
        assert!(
            first_cells
                .iter()
                .any(|c| c.split(" / ").any(|t| t == cell)),
            "README's event table lacks {type_name}"
        );
    }
}

/// Issue 19 item 2: the user details and the gift image come from the real protobuf (the
/// 2026 chat user carries a user-level badge; 2023 users carry moderator, subscriber,
/// fan-club and top-gifter badges), and the JSON keeps to the schema.
#[test]
fn real_users_carry_avatar_follow_role_levels_and_badges_and_gifts_their_image() {
    let Some(chat) = support::prereq::shared("fixtures/webcast/real-2026/chat.pb") else {
        return;
    };
    let schema = schema();
    let event = decode_message("WebcastChatMessage", Bytes::from(fs::read(chat).unwrap())).unwrap();
    let json = json_of(&event);
    assert_follows_schema(&schema, &json);
    let user = &json["user"];
    assert_eq!(user["username"], "rolandodmf");
    assert!(
        user["avatar"]
            .as_str()
            .unwrap()
            .starts_with("https://p19-common-sign.tiktokcdn.com/"),
        "{user}"
    );
    assert_eq!(user["follow_role"], 1);
    assert_eq!(user["user_level"], 16);
    assert_eq!(user["badges"][0]["kind"], "user_level");
    assert_eq!(user["badges"][0]["level"], 16);
    assert_eq!(user["badges"][0]["text"], "16");
    assert!(
        json["ts"].as_i64().unwrap() > 1_700_000_000_000,
        "create_time in ms"
    );
    assert!(json["room_id"].as_str().is_some());

    let Some(file) = support::prereq::shared("fixtures/webcast/real-2023.jsonl") else {
        return;
    };
    let mut kinds = BTreeSet::new();
    let (mut fan_club, mut moderators, mut gift_images) = (0, 0, 0);
    for line in fs::read_to_string(file).unwrap().lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let method = line["method"].as_str().unwrap();
        let event = decode_message(method, payload_of(&line)).unwrap();
        if let Some(user) = event.kind.user() {
            for badge in &user.profile.badges {
                kinds.insert(badge.kind.name());
            }
            fan_club += usize::from(user.profile.fan_club_level > 0);
            moderators += usize::from(user.roles.moderator);
        }
        if let EventKind::Gift { gift, .. } = &event.kind {
            assert!(
                gift.image.as_deref().unwrap().starts_with("https://"),
                "{gift:?}"
            );
            gift_images += 1;
        }
    }
    assert_eq!(
        kinds,
        BTreeSet::from([
            "fan_club",
            "moderator",
            "new_gifter",
            "subscriber",
            "top_gifter",
            "user_level"
        ])
    );
    assert!(fan_club > 0 && moderators > 0, "{fan_club} {moderators}");
    assert_eq!(gift_images, 84, "every real gift has its image");
}
