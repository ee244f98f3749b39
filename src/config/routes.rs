//! The pipeline's sections: `[routes.<kind>]`, `[filters]` and `[coalesce]`.
//!
//! Every route has `enabled` and `template`; a few have kind-specific knobs (the chat flood
//! line, the like and join summaries). Template slots, their defaults and the variables each
//! may use are listed once, in [`Slot`].

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

pub use super::slot::Slot;

/// Compile-time defaults of a plain route (`enabled` + `template`).
pub trait RouteDefaults {
    /// The template slot.
    const SLOT: Slot;
    /// Relayed unless the config says otherwise.
    const ENABLED: bool;
    /// Its lines' default `max_age_secs`: how old one may be when its turn comes (0 for the
    /// stream's status lines: they say what is true now, whenever they go).
    const MAX_AGE_SECS: u64 = EVENT_MAX_AGE_SECS;
}

/// Default `max_age_secs` of chat and questions: a comment posted minutes late has lost
/// its context.
pub const CHAT_MAX_AGE_SECS: u64 = crate::limits::SINK_CHAT_MAX_AGE.as_secs();

/// Default `max_age_secs` of every other route: a thank-you may be late, not minutes late.
pub const EVENT_MAX_AGE_SECS: u64 = crate::limits::SINK_EVENT_MAX_AGE.as_secs();

/// Default `routes.chat.min_share_one_in`: while comments wait, at least one line in three
/// carries chat, whatever storm of gifts or follows waits too.
pub const CHAT_MIN_SHARE_ONE_IN: u32 = 3;

/// Default `routes.gift.big_diamonds`: a gift worth this many diamonds or more (about a
/// dollar) keeps its own line and goes first; smaller ones may share a summary line.
pub const BIG_GIFT_DIAMONDS: u64 = 100;

/// A route with only `enabled` and `template`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, bound = "")]
pub struct Route<K: RouteDefaults> {
    /// Relay this kind of event.
    pub enabled: bool,
    /// How it looks (minijinja). TikTok's text is a value, never template source.
    pub template: String,
    /// Seconds a line may wait for its turn in the sink; older, it is dropped as `stale`.
    /// 0 keeps it whatever its age.
    pub max_age_secs: u64,
    #[serde(skip)]
    kind: PhantomData<K>,
}

impl<K: RouteDefaults> Default for Route<K> {
    fn default() -> Self {
        Self {
            enabled: K::ENABLED,
            template: K::SLOT.default_template().to_owned(),
            max_age_secs: K::MAX_AGE_SECS,
            kind: PhantomData,
        }
    }
}

macro_rules! route_kinds {
    ($($(#[$doc:meta])* $name:ident => $slot:ident, $enabled:expr $(, $age:expr)?;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl RouteDefaults for $name {
            const SLOT: Slot = Slot::$slot;
            const ENABLED: bool = $enabled;
            $(const MAX_AGE_SECS: u64 = $age;)?
        }
    )*};
}

