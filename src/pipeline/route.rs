//! Which template slot an event goes to, and how much its line matters.

use crate::config::Slot;
use crate::event::{BattleStage, ControlAction, Event, EventKind};
use crate::line::Priority;

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Rendered through this slot (if its route is enabled).
    Slot(Slot),
    /// Never relayed; the rule name is what the accounting records.
    Unrouted(&'static str),
}

/// The slot of an event: every kind a user would want in chat has one; the rest (system
/// notices, captions, member actions, unknown messages ...) are `no_route`.
pub fn destination(event: &Event) -> Destination {
    use Destination::{Slot as To, Unrouted};
    match &event.kind {
        EventKind::Chat { .. } => To(Slot::Chat),
        EventKind::Emote { .. } => To(Slot::Emote),
        EventKind::Gift { .. } => To(Slot::Gift),
        EventKind::Like { .. } => To(Slot::Like),
        EventKind::Join { .. } => To(Slot::Join),
        EventKind::Follow { .. } => To(Slot::Follow),
        EventKind::Share { .. } => To(Slot::Share),
        EventKind::Subscribe { .. } => To(Slot::Subscribe),
        EventKind::Question { .. } => To(Slot::Question),
        EventKind::Envelope { .. } => To(Slot::Envelope),
        EventKind::Battle { stage, .. } => match stage {
            BattleStage::Started | BattleStage::Finished => To(Slot::Battle),
            BattleStage::Scores | BattleStage::Other => Unrouted("battle_update"),
        },
        EventKind::Viewers { .. } => To(Slot::Viewers),
        EventKind::Control { action } => match action {
            ControlAction::Paused => To(Slot::LivePaused),
            ControlAction::Resumed => To(Slot::LiveResumed),
            ControlAction::Ended | ControlAction::Suspended => To(Slot::LiveEnded),
            ControlAction::Other(_) => Unrouted("no_route"),
        },
        EventKind::Goal(_) => To(Slot::Goal),
        EventKind::Poll(_) => To(Slot::Poll),
        EventKind::RoomPin(_) => To(Slot::RoomPin),
        EventKind::RankUpdate(_) => To(Slot::RankUpdate),
        EventKind::HourlyRank(_) => To(Slot::HourlyRank),
        EventKind::RankText(_) => To(Slot::RankText),
        EventKind::InRoomBanner(_) => To(Slot::InRoomBanner),
        EventKind::UnauthorizedMember(_) => To(Slot::UnauthorizedMember),
        EventKind::Shopping(_) => To(Slot::Shopping),
        EventKind::MsgDetect(_) => To(Slot::MsgDetect),
        EventKind::RoomVerify(_) => To(Slot::RoomVerify),
        EventKind::SuperFan(_) => To(Slot::SuperFan),
        EventKind::BattlePunishFinish(_) => To(Slot::BattlePunishFinish),
        EventKind::BattleTask(_) => To(Slot::BattleTask),
        EventKind::FanTicket(_) => To(Slot::FanTicket),
        EventKind::LinkMic(_) => To(Slot::LinkMic),
        EventKind::Link(_) => To(Slot::Link),
        EventKind::LinkLayer(_) => To(Slot::LinkLayer),
        _ => Unrouted("no_route"),
    }
}

/// Gifts, follows, shares, subscriptions and the stream's lifecycle outrank chat; chat
/// outranks summaries and counts.
pub fn priority(slot: Slot) -> Priority {
    match slot {
        Slot::Chat | Slot::Emote | Slot::Question | Slot::ChatFlood => Priority::Normal,
        Slot::Like | Slot::LikeSummary | Slot::Join | Slot::JoinSummary | Slot::Viewers => {
            Priority::Low
        }
        // The overlay kinds: when someone routes them to chat, they never push chat aside.
        Slot::Goal
        | Slot::Poll
        | Slot::RoomPin
        | Slot::RankUpdate
        | Slot::HourlyRank
        | Slot::RankText
        | Slot::InRoomBanner
        | Slot::UnauthorizedMember
        | Slot::Shopping
        | Slot::MsgDetect
        | Slot::RoomVerify
        | Slot::SuperFan
        | Slot::BattlePunishFinish
        | Slot::BattleTask
        | Slot::FanTicket
        | Slot::LinkMic
        | Slot::Link
        | Slot::LinkLayer => Priority::Low,
        Slot::Gift
        | Slot::Follow
        | Slot::Share
        | Slot::Subscribe
        | Slot::Envelope
        | Slot::Battle
        | Slot::LivePaused
        | Slot::LiveResumed
        | Slot::LiveEnded => Priority::High,
    }
}
