//! `[feed]`, `[api]` and `[[webhook]]`: the event feed for overlays (WebSocket + page), the
//! REST API and signed webhooks. All off by default; `[feed]` and `[api]` are served on the
//! `[http]` listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Problem;
use super::identifiers::check_secret_name;
use super::origin::OriginPolicy;
use super::schema::HttpConfig;
use super::validate::check_url;

/// Every event type name of the JSON event schema (`"type"`), for `types`/`events` lists.
pub const EVENT_TYPES: &[&str] = &[
    "chat",
    "emote",
    "gift",
    "like",
    "join",
    "member",
    "follow",
    "share",
    "social",
    "viewers",
    "subscribe",
    "question",
    "envelope",
    "battle",
    "control",
    "delete",
    "intro",
    "system",
    "caption",
    "goal",
    "poll",
    "barrage",
    "room_pin",
    "rank_update",
    "hourly_rank",
    "rank_text",
    "in_room_banner",
    "unauthorized_member",
    "shopping",
    "msg_detect",
    "room_verify",
    "super_fan",
    "battle_punish_finish",
    "battle_task",
    "fan_ticket",
    "link_mic",
    "link",
    "link_layer",
    "unknown",
    "twitch_chat",
    "bridge_control",
    // The daemon's own lifecycle events (`event::Lifecycle::TYPE_NAMES`).
    "connected",
    "disconnected",
    "error",
    "stream_end",
    "paused",
    "resumed",
    "twitch_connected",
    "twitch_disconnected",
    "twitch_online",
    "twitch_offline",
    "twitch_channel_update",
];

/// `[feed]`: `GET /ws/{bridge}` streams every event of a bridge as JSON, and `/` serves a
/// small page showing one bridge's live feed.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// Serve `/ws/{bridge}` and the page at `/` (needs `[http] enabled`).
    pub enabled: bool,
    /// Name of the secret holding a token WebSocket clients must present
    /// (`Authorization: Bearer ...` or `?token=...`); none means the feed is open.
    pub token: Option<String>,
    /// Events a client may have queued before it is dropped as too slow.
    pub client_queue: usize,
    /// Web pages (by `Origin`) that may open the feed, besides clients that send no
    /// `Origin` and the listener's own page ([`super::origin`]). Replaces the default list.
    pub allowed_origins: Vec<String>,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            token: None,
            client_queue: crate::limits::FEED_CLIENT_QUEUE,
            allowed_origins: super::origin::DEFAULT_ALLOWED_ORIGINS
                .iter()
                .map(|o| (*o).to_owned())
                .collect(),
        }
    }
}

/// `[api]`: `GET /api/status`, `GET /api/events`, `POST /api/bridges/{name}/pause|resume`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve `/api/...` (needs `[http] enabled`).
    pub enabled: bool,
    /// Name of the secret holding the bearer token that every request changing state
    /// (pause, resume) must present; while the secret is missing those requests are refused.
    pub token: String,
    /// Recent events kept per bridge for `GET /api/events`.
    pub ring_capacity: usize,
    /// An SQLite file that keeps those events across restarts (created when missing; its
    /// directory must exist). At start each bridge gets its newest `ring_capacity` events
    /// back and sequence numbers continue, so a client's `since` still works. Absent: the
    /// events are kept in memory only. One file per process.
    pub ring_path: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            token: "api-token".into(),
            ring_capacity: crate::limits::API_RING_CAPACITY,
            ring_path: None,
        }
    }
}