route_kinds! {
    /// Emote-only comments: off by default (they carry sticker ids, no text).
    EmoteKind => Emote, false, CHAT_MAX_AGE_SECS;
    /// Follows: on.
    FollowKind => Follow, true;
    /// Shares: on.
    ShareKind => Share, true;
    /// Subscriptions: on.
    SubscribeKind => Subscribe, true;
    /// Q&A questions: on.
    QuestionKind => Question, true, CHAT_MAX_AGE_SECS;
    /// Treasure boxes: off.
    EnvelopeKind => Envelope, false;
    /// Battle start and result (score updates are never relayed): off.
    BattleKind => Battle, false;
    /// Viewer counts, at most every `coalesce.viewers_interval_secs` and only on change: off.
    ViewersKind => Viewers, false;
    /// The creator paused the live: on.
    LivePausedKind => LivePaused, true, 0;
    /// The live resumed: on.
    LiveResumedKind => LiveResumed, true, 0;
    /// The live ended (or TikTok ended it): on.
    LiveEndedKind => LiveEnded, true, 0;
    /// `goal` events: for the feed and overlays, off for Twitch chat.
    GoalKind => Goal, false;
    /// `poll` events: for the feed and overlays, off for Twitch chat.
    PollKind => Poll, false;
    /// `room_pin` events: for the feed and overlays, off for Twitch chat.
    RoomPinKind => RoomPin, false;
    /// `rank_update` events: for the feed and overlays, off for Twitch chat.
    RankUpdateKind => RankUpdate, false;
    /// `hourly_rank` events: for the feed and overlays, off for Twitch chat.
    HourlyRankKind => HourlyRank, false;
    /// `rank_text` events: for the feed and overlays, off for Twitch chat.
    RankTextKind => RankText, false;
    /// `in_room_banner` events: for the feed and overlays, off for Twitch chat.
    InRoomBannerKind => InRoomBanner, false;
    /// `unauthorized_member` events: for the feed and overlays, off for Twitch chat.
    UnauthorizedMemberKind => UnauthorizedMember, false;
    /// `shopping` events: for the feed and overlays, off for Twitch chat.
    ShoppingKind => Shopping, false;
    /// `msg_detect` events: for the feed and overlays, off for Twitch chat.
    MsgDetectKind => MsgDetect, false;
    /// `room_verify` events: for the feed and overlays, off for Twitch chat.
    RoomVerifyKind => RoomVerify, false;
    /// `super_fan` events: for the feed and overlays, off for Twitch chat.
    SuperFanKind => SuperFan, false;
    /// `battle_punish_finish` events: for the feed and overlays, off for Twitch chat.
    BattlePunishFinishKind => BattlePunishFinish, false;
    /// `battle_task` events: for the feed and overlays, off for Twitch chat.
    BattleTaskKind => BattleTask, false;
    /// `fan_ticket` events: for the feed and overlays, off for Twitch chat.
    FanTicketKind => FanTicket, false;
    /// `link_mic` events: for the feed and overlays, off for Twitch chat.
    LinkMicKind => LinkMic, false;
    /// `link` events: for the feed and overlays, off for Twitch chat.
    LinkKind => Link, false;
    /// `link_layer` events: for the feed and overlays, off for Twitch chat.
    LinkLayerKind => LinkLayer, false;
}

/// `[routes.chat]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatRoute {
    /// Relay comments.
    pub enabled: bool,
    /// How a comment looks.
    pub template: String,
    /// The line that stands for identical comments collapsed within
    /// `coalesce.chat_flood_window_secs` (`text`, `count` = how many more).
    pub flood_template: String,
    /// Join comments, questions, follows and shares waiting for one channel into one line
    /// (each part rendered by its own template): on. Twitch counts lines, not characters.
    pub pack: bool,
    /// Longest packed line in characters; Twitch's cap, 500, is also the most.
    pub pack_max_chars: usize,
    /// Put between two parts of a packed line.
    pub pack_separator: String,
    /// Seconds a comment may wait for its turn in the sink; older, it is dropped as
    /// `stale`. 0 keeps it whatever its age.
    pub max_age_secs: u64,
    /// While comments wait, at least one line in this many carries chat (3: a third of
    /// the budget), so a storm of gifts or follows never silences the chat. 1: chat first.
    pub min_share_one_in: u32,
}

impl Default for ChatRoute {
    fn default() -> Self {
        Self {
            enabled: true,
            template: Slot::Chat.default_template().into(),
            flood_template: Slot::ChatFlood.default_template().into(),
            pack: true,
            pack_max_chars: PACK_MAX_CHARS,
            pack_separator: PACK_SEPARATOR.into(),
            max_age_secs: CHAT_MAX_AGE_SECS,
            min_share_one_in: CHAT_MIN_SHARE_ONE_IN,
        }
    }
}

/// `[routes.gift]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GiftRoute {
    /// Relay gifts, once per streak at its end: on.
    pub enabled: bool,
    /// How a gift looks.
    pub template: String,
    /// Seconds a gift line may wait for its turn in the sink; older, it is dropped as
    /// `stale`. 0 keeps it whatever its age.
    pub max_age_secs: u64,
    /// A gift worth this many diamonds or more (count × value) keeps its own line and goes
    /// first among the lines that are not chat; smaller ones waiting together share one
    /// summary part (`A, B and 3 others sent gifts`). 0: every gift is big.
    pub big_diamonds: u64,
}

impl Default for GiftRoute {
    fn default() -> Self {
        Self {
            enabled: true,
            template: Slot::Gift.default_template().into(),
            max_age_secs: EVENT_MAX_AGE_SECS,
            big_diamonds: BIG_GIFT_DIAMONDS,
        }
    }
}

