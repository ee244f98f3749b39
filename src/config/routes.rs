//! The pipeline's sections: `[routes.<kind>]`, `[filters]` and `[coalesce]`.
//!
//! Every route has `enabled` and `template`; a few have kind-specific knobs (the chat flood
//! line, the like and join summaries). Template slots, their defaults and the variables each
//! may use are listed once, in [`Slot`].

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

/// A place in the config that holds a template: one per route, plus the summary lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// `routes.chat.template`
    Chat,
    /// `routes.chat.flood_template`: the "N more said the same" line.
    ChatFlood,
    /// `routes.emote.template`
    Emote,
    /// `routes.gift.template`
    Gift,
    /// `routes.like.template`: one line per raw like burst.
    Like,
    /// `routes.like.summary_template`: the periodic like summary.
    LikeSummary,
    /// `routes.join.template`: one line per join.
    Join,
    /// `routes.join.summary_template`: the periodic join summary.
    JoinSummary,
    /// `routes.follow.template`
    Follow,
    /// `routes.share.template`
    Share,
    /// `routes.subscribe.template`
    Subscribe,
    /// `routes.question.template`
    Question,
    /// `routes.envelope.template`
    Envelope,
    /// `routes.battle.template`
    Battle,
    /// `routes.viewers.template`
    Viewers,
    /// `routes.live_paused.template`
    LivePaused,
    /// `routes.live_resumed.template`
    LiveResumed,
    /// `routes.live_ended.template`
    LiveEnded,
}

/// The variables every template may use.
const COMMON_VARS: &[&str] = &["kind", "streamer"];

impl Slot {
    /// Every slot, in config order.
    pub const ALL: [Slot; 18] = [
        Slot::Chat,
        Slot::ChatFlood,
        Slot::Emote,
        Slot::Gift,
        Slot::Like,
        Slot::LikeSummary,
        Slot::Join,
        Slot::JoinSummary,
        Slot::Follow,
        Slot::Share,
        Slot::Subscribe,
        Slot::Question,
        Slot::Envelope,
        Slot::Battle,
        Slot::Viewers,
        Slot::LivePaused,
        Slot::LiveResumed,
        Slot::LiveEnded,
    ];

    /// The route (`[routes.<name>]`) the slot belongs to.
    pub fn route(self) -> &'static str {
        match self {
            Self::Chat | Self::ChatFlood => "chat",
            Self::Emote => "emote",
            Self::Gift => "gift",
            Self::Like | Self::LikeSummary => "like",
            Self::Join | Self::JoinSummary => "join",
            Self::Follow => "follow",
            Self::Share => "share",
            Self::Subscribe => "subscribe",
            Self::Question => "question",
            Self::Envelope => "envelope",
            Self::Battle => "battle",
            Self::Viewers => "viewers",
            Self::LivePaused => "live_paused",
            Self::LiveResumed => "live_resumed",
            Self::LiveEnded => "live_ended",
        }
    }

    /// The key inside the route's table.
    pub fn key(self) -> &'static str {
        match self {
            Self::ChatFlood => "flood_template",
            Self::LikeSummary | Self::JoinSummary => "summary_template",
            _ => "template",
        }
    }

    /// The key path in the config file, e.g. `routes.gift.template`.
    pub fn path(self) -> String {
        format!("routes.{}.{}", self.route(), self.key())
    }

    /// The `Line::kind` of lines rendered from this slot.
    pub fn line_kind(self) -> &'static str {
        match self {
            Self::ChatFlood => "chat_flood",
            Self::LikeSummary => "likes",
            Self::JoinSummary => "joins",
            other => other.route(),
        }
    }

    /// The built-in template; also the fallback when a configured one fails to render.
    pub fn default_template(self) -> &'static str {
        match self {
            Self::Chat => "[TT] {{ user.name }}: {{ text }}",
            Self::ChatFlood => "[TT] {{ text }} (×{{ count }} more)",
            Self::Emote => "[TT] {{ user.name }} sent an emote",
            Self::Gift => {
                "[TT] 🎁 {{ user.name }} sent {{ count }}× {{ gift.name }} ({{ total_diamonds | thousands }} 💎)"
            }
            Self::Like => "[TT] ❤️ {{ user.name }} sent {{ count }} likes",
            Self::LikeSummary => {
                "[TT] ❤️ {{ likes | thousands }} likes in the last {{ window_secs }} s"
            }
            Self::Join => "[TT] 👋 {{ user.name }} joined",
            Self::JoinSummary => {
                "[TT] 👋 {{ joins | thousands }} joined in the last {{ window_secs }} s{% if users %}: {{ users | join(', ') }}{% if joins > users | length %} and more{% endif %}{% endif %}"
            }
            Self::Follow => "[TT] ➕ {{ user.name }} followed",
            Self::Share => "[TT] 🔁 {{ user.name }} shared the live",
            Self::Subscribe => {
                "[TT] ⭐ {{ user.name }} subscribed{% if months > 1 %} ({{ months }} months){% endif %}"
            }
            Self::Question => "[TT] ❓ {{ user.name }} asks: {{ text }}",
            Self::Envelope => {
                "[TT] 💰 {{ sender or 'someone' }} dropped a treasure box: {{ diamonds | thousands }} 💎 for {{ people }} viewers"
            }
            Self::Battle => {
                "[TT] ⚔️ Battle {{ stage }}{% for side in sides %} · {{ side.name }} {{ side.score | thousands }}{% if side.result %} ({{ side.result }}){% endif %}{% endfor %}"
            }
            Self::Viewers => "[TT] 👀 {{ current | thousands }} watching",
            Self::LivePaused => "[TT] ⏸️ The TikTok live is paused",
            Self::LiveResumed => "[TT] ▶️ The TikTok live is back",
            Self::LiveEnded => "[TT] ⏹️ The TikTok live has ended",
        }
    }

    /// The variables this slot's template may use (besides `kind` and `streamer`), with the
    /// attributes of object variables.
    pub fn variables(self) -> &'static [(&'static str, &'static [&'static str])] {
        const USER: &[&str] = &["id", "username", "nickname", "name", "roles"];
        const GIFT: &[&str] = &["id", "name", "diamonds", "streakable"];
        match self {
            Self::Chat => &[("user", USER), ("text", &[]), ("language", &[])],
            Self::ChatFlood => &[("text", &[]), ("count", &[]), ("window_secs", &[])],
            Self::Emote => &[("user", USER), ("count", &[])],
            Self::Gift => &[
                ("user", USER),
                ("gift", GIFT),
                ("count", &[]),
                ("total_diamonds", &[]),
                ("to_user", USER),
            ],
            Self::Like => &[("user", USER), ("count", &[]), ("total", &[])],
            Self::LikeSummary => &[("likes", &[]), ("total", &[]), ("window_secs", &[])],
            Self::Join | Self::Follow | Self::Share => &[("user", USER)],
            Self::JoinSummary => &[("joins", &[]), ("users", &[]), ("window_secs", &[])],
            Self::Subscribe => &[("user", USER), ("months", &[])],
            Self::Question => &[("user", USER), ("text", &[])],
            Self::Envelope => &[("sender", &[]), ("diamonds", &[]), ("people", &[])],
            Self::Battle => &[("battle_id", &[]), ("stage", &[]), ("sides", &[])],
            Self::Viewers => &[("current", &[]), ("cumulative", &[])],
            Self::LivePaused | Self::LiveResumed | Self::LiveEnded => &[("action", &[])],
        }
    }

    /// Every variable name this slot offers, common ones included (for hints).
    pub fn variable_names(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = COMMON_VARS.to_vec();
        names.extend(self.variables().iter().map(|(name, _)| *name));
        names
    }

    /// The attributes of variable `name`: `None` when the slot has no such variable,
    /// `Some(&[])` for a plain value.
    pub fn attributes_of(self, name: &str) -> Option<&'static [&'static str]> {
        if COMMON_VARS.contains(&name) {
            return Some(&[]);
        }
        self.variables()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, attrs)| *attrs)
    }
}

