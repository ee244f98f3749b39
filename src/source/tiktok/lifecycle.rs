//! The lifecycle: wait until live (unsigned polling), sign, connect, relay, and on any
//! unexpected close reconnect with backoff, redoing the signer step (signed URLs expire in
//! about 30 s) and re-resolving the room (its id changes when the creator restarts).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::backoff;
use super::decode::{MessageError, decode_fetch_result};
use super::error::{SignerError, SourceError};
use super::gifts::{GiftCatalogue, fetch_gift_catalogue, fill_from_static_table};
use super::transport::build_client;
use super::preset::{self, DevicePreset};
use super::proxy::ProxyConfig;
use super::room::{RoomInfo, RoomLookup, normalise_username};
use super::push_session::{self, Handshake, Session};
use super::tiktok_settings::TikTokSettings;
use super::signer::{EulerSigner, SignRequest, Signer, SignerBudget};
use super::socket_url::build_socket_url;
use super::source_stats::{SourceStats, SourceStatsSnapshot, bump};
use super::status::{SourceItem, Status};
use crate::dedupe::{RecentIds, message_key};
use crate::event::{ControlAction, Event, EventKind};
use crate::limits::MAX_GIFT_LIST_BODY_BYTES;

/// Why an attempt stopped short of a stream end.
enum Stop {
    /// Shutdown was requested or the consumer went away.
    Shutdown,
    /// Something failed.
    Fail(SourceError),
}

impl<E: Into<SourceError>> From<E> for Stop {
    fn from(e: E) -> Self {
        Self::Fail(e.into())
    }
}

/// A TikTok LIVE as a stream of [`SourceItem`]s.
pub struct TikTokSource {
    settings: TikTokSettings,
    signer: Arc<dyn Signer>,
    budget: SignerBudget,
    stats: Arc<SourceStats>,
    frame_tap: Option<mpsc::Sender<Bytes>>,
}

/// Mutable state of one `run`.
struct Run<'a> {
    username: String,
    lookup: RoomLookup,
    preset: &'static DevicePreset,
    proxy: Option<ProxyConfig>,
    tx: &'a mpsc::Sender<SourceItem>,
    shutdown: &'a CancellationToken,
    seen: RecentIds,
    /// Failed attempts in a row; reset once a socket delivers a batch.
    failures: u32,
    /// The room that just ended: TikTok can report it live for a while after the end.
    ended_room: Option<u64>,
    /// The plain HTTP client (for the gift catalogue).
    http: reqwest::Client,
    /// The gift catalogue of the current room, once fetched.
    catalogue: CatalogueSlot,
}

/// The gift catalogue of one room, filled in the background (never blocking the live).
#[derive(Default)]
struct CatalogueSlot {
    /// The room it is (being) fetched for.
    room_id: Option<u64>,
    /// The catalogue, when the fetch succeeded.
    ready: Arc<Mutex<Option<Arc<GiftCatalogue>>>>,
    /// Cancels the fetch when the room changes or the run ends.
    _fetch: Option<tokio_util::sync::DropGuard>,
}

