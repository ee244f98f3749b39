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
