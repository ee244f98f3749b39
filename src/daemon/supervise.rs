//! The daemon never dies quietly: a bridge whose task panics or whose pipeline dies is
//! restarted with back-off (its state shows `failed` meanwhile, so `/healthz` says so), and
//! a vital part that ends before shutdown (the Twitch sink, the token upkeep, the HTTP
//! server) stops the process with an error, so the supervisor (systemd, Kubernetes, the
//! Windows service wrapper) restarts it instead of leaving a half-dead bridge running.

use std::future::Future;
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use tracing::error;

use super::BridgeHealth;
use super::bridge::{BridgeEnd, next_delay};
use crate::limits::BRIDGE_RESTART_MIN_DELAY;

/// Runs `attempt` until it ends on its own, restarting it with back-off when it crashes or
/// its task panics. Each call of `attempt` starts one try.
pub async fn bridge<F, Fut>(
    health: &BridgeHealth,
    shutdown: &CancellationToken,
    mut attempt: F,
) -> BridgeEnd
where
    F: FnMut() -> Fut,
    Fut: Future<Output = BridgeEnd> + Send + 'static,
{
    let mut delay = BRIDGE_RESTART_MIN_DELAY;
    loop {
        // Its own task: a panic anywhere in it is caught here instead of ending the bridge
        // silently while the rest of the process goes on.
        let why = match tokio::spawn(attempt()).await {
            Ok(end) => return end,
            Err(join) => panic_reason(join),
        };
        if shutdown.is_cancelled() {
            return BridgeEnd::Shutdown;
        }
        error!(reason = %why, retry_in = ?delay, "the bridge crashed; it will be restarted");
        health.update(|s| {
            s.tiktok_state = "failed".into();
            s.last_error = Some(format!("crashed: {why}"));
            s.restarts += 1;
        });
        tokio::select! {
            () = shutdown.cancelled() => return BridgeEnd::Shutdown,
            () = tokio::time::sleep(delay) => {}
        }
        delay = next_delay(delay);
    }
}

/// What a task's end means for the process: the name of the part, and why it ended.
pub fn part_ended<E: std::fmt::Display>(
    part: &'static str,
    end: Result<Result<(), E>, JoinError>,
) -> String {
    match end {
        Ok(Ok(())) => format!("{part} ended before shutdown"),
        Ok(Err(e)) => format!("{part} failed: {e}"),
        Err(join) => format!("{part} {}", panic_reason(join)),
    }
}

/// `panicked: <message>` for a panic, `was cancelled` for an abort.
pub fn panic_reason(join: JoinError) -> String {
    if !join.is_panic() {
        return "was cancelled".into();
    }
    format!("panicked: {}", panic_message(&*join.into_panic()))
}

/// The message a panic carried (`panic!("...")`), or `(no message)`.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// How long the restart back-off waits before try `n`.
#[cfg(test)]
fn restart_delay(n: u32) -> std::time::Duration {
    (0..n).fold(BRIDGE_RESTART_MIN_DELAY, |d, _| next_delay(d))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::pipeline::PipelineStats;

    fn health() -> BridgeHealth {
        BridgeHealth::new("b", "creator", &["chan".to_owned()], PipelineStats::default())
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_bridge_is_restarted_with_back_off_and_shown_failed_meanwhile() {
        let health = health();
        let shutdown = CancellationToken::new();
        let started = Arc::new(AtomicU32::new(0));
        let t0 = tokio::time::Instant::now();
        let counter = started.clone();
        let end = bridge(&health, &shutdown, move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => panic!("boom in the pipeline"),
                    1 => panic!("the source died"),
                    _ => BridgeEnd::StreamOver,
                }
            }
        })
        .await;
        assert!(matches!(end, BridgeEnd::StreamOver), "{end:?}");
        assert_eq!(started.load(Ordering::SeqCst), 3);
        // Two restarts, each after its back-off.
        assert_eq!(t0.elapsed(), restart_delay(0) + restart_delay(1));
        let state = health.snapshot();
        assert_eq!(state.restarts, 2);
        assert_eq!(state.last_error.as_deref(), Some("crashed: panicked: the source died"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_during_shutdown_is_not_restarted() {
        let health = health();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let end = bridge(&health, &shutdown, move || {
            stop.cancel();
            async { panic!("died while stopping") }
        })
        .await;
        assert!(matches!(end, BridgeEnd::Shutdown));
        assert_eq!(health.snapshot().restarts, 0);
    }

    #[tokio::test]
    async fn a_vital_part_that_panics_or_ends_is_named_with_its_reason() {
        let panicked = tokio::spawn(async {
            if true {
                panic!("sink exploded");
            }
            Ok::<(), String>(())
        })
        .await;
        assert_eq!(
            part_ended("the Twitch sink", panicked),
            "the Twitch sink panicked: sink exploded"
        );
        assert_eq!(
            part_ended::<String>("the HTTP server", Ok(Ok(()))),
            "the HTTP server ended before shutdown"
        );
        assert_eq!(
            part_ended("token upkeep", Ok(Err("revoked"))),
            "token upkeep failed: revoked"
        );
    }
}
