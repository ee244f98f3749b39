//! The run plan: the loaded config mapped onto each component's own settings, with the
//! bridges of this shard. Pure: no I/O except reading secrets from the store.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::AuthSettings;
use crate::config::feed::{ApiConfig, FeedConfig, WebhookConfig, api_token_required};
use crate::config::origin::OriginPolicy;
use crate::config::schema::{HelixToken, SinkKind, TwitchConfig};
use crate::config::{Bridge, Config, Loaded};
use crate::feed::{FeedSettings, WebhookSettings};
use crate::limits::WEBHOOK_RETRY_MIN_DELAY;
use crate::pipeline::PipelineConfig;
use crate::secret::{SecretStore, SecretStoreKind, SecretStoreSettings};
use crate::sink::TwitchSinkSettings;
use crate::sink::pack::PackSettings;
use crate::source::tiktok::TikTokSettings;

use super::DaemonError;

/// This process runs bridge `index` of every `count` (`--shard i/n`), so a StatefulSet of
/// `n` pods covers every bridge exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Zero-based shard index.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not i/n (e.g. 0/3)"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("{i:?} is not a shard index"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a shard count"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count"
            ));
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// True when the bridge at `position` (in config order) belongs to this shard.
    pub fn owns(&self, position: usize) -> bool {
        position as u64 % u64::from(self.count) == u64::from(self.index)
    }
}

/// One bridge, ready to run.
#[derive(Debug, Clone)]
pub struct BridgePlan {
    /// Its name (for logs, health and metrics).
    pub name: String,
    /// The source's settings (secrets filled in at start).
    pub source: TikTokSettings,
    /// Name of the signer API key secret.
    pub signer_key_secret: String,
    /// Name of the TikTok session id secret, if any.
    pub session_id_secret: Option<String>,
    /// The pipeline's config.
    pub pipeline: PipelineConfig,
    /// Twitch channels its lines go to.
    pub channels: Vec<String>,
    /// The bot account that posts them (for status lines).
    pub bot_login: String,
    /// At a pause, queued lines are kept this long for after the resume (`None`: dropped);
    /// `twitch.pause_keep_secs`.
    pub pause_keep: Option<Duration>,
    /// `[twitch] lines_per_30s`: set, the one budget the sink paces to whatever the bot's
    /// badges (for status lines, which say what the sink does).
    pub lines_per_30s: Option<u32>,
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The config as loaded (typed, serialised), for a reload to name what it cannot apply.
    pub config_snapshot: std::sync::Arc<serde_json::Value>,
    /// The config file it came from.
    pub config_path: PathBuf,
    /// The shard of the config's bridges this process runs (`run --shard`).
    pub shard: Option<Shard>,
    /// The bridges this process runs.
    pub bridges: Vec<BridgePlan>,
    /// The Twitch sink (one bot account, every bridge's channels).
    pub sink: TwitchSinkSettings,
    /// The Twitch login.
    pub auth: AuthSettings,
    /// Where secrets live.
    pub secrets: SecretStoreSettings,
    /// The health and metrics listener, when enabled.
    pub http_bind: Option<String>,
    /// What the listener allows its clients (connections, timeouts).
    pub http: super::server::HttpServerSettings,
    /// How long the sink may drain at shutdown.
    pub grace: Duration,
    /// The event feed, REST API and webhooks (tokens filled in from the secret store).
    pub feed: FeedSettings,
    /// Names of the secrets the feed needs.
    pub feed_secrets: FeedSecretNames,
    /// Signer calls per minute shared by every bridge (`tiktok.signer_calls_per_minute`,
    /// default [`crate::limits::SIGNER_CALLS_PER_MINUTE`]).
    pub signer_calls_per_minute: u32,
    /// The Twitch stream watch and each bridge's rules (`None`: not needed).
    pub twitch_stream: Option<super::stream_awareness::StreamPlan>,
    /// Moderator commands from Twitch chat and Shared Chat (`[twitch.commands]`,
    /// `twitch.shared_chat`).
    pub control: crate::control::ControlSettings,
    /// `twitch.sink = "helix"`: how the Helix sink sends (`None`: IRC).
    pub helix: Option<HelixPlan>,
}

