//! The Twitch sink: sanitized, paced, accounted delivery of [`Line`]s to Twitch chat.
//!
//! ```text
//! SinkHandle::send(channel, Line)          (never blocks; sheds per priority when full)
//!   -> sanitize (sanitize.rs)              no CR/LF/NUL, no leading / or ., <= 500 chars
//!   -> bounded priority queue (queue.rs)   High > Normal > Low, FIFO within a class
//!   -> ONE engine task (engine.rs)         pacing.rs: <= N lines in ANY 30 s window, channel
//!                                          gap / slow mode / holds, duplicate guard
//!   -> backend (backend.rs)                twitch.rs: twitch-irc, one connection, in order
//!                                          helix.rs: POST /helix/chat/messages
//!   <- USERSTATE / NOTICE msg-id           notice.rs: ratelimit, duplicate, slow, ban ...
//! ```
//!
//! # Use
//!
//! ```no_run
//! # async fn demo() {
//! use tiktwitch::line::{Line, Priority};
//! use tiktwitch::sink::{TwitchSink, TwitchSinkSettings};
//! use tokio_util::sync::CancellationToken;
//! use twitch_irc::login::StaticLoginCredentials;
//!
//! let settings = TwitchSinkSettings {
//!     channels: vec!["somechannel".into()],
//!     ..TwitchSinkSettings::default()
//! };
//! let creds = StaticLoginCredentials::new("mybot".into(), Some("token".into()));
//! let shutdown = CancellationToken::new();
//! let (sink, task) = TwitchSink::new(settings).start(creds, shutdown.clone()).unwrap();
//! sink.send("somechannel", Line { text: "[TikTok] hi".into(), priority: Priority::Normal, kind: "chat", msg_id: 1 });
//! println!("{:?}", sink.stats());
//! shutdown.cancel();
//! let _ = task.await;
//! # }
//! ```
//!
//! Production connects with TLS to `irc.chat.twitch.tv:6697`; tests point
//! [`TwitchSinkSettings::server`] at a fake on 127.0.0.1 with `tls = false` and use their own
//! routing slot ([`TwitchSink::start_on`] with [`RoutedTcp<N>`](twitch::RoutedTcp)).

pub mod backend;
mod engine;
pub mod helix;
pub mod notice;
pub mod pacing;
pub mod queue;
pub mod sanitize;
pub mod stats;
pub mod twitch;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use twitch_irc::login::LoginCredentials;

use crate::limits::*;
use crate::line::Line;
use backend::ChatBackend;
use engine::Engine;
use helix::{HelixAuth, HelixBackend};
use pacing::{Pacer, PacingConfig};
use queue::{OutQueue, PushOutcome, Queued};
use stats::SinkStats;
pub use stats::{ChannelState, ChannelStatus, SinkState, StatsSnapshot};
use twitch::{DefaultTransport, IrcBackend, Route, RoutedTransport};

/// Everything the sink needs to know, with production defaults.
#[derive(Debug, Clone)]
pub struct TwitchSinkSettings {
    /// IRC server `host:port` (default `irc.chat.twitch.tv:6697`).
    pub server: String,
    /// Use TLS (default true).
    pub tls: bool,
    /// Name the TLS certificate must match; `None` = the host part of `server`.
    pub tls_server_name: Option<String>,
    /// PEM certificates trusted in addition to the bundled Mozilla roots (a private CA in
    /// front of Twitch, or a test CA). `None` in production.
    pub tls_extra_root_pem: Option<String>,
    /// The bot's login (lowercase). Used to recognise a CLEARCHAT of the bot before its own
    /// JOIN echo arrives; the IRC login itself comes from the credentials.
    pub bot_login: String,
    /// Channel logins to join and send to (lowercase, without `#`).
    pub channels: Vec<String>,
    /// Lines per window in channels where the bot is a normal user (default 18 of Twitch's 20).
    pub lines_per_window: u32,
    /// Lines per window in channels where the bot is moderator/VIP/broadcaster (default 90 of
    /// Twitch's 100). Elevation is detected from USERSTATE badges.
    pub lines_per_window_elevated: u32,
    /// Twitch's window (30 s). Tests may scale it down.
    pub rate_window: Duration,
    /// Safety margin added to the window, for network jitter.
    pub window_margin: Duration,
    /// Minimum gap between two lines to one channel, non-elevated (1.1 s).
    pub channel_gap: Duration,
    /// Added to a channel's slow-mode delay (0.2 s).
    pub slow_mode_margin: Duration,
    /// Never send the same text to one channel twice within this window (30 s; 0 disables).
    pub duplicate_window: Duration,
    /// Lines waiting at most; beyond, the lowest priority is shed.
    pub queue_capacity: usize,
    /// Wait this long for USERSTATE/NOTICE after a line before counting it unconfirmed.
    pub ack_timeout: Duration,
    /// Event kinds whose long lines are split into numbered parts instead of truncated.
    pub split_kinds: Vec<String>,
    /// Parts a split line may use at most.
    pub max_split_parts: usize,
    /// twitch-irc's `max_waiting_messages_per_connection` (high: one connection, in order).
    pub max_waiting_messages_per_connection: usize,
    /// Helix API base URL (default `https://api.twitch.tv/helix`), for the Helix backend.
    pub helix_base_url: String,
}