/// One `[[webhook]]`: events POSTed as JSON to a URL, signed with HMAC-SHA256. `Debug`
/// hides the URL's credentials and query.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (`http://` or `https://`). Required.
    pub url: String,
    /// Event types to send (`chat`, `gift` ...); empty means every type.
    pub events: Vec<String>,
    /// Bridges whose events are sent; empty means every bridge.
    pub bridges: Vec<String>,
    /// Name of the secret holding the HMAC key the signature is made with. Required.
    pub secret: String,
    /// Events per POST at most; 1 sends one document per event.
    pub batch_max: usize,
    /// Seconds to wait for more events before sending a partial batch.
    pub batch_wait_secs: u64,
    /// Seconds one POST may take before it counts as failed and is retried.
    pub timeout_secs: u64,
    /// Attempts per delivery (the first included) before it is dead-lettered.
    pub max_attempts: u32,
    /// Upper bound of the retry back-off, in seconds (it starts at 1 s and doubles).
    pub max_backoff_secs: u64,
    /// Events waiting for delivery at most; past this new events are dropped (counted).
    pub queue_capacity: usize,
    /// POSTs per second at most, on average (retries and replays included); over the
    /// rate a POST waits and the events behind it wait in the queue.
    pub rate_per_sec: u32,
    /// POSTs at once after a quiet spell.
    pub rate_burst: u32,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_url(&self.url))
            .field("events", &self.events)
            .field("bridges", &self.bridges)
            .field("secret", &self.secret)
            .field("batch_max", &self.batch_max)
            .field("batch_wait_secs", &self.batch_wait_secs)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .field("max_backoff_secs", &self.max_backoff_secs)
            .field("queue_capacity", &self.queue_capacity)
            .field("rate_per_sec", &self.rate_per_sec)
            .field("rate_burst", &self.rate_burst)
            .finish()
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            events: Vec::new(),
            bridges: Vec::new(),
            secret: "webhook-secret".into(),
            batch_max: 1,
            batch_wait_secs: 1,
            timeout_secs: 10,
            max_attempts: 8,
            max_backoff_secs: 60,
            queue_capacity: crate::limits::WEBHOOK_QUEUE_CAPACITY,
            rate_per_sec: crate::limits::WEBHOOK_RATE_PER_SEC,
            rate_burst: crate::limits::WEBHOOK_RATE_BURST,
        }
    }
}

/// True when `[http] bind` is an address other machines can reach (not 127.0.0.0/8 or
/// `::1`). An address that does not parse is reported by the `http.bind` check.
pub fn bind_is_public(http: &HttpConfig) -> bool {
    http.bind
        .parse::<SocketAddr>()
        .is_ok_and(|a| !a.ip().is_loopback())
}

/// True when `run` must find the `[api] token` secret: the API is served on a non-loopback
/// address and `[http] public` is off. `check` asks the same question.
pub fn api_token_required(http: &HttpConfig, api: &ApiConfig) -> bool {
    http.enabled && api.enabled && bind_is_public(http) && !http.public
}

/// The exposure rules that need no secret store: on a non-loopback `[http] bind` without
/// `public = true`, an enabled `[feed]` must name a token. (The API's token must be stored:
/// [`api_token_required`], checked where the store is open.)
fn exposure(http: &HttpConfig, feed: &FeedConfig, problems: &mut Vec<Problem>) {
    if http.enabled && feed.enabled && feed.token.is_none() && bind_is_public(http) && !http.public
    {
        problems.push(
            Problem::new(
                "feed.token",
                format!(
                    "[http] bind `{}` is reachable from other machines and the feed has no token: anyone there could read it",
                    http.bind
                ),
            )
            .with_hint(
                "name a secret (token = \"feed-token\", then `tiktwitch secret set feed-token`), bind to 127.0.0.1, or set [http] public = true to serve it open on purpose",
            ),
        );
    }
}

/// Every problem of `[http]`'s exposure (its limits are in [`super::ranges`]), `[feed]`, `[api]` and `[[webhook]]`.
/// `bridge_names` are the configured bridges (for `webhook[i].bridges`).
pub fn validate(
    http: &HttpConfig,
    feed: &FeedConfig,
    api: &ApiConfig,
    webhooks: &[WebhookConfig],
    bridge_names: &[String],
    problems: &mut Vec<Problem>,
) {
    let http_enabled = http.enabled;
    exposure(http, feed, problems);
    if let Err((i, why)) = OriginPolicy::parse(&feed.allowed_origins) {
        problems.push(
            Problem::new(format!("feed.allowed_origins[{i}]"), why).with_hint(
                "e.g. \"https://overlay.example.com\", \"http://localhost:*\", \"null\" or \"*\"",
            ),
        );
    }
    if feed.enabled && !http_enabled {
        problems.push(
            Problem::new("feed.enabled", "the feed is served on the [http] listener")
                .with_hint("set [http] enabled = true"),
        );
    }
    if let Some(name) = &feed.token {
        secret("feed.token", name, problems);
    }
    if api.enabled && !http_enabled {
        problems.push(
            Problem::new("api.enabled", "the API is served on the [http] listener")
                .with_hint("set [http] enabled = true"),
        );
    }
    secret("api.token", &api.token, problems);
    if let Some(path) = &api.ring_path {
        ring_path(path, problems);
    }
    for (i, hook) in webhooks.iter().enumerate() {
        let at = |key: &str| format!("webhook[{i}].{key}");
        if hook.url.trim().is_empty() {
            problems.push(Problem::new(at("url"), "missing: where should events go?"));
        } else {
            check_url(&at("url"), &hook.url, &["http", "https"], problems);
        }
        for (j, kind) in hook.events.iter().enumerate() {
            if !EVENT_TYPES.contains(&kind.as_str()) {
                problems.push(
                    Problem::new(
                        format!("{}[{j}]", at("events")),
                        format!("`{kind}` is not an event type"),
                    )
                    .with_hint(format!("one of: {}", EVENT_TYPES.join(", "))),
                );
            }
        }
        for (j, bridge) in hook.bridges.iter().enumerate() {
            if !bridge_names.contains(bridge) {
                problems.push(
                    Problem::new(
                        format!("{}[{j}]", at("bridges")),
                        format!("`{bridge}` is not a bridge"),
                    )
                    .with_hint(format!("bridges: {}", bridge_names.join(", "))),
                );
            }
        }
        secret(&at("secret"), &hook.secret, problems);
    }
}

