//! The typed config file: one struct per section, `deny_unknown_fields` everywhere, every field
//! documented and defaulted (required values are checked by [`super::validate`], so a missing
//! one is reported together with every other problem instead of stopping the parse).
//!
//! Pipeline sections (`[routes]`, `[filters]`, `[coalesce]`) live in [`super::routes`].

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::feed::{ApiConfig, FeedConfig, WebhookConfig};
pub use super::pricing::PricingConfig;
use super::routes::{CoalesceConfig, FiltersConfig, RoutesConfig};

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where secrets (tokens, API keys) are kept. The file only ever names secrets.
    pub secret_store: SecretStoreKind,
    /// Directory for state (the `file` secret store, caches). Default: the XDG state dir,
    /// `$XDG_STATE_HOME/tiktwitch` (`~/.local/state/tiktwitch`).
    pub state_dir: Option<PathBuf>,
    /// The TikTok side. With no `[[bridge]]`, `[tiktok]` + `[twitch]` are the one bridge.
    pub tiktok: TiktokConfig,
    /// The Twitch side.
    pub twitch: TwitchConfig,
    /// Several bridges, each a TikTok live into some Twitch channels; each inherits
    /// `[tiktok]`, `[twitch]`, `[routes]`, `[filters]` and `[coalesce]` and overrides what
    /// it sets.
    pub bridge: Vec<BridgeEntry>,
    /// The health and metrics HTTP listener.
    pub http: HttpConfig,
    /// The live event feed (WebSocket + page) on the HTTP listener.
    pub feed: FeedConfig,
    /// The REST API on the HTTP listener.
    pub api: ApiConfig,
    /// Signed webhooks: events POSTed as JSON to URLs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhook: Vec<WebhookConfig>,
    /// Logging.
    pub log: LogConfig,
    /// Shutdown behaviour.
    pub shutdown: ShutdownConfig,
    /// Per event kind: relay it or not, and how it looks.
    pub routes: RoutesConfig,
    /// What is dropped or masked before relaying.
    pub filters: FiltersConfig,
    /// Gift streaks, like/join summaries, viewer counts and chat floods.
    pub coalesce: CoalesceConfig,
    /// What one TikTok coin costs, for the `money` template filter.
    pub pricing: PricingConfig,
    /// Whether the Twitch channels are live, and what bridges do while they are not.
    pub twitch_stream: super::twitch_stream::TwitchStreamConfig,
}

/// The secret stores (`secret_store`): the one definition the config, the CLI flags and the
/// secret module share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStoreKind {
    /// The OS keyring where one answers, else the `file` store; which one was taken is
    /// logged at start and shown by `check`. The default: it works on a desktop (keyring)
    /// and on a headless server (file) alike.
    #[default]
    Auto,
    /// The OS keyring (Secret Service, kernel keyutils, macOS Keychain, Windows Credential
    /// Manager), and nothing else.
    Keyring,
    /// A file only the owner can read, under `state_dir`.
    File,
    /// Environment variables `TIKTWITCH_SECRET_<NAME>` (name upper-cased, `-` and `.` as `_`).
    Env,
}

impl SecretStoreKind {
    /// Every store, in the order the docs list them.
    pub const ALL: [Self; 4] = [Self::Auto, Self::Keyring, Self::File, Self::Env];

    /// The name used in the config file and in `check` output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Keyring => "keyring",
            Self::File => "file",
            Self::Env => "env",
        }
    }
}

impl fmt::Display for SecretStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SecretStoreKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown secret store {s:?}: choose \"auto\", \"keyring\", \"file\" or \"env\""
                )
            })
    }
}

