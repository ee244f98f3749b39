//! Sample events, one per template slot: templates are test-rendered against them at load,
//! and `tiktwitch check` prints what they look like.

use minijinja::Value;

use super::context::{event_context, flood_context, join_summary_context, like_summary_context};
use super::flood::Flood;
use super::summary::{JoinSummary, LikeSummary};
use crate::config::Slot;
use crate::event::{
    BattlePunishFinish, BattleSide, BattleStage, BattleTask, ControlAction, Event, EventKind,
    FanTicket, FanTickets, Gift, Goal, InRoomBanner, Link, LinkMic, Meta, MsgDetect, Poll,
    PollOption, Rank, RankEntry, RankText, Roles, RoomPin, RoomVerify, Shopping, SuperFan,
    UnauthorizedMember, User,
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
        ..User::default()
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
        Slot::Goal => event(
            "WebcastGoalUpdateMessage",
            EventKind::Goal(Goal {
                goal_id: 7_286_143_085_868_976_929,
                description: "Roses for the new song".into(),
                item: "Rose".into(),
                target: 999,
                progress: 247,
                expires_at: 1_696_451_825,
                contributor: "ana.plays".into(),
                count: 1,
            }),
        ),
        Slot::Poll => event(
            "WebcastPollMessage",
            EventKind::Poll(Poll {
                poll_id: 7_286_185_037_553_699_617,
                stage: "updated",
                question: "Next game?".into(),
                options: vec![
                    PollOption {
                        text: "Minecraft".into(),
                        votes: 12,
                    },
                    PollOption {
                        text: "Fortnite".into(),
                        votes: 7,
                    },
                ],
                ends_at_ms: 1_696_447_234_329,
                operator: Some(user("creator", "The Creator")),
            }),
        ),
        Slot::RoomPin => event(
            "WebcastRoomPinMessage",
            EventKind::RoomPin(RoomPin {
                pinned_method: "WebcastChatMessage".into(),
                pinned_msg_id: 7_286_184_908_077_976_352,
                text: "hello from TikTok!".into(),
                author: Some(ana()),
                pinned_by: 7_117_754_109_814_883_333,
                action: 1,
                duration_secs: 60,
            }),
        ),
        Slot::RankUpdate | Slot::HourlyRank => {
            let rank = Rank {
                lists: vec![RankEntry {
                    rank_type: 8,
                    list: "Daily Ranking".into(),
                    key: "pm_mt_daily_entrance".into(),
                    rank: 4,
                    countdown_secs: 45_624,
                }],
                delta: 0,
            };
            if slot == Slot::RankUpdate {
                event("WebcastRankUpdateMessage", EventKind::RankUpdate(rank))
            } else {
                event("WebcastHourlyRankMessage", EventKind::HourlyRank(rank))
            }
        }
        Slot::RankText => event(
            "WebcastRankTextMessage",
            EventKind::RankText(RankText {
                key: "pm_mt_badge_got_host".into(),
                pattern: "{0:user} just got the No. {1:string} gifter badge".into(),
                user: Some(ana()),
                rank: 3,
                previous_rank: 12,
            }),
        ),
        Slot::InRoomBanner => event(
            "WebcastInRoomBannerMessage",
            EventKind::InRoomBanner(InRoomBanner {
                json: r#"{"debug":false}"#.into(),
            }),
        ),
        Slot::UnauthorizedMember => event(
            "WebcastUnauthorizedMemberMessage",
            EventKind::UnauthorizedMember(UnauthorizedMember {
                action: 1,
                nickname: "Viewer889589".into(),
                key: "live_room_enter_toast".into(),
            }),
        ),
        Slot::Shopping => event(
            "WebcastOecLiveShoppingMessage",
            EventKind::Shopping(Shopping {
                action: 1,
                title: "Tiny perfume".into(),
                price: "$19.00".into(),
                image: "https://example.com/products/perfume.jpeg".into(),
                product_id: 1_729_609_008_007_580_355,
                shop: "TikTok Shop".into(),
            }),
        ),
        Slot::MsgDetect => event(
            "WebcastMsgDetectMessage",
            EventKind::MsgDetect(MsgDetect {
                detect_type: 2,
                from_region: "TR".into(),
            }),
        ),
        Slot::RoomVerify => event(
            "WebcastRoomVerifyMessage",
            EventKind::RoomVerify(RoomVerify {
                action: 4,
                content: String::new(),
            }),
        ),
        Slot::SuperFan => event(
            "WebcastBarrageMessage",
            EventKind::SuperFan(SuperFan {
                user: ana(),
                level: 3,
                joined: true,
                key: "ttlive_superfan_commentnotif_superfanjoined".into(),
            }),
        ),
        Slot::BattlePunishFinish => event(
            "WebcastLinkMicBattlePunishFinish",
            EventKind::BattlePunishFinish(BattlePunishFinish {
                battle_id: 7_286_183_425_237_322_529,
                channel_id: 7_286_180_458_596_059_936,
                operator_id: 6_604_742_758_795_608_069,
                reason: 1,
                duration_secs: 301,
            }),
        ),
        Slot::BattleTask => event(
            "WebcastLinkmicBattleTaskMessage",
            EventKind::BattleTask(BattleTask {
                battle_id: 0,
                task_type: 3,
                key: "pm_mt_live_match_desc_2".into(),
                params: [("sum".to_owned(), "1809".to_owned())].into(),
                time_left_secs: 0,
            }),
        ),
        Slot::FanTicket => event(
            "WebcastLinkMicFanTicketMethod",
            EventKind::FanTicket(FanTicket {
                users: vec![FanTickets {
                    user_id: 7_062_462_396_455_486_469,
                    tickets: 155,
                }],
                total: 155,
            }),
        ),
        Slot::LinkMic => event(
            "WebcastLinkMicMethod",
            EventKind::LinkMic(LinkMic {
                message_type: 8,
                user_id: 6_608_441_235_148_521_478,
                channel_id: 0,
                fan_tickets: 2_361,
            }),
        ),
        Slot::Link | Slot::LinkLayer => {
            let link = Link {
                message_type: 19,
                linker_id: 7_286_162_204_725_482_501,
                scene: 4,
                linked: 7,
                applied: 2,
            };
            if slot == Slot::Link {
                event("WebcastLinkMessage", EventKind::Link(link))
            } else {
                event("WebcastLinkLayerMessage", EventKind::LinkLayer(link))
            }
        }
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