/// The Helix sink's plan: which token sends (the base URL is in the sink's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelixPlan {
    /// Which token sends.
    pub token: HelixToken,
}

/// How a missing `[api] token` is reported when the API is served to the network.
pub const API_TOKEN_REQUIRED: &str = "api.token (required: [http] bind is not loopback; store the token, bind to 127.0.0.1, or set [http] public = true)";

/// The secrets `[feed]`, `[api]` and `[[webhook]]` name.
#[derive(Debug, Clone, Default)]
pub struct FeedSecretNames {
    /// The feed's token (must exist when named).
    pub ws_token: Option<String>,
    /// The API's token (when the API is on; missing: state changes are refused).
    pub api_token: Option<String>,
    /// The API's token must be stored: the API is served on a non-loopback address
    /// without `[http] public = true` ([`crate::config::feed::api_token_required`]).
    pub api_token_required: bool,
    /// Each webhook's HMAC key (must exist).
    pub webhooks: Vec<String>,
}

impl Plan {
    /// Maps a loaded config (every bridge already merged and validated) onto settings.
    pub fn from_config(loaded: &Loaded, shard: Option<Shard>) -> Result<Self, DaemonError> {
        let config = &loaded.config;
        let bridges: Vec<&Bridge> = loaded
            .bridges
            .iter()
            .enumerate()
            .filter(|(i, _)| shard.is_none_or(|s| s.owns(*i)))
            .map(|(_, b)| b)
            .collect();
        if bridges.is_empty() {
            return Err(DaemonError::NoBridges {
                shard: shard.map(|s| format!("{}/{}", s.index, s.count)),
            });
        }
        let twitch = &config.twitch;
        let mut channels: Vec<String> = bridges
            .iter()
            .flat_map(|b| b.twitch.channels.iter().cloned())
            .collect();
        channels.sort();
        channels.dedup();
        let grace = Duration::from_secs(config.shutdown.grace_secs);
        let secrets = store_settings(config.secret_store, config.state_dir.clone());
        let control =
            crate::control::ControlSettings::from_config(twitch, Some(secrets.state_dir.clone()));
        let state_dir = secrets.state_dir.clone();
        Ok(Self {
            config_snapshot: std::sync::Arc::new(
                serde_json::to_value(config).unwrap_or(serde_json::Value::Null),
            ),
            config_path: loaded.path.clone(),
            shard,
            bridges: bridges
                .iter()
                .map(|b| bridge_plan(b, &twitch.bot_login))
                .collect(),
            sink: TwitchSinkSettings {
                // The pacing journal: a restart never spends a window twice.
                state_dir: Some(secrets.state_dir.clone()),
                pack: pack_settings(&config.routes.chat),
                pack_by_bridge: bridges
                    .iter()
                    .map(|b| (b.name.clone(), pack_settings(&b.pipeline.routes.chat)))
                    .collect(),
                freshness: delivery_policy(&config.routes).freshness,
                select: delivery_policy(&config.routes).select,
                policy_by_bridge: bridges
                    .iter()
                    .map(|b| (b.name.clone(), delivery_policy(&b.pipeline.routes)))
                    .collect(),
                ..sink_settings(twitch, channels, grace)
            },
            auth: auth_settings(twitch, &secrets),
            secrets,
            http_bind: config.http.enabled.then(|| config.http.bind.clone()),
            http: super::server::HttpServerSettings {
                max_connections: config.http.max_connections,
                header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
                idle_timeout: Duration::from_secs(config.http.idle_timeout_secs),
                ..super::server::HttpServerSettings::default()
            },
            grace,
            feed: FeedSettings {
                // The API's webhooks and the dead letters live beside the secrets.
                state_dir: Some(state_dir),
                usd_per_diamond: config.pricing.usd_per_diamond,
                ..feed_settings(&config.feed, &config.api, &config.webhook)
            },
            feed_secrets: FeedSecretNames {
                ws_token: config.feed.token.clone().filter(|_| config.feed.enabled),
                api_token: config.api.enabled.then(|| config.api.token.clone()),
                api_token_required: api_token_required(&config.http, &config.api),
                webhooks: config.webhook.iter().map(|w| w.secret.clone()).collect(),
            },
            signer_calls_per_minute: config.tiktok.signer_calls_per_minute,
            control,
            helix: (twitch.sink == SinkKind::Helix).then_some(HelixPlan {
                token: twitch.helix_token,
            }),
            twitch_stream: super::stream_awareness::stream_plan(config, &bridges),
        })
    }

