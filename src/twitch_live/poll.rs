//! The fallback: Helix `GET /streams` for every watched channel, once per poll interval
//! (`[twitch_stream] poll_interval_secs`), each answer applied to the board.

use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::stream_api::HelixApi;
use super::{LiveBoard, StateSource};

/// Polls until `shutdown`, or until `until` when given (then EventSub is tried again).
pub async fn run(
    api: &HelixApi,
    channels: &[String],
    interval: Duration,
    board: &LiveBoard,
    shutdown: &CancellationToken,
    until: Option<Instant>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let end = async {
        match until {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = tick.tick() => match api.streams(channels, StateSource::Polling).await {
                Ok(reports) => {
                    for r in reports {
                        board.apply(r);
                    }
                }
                Err(e) => warn!(error = %e, "polling the Twitch streams failed"),
            },
            () = &mut end => return,
            () = shutdown.cancelled() => return,
        }
    }
}
