//! One bridge: TikTok source -> bounded channel -> pipeline -> bounded channel -> the shared
//! Twitch sink, one task per stage. A bridge that fails is reported and restarted with
//! backoff; it never takes another bridge down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::status::BridgeHealth;
use super::plan::BridgePlan;
use super::supervise::{self, Attempt};
use crate::event::Event;
use crate::feed::EventStream;
use crate::limits::{
    BRIDGE_RESTART_MAX_DELAY, BRIDGE_RESTART_MIN_DELAY, EVENT_CHANNEL_CAPACITY,
    LINE_CHANNEL_CAPACITY,
};
use crate::line::Line;
use crate::format::group_thousands;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::sink::SinkHandle;
use crate::source::tiktok::{SignerBudget, SourceError, SourceItem, Status, TikTokSource};

/// How a bridge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeEnd {
    /// The stream ended and the bridge does not wait for the next one.
    StreamOver,
    /// The creator is not live and the bridge does not wait for them
    /// (`tiktok.wait_for_live = false`).
    NotLive(String),
    /// Shutdown was requested.
    Shutdown,
    /// It cannot run at all (a configuration error no retry fixes).
    Failed(String),
}

/// Everything one bridge task needs.
pub struct BridgeTask {
    /// What to run.
    pub plan: BridgePlan,
    /// Where its state is shown.
    pub health: BridgeHealth,
    /// Where every event it receives is published for the feed (which subscribes to it).
    pub events: EventStream,
    /// The shared sink.
    pub sink: SinkHandle,
    /// The signer budget every bridge shares.
    pub budget: SignerBudget,
    /// Its pipeline (built and checked before start).
    pub pipeline: Pipeline,
    /// New pipeline configs (SIGHUP reload).
    pub reload: watch::Receiver<PipelineConfig>,
    /// Stop.
    pub shutdown: CancellationToken,
    /// Run-time rules (moderators' mutes and `only`) its pipeline asks, also after a restart.
    pub moderation: Option<Arc<dyn crate::pipeline::moderation::Moderation>>,
}

impl BridgeTask {
    /// Runs the bridge until its stream is over (when it does not wait for the next one),
    /// or until shutdown. Lines still in the pipeline are flushed to the sink before it
    /// returns. A crash (a panic in the bridge, its pipeline or its fan-out) restarts it
    /// with back-off, with a fresh pipeline of the config in force then.
    pub async fn run(self) -> BridgeEnd {
        let span = info_span!("bridge", name = %self.plan.name);
        let Self {
            plan,
            health,
            events,
            sink,
            budget,
            pipeline,
            reload,
            shutdown,
            moderation,
        } = self;
        let stats = pipeline.stats().clone();
        let parts = Parts {
            plan,
            health,
            events,
            sink,
            budget,
            reload,
            shutdown,
        };
        let mut first = Some(pipeline);
        let (health, shutdown) = (parts.health.clone(), parts.shutdown.clone());
        let attempt = move || {
            // The first try runs the pipeline built and checked at start; a restart builds
            // one from the config in force (a reload may have changed it), same counters.
            let pipeline = first.take().map_or_else(
                || {
                    Pipeline::new(&parts.reload.borrow())
                        .map(|p| p.with_stats(stats.clone()))
                        .map(|p| match &moderation {
                            Some(rules) => p.with_moderation(rules.clone()),
                            None => p,
                        })
                        .map_err(|e| e.to_string())
                },
                Ok,
            );
            let parts = parts.clone();
            async move {
                match pipeline {
                    Ok(pipeline) => parts.run_once(pipeline).await,
                    Err(e) => Attempt::Ended(BridgeEnd::Failed(e)),
                }
            }
            .in_current_span()
        };
        supervise::bridge(&health, &shutdown, attempt)
            .instrument(span)
            .await
    }
}

/// A bridge's parts but its pipeline: what every try (the first, each restart) shares.
#[derive(Clone)]
struct Parts {
    plan: BridgePlan,
    health: BridgeHealth,
    events: EventStream,
    sink: SinkHandle,
    budget: SignerBudget,
    reload: watch::Receiver<PipelineConfig>,
    shutdown: CancellationToken,
}

