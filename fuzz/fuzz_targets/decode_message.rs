//! Any bytes as the payload of any mapped method: never a panic, and the hand-written fast
//! decoders always agree with prost alone (`decode_message_with_prost`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiktwitch::source::tiktok::decode;

const METHODS: &[&str] = &[
    "WebcastChatMessage",
    "WebcastEmoteChatMessage",
    "WebcastGiftMessage",
    "WebcastLikeMessage",
    "WebcastMemberMessage",
    "WebcastSocialMessage",
    "WebcastRoomUserSeqMessage",
    "WebcastControlMessage",
    "WebcastSubNotifyMessage",
    "WebcastQuestionNewMessage",
    "WebcastEnvelopeMessage",
    "WebcastLinkMicBattle",
    "WebcastLinkMicArmies",
    "WebcastImDeleteMessage",
    "WebcastLiveIntroMessage",
    "RoomMessage",
    "WebcastSystemMessage",
    "WebcastCaptionMessage",
    "WebcastGoalUpdateMessage",
    "WebcastPollMessage",
    "WebcastBarrageMessage",
    "SomethingNew",
];

fuzz_target!(|data: &[u8]| {
    if let Some((&selector, payload)) = data.split_first() {
        let method = METHODS[usize::from(selector) % METHODS.len()];
        let payload = bytes::Bytes::copy_from_slice(payload);
        let event = decode::decode_message(method, payload.clone());
        match (&event, decode::decode_message_with_prost(method, payload)) {
            (Ok(fast), Ok(prost)) => assert_eq!(*fast, prost, "{method}"),
            (Err(_), Err(_)) => {}
            (fast, prost) => panic!("{method}: fast {fast:?} but prost {prost:?}"),
        }
        if let Ok(event) = event {
            // The public JSON form must always serialize.
            serde_json::to_vec(&event).expect("events always serialize");
        }
    }
});
