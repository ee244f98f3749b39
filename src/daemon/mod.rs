//! The daemon: every bridge of the config (or of this shard) in one process, one Twitch
//! sink per bot account, one signer budget, an optional health and metrics listener, and
//! one shutdown that drains the sink.
//!
//! ```text
//! bridge "a": TikTok source ─Event→ pipeline ─Line→ fan-out ─┐
//! bridge "b": TikTok source ─Event→ pipeline ─Line→ fan-out ─┼→ Twitch sink (paced) → IRC
//! bridge "c": ...                                            ─┘
//! ```
//!
//! [`run`] takes the shutdown as a future (mini-redis style) so tests and `demo` pass their
//! own; it returns when shutdown is requested, or when every bridge's stream is over and
//! none waits for the next one.
//!
//! The listener ([`http_routes`], [`server`] connections) caps connections, times out slow
//! and idle clients, and after the drain closes whatever is still open within
//! [`crate::limits::HTTP_SHUTDOWN_TIMEOUT`], so no client can hold the stop open.

pub mod bridge;
mod bridge_lines;
mod helix_sink;
pub mod http_routes;
pub mod prometheus;
pub mod plan;
mod reload_scope;
pub mod server;
pub mod stream_awareness;
mod supervise;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::auth::{AuthError, SystemClock, TokenManager};
use crate::config::ConfigErrors;
use crate::pipeline::{Pipeline, PipelineSnapshot};
use crate::secret::{SecretError, SecretStore};
use crate::sink::{LoginFailureHandler, SinkError, SinkHandle, StatsSnapshot, TwitchSink};
use crate::source::tiktok::SignerBudget;

