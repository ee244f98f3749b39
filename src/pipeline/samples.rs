//! Sample events, one per template slot: templates are test-rendered against them at load,
//! and `tiktwitch check` prints what they look like.

use minijinja::Value;

use super::context::{event_context, flood_context, join_summary_context, like_summary_context};
use super::flood::Flood;
use super::summary::{JoinSummary, LikeSummary};
use crate::config::Slot;
use crate::event::{
    BattleSide, BattleStage, ControlAction, Event, EventKind, Gift, Meta, Roles, User,
};

fn user(handle: &str, nickname: &str) -> User {
    User {
        id: 7_300_000_000_000_000_001,
        username: handle.into(),
        nickname: nickname.into(),
        roles: Roles {
            follower: true,
            ..Roles::default()
        },
    }
}

fn event(method: &'static str, kind: EventKind) -> Event {
    Event {
        meta: Meta {
            method: method.into(),
            msg_id: 7_286_185_052_676_410_117,
            ..Meta::default()
        },
        kind,
    }
}

/// A sample event for a slot, or `None` for the summary slots (which have no event).
pub fn sample_event(slot: Slot) -> Option<Event> {
    let ana = || user("ana.plays", "Ana 🌸");
    Some(match slot {
        Slot::Chat => event(
            "WebcastChatMessage",
            EventKind::Chat {
                user: ana(),
                text: "hello from TikTok!".into(),
                language: "en".into(),
            },
        ),
        Slot::Emote => event(
            "WebcastEmoteChatMessage",
            EventKind::Emote {
                user: ana(),
                emote_ids: vec!["7281238501054696197".into()],
            },
        ),
        Slot::Gift => event(
            "WebcastGiftMessage",
            EventKind::Gift {
                user: ana(),
                gift: Gift {
                    id: 5655,
                    name: "Rose".into(),
                    diamonds: 1,
                    streakable: true,
                    image: Some("https://example.com/gifts/rose.webp".into()),
                },
                count: 12,
                streak_end: true,
                complete: true,
                streak_id: 1_739_382_910_000,
                to_user: Some(user("cohost", "Co-host")),
            },
        ),
        Slot::Like => event(
            "WebcastLikeMessage",
            EventKind::Like {
                user: Some(ana()),
                count: 15,
                total: 1_240,
            },
        ),
        Slot::Join => event("WebcastMemberMessage", EventKind::Join { user: ana() }),
        Slot::Follow => event("WebcastSocialMessage", EventKind::Follow { user: ana() }),
        Slot::Share => event("WebcastSocialMessage", EventKind::Share { user: ana() }),
        Slot::Subscribe => event(
            "WebcastSubNotifyMessage",
            EventKind::Subscribe {
                user: ana(),
                months: 3,
            },
        ),
        Slot::Question => event(
            "WebcastQuestionNewMessage",
            EventKind::Question {
                user: Some(ana()),
                text: "what game is this?".into(),
            },
        ),
        Slot::Envelope => event(
            "WebcastEnvelopeMessage",
            EventKind::Envelope {
                sender: "ana.plays".into(),
                diamonds: 100,
                people: 25,
            },
        ),
        Slot::Battle => event(
            "WebcastLinkMicBattle",
            EventKind::Battle {
                battle_id: 7_286_184_518_701_337_350,
                stage: BattleStage::Finished,
                sides: vec![
                    BattleSide {
                        user_id: 1,
                        username: "creator".into(),
                        nickname: "The Creator".into(),
                        score: 18_830,
                        result: Some("win"),
                    },
                    BattleSide {
                        user_id: 2,
                        username: "rival".into(),
                        nickname: "Rival".into(),
                        score: 2_300,
                        result: Some("lose"),
                    },
                ],
            },
        ),
        Slot::Viewers => event(
            "WebcastRoomUserSeqMessage",
            EventKind::Viewers {
                current: 1_532,
                cumulative: 20_410,
            },
        ),
        Slot::LivePaused => control(ControlAction::Paused),
        Slot::LiveResumed => control(ControlAction::Resumed),
        Slot::LiveEnded => control(ControlAction::Ended),
        Slot::ChatFlood | Slot::LikeSummary | Slot::JoinSummary => return None,
    })
}

fn control(action: ControlAction) -> Event {
    event("WebcastControlMessage", EventKind::Control { action })
}

/// The window used by sample summaries.
const SAMPLE_WINDOW_SECS: u64 = 60;

/// The template variables of a slot's sample.
pub fn sample_context(slot: Slot, streamer: &str) -> Value {
    match slot {
        Slot::ChatFlood => flood_context(
            &Flood {
                text: "W".into(),
                count: 41,
            },
            SAMPLE_WINDOW_SECS,
            streamer,
        ),
        Slot::LikeSummary => like_summary_context(
            &LikeSummary {
                likes: 1_240,
                total: 18_002,
            },
            SAMPLE_WINDOW_SECS,
            streamer,
        ),
        Slot::JoinSummary => join_summary_context(
            &JoinSummary {
                joins: 12,
                users: vec!["Ana 🌸".into(), "bo".into(), "Chen".into()],
            },
            SAMPLE_WINDOW_SECS,
            streamer,
        ),
        other => match sample_event(other) {
            Some(event) => event_context(other, &event, streamer),
            None => Value::from(()),
        },
    }
}
