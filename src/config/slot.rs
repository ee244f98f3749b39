//! Template slots: every place in the config that holds a template, with its built-in
//! default, the variables it may use, and the kind of line it makes.

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
    /// `routes.goal.template` (overlay kinds: off by default)
    Goal,
    /// `routes.poll.template` (overlay kinds: off by default)
    Poll,
    /// `routes.room_pin.template` (overlay kinds: off by default)
    RoomPin,
    /// `routes.rank_update.template` (overlay kinds: off by default)
    RankUpdate,
    /// `routes.hourly_rank.template` (overlay kinds: off by default)
    HourlyRank,
    /// `routes.rank_text.template` (overlay kinds: off by default)
    RankText,
    /// `routes.in_room_banner.template` (overlay kinds: off by default)
    InRoomBanner,
    /// `routes.unauthorized_member.template` (overlay kinds: off by default)
    UnauthorizedMember,
    /// `routes.shopping.template` (overlay kinds: off by default)
    Shopping,
    /// `routes.msg_detect.template` (overlay kinds: off by default)
    MsgDetect,
    /// `routes.room_verify.template` (overlay kinds: off by default)
    RoomVerify,
    /// `routes.super_fan.template` (overlay kinds: off by default)
    SuperFan,
    /// `routes.battle_punish_finish.template` (overlay kinds: off by default)
    BattlePunishFinish,
    /// `routes.battle_task.template` (overlay kinds: off by default)
    BattleTask,
    /// `routes.fan_ticket.template` (overlay kinds: off by default)
    FanTicket,
    /// `routes.link_mic.template` (overlay kinds: off by default)
    LinkMic,
    /// `routes.link.template` (overlay kinds: off by default)
    Link,
    /// `routes.link_layer.template` (overlay kinds: off by default)
    LinkLayer,
}

/// The variables every template may use.
const COMMON_VARS: &[&str] = &["kind", "streamer"];