/// Compile-time defaults of a plain route (`enabled` + `template`).
pub trait RouteDefaults {
    /// The template slot.
    const SLOT: Slot;
    /// Relayed unless the config says otherwise.
    const ENABLED: bool;
}

/// A route with only `enabled` and `template`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, bound = "")]
pub struct Route<K: RouteDefaults> {
    /// Relay this kind of event.
    pub enabled: bool,
    /// How it looks (minijinja). TikTok's text is a value, never template source.
    pub template: String,
    #[serde(skip)]
    kind: PhantomData<K>,
}

impl<K: RouteDefaults> Default for Route<K> {
    fn default() -> Self {
        Self {
            enabled: K::ENABLED,
            template: K::SLOT.default_template().to_owned(),
            kind: PhantomData,
        }
    }
}

macro_rules! route_kinds {
    ($($(#[$doc:meta])* $name:ident => $slot:ident, $enabled:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl RouteDefaults for $name {
            const SLOT: Slot = Slot::$slot;
            const ENABLED: bool = $enabled;
        }
    )*};
}

route_kinds! {
    /// Emote-only comments: off by default (they carry sticker ids, no text).
    EmoteKind => Emote, false;
    /// Gifts, relayed once per streak at its end: on.
    GiftKind => Gift, true;
    /// Follows: on.
    FollowKind => Follow, true;
    /// Shares: on.
    ShareKind => Share, true;
    /// Subscriptions: on.
    SubscribeKind => Subscribe, true;
    /// Q&A questions: on.
    QuestionKind => Question, true;
    /// Treasure boxes: off.
    EnvelopeKind => Envelope, false;
    /// Battle start and result (score updates are never relayed): off.
    BattleKind => Battle, false;
    /// Viewer counts, at most every `coalesce.viewers_interval_secs` and only on change: off.
    ViewersKind => Viewers, false;
    /// The creator paused the live: on.
    LivePausedKind => LivePaused, true;
    /// The live resumed: on.
    LiveResumedKind => LiveResumed, true;
    /// The live ended (or TikTok ended it): on.
    LiveEndedKind => LiveEnded, true;
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
}

impl Default for ChatRoute {
    fn default() -> Self {
        Self {
            enabled: true,
            template: Slot::Chat.default_template().into(),
            flood_template: Slot::ChatFlood.default_template().into(),
        }
    }
}

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
}

impl Default for LikeRoute {
    fn default() -> Self {
        Self {
            enabled: false,
            template: Slot::Like.default_template().into(),
            summary: true,
            summary_template: Slot::LikeSummary.default_template().into(),
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
}

impl Default for JoinRoute {
    fn default() -> Self {
        Self {
            enabled: false,
            template: Slot::Join.default_template().into(),
            summary: false,
            summary_template: Slot::JoinSummary.default_template().into(),
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
    pub gift: Route<GiftKind>,
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
        }
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