impl Default for TwitchSinkSettings {
    fn default() -> Self {
        Self {
            server: "irc.chat.twitch.tv:6697".into(),
            tls: true,
            tls_server_name: None,
            tls_extra_root_pem: None,
            bot_login: String::new(),
            channels: Vec::new(),
            lines_per_window: TWITCH_LINES_PER_WINDOW,
            lines_per_window_elevated: TWITCH_LINES_PER_WINDOW_ELEVATED,
            rate_window: TWITCH_RATE_WINDOW,
            window_margin: Duration::from_millis(250),
            channel_gap: TWITCH_CHANNEL_GAP,
            slow_mode_margin: TWITCH_SLOW_MODE_MARGIN,
            duplicate_window: TWITCH_DUPLICATE_WINDOW,
            queue_capacity: SINK_QUEUE_CAPACITY,
            ack_timeout: TWITCH_ACK_TIMEOUT,
            split_kinds: Vec::new(),
            max_split_parts: MAX_SPLIT_PARTS,
            max_waiting_messages_per_connection: TWITCH_MAX_WAITING_PER_CONNECTION,
            helix_base_url: "https://api.twitch.tv/helix".into(),
        }
    }
}

impl TwitchSinkSettings {
    fn pacing(&self) -> PacingConfig {
        PacingConfig {
            window: self.rate_window,
            window_margin: self.window_margin,
            limit: self.lines_per_window,
            limit_elevated: self.lines_per_window_elevated,
            channel_gap: self.channel_gap,
            slow_margin: self.slow_mode_margin,
            duplicate_window: self.duplicate_window,
        }
    }

    fn route(&self) -> Result<Route, SinkError> {
        let extra_roots = match &self.tls_extra_root_pem {
            Some(pem) => twitch::parse_pem_certificates(pem).map_err(SinkError::TlsRoots)?,
            None => Vec::new(),
        };
        let host = self
            .server
            .rsplit_once(':')
            .map_or(self.server.as_str(), |(h, _)| h);
        Ok(Route {
            address: self.server.clone(),
            tls: self.tls,
            tls_server_name: self
                .tls_server_name
                .clone()
                .unwrap_or_else(|| host.trim_matches(['[', ']']).to_owned()),
            extra_roots,
        })
    }

    fn channel_set(&self) -> Result<HashSet<String>, SinkError> {
        self.channels
            .iter()
            .map(|c| {
                let c = normalize_channel(c);
                twitch_irc::validate::validate_login(&c)
                    .map(|()| c.clone())
                    .map_err(|_| SinkError::InvalidChannel(c))
            })
            .collect()
    }
}

/// Errors of the sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A configured channel is not a valid Twitch login.
    #[error("invalid Twitch channel name {0:?} (expected [a-z0-9_]{{1,25}})")]
    InvalidChannel(String),
    /// No channel configured.
    #[error("no Twitch channel configured")]
    NoChannels,
    /// Twitch refused the credentials, and a refresh (if any) did not help.
    #[error(
        "Twitch refused the login ({server_text:?}); the token is invalid or revoked: re-run `tiktwitch auth`"
    )]
    LoginFailed {
        /// What the server said.
        server_text: String,
    },
    /// The Helix settings lack the broadcaster id of a channel.
    #[error("Helix sink: no broadcaster id for channel {0:?}")]
    MissingBroadcasterId(String),
    /// `tls_extra_root_pem` is not valid PEM.
    #[error("bad tls_extra_root_pem: {0}")]
    TlsRoots(String),
    /// The backend ended unexpectedly.
    #[error("the chat backend closed")]
    BackendClosed,
}

