//! Beyond chat: the events of every bridge for overlays and tools, next to `/healthz` and
//! `/metrics` on the `[http]` listener, and pushed to webhooks.
//!
//! ```text
//! bridge events (broadcast, never waits) ─┬→ tap: seq number → ring (GET /api/events)
//!                                         │                  → webhook queues → signed POSTs
//!                                         └→ one task per WebSocket client (GET /ws/{bridge})
//! ```
//!
//! - [`ws`]: `GET /ws/{bridge}?types=chat,gift`: every event as the JSON event schema; a
//!   client that falls behind is dropped (counted), never waits the bridge.
//! - [`webhook`]: `[[webhook]]` and the API's `/api/webhooks`: JSON POSTs signed with
//!   HMAC-SHA256, retried with back-off, rate-limited, a bounded queue and a persisted
//!   dead-letter queue to replay; [`webhook::verify`] checks a signature.
//! - [`api`]: `GET /api/status`, `GET /api/events`, `POST /api/bridges/{name}/pause|resume`.
//! - [`events`]: each bridge's event stream, which the feed's readers subscribe to.
//! - [`ring`]: the bounded per-bridge memory of recent events behind `/api/events`.
//! - [`persist`]: `[api] ring_path`, the ring kept in a SQLite file across restarts.
//! - [`feed_metrics`]: the feed's families for `/metrics`.
//! - [`page`]: `/`, a page without build step that shows one bridge's live feed.
//! - [`overlay`]: `/overlay/{bridge}`, an OBS browser-source overlay of the live feed.
//! - [`feed_json`]: the one JSON form of an event on all of them (bridge, gift `usd`).
//! - [`lifecycle_events`]: the bridges' connection changes as events (connected ...).
//!
//! Not done here (yet): enrichment (gift catalogue, profiles, coin prices).

pub mod api;
pub mod events;
pub mod feed_json;
pub mod feed_metrics;
pub mod overlay;
pub mod lifecycle_events;
pub mod page;
pub mod persist;
pub mod ring;
pub mod webhook;
pub mod ws;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::config::origin::OriginPolicy;
use crate::event::Event;
use crate::limits::{
    API_RING_CAPACITY, FEED_CLIENT_QUEUE, FEED_MAX_CLIENTS, RING_PERSIST_QUEUE, USD_PER_DIAMOND,
};
use crate::secret::Secret;
use crate::sink::SinkHandle;
use crate::status::BridgeHealth;

pub use events::{EventStream, FeedInput};
pub use persist::{PersistError, PersistStatsSnapshot, RingStore};
pub use ring::Ring;
pub use webhook::{WebhookSettings, WebhookStatsSnapshot};

/// What the feed, the API and the webhooks do. `Default`: all off.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// Serve `/ws/{bridge}` and the page at `/`.
    pub ws_enabled: bool,
    /// The token WebSocket clients must present; `None`: the feed is open.
    pub ws_token: Option<Secret>,
    /// Events a WebSocket client may have queued before it is dropped as too slow.
    pub client_queue: usize,
    /// WebSocket clients at once, over every bridge.
    pub max_clients: usize,
    /// Web pages (by `Origin`) that may open the feed.
    pub allowed_origins: OriginPolicy,
    /// Serve `/api/...`.
    pub api_enabled: bool,
    /// The bearer token for requests that change state; `None`: those are refused.
    pub api_token: Option<Secret>,
    /// Recent events kept per bridge.
    pub ring_capacity: usize,
    /// The SQLite file the ring is kept in across restarts (`[api] ring_path`); `None`:
    /// memory only. Opened by [`RingStore::open_for`], not by [`Hub::start`].
    pub ring_path: Option<PathBuf>,
    /// Events waiting to be written to `ring_path` at most; past this they are not
    /// persisted (counted as dropped), so the bridges never wait for the disk.
    pub ring_persist_queue: usize,
    /// Where events are POSTed (`[[webhook]]`).
    pub webhooks: Vec<WebhookSettings>,
    /// Where the webhooks added through the API and every webhook's dead letters are kept
    /// across restarts (`state_dir`); `None`: memory only.
    pub state_dir: Option<PathBuf>,
    /// US dollars per diamond, for a gift's `usd` estimate (`[pricing] usd_per_diamond`).
    pub usd_per_diamond: f64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            ws_enabled: false,
            ws_token: None,
            client_queue: FEED_CLIENT_QUEUE,
            max_clients: FEED_MAX_CLIENTS,
            allowed_origins: OriginPolicy::default(),
            api_enabled: false,
            api_token: None,
            ring_capacity: API_RING_CAPACITY,
            ring_path: None,
            ring_persist_queue: RING_PERSIST_QUEUE,
            webhooks: Vec::new(),
            state_dir: None,
            usd_per_diamond: USD_PER_DIAMOND,
        }
    }
}

