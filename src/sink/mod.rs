//! The Twitch sink: sanitized, paced, accounted delivery of [`Line`](crate::line::Line)s to Twitch chat.
//!
//! ```text
//! SinkHandle::send(channel, Line)          (never blocks; sheds per priority when full)
//!   -> sanitize (sanitize.rs)              no CR/LF/NUL, no leading / or ., <= 500 chars
//!   -> bounded priority queue (queue.rs)   High > Normal > Low, FIFO within a class
//!   -> ONE engine task (engine.rs)         pacing.rs: <= N lines in ANY 30 s window, channel
//!                                          gap / slow mode / holds, duplicate guard;
//!                                          select.rs + pack.rs: which line next, what joins it
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
//! sink.send("somechannel", Line { text: "[TikTok] hi".into(), priority: Priority::Normal, kind: "chat", msg_id: 1, meta: Default::default() });
//! println!("{:?}", sink.stats());
//! shutdown.cancel();
//! let _ = task.await;
//! # }
//! ```
//!
//! - [`TwitchSink::on_login_failed`] takes a [`LoginFailureHandler`]: on `Login
//!   authentication failed` it is called once; `true` (credentials refreshed) reconnects once
//!   with fresh credentials, anything else stops the task with [`SinkError::LoginFailed`]
//!   (twitch-irc alone would retry every 2 s forever).
//! - [`TwitchSink::start_helix`] runs the same queue and pacing over `POST
//!   {helix_base_url}/chat/messages` ([`helix::HelixAuth`]).
//! - [`SinkHandle::stats`] and [`SinkHandle::channels`] give counters and per-channel status
//!   (Active, Held by a chat mode, Stopped by a ban/timeout) for the daemon to show.
//! - At shutdown, queued lines keep going out for [`TwitchSinkSettings::shutdown_drain`].
//!
//! Not the sink's job: `@mentions`, `!command` prefixes for other bots and links inside TikTok
//! fragments; the template/pipeline decides those (the sink only makes the whole line safe
//! for IRC and for Twitch's own `/` and `.` commands).
//!
//! Production connects with TLS to `irc.chat.twitch.tv:6697`; tests point
//! [`TwitchSinkSettings::server`] at a fake on 127.0.0.1 with `tls = false` and use their own
//! routing slot ([`TwitchSink::start_on`] with [`RoutedTcp<N>`](twitch::RoutedTcp)).

pub mod backend;
mod engine;
pub mod freshness;
mod handle;
pub mod helix;
pub mod incoming;
pub mod helix_ids;
pub mod helix_token;
pub mod journal;
pub mod notice;
pub mod pack;
pub mod pacing;
mod pause;
pub mod queue;
mod queued;
pub mod sanitize;
pub mod select;
mod settings;
pub mod sink_stats;
pub mod twitch;

pub use handle::SinkHandle;
pub use settings::TwitchSinkSettings;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use twitch_irc::login::LoginCredentials;

use backend::ChatBackend;
use engine::{Engine, Pacing};
use helix::{HelixAuth, HelixBackend};
use journal::{Entry, Journal};
use pacing::Pacer;
use pacing::joins::JoinPacer;
use queue::OutQueue;
use sink_stats::SinkStats;
pub use sink_stats::{ChannelState, ChannelStatus, SinkState, StatsSnapshot};
use twitch::{DefaultTransport, IrcBackend, RoutedTransport};

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
    /// The Helix sink could not learn the ids it sends with.
    #[error("Helix sink: {0}")]
    HelixIds(#[from] helix_ids::HelixIdsError),
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
    /// Paused origins (bridges), with how long their held lines stay fresh (`None`: their
    /// queued lines were dropped).
    pub paused: HashMap<Arc<str>, Option<std::time::Duration>>,
    /// Lines of paused origins kept for after the resume.
    pub held: Vec<queue::Queued>,
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
    /// How old a line may be when its turn comes, and how the next one is chosen, per
    /// bridge.
    policies: select::Policies,
    /// Which waiting lines share one Twitch message, per bridge.
    packers: pack::Packers,
    seq: AtomicU64,
    /// What the bot reads in its channels, for [`SinkHandle::subscribe_chat`].
    pub chat: tokio::sync::broadcast::Sender<Arc<incoming::ChatMessage>>,
    /// Every sink state set (each login too, even when already connected), for the feed's
    /// `twitch_connected` / `twitch_disconnected` events.
    state_changes: tokio::sync::watch::Sender<SinkState>,
}

impl Shared {
    pub fn lock_gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn with_status<R>(&self, f: impl FnOnce(&mut Status) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Sets the sink's state and tells [`SinkHandle::state_changes`] watchers.
    pub fn set_sink_state(&self, state: SinkState) {
        self.with_status(|st| st.sink = state.clone());
        self.state_changes.send_replace(state);
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
            self.settings.clock.clone(),
        );
        Ok(self.spawn(backend, channels, shutdown))
    }

    /// The pacers, with what earlier processes sent (from the journal in `state_dir`).
    fn restored_pacing(&self) -> Pacing {
        let s = &self.settings;
        let mut pacer = Pacer::new(s.pacing());
        let mut joins = JoinPacer::new(s.joins_per_window, s.join_window + s.window_margin);
        let Some(dir) = &s.state_dir else {
            return Pacing {
                pacer,
                joins,
                journal: Journal::disabled(s.clock.clone()),
            };
        };
        let (journal, restored) = Journal::open(dir, &s.bot_login, s.clock.clone());
        let now = tokio::time::Instant::now();
        if restored.unreadable {
            pacer.assume_full_window(now);
            joins.assume_full(now);
        }
        for r in &restored.entries {
            match &r.entry {
                Entry::Send {
                    channel,
                    elevated,
                    key,
                } => pacer.restore_send(channel, *elevated, *key, r.at),
                Entry::Join { .. } => joins.record(r.at),
            }
        }
        if !restored.entries.is_empty() {
            tracing::info!(
                records = restored.entries.len(),
                "pacing restored from the journal: what the previous run sent still counts"
            );
        }
        Pacing {
            pacer,
            joins,
            journal,
        }
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
                paused: HashMap::new(),
                held: Vec::new(),
            }),
            wake: Notify::new(),
            stats: SinkStats::default(),
            status: Mutex::new(status),
            channels,
            split_kinds: self.settings.split_kinds.iter().cloned().collect(),
            max_split_parts: self.settings.max_split_parts.max(1),
            policies: select::Policies::new(
                select::BridgePolicy {
                    freshness: self.settings.freshness.clone(),
                    select: self.settings.select,
                },
                self.settings.policy_by_bridge.clone(),
            ),
            packers: pack::Packers::new(&self.settings.pack, &self.settings.pack_by_bridge),
            seq: AtomicU64::new(0),
            chat: tokio::sync::broadcast::channel(crate::limits::TWITCH_CHAT_READ_CAPACITY).0,
            state_changes: tokio::sync::watch::Sender::new(SinkState::Connecting),
        });
        let engine = Engine::new(
            backend,
            shared.clone(),
            self.restored_pacing(),
            self.settings.ack_timeout,
            self.settings.shutdown_drain,
            self.login_hook,
        );
        let task = tokio::spawn(engine.run(shutdown));
        (SinkHandle { shared }, task)
    }
}