/// `[tiktok]`: which live to read and how to reach TikTok. `Debug` hides a proxy password.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TiktokConfig {
    /// The creator whose live is mirrored: `name`, `@name`, `https://www.tiktok.com/@name`
    /// or `.../@name/live`. Required (here or in each `[[bridge]]`).
    pub username: String,
    /// TikTok's web origin (room lookup).
    pub web_base_url: String,
    /// TikTok's WebCast API origin (the gift catalogue).
    pub webcast_base_url: String,
    /// Fetch the room's gift catalogue (once per live, ~2.6 MB) so gifts show their name,
    /// diamond value and image even when a gift message leaves them out. Optional: when
    /// the fetch fails the bridge goes on with what the messages say.
    pub gift_catalogue: bool,
    /// The signing service origin.
    pub signer_base_url: String,
    /// Name of the secret holding the signer API key (not the key itself).
    pub signer_api_key: String,
    /// Name of the secret holding a TikTok `sessionid` cookie, needed only for 18+ rooms.
    pub session_id: Option<String>,
    /// Proxy for every TikTok connection: `http://`, `socks5://` or `socks5h://` (what the source can dial).
    pub proxy: Option<String>,
    /// Wait for the creator to go live (polling) instead of exiting when they are offline.
    pub wait_for_live: bool,
    /// Seconds between "is the creator live?" checks while waiting.
    pub poll_interval_secs: u64,
    /// Seconds between WebSocket heartbeats.
    pub heartbeat_secs: u64,
    /// Upper bound of the reconnect back-off, in seconds.
    pub reconnect_max_backoff_secs: u64,
    /// Relay the history TikTok replays on connect (old comments); off by default.
    pub relay_history: bool,
    /// Signer calls per minute shared by every bridge of the process (the default suits
    /// Euler's free tier; a paid plan may allow more). Process-wide, so `[[bridge]]`
    /// overrides may not set it.
    pub signer_calls_per_minute: u32,
}

impl fmt::Debug for TiktokConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TiktokConfig")
            .field("username", &self.username)
            .field("web_base_url", &self.web_base_url)
            .field("webcast_base_url", &self.webcast_base_url)
            .field("gift_catalogue", &self.gift_catalogue)
            .field("signer_base_url", &self.signer_base_url)
            .field("signer_api_key", &self.signer_api_key)
            .field("session_id", &self.session_id)
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("wait_for_live", &self.wait_for_live)
            .field("poll_interval_secs", &self.poll_interval_secs)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .field(
                "reconnect_max_backoff_secs",
                &self.reconnect_max_backoff_secs,
            )
            .field("relay_history", &self.relay_history)
            .field("signer_calls_per_minute", &self.signer_calls_per_minute)
            .finish()
    }
}

/// A URL with its password (if any) replaced by `***`; unparseable input is hidden whole.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "(unparseable URL, hidden)".into(),
    }
}

/// The signer API key's secret name (the default of `tiktok.signer_api_key`): the one
/// spelling the help, README, deploy docs and env store use (`TIKTWITCH_SECRET_` +
/// `TIKTOK_SIGNER_API_KEY`). Older spellings still work with a warning
/// (`secret::names::DEPRECATED_SECRET_NAMES`).
pub const SIGNER_API_KEY_SECRET: &str = "tiktok-signer-api-key";

impl Default for TiktokConfig {
    fn default() -> Self {
        Self {
            username: String::new(),
            web_base_url: "https://www.tiktok.com".into(),
            webcast_base_url: "https://webcast.tiktok.com".into(),
            gift_catalogue: true,
            signer_base_url: "https://api.eulerstream.com".into(),
            signer_api_key: SIGNER_API_KEY_SECRET.into(),
            session_id: None,
            proxy: None,
            wait_for_live: true,
            poll_interval_secs: 60,
            heartbeat_secs: 10,
            reconnect_max_backoff_secs: 60,
            relay_history: false,
            signer_calls_per_minute: crate::limits::SIGNER_CALLS_PER_MINUTE,
        }
    }
}

/// How lines reach Twitch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// Authenticated IRC (twitch-irc).
    #[default]
    Irc,
    /// The Helix "Send Chat Message" API.
    Helix,
}