impl FeedSettings {
    /// True when anything here needs the bridges' events.
    pub fn any_enabled(&self) -> bool {
        self.ws_enabled || self.api_enabled || !self.webhooks.is_empty()
    }
}

/// One event as the API and the webhooks send it: which bridge, its sequence number (one
/// counter over all bridges of this process, so `since` works across bridges) and the
/// event as the feed sends it ([`feed_json::FeedEvent`]).
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Increases by one per event over all bridges; starts at 1.
    pub seq: u64,
    /// The bridge's name.
    pub bridge: Arc<str>,
    /// The event.
    pub event: Arc<Event>,
    /// US dollars per diamond, for a gift's `usd` ([`FeedSettings::usd_per_diamond`]).
    pub usd_per_diamond: f64,
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            seq: u64,
            bridge: &'a str,
            event: feed_json::FeedEvent<'a>,
        }
        Wire {
            seq: self.seq,
            bridge: &self.bridge,
            event: self.feed_event(),
        }
        .serialize(s)
    }
}

impl Envelope {
    /// The event as the feed sends it.
    pub fn feed_event(&self) -> feed_json::FeedEvent<'_> {
        feed_json::FeedEvent {
            bridge: &self.bridge,
            event: &self.event,
            usd_per_diamond: self.usd_per_diamond,
        }
    }

    /// The key a receiver deduplicates on: TikTok's message id, or `bridge-seq` for the
    /// rare event without one.
    pub fn idempotency_key(&self) -> String {
        match self.event.meta.msg_id {
            0 => format!("{}-{}", self.bridge, self.seq),
            id => id.to_string(),
        }
    }
}

/// The WebSocket feed's counters.
#[derive(Debug, Default)]
pub struct WsStats {
    connected: AtomicU64,
    accepted: AtomicU64,
    sent: AtomicU64,
    dropped_slow: AtomicU64,
    refused_auth: AtomicU64,
    refused_full: AtomicU64,
    refused_origin: AtomicU64,
}

/// [`WsStats`] now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WsStatsSnapshot {
    /// Clients connected now.
    pub connected: u64,
    /// Clients accepted since start.
    pub accepted: u64,
    /// Events written to clients.
    pub sent: u64,
    /// Clients dropped because they fell behind.
    pub dropped_slow: u64,
    /// Upgrades refused for a missing or wrong token.
    pub refused_auth: u64,
    /// Upgrades refused because `max_clients` were connected.
    pub refused_full: u64,
    /// Upgrades refused because the page's `Origin` is not allowed.
    pub refused_origin: u64,
}

impl WsStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> WsStatsSnapshot {
        WsStatsSnapshot {
            connected: self.connected.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            dropped_slow: self.dropped_slow.load(Ordering::Relaxed),
            refused_auth: self.refused_auth.load(Ordering::Relaxed),
            refused_full: self.refused_full.load(Ordering::Relaxed),
            refused_origin: self.refused_origin.load(Ordering::Relaxed),
        }
    }
}

/// One bridge as the feed sees it.
#[derive(Debug, Clone)]
pub(crate) struct BridgeFeed {
    pub(crate) name: Arc<str>,
    pub(crate) health: BridgeHealth,
    /// The bridge's events, which the tap and each WebSocket client subscribe to.
    pub(crate) events: EventStream,
    pub(crate) ring: Ring,
    /// Its persistence counters, when the ring is kept in a file.
    pub(crate) persist: Option<Arc<persist::PersistStats>>,
}

struct Inner {
    settings: FeedSettings,
    bridges: Vec<BridgeFeed>,
    sink: Option<SinkHandle>,
    ws: WsStats,
    webhooks: Arc<webhook::Registry>,
    tap_missed: AtomicU64,
    /// Cancelled at shutdown: WebSocket clients are sent a close frame.
    closing: CancellationToken,
}

/// The feed's shared state: settings, each bridge's ring, counters. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("settings", &self.inner.settings)
            .field("bridges", &self.inner.bridges.len())
            .finish_non_exhaustive()
    }
}

/// The feed's background tasks (taps and webhook senders).
#[derive(Debug)]
pub struct HubTasks {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    webhooks: Arc<webhook::Registry>,
}