impl Slot {
    /// Every slot, in config order.
    pub const ALL: [Slot; 36] = [
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
        Slot::Goal,
        Slot::Poll,
        Slot::RoomPin,
        Slot::RankUpdate,
        Slot::HourlyRank,
        Slot::RankText,
        Slot::InRoomBanner,
        Slot::UnauthorizedMember,
        Slot::Shopping,
        Slot::MsgDetect,
        Slot::RoomVerify,
        Slot::SuperFan,
        Slot::BattlePunishFinish,
        Slot::BattleTask,
        Slot::FanTicket,
        Slot::LinkMic,
        Slot::Link,
        Slot::LinkLayer,
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
            Self::Goal => "goal",
            Self::Poll => "poll",
            Self::RoomPin => "room_pin",
            Self::RankUpdate => "rank_update",
            Self::HourlyRank => "hourly_rank",
            Self::RankText => "rank_text",
            Self::InRoomBanner => "in_room_banner",
            Self::UnauthorizedMember => "unauthorized_member",
            Self::Shopping => "shopping",
            Self::MsgDetect => "msg_detect",
            Self::RoomVerify => "room_verify",
            Self::SuperFan => "super_fan",
            Self::BattlePunishFinish => "battle_punish_finish",
            Self::BattleTask => "battle_task",
            Self::FanTicket => "fan_ticket",
            Self::LinkMic => "link_mic",
            Self::Link => "link",
            Self::LinkLayer => "link_layer",
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
            Self::Goal => {
                "[TT] 🎯 {{ description or 'Goal' }}: {{ progress | thousands }}/{{ target | thousands }}{% if item %} {{ item }}{% endif %}"
            }
            Self::Poll => {
                "[TT] 📊 Poll {{ stage }}{% if question %}: {{ question }}{% endif %}{% for option in options %} · {{ option.text }} {{ option.votes }}{% endfor %}"
            }
            Self::RoomPin => "[TT] 📌 {{ author.name }}: {{ text }}",
            Self::RankUpdate => {
                "[TT] 🏆{% for entry in lists %} {{ entry.list }}{% if entry.rank %} #{{ entry.rank }}{% endif %}{% endfor %}"
            }
            Self::HourlyRank => {
                "[TT] 🏆{% for entry in lists %} {{ entry.list }}{% if entry.rank %} #{{ entry.rank }}{% endif %}{% endfor %}"
            }
            Self::RankText => "[TT] 🏅 {{ user.name }} is now the No. {{ rank }} gifter",
            Self::InRoomBanner => "[TT] 📰 A banner changed",
            Self::UnauthorizedMember => "[TT] 👋 {{ nickname }} joined",
            Self::Shopping => "[TT] 🛍️ {{ title }}{% if price %} · {{ price }}{% endif %}",
            Self::MsgDetect => "[TT] TikTok delivery probe {{ detect_type }}",
            Self::RoomVerify => "[TT] The room's verification changed ({{ action }})",
            Self::SuperFan => {
                "[TT] 💜 {{ user.name }} {% if joined %}became a super fan{% else %}is a super fan{% endif %}"
            }
            Self::BattlePunishFinish => "[TT] ⚔️ The battle's punishment is over",
            Self::BattleTask => {
                "[TT] ⚔️ Battle task{% if params.sum %}: {{ params.sum }} points{% endif %}"
            }
            Self::FanTicket => "[TT] 🎟️ {{ total | thousands }} fan tickets",
            Self::LinkMic => "[TT] 🎙️ Link-mic update ({{ message_type }})",
            Self::Link => "[TT] 🎙️ {{ linked }} guests on the mic",
            Self::LinkLayer => "[TT] 🎙️ The guest layout changed",
        }
    }

    /// The variables this slot's template may use (besides `kind` and `streamer`), with the
    /// attributes of object variables.
    pub fn variables(self) -> &'static [(&'static str, &'static [&'static str])] {
        const USER: &[&str] = &["id", "username", "nickname", "name", "roles"];
        const GIFT: &[&str] = &["id", "name", "diamonds", "streakable", "image"];
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
            Self::Goal => &[
                ("goal_id", &[]),
                ("description", &[]),
                ("item", &[]),
                ("target", &[]),
                ("progress", &[]),
                ("expires_at", &[]),
                ("contributor", &[]),
                ("count", &[]),
            ],
            Self::Poll => &[
                ("poll_id", &[]),
                ("stage", &[]),
                ("question", &[]),
                ("options", &[]),
                ("ends_at_ms", &[]),
                ("operator", USER),
            ],
            Self::RoomPin => &[
                ("pinned_method", &[]),
                ("pinned_msg_id", &[]),
                ("text", &[]),
                ("author", USER),
                ("pinned_by", &[]),
                ("action", &[]),
                ("duration_secs", &[]),
            ],
            Self::RankUpdate => &[("lists", &[]), ("delta", &[])],
            Self::HourlyRank => &[("lists", &[]), ("delta", &[])],
            Self::RankText => &[
                ("key", &[]),
                ("pattern", &[]),
                ("user", USER),
                ("rank", &[]),
                ("previous_rank", &[]),
            ],
            Self::InRoomBanner => &[("json", &[])],
            Self::UnauthorizedMember => &[("action", &[]), ("nickname", &[]), ("key", &[])],
            Self::Shopping => &[
                ("action", &[]),
                ("title", &[]),
                ("price", &[]),
                ("image", &[]),
                ("product_id", &[]),
                ("shop", &[]),
            ],
            Self::MsgDetect => &[("detect_type", &[]), ("from_region", &[])],
            Self::RoomVerify => &[("action", &[]), ("content", &[])],
            Self::SuperFan => &[
                ("user", USER),
                ("level", &[]),
                ("joined", &[]),
                ("key", &[]),
            ],
            Self::BattlePunishFinish => &[
                ("battle_id", &[]),
                ("channel_id", &[]),
                ("operator_id", &[]),
                ("reason", &[]),
                ("duration_secs", &[]),
            ],
            Self::BattleTask => &[
                ("battle_id", &[]),
                ("task_type", &[]),
                ("key", &[]),
                ("params", &[]),
                ("time_left_secs", &[]),
            ],
            Self::FanTicket => &[("users", &[]), ("total", &[])],
            Self::LinkMic => &[
                ("message_type", &[]),
                ("user_id", &[]),
                ("channel_id", &[]),
                ("fan_tickets", &[]),
            ],
            Self::Link => &[
                ("message_type", &[]),
                ("linker_id", &[]),
                ("scene", &[]),
                ("linked", &[]),
                ("applied", &[]),
            ],
            Self::LinkLayer => &[("message_type", &[]), ("linker_id", &[]), ("scene", &[])],
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