impl Parts {
    async fn run_once(self, pipeline: Pipeline) -> Attempt {
        let Self {
            plan,
            health,
            events: published,
            sink,
            budget,
            reload,
            shutdown,
        } = self;
        let (events_tx, events_rx) = mpsc::channel::<Event>(EVENT_CHANNEL_CAPACITY);
        let (lines_tx, mut lines_rx) = mpsc::channel::<Line>(LINE_CHANNEL_CAPACITY);
        let pipeline_task = tokio::spawn(
            pipeline
                .run_with_reload(events_rx, lines_tx, reload, CancellationToken::new())
                .in_current_span(),
        );
        let channels = plan.channels.clone();
        let fanout_sink = sink.clone();
        let fanout_health = health.clone();
        let origin: Arc<str> = Arc::from(plan.name.as_str());
        let fanout = tokio::spawn(async move {
            while let Some(line) = lines_rx.recv().await {
                if fanout_health.is_paused() {
                    // Paused through the API: the line is withheld, counted.
                    fanout_health
                        .counters
                        .paused_lines
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                // Tagged with the bridge: a pause that lands between the check above and
                // the queue is still honoured by the sink (shed `paused`).
                for channel in &channels {
                    fanout_sink.send_from(&origin, channel, line.clone());
                }
            }
        });

        let end = feed(
            &plan, &health, &published, &sink, &budget, &events_tx, &shutdown,
        )
        .await;
        // Closing the event channel makes the pipeline flush what it holds (open gift
        // streaks, summaries) and end; the fan-out ends after the last line.
        drop(events_tx);
        let pipeline_end = pipeline_task.await;
        let fanout_end = fanout.await;
        // A dead pipeline or fan-out ends the feed as if shut down: that is a crash, and
        // the supervisor restarts the bridge.
        for (part, join) in [("pipeline", pipeline_end), ("fan-out", fanout_end)] {
            if let Err(join) = join
                && !shutdown.is_cancelled()
            {
                return Attempt::Crashed(format!("its {part} {}", supervise::panic_reason(join)));
            }
        }
        health.update(|s| {
            if let BridgeEnd::Failed(e) = &end {
                s.tiktok_state = "failed".into();
                s.last_error = Some(e.clone());
            } else if s.tiktok_state != "failed" {
                s.tiktok_state = "stopped".into();
            }
        });
        Attempt::Ended(end)
    }
}

/// Runs the source (restarting it when it fails) and forwards its events to the pipeline,
/// publishing each on `published` first (the feed reads it there, without waiting us).
async fn feed(
    plan: &BridgePlan,
    health: &BridgeHealth,
    published: &EventStream,
    sink: &SinkHandle,
    budget: &SignerBudget,
    events: &mpsc::Sender<Event>,
    shutdown: &CancellationToken,
) -> BridgeEnd {
    let mut delay = BRIDGE_RESTART_MIN_DELAY;
    // Connected, disconnected, paused ... on the feed (`crate::feed::lifecycle_events`).
    let mut lifecycle = crate::feed::lifecycle_events::LifecycleTracker::default();
    loop {
        if shutdown.is_cancelled() {
            return BridgeEnd::Shutdown;
        }
        let source = match TikTokSource::with_euler(plan.source.clone(), budget.clone()) {
            Ok(source) => source,
            Err(e) => {
                error!(error = %e, "the TikTok source cannot start");
                return BridgeEnd::Failed(e.to_string());
            }
        };
        health
            .counters
            .source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(source.stats());
        let (items_tx, mut items_rx) = mpsc::channel::<SourceItem>(EVENT_CHANNEL_CAPACITY);
        let source_shutdown = shutdown.child_token();
        let source_task = tokio::spawn(
            async move { source.run(items_tx, source_shutdown).await }.in_current_span(),
        );
        while let Some(item) = items_rx.recv().await {
            match item {
                SourceItem::Event(event) => {
                    if let crate::event::EventKind::Viewers { current, .. } = &event.kind {
                        let current = *current;
                        health.update(|s| s.viewers = Some(current));
                    }
                    health.touch();
                    published.publish(&event);
                    if events.send(event).await.is_err() {
                        return BridgeEnd::Shutdown;
                    }
                }
                SourceItem::Status(status) => {
                    for event in lifecycle.on_status(&status) {
                        published.publish(&event);
                    }
                    report_status(plan, health, sink, &status);
                }
                SourceItem::Profile(profile) => health.update(|s| s.profile = Some(profile)),
            }
        }
        match source_task.await {
            Ok(Ok(())) if shutdown.is_cancelled() => return BridgeEnd::Shutdown,
            Ok(Ok(())) => return BridgeEnd::StreamOver,
            // Not waiting for the live was asked for: the bridge ends (as the docs say),
            // instead of polling again after the restart delay.
            Ok(Err(e @ SourceError::NotLive { .. })) => {
                warn!(error = %e, "not waiting for the live (tiktok.wait_for_live = false)");
                published.publish(&lifecycle.source_ended(&e.to_string(), None));
                return BridgeEnd::NotLive(e.to_string());
            }
            // The source's reconnect limit was reached: giving up was asked for.
            Ok(Err(e @ SourceError::GaveUp { .. })) => {
                error!(error = %e, "the bridge gives up");
                published.publish(&lifecycle.source_ended(&e.to_string(), None));
                return BridgeEnd::Failed(e.to_string());
            }
            Ok(Err(e)) => {
                error!(error = %e, retry_in = ?delay, "the bridge failed; it will be retried");
                published.publish(&lifecycle.source_ended(&e.to_string(), Some(delay)));
                health.update(|s| {
                    s.tiktok_state = "failed".into();
                    s.last_error = Some(e.to_string());
                    s.restarts += 1;
                });
            }
            Err(join) => {
                error!(error = %join, retry_in = ?delay, "the TikTok source task died; it will be retried");
                published.publish(&lifecycle.source_ended(&join.to_string(), Some(delay)));
                health.update(|s| {
                    s.tiktok_state = "failed".into();
                    s.last_error = Some(join.to_string());
                    s.restarts += 1;
                });
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return BridgeEnd::Shutdown,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = next_delay(delay);
    }
}

fn report_status(plan: &BridgePlan, health: &BridgeHealth, sink: &SinkHandle, status: &Status) {
    health.update(|s| {
        s.tiktok_state = status.name().into();
        if let Status::Live { room_id, viewers } = status {
            s.room_id = Some(room_id.to_string());
            if viewers.is_some() {
                s.viewers = *viewers;
            }
        }
        if let Status::Failed { error } = status {
            s.last_error = Some(error.clone());
        }
    });
    match status {
        Status::Live { room_id, viewers } => {
            let viewers = viewers.map_or(String::new(), |v| {
                format!(
                    ", {} viewers",
                    group_thousands(i64::try_from(v).unwrap_or(i64::MAX))
                )
            });
            info!(
                "TikTok @{} (live, room {room_id}{viewers}) -> Twitch {} as {} ({})",
                plan.source.username.trim_start_matches('@'),
                plan.channels
                    .iter()
                    .map(|c| format!("#{c}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                plan.bot_login,
                pacing_summary(plan, sink)
            );
        }
        Status::Reconnecting { .. } | Status::Failed { .. } => warn!("{status}"),
        other => info!("{other}"),
    }
}

/// The budget the sink paces the bridge's channels to now (moderator or not, and the
/// `[twitch] lines_per_30s` override when set).
fn pacing_summary(plan: &BridgePlan, sink: &SinkHandle) -> String {
    let channels = sink.channels();
    let elevated = plan
        .channels
        .iter()
        .any(|c| channels.get(c).is_some_and(|s| s.elevated));
    pacing_text(elevated, plan.lines_per_30s)
}

/// The pacing in words, formatted from the constants the sink paces by, or from the
/// override, which replaces both budgets (the 1.1 s gap still holds for non-moderators).
fn pacing_text(elevated: bool, lines_per_30s: Option<u32>) -> String {
    use crate::limits::{
        TWITCH_ALLOWED_LINES_PER_WINDOW, TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED,
        TWITCH_CHANNEL_GAP, TWITCH_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW_ELEVATED,
        TWITCH_RATE_WINDOW,
    };
    let window = TWITCH_RATE_WINDOW.as_secs();
    let budget = match (lines_per_30s, elevated) {
        (Some(n), _) => format!("{n} lines/{window} s (twitch.lines_per_30s)"),
        (None, true) => format!(
            "{TWITCH_LINES_PER_WINDOW_ELEVATED} of Twitch's {TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED} lines/{window} s"
        ),
        (None, false) => format!(
            "{TWITCH_LINES_PER_WINDOW} of Twitch's {TWITCH_ALLOWED_LINES_PER_WINDOW} lines/{window} s"
        ),
    };
    if elevated {
        format!("moderator: {budget}")
    } else {
        format!("{budget}, {:.1} s apart", TWITCH_CHANNEL_GAP.as_secs_f64())
    }
}

/// The restart delay never exceeds its cap.
pub fn next_delay(delay: Duration) -> Duration {
    (delay * 2).min(BRIDGE_RESTART_MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacing_text_is_formatted_from_the_sinks_constants() {
        use crate::limits::{TWITCH_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW_ELEVATED};
        let normal = pacing_text(false, None);
        assert_eq!(
            normal,
            format!("{TWITCH_LINES_PER_WINDOW} of Twitch's 20 lines/30 s, 1.1 s apart")
        );
        assert_eq!(
            pacing_text(true, None),
            format!("moderator: {TWITCH_LINES_PER_WINDOW_ELEVATED} of Twitch's 100 lines/30 s")
        );
    }

    #[test]
    fn the_pacing_text_says_the_override_when_one_is_set() {
        // `[twitch] lines_per_30s = 5` paces both budgets to 5: the status line says so,
        // not the default 18 / 90.
        assert_eq!(
            pacing_text(false, Some(5)),
            "5 lines/30 s (twitch.lines_per_30s), 1.1 s apart"
        );
        assert_eq!(
            pacing_text(true, Some(5)),
            "moderator: 5 lines/30 s (twitch.lines_per_30s)"
        );
    }

    #[test]
    fn restart_delays_double_up_to_the_cap() {
        let mut d = BRIDGE_RESTART_MIN_DELAY;
        for _ in 0..20 {
            d = next_delay(d);
        }
        assert_eq!(d, BRIDGE_RESTART_MAX_DELAY);
    }
}