impl HubTasks {
    /// Stops reading new events (what the bridges already published is still taken), lets
    /// the webhooks deliver and the ring file's writer write what is queued for up to
    /// `grace`, then stops the webhooks; what is still undelivered then is lost (logged).
    pub async fn finish(mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        self.shutdown.cancel();
        // The taps and the ring file's writer first: once the taps are done, no event
        // is offered to a webhook any more.
        let all = futures_util::future::join_all(self.tasks.iter_mut());
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            warn!("the ring file's writer was still busy at shutdown");
            for task in &self.tasks {
                task.abort();
            }
        }
        self.webhooks.close();
        let mut senders = self.webhooks.take_tasks();
        let all = futures_util::future::join_all(senders.iter_mut());
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            warn!("webhook deliveries still pending at shutdown were abandoned");
            self.webhooks.stop_all();
            for task in &senders {
                task.abort();
            }
        }
        if let Err(e) = self.webhooks.save().await {
            warn!(error = %e, "webhook dead letters could not be saved at shutdown");
        }
    }
}

impl Hub {
    /// Subscribes to every bridge's feed (before the bridges start, so nothing is missed)
    /// and starts the taps and webhook senders. `sink` (when given) adds Twitch's state to
    /// `/api/status`. The ring is memory only: see [`Hub::start_with_store`].
    pub fn start(
        settings: FeedSettings,
        bridges: &[FeedInput],
        sink: Option<SinkHandle>,
    ) -> (Self, HubTasks) {
        Self::start_with_store(settings, bridges, sink, None)
    }

    /// [`Hub::start`], with the ring kept in `store` (when given and the API is on): each
    /// ring starts with the events the file held, sequence numbers continue after the
    /// largest stored one, and every new event is written in the background.
    pub fn start_with_store(
        settings: FeedSettings,
        bridges: &[FeedInput],
        sink: Option<SinkHandle>,
        store: Option<RingStore>,
    ) -> (Self, HubTasks) {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let mut store = store.filter(|_| settings.api_enabled);
        let first_seq = store.as_ref().map_or(0, RingStore::last_seq);
        let feeds: Vec<BridgeFeed> = bridges
            .iter()
            .map(|input| {
                let name: Arc<str> = input.health.snapshot().name.into();
                let ring = Ring::new(if settings.api_enabled {
                    settings.ring_capacity
                } else {
                    0
                });
                let persist = store.as_mut().map(|store| {
                    let (loaded, stats) = store.take_loaded(&name);
                    for event in loaded {
                        ring.push_held(ring::Held::Stored(event));
                    }
                    stats
                });
                BridgeFeed {
                    name,
                    health: input.health.clone(),
                    events: input.events.clone(),
                    ring,
                    persist,
                }
            })
            .collect();
        let persist_queue = store.map(|store| {
            let stats: HashMap<_, _> = feeds
                .iter()
                .filter_map(|f| Some((f.name.clone(), f.persist.clone()?)))
                .collect();
            let (queue, writer) = store.start_writer(stats, settings.ring_persist_queue);
            tasks.push(writer);
            queue
        });
        // One queue per webhook (the config file's and the API's); the taps feed them,
        // one sender task drains each.
        let webhooks = webhook::Registry::start(
            &settings.webhooks,
            settings.state_dir.clone(),
            feeds.iter().map(|f| f.name.to_string()).collect(),
        );
        let inner = Arc::new(Inner {
            bridges: feeds.clone(),
            sink,
            ws: WsStats::default(),
            webhooks: webhooks.clone(),
            tap_missed: AtomicU64::new(0),
            closing: shutdown.clone(),
            settings,
        });
        let seq = Arc::new(AtomicU64::new(first_seq));
        // With the API on, webhooks can be added at any time.
        let tap_needed = inner.settings.api_enabled || !webhooks.is_empty();
        for bridge in feeds.iter().filter(|_| tap_needed) {
            let tap = Tap {
                bridge: bridge.clone(),
                rx: bridge.events.subscribe(),
                seq: seq.clone(),
                persist: persist_queue.clone(),
                hub: inner.clone(),
                shutdown: shutdown.clone(),
            };
            tasks.push(tokio::spawn(tap.run()));
        }
        if let Some(sink) = inner.sink.clone().filter(|_| inner.settings.any_enabled()) {
            let streams = feeds.iter().map(|f| f.events.clone()).collect();
            tasks.push(tokio::spawn(lifecycle_events::watch_twitch(
                sink,
                streams,
                shutdown.clone(),
            )));
        }
        // Only the taps hold the writer's queue: when they end, it writes the rest and ends.
        drop(persist_queue);
        (
            Self { inner },
            HubTasks {
                shutdown,
                tasks,
                webhooks,
            },
        )
    }