/// `[twitch]`: where lines go and as whom.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwitchConfig {
    /// Channels to post into (login names, without `#`). Required (here or per bridge).
    pub channels: Vec<String>,
    /// The bot account's login name. Required.
    pub bot_login: String,
    /// IRC server `host:port`.
    pub server: String,
    /// Use TLS to the IRC server.
    pub tls: bool,
    /// The Twitch application's client id (public; needed to refresh tokens). Required.
    pub client_id: String,
    /// Name of the secret holding the application's client secret (confidential apps only).
    pub client_secret: Option<String>,
    /// Name of the secret holding the bot's OAuth token pair (written by `tiktwitch auth`).
    pub token: String,
    /// Twitch OAuth origin.
    pub oauth_base_url: String,
    /// Twitch Helix API origin.
    pub helix_base_url: String,
    /// `irc` or `helix`.
    pub sink: SinkKind,
    /// Override the lines-per-30-seconds budget. Unset, the sink sends at most
    /// [`crate::limits::TWITCH_LINES_PER_WINDOW`] (18 of Twitch's
    /// [`crate::limits::TWITCH_ALLOWED_LINES_PER_WINDOW`], 20), or
    /// [`crate::limits::TWITCH_LINES_PER_WINDOW_ELEVATED`] (90 of 100) where the bot is
    /// moderator/VIP/broadcaster, detected at runtime. Set, the one number applies to both.
    pub lines_per_30s: Option<u32>,
    /// Lines queued for sending at most; past this the lowest priority is shed first
    /// (default [`crate::limits::SINK_QUEUE_CAPACITY`]).
    pub queue_capacity: usize,
    /// Seconds during which an identical line is not sent twice (Twitch drops identical
    /// messages sent within 30 s; default [`crate::limits::TWITCH_DUPLICATE_WINDOW`]).
    pub dedupe_window_secs: u64,
    /// When a bridge is paused (`POST /api/bridges/{name}/pause`): 0 drops its queued lines
    /// (counted `paused`); N keeps them and sends, after the resume, those queued at most N
    /// seconds before it (0 to [`PAUSE_KEEP_MAX_SECS`]).
    pub pause_keep_secs: u64,
    /// `[twitch.commands]`: moderator control from Twitch chat.
    pub commands: super::twitch_chat::CommandsConfig,
    /// `allow` or `pause`: what to do while the channel is in a Twitch Shared Chat session.
    pub shared_chat: super::twitch_chat::SharedChatPolicy,
    /// With `sink = "helix"`: which token sends (`user`: the bot's own token with
    /// `user:write:chat`; `app`: an app access token from the client-credentials grant,
    /// which needs `client_secret`, for Twitch's Chat Bot badge).
    pub helix_token: HelixToken,
}

/// Which token the Helix sink sends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HelixToken {
    /// The bot's user token (`user:write:chat`).
    #[default]
    User,
    /// An app access token (client-credentials grant; the bot grants `user:bot`, the
    /// broadcaster `channel:bot` or makes the bot a moderator): the Chat Bot badge.
    App,
}

/// The longest `pause_keep_secs`: an hour-old chat line is no longer worth posting.
pub const PAUSE_KEEP_MAX_SECS: u64 = 3600;

impl Default for TwitchConfig {
    fn default() -> Self {
        Self {
            channels: Vec::new(),
            bot_login: String::new(),
            server: crate::limits::TWITCH_IRC_SERVER.into(),
            tls: true,
            client_id: String::new(),
            client_secret: None,
            token: "twitch-token".into(),
            oauth_base_url: "https://id.twitch.tv/oauth2".into(),
            helix_base_url: crate::limits::TWITCH_HELIX_BASE_URL.into(),
            sink: SinkKind::Irc,
            lines_per_30s: None,
            queue_capacity: crate::limits::SINK_QUEUE_CAPACITY,
            dedupe_window_secs: crate::limits::TWITCH_DUPLICATE_WINDOW.as_secs(),
            pause_keep_secs: 0,
            commands: super::twitch_chat::CommandsConfig::default(),
            shared_chat: super::twitch_chat::SharedChatPolicy::default(),
            helix_token: HelixToken::User,
        }
    }
}