/// Default and largest `routes.chat.pack_max_chars`: Twitch's message cap.
pub const PACK_MAX_CHARS: usize = crate::limits::MAX_MESSAGE_CHARS;

/// Default `routes.chat.pack_separator`: a middle dot reads as a separator in every script.
pub const PACK_SEPARATOR: &str = " · ";

/// `[routes.like]`: raw like bursts are noise; the summary is built on the room total.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LikeRoute {
    /// Relay every like burst (one line per burst): off.
    pub enabled: bool,
    /// How a raw burst looks.
    pub template: String,
    /// Relay one summary per `coalesce.like_window_secs`.
    pub summary: bool,
    /// How the summary looks (`likes`, `total`, `window_secs`).
    pub summary_template: String,
    /// Seconds a like line may wait for its turn in the sink; older, it is dropped as
    /// `stale`. 0 keeps it whatever its age.
    pub max_age_secs: u64,
}

impl Default for LikeRoute {
    fn default() -> Self {
        Self {
            enabled: false,
            template: Slot::Like.default_template().into(),
            summary: true,
            summary_template: Slot::LikeSummary.default_template().into(),
            max_age_secs: EVENT_MAX_AGE_SECS,
        }
    }
}

/// `[routes.join]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JoinRoute {
    /// Relay every join: off.
    pub enabled: bool,
    /// How a join looks.
    pub template: String,
    /// Relay one summary per `coalesce.join_window_secs`: off.
    pub summary: bool,
    /// How the summary looks (`joins`, `users` = up to 5 names, `window_secs`).
    pub summary_template: String,
    /// Seconds a join line may wait for its turn in the sink; older, it is dropped as
    /// `stale`. 0 keeps it whatever its age.
    pub max_age_secs: u64,
}

impl Default for JoinRoute {
    fn default() -> Self {
        Self {
            enabled: false,
            template: Slot::Join.default_template().into(),
            summary: false,
            summary_template: Slot::JoinSummary.default_template().into(),
            max_age_secs: EVENT_MAX_AGE_SECS,
        }
    }
}

/// `[routes]`: one table per event kind.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutesConfig {
    /// Comments.
    pub chat: ChatRoute,
    /// Emote-only comments.
    pub emote: Route<EmoteKind>,
    /// Gifts.
    pub gift: GiftRoute,
    /// Likes.
    pub like: LikeRoute,
    /// Joins.
    pub join: JoinRoute,
    /// Follows.
    pub follow: Route<FollowKind>,
    /// Shares.
    pub share: Route<ShareKind>,
    /// Subscriptions.
    pub subscribe: Route<SubscribeKind>,
    /// Q&A questions.
    pub question: Route<QuestionKind>,
    /// Treasure boxes.
    pub envelope: Route<EnvelopeKind>,
    /// Link-mic battles.
    pub battle: Route<BattleKind>,
    /// Viewer counts.
    pub viewers: Route<ViewersKind>,
    /// The live was paused.
    pub live_paused: Route<LivePausedKind>,
    /// The live resumed.
    pub live_resumed: Route<LiveResumedKind>,
    /// The live ended.
    pub live_ended: Route<LiveEndedKind>,
    /// `goal` events (off).
    pub goal: Route<GoalKind>,
    /// `poll` events (off).
    pub poll: Route<PollKind>,
    /// `room_pin` events (off).
    pub room_pin: Route<RoomPinKind>,
    /// `rank_update` events (off).
    pub rank_update: Route<RankUpdateKind>,
    /// `hourly_rank` events (off).
    pub hourly_rank: Route<HourlyRankKind>,
    /// `rank_text` events (off).
    pub rank_text: Route<RankTextKind>,
    /// `in_room_banner` events (off).
    pub in_room_banner: Route<InRoomBannerKind>,
    /// `unauthorized_member` events (off).
    pub unauthorized_member: Route<UnauthorizedMemberKind>,
    /// `shopping` events (off).
    pub shopping: Route<ShoppingKind>,
    /// `msg_detect` events (off).
    pub msg_detect: Route<MsgDetectKind>,
    /// `room_verify` events (off).
    pub room_verify: Route<RoomVerifyKind>,
    /// `super_fan` events (off).
    pub super_fan: Route<SuperFanKind>,
    /// `battle_punish_finish` events (off).
    pub battle_punish_finish: Route<BattlePunishFinishKind>,
    /// `battle_task` events (off).
    pub battle_task: Route<BattleTaskKind>,
    /// `fan_ticket` events (off).
    pub fan_ticket: Route<FanTicketKind>,
    /// `link_mic` events (off).
    pub link_mic: Route<LinkMicKind>,
    /// `link` events (off).
    pub link: Route<LinkKind>,
    /// `link_layer` events (off).
    pub link_layer: Route<LinkLayerKind>,
}