    /// The routes of what is enabled (`/ws/{bridge}` and `/`, `/api/...`), to merge into the
    /// HTTP listener's router.
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        if self.inner.settings.ws_enabled {
            router = router.merge(ws::router(self.clone()));
            router = router.merge(page::router());
            router = router.merge(overlay::router(self.clone()));
        }
        if self.inner.settings.api_enabled {
            router = router.merge(api::router(self.clone()));
        }
        router
    }

    /// The WebSocket feed's counters.
    pub fn ws_stats(&self) -> WsStatsSnapshot {
        self.inner.ws.snapshot()
    }

    /// Each webhook's URL (password hidden) and counters.
    pub fn webhook_stats(&self) -> Vec<(String, WebhookStatsSnapshot)> {
        self.inner.webhooks.stats()
    }

    /// Every webhook: the config file's and the API's.
    pub fn webhooks(&self) -> &Arc<webhook::Registry> {
        &self.inner.webhooks
    }

    pub(crate) fn bridge(&self, name: &str) -> Option<&BridgeFeed> {
        self.inner.bridges.iter().find(|b| &*b.name == name)
    }

    pub(crate) fn bridges(&self) -> &[BridgeFeed] {
        &self.inner.bridges
    }

    pub(crate) fn settings(&self) -> &FeedSettings {
        &self.inner.settings
    }

    pub(crate) fn ws(&self) -> &WsStats {
        &self.inner.ws
    }

    pub(crate) fn sink(&self) -> Option<&SinkHandle> {
        self.inner.sink.as_ref()
    }

    pub(crate) fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }

    pub(crate) fn tap_missed(&self) -> u64 {
        self.inner.tap_missed.load(Ordering::Relaxed)
    }
}

/// Reads one bridge's feed: numbers each event, keeps it in the ring, queues it for the
/// webhooks that want it.
struct Tap {
    bridge: BridgeFeed,
    rx: tokio::sync::broadcast::Receiver<Arc<Event>>,
    seq: Arc<AtomicU64>,
    /// The ring file's writer, when the ring is persisted.
    persist: Option<mpsc::Sender<Envelope>>,
    hub: Arc<Inner>,
    shutdown: CancellationToken,
}

impl Tap {
    async fn run(mut self) {
        loop {
            let received = tokio::select! {
                biased;
                r = self.rx.recv() => r,
                () = self.shutdown.cancelled() => break,
            };
            match received {
                Ok(event) => self.take(event),
                Err(RecvError::Lagged(n)) => {
                    self.hub.tap_missed.fetch_add(n, Ordering::Relaxed);
                    warn!(bridge = %self.bridge.name, missed = n, "the event tap fell behind");
                }
                Err(RecvError::Closed) => return,
            }
        }
        // Shutdown: what the bridge already published is still taken.
        while let Ok(event) = self.rx.try_recv() {
            self.take(event);
        }
    }

    fn take(&self, event: Arc<Event>) {
        let envelope = Envelope {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            bridge: self.bridge.name.clone(),
            event,
            usd_per_diamond: self.hub.settings.usd_per_diamond,
        };
        self.hub.webhooks.offer(&envelope);
        if let (Some(queue), Some(stats)) = (&self.persist, &self.bridge.persist) {
            // Never waits: a writer that fell behind loses the event from the file only.
            if queue.try_send(envelope.clone()).is_err() {
                stats.count_dropped();
            }
        }
        self.bridge.ring.push(envelope);
    }
}

/// The token a request presents: `Authorization: Bearer ...`, else `?token=...` (browsers
/// cannot set headers on a WebSocket).
pub(crate) fn presented_token<'a>(
    headers: &'a HeaderMap,
    query_token: Option<&'a str>,
) -> Option<&'a str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .or(query_token)
}

/// Compares without an early exit, so the time taken does not tell how much matched.
pub(crate) fn token_matches(expected: &Secret, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    let (a, b) = (expected.expose().as_bytes(), presented.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        let secret = Secret::new("s3cret-token");
        assert!(token_matches(&secret, Some("s3cret-token")));
        for wrong in ["s3cret-toke", "s3cret-tokenx", "", "S3cret-token"] {
            assert!(!token_matches(&secret, Some(wrong)), "{wrong}");
        }
        assert!(!token_matches(&secret, None));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(presented_token(&headers, Some("q")), Some("abc"));
        assert_eq!(presented_token(&HeaderMap::new(), Some("q")), Some("q"));
    }
}