pub use bridge::BridgeEnd;
use crate::status::BridgeHealth;
pub use reload_scope::Reloader;
pub use plan::{Plan, Shard};

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No bridge is configured for this process.
    #[error("no bridge to run{}", .shard.as_ref().map(|s| format!(" in shard {s}")).unwrap_or_default())]
    NoBridges {
        /// The shard asked for.
        shard: Option<String>,
    },
    /// A feature the config asks for is not available in `run`.
    #[error("{0}")]
    Unsupported(String),
    /// A reload found a config problem (the running config stays).
    #[error("reload refused, keeping the running config: {0}")]
    Reload(String),
    /// A bridge's pipeline config does not check out.
    #[error("bridge {bridge}: {errors}")]
    Pipeline {
        /// The bridge.
        bridge: String,
        /// Every problem.
        errors: ConfigErrors,
    },
    /// Reading a secret failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The Twitch login is not usable. (Not a `#[source]`: the message already holds the
    /// inner one, and `{:#}` would print it twice.)
    #[error("Twitch login: {0}")]
    Auth(AuthError),
    /// The Twitch sink could not start or stopped for good (not a `#[source]`, as above).
    #[error("Twitch: {0}")]
    Sink(SinkError),
    /// A secret the config names is not in the store.
    #[error(
        "{what}: no secret named {name:?} in the secret store (store it with `tiktwitch secret set {name}`)"
    )]
    MissingSecret {
        /// The config key naming it.
        what: String,
        /// The secret's name.
        name: String,
    },
    /// The `[api] ring_path` file cannot be used.
    #[error(transparent)]
    Ring(#[from] crate::feed::PersistError),
    /// A part the process cannot go on without (the sink, the token upkeep, the HTTP
    /// server) ended before shutdown.
    #[error("{0}; tiktwitch stops so its service manager can restart it")]
    PartDied(String),
    /// The health listener could not bind.
    #[error("health listener on {bind}: {source}")]
    Http {
        /// The address.
        bind: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A part the process cannot go on without ended: logged here, once, with its reason.
fn vital_part_died(reason: String) -> DaemonError {
    error!(%reason, "a vital part of the daemon stopped; exiting so the service manager restarts it");
    DaemonError::PartDied(reason)
}

impl From<AuthError> for DaemonError {
    fn from(e: AuthError) -> Self {
        Self::Auth(e)
    }
}

impl From<SinkError> for DaemonError {
    fn from(e: SinkError) -> Self {
        Self::Sink(e)
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Each bridge: how it ended, its pipeline counters.
    pub bridges: Vec<(String, BridgeEnd, PipelineSnapshot)>,
    /// The sink's counters after draining.
    pub sink: StatsSnapshot,
}

impl RunReport {
    /// Events in, summed over bridges, and how they ended.
    pub fn totals(&self) -> crate::pipeline::KindCounts {
        let mut t = crate::pipeline::KindCounts::default();
        for (_, _, p) in &self.bridges {
            t.add(&p.total());
        }
        t
    }
}

/// Lets the sink refresh the token once when Twitch refuses the login.
struct RefreshOnLoginFailure(Arc<TokenManager>);

#[async_trait]
impl LoginFailureHandler for RefreshOnLoginFailure {
    async fn on_login_failed(&self) -> bool {
        match self.0.force_refresh().await {
            Ok(()) => true,
            Err(e) => {
                error!(error = %e, "refreshing the Twitch token after a refused login failed");
                false
            }
        }
    }
}

/// What `run` hands out once everything has started: for the HTTP listener, the demo and
/// reload.
#[derive(Clone)]
pub struct Running {
    /// The shared sink.
    pub sink: SinkHandle,
    /// Each bridge's state and counters.
    pub bridges: Vec<BridgeHealth>,
    /// The token manager.
    pub auth: Arc<TokenManager>,
    /// Reload.
    pub reloader: Reloader,
    /// Where `/healthz` and `/metrics` listen, when enabled.
    pub http_addr: Option<std::net::SocketAddr>,
    /// The event feed, REST API and webhooks (their routes join the HTTP listener's).
    pub feed: crate::feed::Hub,
    /// The HTTP listener's connection counters.
    pub http_stats: Arc<server::HttpStats>,
    /// Moderator control (chat commands, `/api/control`).
    pub control: crate::control::Controller,
    /// The Twitch channels' stream state, when the watch runs (`[twitch_stream]`).
    pub twitch_stream: Option<crate::twitch_live::LiveBoard>,
}

impl Running {
    /// The metrics text of this moment.
    pub fn metrics(&self) -> String {
        let samples: Vec<_> = self
            .bridges
            .iter()
            .map(|b| {
                let state = b.snapshot();
                let source = b
                    .counters
                    .source
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .snapshot();
                (state, source, b.counters.pipeline.snapshot())
            })
            .collect();
        let samples: Vec<prometheus::BridgeSample<'_>> = samples
            .iter()
            .map(|(state, source, pipeline)| prometheus::BridgeSample {
                name: &state.name,
                tiktok_state: &state.tiktok_state,
                viewers: state.viewers,
                source: *source,
                pipeline: pipeline.clone(),
            })
            .collect();
        let mut text = prometheus::render(&samples, &self.sink.stats(), Some(&self.auth.stats()));
        text.push_str(&crate::feed::feed_metrics::render(&self.feed));
        text.push_str(&self.control.render_metrics());
        if let Some(board) = &self.twitch_stream {
            text.push_str(&board.render_metrics());
        }
        if self.http_addr.is_some() {
            text.push_str(&server::render_metrics(&self.http_stats.snapshot()));
        }
        text
    }
}

/// Says loudly what a non-loopback listener serves without a token.
fn exposure_notice(addr: std::net::SocketAddr, plan: &Plan) {
    if addr.ip().is_loopback() {
        return;
    }
    let feed = &plan.feed;
    let mut open = Vec::new();
    if feed.ws_enabled && feed.ws_token.is_none() {
        open.push("the event feed (/ws, /)");
    }
    if feed.api_enabled && feed.api_token.is_none() {
        open.push("the API's reads (/api/status, /api/events)");
    }
    if open.is_empty() {
        info!(%addr, "the HTTP listener is reachable from other machines: /healthz, /livez, /readyz and /metrics are open; the feed and API need their tokens");
    } else {
        // Only `[http] public = true` gets here: config validation and `resolve_secrets`
        // refuse the rest.
        warn!(%addr, open = %open.join(", "), "[http] public = true: served to the network WITHOUT a token; anyone who can reach this address can read it");
    }
}

/// A daemon running in the background (for embedding, tests and benchmarks): started by
/// [`spawn`], stopped by [`Background::stop`].
pub struct Background {
    running: Arc<std::sync::Mutex<Option<Running>>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<RunReport, DaemonError>>,
}

impl Background {
    /// The running parts, once everything has started.
    pub fn running(&self) -> Option<Running> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asks the daemon to shut down (drain and stop), as SIGTERM does.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Waits for the daemon to end; `Err` only when its task panicked.
    pub async fn join(self) -> Result<Result<RunReport, DaemonError>, tokio::task::JoinError> {
        self.task.await
    }
}

/// Runs the plan in a background task until [`Background::stop`] (or until every bridge's
/// stream is over).
pub fn spawn(plan: Plan, secrets: Arc<dyn SecretStore>) -> Background {
    let running: Arc<std::sync::Mutex<Option<Running>>> = Arc::default();
    let seen = running.clone();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        run(plan, secrets, stopped.cancelled_owned(), move |r| {
            *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(r.clone());
        })
        .await
    });
    Background {
        running,
        stop,
        task,
    }
}

/// Runs the plan until `shutdown` resolves or every bridge's stream is over. `secrets` is
/// the opened secret store; `on_start` sees the running parts once everything started.
pub async fn run(
    mut plan: Plan,
    secrets: Arc<dyn SecretStore>,
    shutdown: impl Future<Output = ()>,
    on_start: impl FnOnce(&Running),
) -> Result<RunReport, DaemonError> {
    plan.resolve_secrets(secrets.as_ref()).await?;
    // Every pipeline is checked before anything connects.
    let mut pipelines = Vec::new();
    // Each bridge's moderator rules (mutes, `only`), which its pipeline asks.
    let rules: Vec<crate::control::state::BridgeRules> =
        plan.bridges.iter().map(|_| Default::default()).collect();
    for (bridge, rules) in plan.bridges.iter().zip(&rules) {
        let pipeline = Pipeline::new(&bridge.pipeline).map_err(|errors| DaemonError::Pipeline {
            bridge: bridge.name.clone(),
            errors,
        })?;
        pipelines.push(pipeline.with_moderation(Arc::new(rules.clone())));
    }
    // The ring's file too: a bad file is an error before anything connects.
    let names: Vec<&str> = plan.bridges.iter().map(|b| b.name.as_str()).collect();
    let ring_store = crate::feed::RingStore::open_for(&plan.feed, &names)?;

    let manager = TokenManager::load(&plan.auth, secrets.clone(), Arc::new(SystemClock)).await?;
    let info = manager.start().await?;
    info!(
        login = info.login.as_deref().unwrap_or("?"),
        "Twitch token valid"
    );
    let stop_everything = CancellationToken::new();
    let auth_task = tokio::spawn(manager.clone().run(stop_everything.child_token()));

    let sink_shutdown = CancellationToken::new();
    let (sink, sink_task) = match plan.helix {
        Some(helix) => {
            helix_sink::start(&plan, helix, &manager, secrets.as_ref(), sink_shutdown.clone())
                .await?
        }
        None => TwitchSink::new(plan.sink.clone())
            .on_login_failed(Arc::new(RefreshOnLoginFailure(manager.clone())))
            .start(manager.credentials(), sink_shutdown.clone())?,
    };

    let budget = SignerBudget::new(plan.signer_calls_per_minute);
    let bridge_shutdown = CancellationToken::new();
    let mut reloader = Reloader {
        source: Some((plan.config_path.clone(), plan.shard)),
        started: Some(plan.config_snapshot.clone()),
        ..Reloader::default()
    };
    let healths: Vec<BridgeHealth> = plan
        .bridges
        .iter()
        .zip(&pipelines)
        .map(|(bridge, pipeline)| {
            BridgeHealth::new(
                &bridge.name,
                &bridge.source.username,
                &bridge.channels,
                pipeline.stats().clone(),
            )
            .with_pause_keep(bridge.pause_keep)
        })
        .collect();
    // Each bridge publishes its events on its own stream, which the feed subscribes to
    // (before any bridge runs, so it misses no event).
    let feed_inputs: Vec<crate::feed::FeedInput> = healths
        .iter()
        .cloned()
        .map(crate::feed::FeedInput::new)
        .collect();
    let (feed, feed_tasks) = crate::feed::Hub::start_with_store(
        plan.feed.clone(),
        &feed_inputs,
        Some(sink.clone()),
        ring_store,
    );
    // Moderator control from Twitch chat: applies what `control.json` holds (a pause still
    // in force pauses the bridge again) before any bridge relays.
    let control_bridges = plan
        .bridges
        .iter()
        .zip(&feed_inputs)
        .zip(&rules)
        .map(|((bridge, input), rules)| crate::control::ControlBridge {
            name: bridge.name.clone(),
            channels: bridge.channels.clone(),
            health: input.health.clone(),
            events: input.events.clone(),
            rules: rules.clone(),
        })
        .collect();
    let control = crate::control::Controller::new(plan.control.clone(), control_bridges, sink.clone());
    let control_task = control.start(stop_everything.child_token());
    let mut tasks = Vec::new();
    for (((bridge, pipeline), input), rules) in
        plan.bridges.iter().zip(pipelines).zip(&feed_inputs).zip(&rules)
    {
        let (reload_tx, reload_rx) = watch::channel(bridge.pipeline.clone());
        reloader.senders.push((bridge.name.clone(), reload_tx));
        let task = bridge::BridgeTask {
            plan: bridge.clone(),
            health: input.health.clone(),
            events: input.events.clone(),
            sink: sink.clone(),
            budget: budget.clone(),
            pipeline,
            reload: reload_rx,
            shutdown: bridge_shutdown.child_token(),
            moderation: Some(Arc::new(rules.clone())),
        };
        let name = bridge.name.clone();
        tasks.push(tokio::spawn(async move { (name, task.run().await) }));
    }
    let listener = match &plan.http_bind {
        Some(bind) => Some(
            tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|source| DaemonError::Http {
                    bind: bind.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let running = Running {
        sink: sink.clone(),
        bridges: healths.clone(),
        auth: manager.clone(),
        reloader,
        http_addr: listener.as_ref().and_then(|l| l.local_addr().ok()),
        feed,
        http_stats: Arc::default(),
        control,
        twitch_stream: plan.twitch_stream.clone().map(|p| {
            stream_awareness::start(p, manager.clone(), sink.clone(), &feed_inputs, stop_everything.child_token())
        }),
    };
    let http_task = listener.map(|listener| {
        if let Some(addr) = running.http_addr {
            info!(%addr, "health and metrics listening");
            exposure_notice(addr, &plan);
        }
        tokio::spawn(http_routes::serve(
            listener,
            running.clone(),
            plan.http,
            stop_everything.child_token(),
        ))
    });
    on_start(&running);

    // Wait for shutdown, for every bridge to finish, or for a fatal Twitch-side failure.
    let all_bridges = futures_util::future::join_all(tasks);
    tokio::pin!(all_bridges, shutdown);
    let mut auth_task = auth_task;
    let mut sink_task = sink_task;
    let mut fatal: Option<DaemonError> = None;
    let mut sink_done = None;
    let mut http_task = http_task;
    let ends = tokio::select! {
        ends = &mut all_bridges => Some(ends),
        () = &mut shutdown => {
            info!("shutting down: draining the Twitch queue");
            None
        }
        auth = &mut auth_task => {
            // The upkeep only ends on shutdown: any other end leaves a token that expires.
            fatal = Some(match auth {
                Ok(Err(e)) => {
                    // The error itself (with what to do) is the run's result, shown once.
                    error!("the Twitch login is gone; stopping");
                    DaemonError::Auth(e)
                }
                other => vital_part_died(supervise::part_ended("the Twitch token upkeep", other)),
            });
            None
        }
        sink = &mut sink_task => {
            match sink {
                Ok(Err(e)) => {
                    error!(error = %e, "the Twitch sink stopped; stopping");
                    sink_done = Some(Ok(Err(e)));
                }
                other => {
                    fatal = Some(vital_part_died(supervise::part_ended("the Twitch sink", other)));
                    sink_done = Some(Ok(Ok(())));
                }
            }
            None
        }
        http = async { http_task.as_mut().expect("guarded").await }, if http_task.is_some() => {
            http_task = None;
            let end = http.map(|()| Ok::<(), std::convert::Infallible>(()));
            fatal = Some(vital_part_died(supervise::part_ended("the HTTP server", end)));
            None
        }
    };
    // Stop the sources; each pipeline flushes into the sink before its bridge task ends.
    bridge_shutdown.cancel();
    let ends = match ends {
        Some(ends) => ends,
        None => all_bridges.await,
    };
    // The sink drains what is queued (paced) for up to the grace period, then sheds the
    // rest, counted; meanwhile the webhooks deliver what they have queued.
    sink_shutdown.cancel();
    let (sink_result, ()) = tokio::join!(
        async {
            match sink_done {
                Some(done) => done,
                None => sink_task.await,
            }
        },
        feed_tasks.finish(plan.grace)
    );
    stop_everything.cancel();
    let _ = control_task.await;
    if let Some(http) = http_task {
        let _ = http.await;
    }
    if !auth_task.is_finished() {
        auth_task.abort();
    }
    if let Ok(Err(e)) = sink_result
        && fatal.is_none()
    {
        fatal = Some(DaemonError::Sink(e));
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    let bridges = ends
        .into_iter()
        .zip(&healths)
        .map(|(end, health)| {
            let (name, end) =
                end.unwrap_or_else(|e| ("?".into(), BridgeEnd::Failed(e.to_string())));
            (name, end, health.counters.pipeline.snapshot())
        })
        .collect::<Vec<_>>();
    for (name, end, _) in &bridges {
        if let BridgeEnd::Failed(e) = end {
            warn!(bridge = %name, error = %e, "bridge failed");
        }
    }
    Ok(RunReport {
        bridges,
        sink: sink.stats(),
    })
}
