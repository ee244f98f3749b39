//! One bridge: TikTok source -> bounded channel -> pipeline -> the shared Twitch sink, all
//! in one task (`bridge_lines` says why). A bridge that fails is reported and restarted
//! with backoff; it never takes another bridge down.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::status::BridgeHealth;
use super::bridge_lines::BridgeLines;
use super::plan::BridgePlan;
use super::supervise;
use crate::feed::EventStream;
use crate::feed::lifecycle_events::LifecycleTracker;
use crate::limits::{BRIDGE_RESTART_MAX_DELAY, BRIDGE_RESTART_MIN_DELAY, EVENT_CHANNEL_CAPACITY};
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
                    Err(e) => BridgeEnd::Failed(e),
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
    async fn run_once(self, pipeline: Pipeline) -> BridgeEnd {
        let Self {
            plan,
            health,
            events: published,
            sink,
            budget,
            reload,
            shutdown,
        } = self;
        let origin: Arc<str> = Arc::from(plan.name.as_str());
        let mut lines = BridgeLines::new(
            pipeline,
            reload,
            sink.clone(),
            plan.channels.clone(),
            origin,
            health.clone(),
        );
        let end = feed(&plan, &health, &published, &sink, &budget, &mut lines, &shutdown).await;
        // What the pipeline still holds (open gift streaks, summaries) goes out before the
        // attempt ends. A panic in the pipeline ends this whole task instead: the
        // supervisor (`supervise::bridge`) restarts the bridge with a fresh pipeline.
        lines.flush();
        health.update(|s| {
            if let BridgeEnd::Failed(e) = &end {
                s.tiktok_state = "failed".into();
                s.last_error = Some(e.clone());
            } else if s.tiktok_state != "failed" {
                s.tiktok_state = "stopped".into();
            }
        });
        end
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
    lines: &mut BridgeLines,
    shutdown: &CancellationToken,
) -> BridgeEnd {
    let mut delay = BRIDGE_RESTART_MIN_DELAY;
    // Connected, disconnected, paused ... on the feed (`crate::feed::lifecycle_events`).
    let mut lifecycle = LifecycleTracker::default();
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
        // The source runs in this task, beside the pipeline, not in one of its own: its
        // items cross a channel but no thread (see `bridge_lines`). A panic in it is
        // caught here as the source's own failure, and the source alone is restarted.
        let source_run = AssertUnwindSafe(source.run(items_tx, source_shutdown)).catch_unwind();
        tokio::pin!(source_run);
        let mut source_end = None;
        loop {
            tokio::select! {
                end = &mut source_run, if source_end.is_none() => source_end = Some(end),
                item = items_rx.recv() => match item {
                    Some(item) => on_item(plan, health, published, sink, lines, &mut lifecycle, item),
                    None => break,
                },
                wake = lines.wake() => lines.on_wake(wake),
            }
        }
        let source_end = match source_end {
            Some(end) => end,
            None => source_run.await,
        };
        match source_end {
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
            Err(panic) => {
                let why = format!("panicked: {}", supervise::panic_message(&*panic));
                error!(error = %why, retry_in = ?delay, "the TikTok source died; it will be retried");
                published.publish(&lifecycle.source_ended(&why, Some(delay)));
                health.update(|s| {
                    s.tiktok_state = "failed".into();
                    s.last_error = Some(why.clone());
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

/// One item from the source: an event is published on the feed, then goes through the
/// pipeline; a status is reported and published as lifecycle events.
fn on_item(
    plan: &BridgePlan,
    health: &BridgeHealth,
    published: &EventStream,
    sink: &SinkHandle,
    lines: &mut BridgeLines,
    lifecycle: &mut LifecycleTracker,
    item: SourceItem,
) {
    match item {
        SourceItem::Event(event) => {
            if let crate::event::EventKind::Viewers { current, .. } = &event.kind {
                let current = *current;
                health.update(|s| s.viewers = Some(current));
            }
            health.touch();
            published.publish(&event);
            lines.push(*event);
        }
        SourceItem::Status(status) => {
            for event in lifecycle.on_status(&status) {
                published.publish(&event);
            }
            report_status(plan, health, sink, &status);
        }
        SourceItem::Profile(profile) => health.update(|s| s.profile = Some(*profile)),
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