/// Called when Twitch refuses the login; returns true when the credentials were refreshed
/// (the sink then retries once), false to stop the sink.
#[async_trait]
pub trait LoginFailureHandler: Send + Sync + 'static {
    /// Refresh the credentials the `LoginCredentials` (or Helix token source) hands out.
    async fn on_login_failed(&self) -> bool;
}

/// What the handle and the engine share; the queue and the stopped flags sit behind one lock
/// so a line is either queued before the engine drains, or shed.
pub(crate) struct Gate {
    pub queue: OutQueue,
    pub closed: bool,
    pub stopped_channels: HashSet<String>,
}

pub(crate) struct Status {
    pub sink: SinkState,
    pub channels: BTreeMap<String, ChannelStatus>,
}

pub(crate) struct Shared {
    gate: Mutex<Gate>,
    pub wake: Notify,
    pub stats: SinkStats,
    status: Mutex<Status>,
    pub channels: HashSet<String>,
    split_kinds: HashSet<String>,
    max_split_parts: usize,
    seq: AtomicU64,
}

impl Shared {
    pub fn lock_gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn with_status<R>(&self, f: impl FnOnce(&mut Status) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The pipeline's side of the sink: cheap to clone, never blocks.
#[derive(Clone)]
pub struct SinkHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SinkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Lowercase, without a leading `#`.
fn normalize_channel(channel: &str) -> String {
    channel.trim().trim_start_matches('#').to_ascii_lowercase()
}

impl SinkHandle {
    /// Sanitizes `line` and queues it for `channel`. Never blocks: when the queue is full the
    /// lowest-priority line is shed (counted in [`StatsSnapshot::shed`]). Lines for a channel
    /// that is not configured or was stopped, empty lines, and lines after the sink stopped
    /// are shed too (reasons `unknown_channel`, `channel_stopped`, `empty`, `sink_stopped`).
    pub fn send(&self, channel: &str, line: Line) {
        let shared = &self.shared;
        shared.stats.update(|s| s.lines_in += 1);
        let channel = normalize_channel(channel);
        if !shared.channels.contains(&channel) {
            shared.stats.shed(line.kind, "unknown_channel");
            return;
        }
        let parts = if shared.split_kinds.contains(line.kind) {
            sanitize::sanitize_split(&line.text, shared.max_split_parts)
        } else {
            sanitize::sanitize(&line.text).into_iter().collect()
        };
        if parts.is_empty() {
            shared.stats.shed(line.kind, "empty");
            return;
        }
        let extra = parts.len() as u64 - 1;
        shared.stats.update(|s| s.extra_parts += extra);
        let mut gate = shared.lock_gate();
        let now = Instant::now();
        for text in parts {
            if gate.closed {
                shared.stats.shed(line.kind, "sink_stopped");
                continue;
            }
            if gate.stopped_channels.contains(&channel) {
                shared.stats.shed(line.kind, "channel_stopped");
                continue;
            }
            let item = Queued {
                channel: channel.clone(),
                text,
                priority: line.priority,
                kind: line.kind,
                msg_id: line.msg_id,
                seq: shared.seq.fetch_add(1, Ordering::Relaxed),
                queued_at: now,
            };
            match gate.queue.push(item) {
                PushOutcome::Queued => {}
                PushOutcome::QueuedAfterShedding(v) => shared.stats.shed(v.kind, "queue_full"),
                PushOutcome::Shed(v) => shared.stats.shed(v.kind, "queue_full"),
                PushOutcome::Coalesced(_) => shared.stats.update(|s| s.coalesced += 1),
            }
        }
        let depth = gate.queue.len() as u64;
        shared.stats.update(|s| s.queue_depth = depth);
        drop(gate);
        shared.wake.notify_one();
    }

    /// Every counter, as plain numbers.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The sink's state (connecting, connected, stopped with the reason).
    pub fn state(&self) -> SinkState {
        self.shared.with_status(|s| s.sink.clone())
    }

    /// Each configured channel's status.
    pub fn channels(&self) -> BTreeMap<String, ChannelStatus> {
        self.shared.with_status(|s| s.channels.clone())
    }

    /// The queue's capacity.
    pub fn queue_capacity(&self) -> usize {
        self.shared.lock_gate().queue.capacity()
    }
}

/// Builds and starts a sink. See the module docs.
pub struct TwitchSink {
    settings: TwitchSinkSettings,
    login_hook: Option<Arc<dyn LoginFailureHandler>>,
}

/// What `start*` returns: the handle for the pipeline and the engine task (it ends after
/// shutdown, or with [`SinkError::LoginFailed`]).
pub type Started = (SinkHandle, JoinHandle<Result<(), SinkError>>);

impl TwitchSink {
    /// A sink with these settings and no login-failure hook.
    pub fn new(settings: TwitchSinkSettings) -> Self {
        Self {
            settings,
            login_hook: None,
        }
    }

    /// Calls `hook` when Twitch refuses the login: if it returns true the sink retries once
    /// with the (refreshed) credentials, else, or if the retry fails too, the sink stops with
    /// [`SinkError::LoginFailed`] instead of twitch-irc's endless 2 s retries.
    pub fn on_login_failed(mut self, hook: Arc<dyn LoginFailureHandler>) -> Self {
        self.login_hook = Some(hook);
        self
    }

    /// Starts the IRC sink on the production transport (routing slot 0). Must run inside a
    /// tokio runtime.
    pub fn start<L>(self, credentials: L, shutdown: CancellationToken) -> Result<Started, SinkError>
    where
        L: LoginCredentials + Clone,
    {
        self.start_on::<DefaultTransport, L>(credentials, shutdown)
    }

    /// Starts the IRC sink on transport `T` (e.g. `RoutedTcp<5>`), pointing it at
    /// `settings.server`. One process can run one sink per routing slot.
    pub fn start_on<T, L>(
        self,
        credentials: L,
        shutdown: CancellationToken,
    ) -> Result<Started, SinkError>
    where
        T: RoutedTransport,
        L: LoginCredentials + Clone,
    {
        let channels = self.settings.channel_set()?;
        if channels.is_empty() {
            return Err(SinkError::NoChannels);
        }
        T::set_route(self.settings.route()?);
        let mut sorted: Vec<String> = channels.iter().cloned().collect();
        sorted.sort();
        let bot = (!self.settings.bot_login.is_empty()).then(|| self.settings.bot_login.clone());
        let backend = IrcBackend::<T, L>::connect(
            credentials,
            sorted,
            self.settings
                .max_waiting_messages_per_connection
                .clamp(1, usize::MAX / 4),
            bot,
        );
        Ok(self.spawn(backend, channels, shutdown))
    }

    /// Starts the Helix sink (`POST {helix_base_url}/chat/messages`).
    pub fn start_helix(
        self,
        auth: HelixAuth,
        shutdown: CancellationToken,
    ) -> Result<Started, SinkError> {
        let channels = self.settings.channel_set()?;
        if channels.is_empty() {
            return Err(SinkError::NoChannels);
        }
        if let Some(c) = channels
            .iter()
            .find(|c| !auth.broadcaster_ids.contains_key(*c))
        {
            return Err(SinkError::MissingBroadcasterId(c.clone()));
        }
        let backend = HelixBackend::new(
            &self.settings.helix_base_url,
            auth,
            self.settings.ack_timeout,
        );
        Ok(self.spawn(backend, channels, shutdown))
    }

    fn spawn<B: ChatBackend>(
        self,
        backend: B,
        channels: HashSet<String>,
        shutdown: CancellationToken,
    ) -> Started {
        let status = Status {
            sink: SinkState::Connecting,
            channels: channels
                .iter()
                .map(|c| (c.clone(), ChannelStatus::default()))
                .collect(),
        };
        let shared = Arc::new(Shared {
            gate: Mutex::new(Gate {
                queue: OutQueue::new(self.settings.queue_capacity),
                closed: false,
                stopped_channels: HashSet::new(),
            }),
            wake: Notify::new(),
            stats: SinkStats::default(),
            status: Mutex::new(status),
            channels,
            split_kinds: self.settings.split_kinds.iter().cloned().collect(),
            max_split_parts: self.settings.max_split_parts.max(1),
            seq: AtomicU64::new(0),
        });
        let engine = Engine::new(
            backend,
            shared.clone(),
            Pacer::new(self.settings.pacing()),
            self.settings.ack_timeout,
            self.login_hook,
        );
        let task = tokio::spawn(engine.run(shutdown));
        (SinkHandle { shared }, task)
    }
}