impl CatalogueSlot {
    fn get(&self) -> Option<Arc<GiftCatalogue>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl TikTokSource {
    /// A source that signs through `signer`, drawing on `budget` (clone one budget into
    /// every source of the process).
    pub fn new(settings: TikTokSettings, signer: Arc<dyn Signer>, budget: SignerBudget) -> Self {
        Self {
            settings,
            signer,
            budget,
            stats: Arc::new(SourceStats::default()),
            frame_tap: None,
        }
    }

    /// A source using Euler Stream (or a server with its contract) at
    /// `settings.signer_base_url` with `settings.signer_api_key`.
    pub fn with_euler(settings: TikTokSettings, budget: SignerBudget) -> Result<Self, SourceError> {
        let proxy = ProxyConfig::resolve(settings.proxy.as_deref(), settings.proxy_from_env)?;
        let http = build_client(proxy.as_ref(), settings.request_timeout)?;
        let signer = EulerSigner::new(
            http,
            &settings.signer_base_url,
            settings.signer_api_key.clone(),
            &settings.signer_client,
        );
        Ok(Self::new(settings, Arc::new(signer), budget))
    }

    /// Also send every raw push frame received to `tap` (for `tiktwitch record`).
    pub fn tap_frames(&mut self, tap: mpsc::Sender<Bytes>) {
        self.frame_tap = Some(tap);
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<SourceStats> {
        Arc::clone(&self.stats)
    }

    /// A copy of the counters now.
    pub fn snapshot(&self) -> SourceStatsSnapshot {
        self.stats.snapshot()
    }

    /// Runs until shutdown, the consumer hangs up, the stream ends (when `wait_for_live` is
    /// off), or a failure retrying cannot fix (returned, after a `Failed` status).
    pub async fn run(
        &self,
        tx: mpsc::Sender<SourceItem>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let result = self.run_inner(&tx, &shutdown).await;
        if let Err(e) = &result {
            let _ = tx.try_send(SourceItem::Status(Status::Failed {
                error: e.to_string(),
            }));
        }
        result
    }

    async fn run_inner(
        &self,
        tx: &mpsc::Sender<SourceItem>,
        shutdown: &CancellationToken,
    ) -> Result<(), SourceError> {
        let s = &self.settings;
        let username = normalise_username(&s.username)?;
        let proxy = ProxyConfig::resolve(s.proxy.as_deref(), s.proxy_from_env)?;
        let http = build_client(proxy.as_ref(), s.request_timeout)?;
        let preset = preset::pick(s.preset.as_deref());
        let mut run = Run {
            lookup: RoomLookup::new(http.clone(), &s.web_base_url, preset),
            http,
            catalogue: CatalogueSlot::default(),
            username,
            preset,
            proxy,
            tx,
            shutdown,
            seen: RecentIds::new(s.dedupe_capacity),
            failures: 0,
            ended_room: None,
        };
        loop {
            match self.attempt(&mut run).await {
                // The stream ended (status already sent).
                Ok(()) if s.wait_for_live => run.failures = 0,
                Ok(()) | Err(Stop::Shutdown) => return Ok(()),
                Err(Stop::Fail(error)) => {
                    if !error.is_retryable() {
                        return Err(error);
                    }
                    run.failures += 1;
                    if s.max_attempts.is_some_and(|max| run.failures >= max) {
                        return Err(SourceError::GaveUp {
                            attempts: run.failures,
                            last: Box::new(error),
                        });
                    }
                    let delay = error.retry_after().unwrap_or_else(|| {
                        backoff::delay(run.failures, s.min_backoff, s.max_backoff)
                    });
                    tracing::warn!(%error, attempt = run.failures, ?delay, "reconnecting");
                    bump(&self.stats.reconnects);
                    let status = Status::Reconnecting {
                        attempt: run.failures,
                        delay,
                        reason: error.to_string(),
                    };
                    if emit(&run, SourceItem::Status(status)).await.is_err()
                        || sleep(run.shutdown, delay).await.is_err()
                    {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// One pass: wait until live, sign, connect, relay until the stream ends (`Ok`) or
    /// something stops it.
    async fn attempt(&self, run: &mut Run<'_>) -> Result<(), Stop> {
        let s = &self.settings;
        let connecting = Status::Connecting {
            username: run.username.clone(),
        };
        emit(run, SourceItem::Status(connecting)).await?;
        let room = self.wait_until_live(run).await?;
        self.start_catalogue(run, room.room_id);

        // Sign (never before the room is live: the signer's budget is precious).
        self.take_budget(run).await?;
        bump(&self.stats.signer_calls);
        let request = SignRequest {
            room_id: room.room_id,
            user_agent: run.preset.user_agent.to_string(),
            session_cookie: s
                .send_session_to_signer
                .then(|| cookie_header(&s.session_cookies()))
                .filter(|c| !c.is_empty()),
        };
        let signed = match self.signer.fetch(&request).await {
            Ok(signed) => signed,
            Err(e) => {
                if let SignerError::RateLimited { retry_after, .. } = &e {
                    bump(&self.stats.signer_rate_limited);
                    self.budget.rate_limited(*retry_after);
                } else {
                    bump(&self.stats.signer_failures);
                }
                return Err(e.into());
            }
        };
        let room_id = signed.room_id.filter(|id| *id != 0).unwrap_or(room.room_id);
        let first = decode_fetch_result(signed.body).map_err(SignerError::from)?;

        // Connect.
        let heartbeat = match u64::try_from(first.heartbeat_ms) {
            Ok(ms @ 1_000..=60_000) => Duration::from_millis(ms),
            _ => s.heartbeat,
        };
        let url = build_socket_url(
            &first,
            room_id,
            run.preset,
            heartbeat.as_millis() as u64,
            rand::rng().random_range(100..200),
        )?;
        let mut cookies = signed.cookies;
        for (name, value) in s.session_cookies() {
            cookies.retain(|(n, _)| *n != name);
            cookies.push((name, value));
        }
        let ws = push_session::connect(Handshake {
            url: &url,
            cookies: &cookies,
            user_agent: run.preset.user_agent,
            proxy: run.proxy.as_ref(),
            timeout: s.request_timeout,
        })
        .await?;
        let mut session =
            Session::enter(ws, room_id, &first.cursor, heartbeat, self.stats()).await?;
        bump(&self.stats.connects);
        let live = Status::Live {
            room_id,
            viewers: room.viewers,
        };
        emit(run, SourceItem::Status(live)).await?;

        // The first fetch result's messages are history: marked, relayed or not downstream.
        self.stats
            .repaired_text
            .fetch_add(first.repaired_text, std::sync::atomic::Ordering::Relaxed);
        for message in first.messages {
            self.relay(run, message, true, room_id).await?;
        }

        loop {
            let incoming = tokio::select! {
                _ = run.shutdown.cancelled() => {
                    session.close("client shutting down").await;
                    return Err(Stop::Shutdown);
                }
                incoming = session.next() => incoming?,
            };
            if let Some(tap) = &self.frame_tap {
                let _ = tap.send(incoming.raw.clone()).await;
            }
            let batch = match incoming.frame {
                Ok(frame) => frame.batch,
                Err(e) => {
                    bump(&self.stats.frame_errors);
                    tracing::warn!(error = %e, "dropped an undecodable frame");
                    continue;
                }
            };
            let Some(batch) = batch else { continue };
            run.failures = 0;
            if batch.repaired_text > 0 {
                tracing::debug!(
                    messages = batch.repaired_text,
                    "invalid UTF-8 in a message's text, relayed with U+FFFD"
                );
                self.stats
                    .repaired_text
                    .fetch_add(batch.repaired_text, std::sync::atomic::Ordering::Relaxed);
            }
            for message in batch.messages {
                if let Some(end) = self.relay(run, message, false, room_id).await? {
                    session.close("stream ended").await;
                    run.ended_room = Some(room_id);
                    emit(run, SourceItem::Status(Status::Ended { action: end })).await?;
                    return Ok(());
                }
            }
        }
    }

    /// Polls the unsigned room status until the creator is live (or fails with `NotLive`
    /// when `wait_for_live` is off).
    async fn wait_until_live(&self, run: &mut Run<'_>) -> Result<RoomInfo, Stop> {
        let s = &self.settings;
        loop {
            bump(&self.stats.room_lookups);
            let room = run.lookup.resolve(&run.username).await?;
            emit(run, SourceItem::Profile(Box::new(room.profile.clone()))).await?;
            if !room.is_live() {
                run.ended_room = None;
            } else if run.ended_room != Some(room.room_id) {
                return Ok(room);
            }
            if !s.wait_for_live {
                return Err(SourceError::NotLive {
                    username: run.username.clone(),
                    checked_at: room.checked_at,
                }
                .into());
            }
            let waiting = Status::WaitingForLive {
                username: run.username.clone(),
                checked_at: room.checked_at,
                next_check_in: s.poll_interval,
            };
            emit(run, SourceItem::Status(waiting)).await?;
            sleep(run.shutdown, s.poll_interval).await?;
        }
    }

    /// Starts fetching the gift catalogue of `room_id` in the background, once per room (a
    /// reconnect to the same room reuses it; a failure is not retried for that room).
    fn start_catalogue(&self, run: &mut Run<'_>, room_id: u64) {
        if !self.settings.gift_catalogue || run.catalogue.room_id == Some(room_id) {
            return;
        }
        let cancel = run.shutdown.child_token();
        run.catalogue = CatalogueSlot {
            room_id: Some(room_id),
            ready: Arc::default(),
            _fetch: Some(cancel.clone().drop_guard()),
        };
        let ready = Arc::clone(&run.catalogue.ready);
        let stats = Arc::clone(&self.stats);
        let http = run.http.clone();
        let base = self.settings.webcast_base_url.clone();
        let preset = run.preset;
        tokio::spawn(async move {
            let fetch =
                fetch_gift_catalogue(&http, &base, room_id, preset, MAX_GIFT_LIST_BODY_BYTES);
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                result = fetch => result,
            };
            match result {
                Ok(catalogue) => {
                    bump(&stats.gift_catalogues);
                    tracing::debug!(
                        room_id,
                        gifts = catalogue.len(),
                        skipped = catalogue.skipped,
                        "gift catalogue loaded"
                    );
                    *ready.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(catalogue));
                }
                Err(error) => {
                    bump(&stats.gift_catalogue_failures);
                    tracing::warn!(%error, room_id, "no gift catalogue; gifts show what their messages say");
                }
            }
        });
    }

    /// Waits until the shared signer budget allows a call.
    async fn take_budget(&self, run: &Run<'_>) -> Result<(), Stop> {
        while let Err(wait) = self.budget.try_acquire() {
            tracing::info!(?wait, "signer budget exhausted; waiting");
            sleep(run.shutdown, wait).await?;
        }
        Ok(())
    }

    /// Dedupes and emits one message; returns the end action when it ends the stream.
    async fn relay(
        &self,
        run: &mut Run<'_>,
        message: Result<Event, MessageError>,
        history: bool,
        room_id: u64,
    ) -> Result<Option<ControlAction>, Stop> {
        let mut event = match message {
            Ok(event) => event,
            Err(e) => {
                bump(&self.stats.message_errors);
                tracing::debug!(error = %e, "dropped an undecodable message");
                return Ok(None);
            }
        };
        if !run
            .seen
            .first_sight(message_key(&event.meta.method, event.meta.msg_id))
        {
            bump(&self.stats.duplicates);
            return Ok(None);
        }
        event.meta.history |= history;
        event.meta.received_at_ms = now_ms();
        if matches!(event.kind, EventKind::Gift { .. }) {
            // The room's catalogue first; the built-in table for what it leaves empty.
            let from_catalogue = run
                .catalogue
                .get()
                .is_some_and(|catalogue| catalogue.enrich(&mut event));
            if from_catalogue | fill_from_static_table(&mut event) {
                bump(&self.stats.gifts_enriched);
            }
        }
        bump(&self.stats.messages);
        if event.meta.history {
            bump(&self.stats.history);
        }
        // Lifecycle changes come only from live messages, never from replayed history.
        let action = match event.kind {
            EventKind::Control { action } if !event.meta.history => Some(action),
            _ => None,
        };
        emit(run, SourceItem::Event(Box::new(event))).await?;
        match action {
            Some(ControlAction::Paused) => emit(run, SourceItem::Status(Status::Paused)).await?,
            Some(ControlAction::Resumed) => {
                let live = Status::Live {
                    room_id,
                    viewers: None,
                };
                emit(run, SourceItem::Status(live)).await?;
            }
            Some(end) if end.is_end() => return Ok(Some(end)),
            _ => {}
        }
        Ok(None)
    }
}

/// Runs a source with the default Euler signer: the daemon's entry point.
pub async fn run(
    settings: TikTokSettings,
    budget: SignerBudget,
    tx: mpsc::Sender<SourceItem>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    TikTokSource::with_euler(settings, budget)?
        .run(tx, shutdown)
        .await
}

async fn emit(run: &Run<'_>, item: SourceItem) -> Result<(), Stop> {
    tokio::select! {
        sent = run.tx.send(item) => sent.map_err(|_| Stop::Shutdown),
        _ = run.shutdown.cancelled() => Err(Stop::Shutdown),
    }
}

async fn sleep(shutdown: &CancellationToken, delay: Duration) -> Result<(), Stop> {
    tokio::select! {
        _ = tokio::time::sleep(delay) => Ok(()),
        _ = shutdown.cancelled() => Err(Stop::Shutdown),
    }
}

/// Milliseconds since the epoch now (0 before 1970, which no real clock reports).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn cookie_header(cookies: &[(String, String)]) -> String {
    cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}
