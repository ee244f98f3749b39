//! Any bytes as the payload of any mapped method.
#![no_main]

use libfuzzer_sys::fuzz_target;

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
        let event = tiktwitch::source::tiktok::decode::decode_message(
            method,
            bytes::Bytes::copy_from_slice(payload),
        );
        if let Ok(event) = event {
            // The public JSON form must always serialize.
            serde_json::to_vec(&event).expect("events always serialize");
        }
    }
});
