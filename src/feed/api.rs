//! The REST API (on the `[http]` listener, next to `/healthz`):
//!
//! - `GET /api/status`: Twitch's state, each bridge (state, paused, counters, ring, `chat`
//!   (comments received, relayed to Twitch, in how many lines, and the share), and the
//!   creator's `profile` once a room lookup answered), the feed's and each webhook's
//!   counters. `profile` is [`crate::source::tiktok::Profile`]:
//!   `{"user_id":"6000..","unique_id":"alice","nickname":"Alice","avatar_url":"https://..",
//!   "followers":12345,"following":67,"live":true,"status":"live","room_id":"7300..",
//!   "room_title":"cooking","viewers":42,"via":"api","checked_at":"2026-11-24T06:00:00Z"}`
//!   (`status`: `live`, `paused`, `offline` or `unknown`; fields TikTok did not give are
//!   left out; ids are strings). With moderator control running, each bridge also has
//!   `control`: `{"muted":[..],"only":"all","paused_by":..,"paused_until":..,"shared_chat":[..]}`.
//! - `GET /api/events?bridge=a&since=0&limit=100`: recent events (all bridges without
//!   `bridge`), oldest first, as `{"events":[{"seq":..,"bridge":..,"event":{..}}],
//!   "next_since":N}`; poll again with `since=next_since`. Sequence numbers increase by one
//!   per event over every bridge of the process. With `[api] ring_path` the events and
//!   the numbering survive a restart ([`super::persist`]).
//! - `POST /api/bridges/{name}/pause` and `.../resume`: stop (or restart) relaying that
//!   bridge's lines to Twitch, at once: its lines already queued in the sink are dropped
//!   (shed `paused`, counted in the bridge's `paused_lines`) or, with
//!   `twitch.pause_keep_secs`, kept and sent after the resume if still that fresh. Its
//!   events still reach the feed, the API and webhooks. Needs
//!   `Authorization: Bearer <[api] token>`. With moderator control running the pause is
//!   kept in `state_dir` like a `!tt pause` (see `/api/control`).
//!
//! - `/api/webhooks...` and `/api/dead-letters`: the webhooks managed at runtime, see
//!   [`super::webhook::management`]; they always need the token.
//!
//! With an API token stored, the `GET`s need it too (`Authorization: Bearer`); without
//! one they are open, which `run` allows only on a loopback listener (or with
//! `[http] public = true`).

use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ring::Held;
use super::ws::error;
use super::{
    Hub, PersistStatsSnapshot, WebhookStatsSnapshot, WsStatsSnapshot, presented_token,
    token_matches,
};
use crate::status::BridgeState;
use crate::status::chat_share::ChatShare;
use crate::limits::API_EVENTS_MAX_LIMIT;
use crate::pipeline::KindCounts;
use crate::sink::SinkState;

pub(crate) fn router(hub: Hub) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/events", get(events))
        .route("/api/bridges/{name}/{action}", post(control))
        .with_state(hub.clone())
        .merge(super::webhook::management::router(hub))
}

/// `GET /api/status`.
#[derive(Debug, Serialize)]
pub struct Status {
    /// The Twitch side, when this process has one.
    pub twitch: Option<TwitchStatus>,
    /// Each bridge.
    pub bridges: Vec<BridgeStatus>,
    /// The WebSocket feed.
    pub feed: FeedStatus,
    /// Each webhook.
    pub webhooks: Vec<WebhookStatus>,
}

/// Twitch, in `/api/status`.
#[derive(Debug, Serialize)]
pub struct TwitchStatus {
    /// `connecting`, `connected` or `stopped: why`.
    pub state: String,
    /// Lines written to Twitch.
    pub sent: u64,
    /// Lines waiting.
    pub queue_depth: u64,
    /// Lines shed (queue full, shutdown ...).
    pub shed: u64,
    /// The same, by reason (`queue_full`, `paused`, `shutdown` ...).
    pub shed_by_reason: std::collections::BTreeMap<String, u64>,
}

/// One bridge, in `/api/status`.
#[derive(Debug, Serialize)]
pub struct BridgeStatus {
    /// Name, TikTok state, room, last event, channels, the creator's profile ...
    #[serde(flatten)]
    pub state: BridgeState,
    /// Relaying to Twitch is paused.
    pub paused: bool,
    /// Lines not sent to Twitch because the bridge was paused.
    pub paused_lines: u64,
    /// The pipeline's counters over every event kind.
    pub events: KindCounts,
    /// Events held for `/api/events`, and the oldest one's sequence number.
    pub ring: RingStatus,
    /// Its TikTok chat comments: received, relayed (in lines Twitch accepted), the lines
    /// that carried them, and `share` = relayed / received (`null` before the first).
    pub chat: ChatShare,
}

/// A bridge's ring, in `/api/status`.
#[derive(Debug, Serialize)]
pub struct RingStatus {
    /// Events held.
    pub held: usize,
    /// Events forgotten to make room.
    pub evicted: u64,
    /// The oldest held event's sequence number.
    pub oldest_seq: Option<u64>,
    /// Writing to the `[api] ring_path` file, when set: events loaded at start, written,
    /// failed, dropped (the writer had fallen behind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persisted: Option<PersistStatsSnapshot>,
}