    /// Fills each bridge's secrets (signer key, session id) from `store`. A missing signer
    /// key is not an error here: a self-hosted signer may need none.
    pub async fn resolve_secrets(&mut self, store: &dyn SecretStore) -> Result<(), DaemonError> {
        for bridge in &mut self.bridges {
            bridge.source.signer_api_key = crate::secret::names::get(store, &bridge.signer_key_secret)
                .await?
                .map(|s| s.expose().to_owned());
            if let Some(name) = &bridge.session_id_secret {
                bridge.source.session_id = store.get(name).await?.map(|s| s.expose().to_owned());
            }
        }
        let missing = |what: &str, name: &str| DaemonError::MissingSecret {
            what: what.to_owned(),
            name: name.to_owned(),
        };
        if let Some(name) = &self.feed_secrets.ws_token {
            self.feed.ws_token = Some(
                store
                    .get(name)
                    .await?
                    .ok_or_else(|| missing("feed.token", name))?,
            );
        }
        if let Some(name) = &self.feed_secrets.api_token {
            self.feed.api_token = store.get(name).await?;
            if self.feed.api_token.is_none() && self.feed_secrets.api_token_required {
                return Err(missing(API_TOKEN_REQUIRED, name));
            }
            if self.feed.api_token.is_none() {
                tracing::warn!(
                    secret = %name,
                    "no API token stored: pause/resume requests will be refused"
                );
            }
        }
        for (i, (hook, name)) in self
            .feed
            .webhooks
            .iter_mut()
            .zip(&self.feed_secrets.webhooks)
            .enumerate()
        {
            hook.secret = store
                .get(name)
                .await?
                .ok_or_else(|| missing(&format!("webhook[{i}].secret"), name))?;
        }
        Ok(())
    }
}

/// The secret store a config names (`secret_store`, `state_dir`), for commands that open
/// the store without running a bridge (`check`, `auth`, `secret`, `tail`, `replay`).
pub fn secret_store_settings(config: &Config) -> SecretStoreSettings {
    store_settings(config.secret_store, config.state_dir.clone())
}

/// The Twitch login a config describes (`[twitch]` client id, OAuth URL, token name, bot
/// login, Helix scopes) over the store `store`.
pub fn twitch_auth_settings(config: &Config, store: &SecretStoreSettings) -> AuthSettings {
    auth_settings(&config.twitch, store)
}

fn feed_settings(feed: &FeedConfig, api: &ApiConfig, webhooks: &[WebhookConfig]) -> FeedSettings {
    FeedSettings {
        ws_enabled: feed.enabled,
        client_queue: feed.client_queue,
        // Checked by config validation; a list that does not parse cannot reach here.
        allowed_origins: OriginPolicy::parse(&feed.allowed_origins).unwrap_or_default(),
        api_enabled: api.enabled,
        ring_capacity: api.ring_capacity,
        ring_path: api.ring_path.clone(),
        webhooks: webhooks
            .iter()
            .map(|w| WebhookSettings {
                url: w.url.clone(),
                events: w.events.clone(),
                bridges: w.bridges.clone(),
                batch_max: w.batch_max,
                batch_wait: Duration::from_secs(w.batch_wait_secs),
                timeout: Duration::from_secs(w.timeout_secs),
                max_attempts: w.max_attempts,
                min_backoff: WEBHOOK_RETRY_MIN_DELAY,
                max_backoff: Duration::from_secs(w.max_backoff_secs),
                queue_capacity: w.queue_capacity,
                rate_per_sec: w.rate_per_sec,
                rate_burst: w.rate_burst,
                ..WebhookSettings::default()
            })
            .collect(),
        ..FeedSettings::default()
    }
}

fn store_settings(kind: SecretStoreKind, state_dir: Option<PathBuf>) -> SecretStoreSettings {
    let mut settings = SecretStoreSettings {
        kind,
        ..SecretStoreSettings::default()
    };
    if let Some(dir) = state_dir {
        settings.state_dir = dir;
    }
    settings
}