impl RoutesConfig {
    /// The configured template of a slot.
    pub fn template(&self, slot: Slot) -> &str {
        match slot {
            Slot::Chat => &self.chat.template,
            Slot::ChatFlood => &self.chat.flood_template,
            Slot::Emote => &self.emote.template,
            Slot::Gift => &self.gift.template,
            Slot::Like => &self.like.template,
            Slot::LikeSummary => &self.like.summary_template,
            Slot::Join => &self.join.template,
            Slot::JoinSummary => &self.join.summary_template,
            Slot::Follow => &self.follow.template,
            Slot::Share => &self.share.template,
            Slot::Subscribe => &self.subscribe.template,
            Slot::Question => &self.question.template,
            Slot::Envelope => &self.envelope.template,
            Slot::Battle => &self.battle.template,
            Slot::Viewers => &self.viewers.template,
            Slot::LivePaused => &self.live_paused.template,
            Slot::LiveResumed => &self.live_resumed.template,
            Slot::LiveEnded => &self.live_ended.template,
            Slot::Goal => &self.goal.template,
            Slot::Poll => &self.poll.template,
            Slot::RoomPin => &self.room_pin.template,
            Slot::RankUpdate => &self.rank_update.template,
            Slot::HourlyRank => &self.hourly_rank.template,
            Slot::RankText => &self.rank_text.template,
            Slot::InRoomBanner => &self.in_room_banner.template,
            Slot::UnauthorizedMember => &self.unauthorized_member.template,
            Slot::Shopping => &self.shopping.template,
            Slot::MsgDetect => &self.msg_detect.template,
            Slot::RoomVerify => &self.room_verify.template,
            Slot::SuperFan => &self.super_fan.template,
            Slot::BattlePunishFinish => &self.battle_punish_finish.template,
            Slot::BattleTask => &self.battle_task.template,
            Slot::FanTicket => &self.fan_ticket.template,
            Slot::LinkMic => &self.link_mic.template,
            Slot::Link => &self.link.template,
            Slot::LinkLayer => &self.link_layer.template,
        }
    }

    /// Each line kind's `max_age_secs` (`chat` also for `chat_flood`, `like` and `join`
    /// also for their summaries `likes` and `joins`), for the sink's freshness.
    pub fn max_ages(&self) -> Vec<(&'static str, u64)> {
        let r = self;
        let mut ages = vec![
            ("chat", r.chat.max_age_secs),
            ("chat_flood", r.chat.max_age_secs),
            ("gift", r.gift.max_age_secs),
            ("like", r.like.max_age_secs),
            ("likes", r.like.max_age_secs),
            ("join", r.join.max_age_secs),
            ("joins", r.join.max_age_secs),
        ];
        macro_rules! plain {
            ($($field:ident),*) => { $( ages.push((stringify!($field), r.$field.max_age_secs)); )* };
        }
        plain!(
            emote,
            follow,
            share,
            subscribe,
            question,
            envelope,
            battle,
            viewers,
            live_paused,
            live_resumed,
            live_ended,
            goal,
            poll,
            room_pin,
            rank_update,
            hourly_rank,
            rank_text,
            in_room_banner,
            unauthorized_member,
            shopping,
            msg_detect,
            room_verify,
            super_fan,
            battle_punish_finish,
            battle_task,
            fan_ticket,
            link_mic,
            link,
            link_layer
        );
        ages
    }