/// The feed, in `/api/status`.
#[derive(Debug, Serialize)]
pub struct FeedStatus {
    /// WebSocket clients.
    #[serde(flatten)]
    pub ws: WsStatsSnapshot,
    /// Events the ring/webhook tap missed because it fell behind.
    pub tap_missed: u64,
}

/// One webhook, in `/api/status`.
#[derive(Debug, Serialize)]
pub struct WebhookStatus {
    /// Its URL without credentials or query.
    pub url: String,
    /// Its counters.
    #[serde(flatten)]
    pub stats: WebhookStatsSnapshot,
}

/// `GET`s need the API token when one is stored: `Some(refusal)` when it is missing or
/// wrong.
fn refuse_read(hub: &Hub, headers: &HeaderMap) -> Option<Response> {
    let expected = hub.settings().api_token.as_ref()?;
    (!token_matches(expected, presented_token(headers, None))).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "Authorization: Bearer <[api] token> is required".into(),
        )
    })
}

async fn status(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Some(refused) = refuse_read(&hub, &headers) {
        return refused;
    }
    let twitch = hub.sink().map(|sink| {
        let stats = sink.stats();
        TwitchStatus {
            state: match sink.state() {
                SinkState::Connecting => "connecting".into(),
                SinkState::Connected => "connected".into(),
                SinkState::Stopped(why) => format!("stopped: {why}"),
            },
            sent: stats.sent,
            queue_depth: stats.queue_depth,
            shed: stats.shed_total(),
            shed_by_reason: stats.shed.iter().fold(Default::default(), |mut by, ((_, r), n)| {
                *by.entry(r.clone()).or_default() += n;
                by
            }),
        }
    });
    let sink_stats = hub.sink().map(|sink| sink.stats()).unwrap_or_default();
    let bridges = hub
        .bridges()
        .iter()
        .map(|b| {
            let (held, evicted) = b.ring.counts();
            let pipeline = b.health.counters.pipeline.snapshot();
            BridgeStatus {
                chat: ChatShare::of(&b.health.name(), &pipeline, &sink_stats),
                state: b.health.snapshot(),
                paused: b.health.is_paused(),
                paused_lines: b.health.counters.paused_lines.load(Ordering::Relaxed),
                events: pipeline.total(),
                ring: RingStatus {
                    held,
                    evicted,
                    oldest_seq: b.ring.oldest(),
                    persisted: b.persist.as_ref().map(|p| p.snapshot()),
                },
            }
        })
        .collect();
    Json(Status {
        twitch,
        bridges,
        feed: FeedStatus {
            ws: hub.ws_stats(),
            tap_missed: hub.tap_missed(),
        },
        webhooks: hub
            .webhook_stats()
            .into_iter()
            .map(|(url, stats)| WebhookStatus { url, stats })
            .collect(),
    })
    .into_response()
}

/// The query of `GET /api/events`.
#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    /// One bridge; absent: all.
    pub bridge: Option<String>,
    /// Only events with a larger sequence number.
    #[serde(default)]
    pub since: u64,
    /// At most this many (default 100, at most [`API_EVENTS_MAX_LIMIT`]).
    pub limit: Option<usize>,
}

/// `GET /api/events`.
#[derive(Debug, Serialize)]
pub struct EventsPage {
    /// Oldest first.
    pub events: Vec<Held>,
    /// Pass as `since` to get the next page.
    pub next_since: u64,
}

async fn events(
    State(hub): State<Hub>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_read(&hub, &headers) {
        return refused;
    }
    let limit = query.limit.unwrap_or(100).min(API_EVENTS_MAX_LIMIT);
    let rings: Vec<_> = match &query.bridge {
        Some(name) => match hub.bridge(name) {
            Some(b) => vec![b.ring.clone()],
            None => return error(StatusCode::NOT_FOUND, format!("no bridge {name:?}")),
        },
        None => hub.bridges().iter().map(|b| b.ring.clone()).collect(),
    };
    let mut events: Vec<Held> = rings
        .iter()
        .flat_map(|r| r.since(query.since, limit))
        .collect();
    events.sort_by_key(Held::seq);
    events.truncate(limit);
    let next_since = events.last().map_or(query.since, Held::seq);
    Json(EventsPage { events, next_since }).into_response()
}

/// The answer of pause/resume.
#[derive(Debug, Serialize)]
struct Controlled<'a> {
    bridge: &'a str,
    paused: bool,
}

async fn control(
    State(hub): State<Hub>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(expected) = &hub.settings().api_token else {
        return error(
            StatusCode::FORBIDDEN,
            "no API token is configured (store one under the secret named by [api] token)".into(),
        );
    };
    if !token_matches(expected, presented_token(&headers, None)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Authorization: Bearer <token> is required".into(),
        );
    }
    let paused = match action.as_str() {
        "pause" => true,
        "resume" => false,
        _ => return error(StatusCode::NOT_FOUND, "use /pause or /resume".into()),
    };
    let Some(bridge) = hub.bridge(&name) else {
        return error(StatusCode::NOT_FOUND, format!("no bridge {name:?}"));
    };
    match bridge.health.pause_control() {
        // Moderator control runs: the pause persists and is announced like `!tt pause`.
        Some(control) => control.set_paused(&name, paused),
        None => crate::status::set_paused(&bridge.health, hub.sink(), paused),
    }
    tracing::info!(bridge = %name, paused, "relaying to Twitch {}", if paused { "paused" } else { "resumed" });
    Json(Controlled {
        bridge: &name,
        paused,
    })
    .into_response()
}