/// One bridge's source settings and secret names (secrets not read yet); `bot_login` is
/// the account that posts its lines.
pub fn bridge_plan(bridge: &Bridge, bot_login: &str) -> BridgePlan {
    let t = &bridge.tiktok;
    let source = TikTokSettings {
        username: t.username.clone(),
        web_base_url: t.web_base_url.clone(),
        webcast_base_url: t.webcast_base_url.clone(),
        gift_catalogue: t.gift_catalogue,
        signer_base_url: t.signer_base_url.clone(),
        proxy: t.proxy.clone(),
        wait_for_live: t.wait_for_live,
        poll_interval: Duration::from_secs(t.poll_interval_secs),
        heartbeat: Duration::from_secs(t.heartbeat_secs),
        max_backoff: Duration::from_secs(t.reconnect_max_backoff_secs),
        ..TikTokSettings::default()
    };
    BridgePlan {
        name: bridge.name.clone(),
        source,
        signer_key_secret: t.signer_api_key.clone(),
        session_id_secret: t.session_id.clone(),
        pipeline: bridge.pipeline.clone(),
        channels: bridge.twitch.channels.clone(),
        bot_login: bot_login.to_ascii_lowercase(),
        lines_per_30s: bridge.twitch.lines_per_30s,
        pause_keep: (bridge.twitch.pause_keep_secs > 0)
            .then(|| Duration::from_secs(bridge.twitch.pause_keep_secs)),
    }
}

fn sink_settings(
    twitch: &TwitchConfig,
    channels: Vec<String>,
    grace: Duration,
) -> TwitchSinkSettings {
    let mut sink = TwitchSinkSettings {
        server: twitch.server.clone(),
        tls: twitch.tls,
        bot_login: twitch.bot_login.to_ascii_lowercase(),
        channels,
        queue_capacity: twitch.queue_capacity,
        duplicate_window: Duration::from_secs(twitch.dedupe_window_secs),
        helix_base_url: twitch.helix_base_url.clone(),
        shutdown_drain: grace,
        ..TwitchSinkSettings::default()
    };
    if let Some(n) = twitch.lines_per_30s {
        // An explicit override applies whatever the bot's badges say.
        sink.lines_per_window = n;
        sink.lines_per_window_elevated = n;
    }
    sink
}

/// `[routes.chat]`'s packing keys as the sink takes them.
pub fn pack_settings(chat: &crate::config::routes::ChatRoute) -> PackSettings {
    PackSettings {
        enabled: chat.pack,
        max_chars: chat.pack_max_chars,
        separator: chat.pack_separator.clone(),
        ..PackSettings::default()
    }
}

/// `[routes]`' delivery keys as the sink takes them: each route's `max_age_secs`,
/// `routes.chat.min_share_one_in` and `routes.gift.big_diamonds`.
pub fn delivery_policy(routes: &crate::config::RoutesConfig) -> crate::sink::select::BridgePolicy {
    crate::sink::select::BridgePolicy {
        freshness: crate::sink::freshness::Freshness::from_routes(routes),
        select: crate::sink::select::SelectPolicy {
            chat_one_in: routes.chat.min_share_one_in,
            big_diamonds: routes.gift.big_diamonds,
        },
    }
}

fn auth_settings(twitch: &TwitchConfig, store: &SecretStoreSettings) -> AuthSettings {
    AuthSettings {
        client_id: twitch.client_id.clone(),
        client_secret_name: twitch.client_secret.clone(),
        oauth_url: twitch.oauth_base_url.clone(),
        helix_scopes: twitch.sink == SinkKind::Helix,
        secret_store: store.kind,
        keyring_backend: store.keyring_backend,
        state_dir: store.state_dir.clone(),
        token_secret_name: twitch.token.clone(),
        expected_login: (!twitch.bot_login.is_empty())
            .then(|| twitch.bot_login.to_ascii_lowercase()),
        helix_app_token: twitch.sink == SinkKind::Helix && twitch.helix_token == HelixToken::App,
        ..AuthSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_bridges_exactly_once() {
        let shards: Vec<Shard> = ["0/3", "1/3", "2/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for position in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.owns(position)).count(), 1);
        }
        for bad in ["3/3", "1", "a/2", "0/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