    /// Whether the slot produces lines at all.
    pub fn slot_enabled(&self, slot: Slot) -> bool {
        match slot {
            Slot::Chat | Slot::ChatFlood => self.chat.enabled,
            Slot::Emote => self.emote.enabled,
            Slot::Gift => self.gift.enabled,
            Slot::Like => self.like.enabled,
            Slot::LikeSummary => self.like.summary,
            Slot::Join => self.join.enabled,
            Slot::JoinSummary => self.join.summary,
            Slot::Follow => self.follow.enabled,
            Slot::Share => self.share.enabled,
            Slot::Subscribe => self.subscribe.enabled,
            Slot::Question => self.question.enabled,
            Slot::Envelope => self.envelope.enabled,
            Slot::Battle => self.battle.enabled,
            Slot::Viewers => self.viewers.enabled,
            Slot::LivePaused => self.live_paused.enabled,
            Slot::LiveResumed => self.live_resumed.enabled,
            Slot::LiveEnded => self.live_ended.enabled,
            Slot::Goal => self.goal.enabled,
            Slot::Poll => self.poll.enabled,
            Slot::RoomPin => self.room_pin.enabled,
            Slot::RankUpdate => self.rank_update.enabled,
            Slot::HourlyRank => self.hourly_rank.enabled,
            Slot::RankText => self.rank_text.enabled,
            Slot::InRoomBanner => self.in_room_banner.enabled,
            Slot::UnauthorizedMember => self.unauthorized_member.enabled,
            Slot::Shopping => self.shopping.enabled,
            Slot::MsgDetect => self.msg_detect.enabled,
            Slot::RoomVerify => self.room_verify.enabled,
            Slot::SuperFan => self.super_fan.enabled,
            Slot::BattlePunishFinish => self.battle_punish_finish.enabled,
            Slot::BattleTask => self.battle_task.enabled,
            Slot::FanTicket => self.fan_ticket.enabled,
            Slot::LinkMic => self.link_mic.enabled,
            Slot::Link => self.link.enabled,
            Slot::LinkLayer => self.link_layer.enabled,
        }
    }
}

/// What a blocked word does to a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockedAction {
    /// Replace the word with `***` and relay the rest.
    #[default]
    Mask,
    /// Drop the whole message.
    Drop,
}

/// A TikTok identity flag to require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Follows the creator.
    Follower,
    /// Subscribes to the creator.
    Subscriber,
    /// Moderates the room.
    Moderator,
}

/// `[filters]`: what is dropped or masked.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FiltersConfig {
    /// Gifts worth less than this many diamonds in total (diamonds × count, at the streak's
    /// end) are dropped. 0 relays every gift.
    pub min_gift_diamonds: u64,
    /// Words blocked in comments, questions and names: whole words, case-insensitive.
    pub blocked_words: Vec<String>,
    /// Regular expressions (Rust `regex` syntax) blocked like `blocked_words`.
    pub blocked_patterns: Vec<String>,
    /// `mask` (replace with `***`) or `drop` (drop the message).
    pub blocked_action: BlockedAction,
    /// TikTok users (@handles, case-insensitive) whose events are never relayed.
    pub ignored_users: Vec<String>,
    /// TikTok users whose events skip the role filter and the chat allowlist.
    pub allowed_users: Vec<String>,
    /// Relay comments only from `allowed_users`.
    pub chat_allowlist: bool,
    /// Relay comments, emotes and questions only from users with one of these flags
    /// (`follower`, `subscriber`, `moderator`); empty relays everyone.
    pub only_roles: Vec<RoleName>,
}

impl Default for FiltersConfig {
    fn default() -> Self {
        Self {
            min_gift_diamonds: 0,
            blocked_words: Vec::new(),
            blocked_patterns: Vec::new(),
            blocked_action: BlockedAction::Mask,
            ignored_users: Vec::new(),
            allowed_users: Vec::new(),
            chat_allowlist: false,
            only_roles: Vec::new(),
        }
    }
}

/// `[coalesce]`: turning bursts into single lines.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoalesceConfig {
    /// Seconds without a new tick after which a gift streak whose end frame never came is
    /// relayed with its last count.
    pub gift_streak_timeout_secs: u64,
    /// Seconds each like summary covers.
    pub like_window_secs: u64,
    /// Seconds each join summary covers.
    pub join_window_secs: u64,
    /// Seconds between viewer-count lines at least (and only when the count changed).
    pub viewers_interval_secs: u64,
    /// Seconds during which identical comments after the first are collapsed into one
    /// `flood_template` line.
    pub chat_flood_window_secs: u64,
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        Self {
            gift_streak_timeout_secs: 5,
            like_window_secs: 60,
            join_window_secs: 60,
            viewers_interval_secs: 300,
            chat_flood_window_secs: 10,
        }
    }
}