/// The ring file must be creatable: a file path whose directory exists. (Whether SQLite can
/// read and write it is checked when the daemon opens it.)
fn ring_path(path: &Path, problems: &mut Vec<Problem>) {
    const KEY: &str = "api.ring_path";
    let shown = path.display();
    if path.as_os_str().is_empty() {
        problems.push(
            Problem::new(KEY, "empty")
                .with_hint("e.g. \"/var/lib/tiktwitch/events.sqlite\", or remove the key"),
        );
    } else if path.is_dir() {
        problems.push(Problem::new(
            KEY,
            format!("`{shown}` is a directory; name a file in it"),
        ));
    } else {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            problems.push(
                Problem::new(KEY, format!("`{}`: no such directory", parent.display()))
                    .with_hint("create it first (the file itself is created)"),
            );
        }
    }
}

fn secret(path: &str, name: &str, problems: &mut Vec<Problem>) {
    if let Err(e) = check_secret_name(name) {
        problems.push(Problem::new(path, e));
    }
}

/// The URL without user info or query (where tokens hide), for logs and `/api/status`.
pub fn redacted_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_match_the_event_schema() {
        use crate::event::EventKind;
        // A few kinds built by hand; the rest of the table is checked by the names' shape.
        assert!(EVENT_TYPES.contains(&EventKind::Unknown.type_name()));
        let viewers = EventKind::Viewers {
            current: 1,
            cumulative: 1,
        };
        assert!(EVENT_TYPES.contains(&viewers.type_name()));
        // 39 TikTok kinds, the Twitch chat and the bridge's control events, and the daemon's
        // lifecycle events.
        for name in crate::event::Lifecycle::TYPE_NAMES {
            assert!(EVENT_TYPES.contains(name), "{name}");
        }
        assert_eq!(
            EVENT_TYPES.len(),
            41 + crate::event::Lifecycle::TYPE_NAMES.len()
        );
    }

    #[test]
    fn every_problem_of_the_new_sections_is_listed() {
        let feed = FeedConfig {
            enabled: true,
            token: Some("oauth:abc".into()),
            ..FeedConfig::default()
        };
        let api = ApiConfig {
            enabled: true,
            ring_path: Some("/nonexistent-tiktwitch-dir/events.sqlite".into()),
            ..ApiConfig::default()
        };
        let hooks = vec![WebhookConfig {
            url: "ftp://x".into(),
            events: vec!["chat".into(), "gfit".into()],
            bridges: vec!["nope".into()],
            ..WebhookConfig::default()
        }];
        let mut problems = Vec::new();
        let http = HttpConfig::default();
        validate(&http, &feed, &api, &hooks, &["a".into()], &mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "feed.enabled",
                "feed.token",
                "api.enabled",
                "api.ring_path",
                "webhook[0].url",
                "webhook[0].events[1]",
                "webhook[0].bridges[0]",
            ]
        );
    }

    #[test]
    fn the_listeners_exposure_is_checked() {
        // (Its limits are ranges: `tests/config_ranges.rs` walks them.)
        let http = HttpConfig {
            enabled: true,
            bind: "0.0.0.0:9464".into(),
            ..HttpConfig::default()
        };
        let feed = FeedConfig {
            enabled: true,
            allowed_origins: vec!["http://ok".into(), "ftp://x".into()],
            ..FeedConfig::default()
        };
        let api = ApiConfig::default();
        let mut problems = Vec::new();
        validate(&http, &feed, &api, &[], &[], &mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["feed.token", "feed.allowed_origins[1]"]);
        let api = ApiConfig {
            enabled: true,
            ..ApiConfig::default()
        };
        assert!(api_token_required(&http, &api));
        let public = HttpConfig {
            public: true,
            ..http.clone()
        };
        assert!(!api_token_required(&public, &api));
        let local = HttpConfig {
            bind: "127.0.0.1:9464".into(),
            ..http
        };
        assert!(!api_token_required(&local, &api));
    }
}