/// One `[[bridge]]`: a TikTok live into some Twitch channels.
///
/// The pipeline overrides are kept loose here; the loader merges each over the global
/// section key by key and checks the result (see [`super::Bridge`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeEntry {
    /// A short name for logs and metrics. Required, unique.
    pub name: String,
    /// The TikTok creator (same forms as `tiktok.username`).
    pub tiktok_username: String,
    /// Twitch channels for this bridge; empty means `twitch.channels`.
    pub twitch_channels: Vec<String>,
    /// `twitch.pause_keep_secs` for this bridge only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_keep_secs: Option<u64>,
    /// TikTok overrides, merged over `[tiktok]` (e.g. a proxy or a signer key of its own).
    #[serde(skip_serializing)]
    pub tiktok: Option<config::Value>,
    /// Route overrides, merged over `[routes]` (e.g. `[bridge.routes.gift]`).
    #[serde(skip_serializing)]
    pub routes: Option<config::Value>,
    /// Filter overrides, merged over `[filters]`.
    #[serde(skip_serializing)]
    pub filters: Option<config::Value>,
    /// Coalescing overrides, merged over `[coalesce]`.
    #[serde(skip_serializing)]
    pub coalesce: Option<config::Value>,
    /// `twitch_stream.when_twitch_offline` for this bridge only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_twitch_offline: Option<super::twitch_stream::WhenTwitchOffline>,
    /// `twitch_stream.twitch_live_announcement` for this bridge only (`""`: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twitch_live_announcement: Option<String>,
}

/// `[http]`: health and metrics.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Serve `/healthz` and `/metrics`.
    pub enabled: bool,
    /// Address to listen on, `ip:port`.
    pub bind: String,
    /// Serve `[feed]`/`[api]` on a non-loopback `bind` without their tokens. Off: such a
    /// config is refused (`check` and `run`; see `config::feed::api_token_required`).
    pub public: bool,
    /// Connections at once; more are answered `503` and closed.
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers.
    pub header_read_timeout_secs: u64,
    /// Seconds with no byte moving either way before a connection is closed.
    pub idle_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            bind: "127.0.0.1:9464".into(),
            public: false,
            max_connections: crate::limits::HTTP_MAX_CONNECTIONS,
            header_read_timeout_secs: crate::limits::HTTP_HEADER_READ_TIMEOUT.as_secs(),
            idle_timeout_secs: crate::limits::HTTP_IDLE_TIMEOUT.as_secs(),
        }
    }
}

/// Log output formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object a line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,tiktwitch::sink=debug` (`RUST_LOG` wins).
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

/// `[shutdown]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds to finish sending queued lines after Ctrl-C / SIGTERM before exiting.
    pub grace_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { grace_secs: 5 }
    }
}

/// The values of each config enum by Rust type name, for "did you mean" hints (the
/// `config` crate's enum errors name the type but not the choices).
pub fn enum_variants(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "SecretStoreKind" => &["auto", "keyring", "file", "env"],
        "SinkKind" => &["irc", "helix"],
        "LogFormat" => &["human", "json"],
        "BlockedAction" => &["mask", "drop"],
        "RoleName" => &["follower", "subscriber", "moderator"],
        "HelixToken" => &["user", "app"],
        "WhenTwitchOffline" => &super::twitch_stream::WhenTwitchOffline::NAMES,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::routes::{BlockedAction, RoleName};

    fn names<T: Serialize>(values: &[T]) -> Vec<String> {
        values
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn proxy_passwords_stay_out_of_debug() {
        let config = TiktokConfig {
            proxy: Some("socks5h://me:hunter2@127.0.0.1:1080".into()),
            ..TiktokConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("socks5h://me:***@127.0.0.1:1080"), "{debug}");
    }

    #[test]
    fn enum_hint_tables_match_serde() {
        use SecretStoreKind as S;
        assert_eq!(names(&S::ALL), enum_variants("SecretStoreKind"));
        assert_eq!(
            names(&[SinkKind::Irc, SinkKind::Helix]),
            enum_variants("SinkKind")
        );
        assert_eq!(
            names(&[LogFormat::Human, LogFormat::Json]),
            enum_variants("LogFormat")
        );
        assert_eq!(
            names(&[BlockedAction::Mask, BlockedAction::Drop]),
            enum_variants("BlockedAction")
        );
        let roles = [
            RoleName::Follower,
            RoleName::Subscriber,
            RoleName::Moderator,
        ];
        assert_eq!(names(&roles), enum_variants("RoleName"));
        assert_eq!(
            names(&[HelixToken::User, HelixToken::App]),
            enum_variants("HelixToken")
        );
    }
}
