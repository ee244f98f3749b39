//! The pipeline as a tokio task: events from a channel, lines to a channel, timers on tokio
//! time (so tests drive it with a paused clock). The daemon does not use it: a bridge runs
//! its pipeline in its own task, with reloads (`daemon::bridge_lines`).

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Pipeline;
use crate::event::Event;
use crate::line::Line;

impl Pipeline {
    /// Runs the pipeline: events from `events`, lines to `lines` (waiting when the sink's
    /// queue is full), timers by [`Pipeline::next_deadline`]. Returns when `shutdown` is
    /// cancelled or the event channel closes (both first flush what is held: open gift
    /// streaks, summaries), or when the line channel closes.
    ///
    /// Keep a clone of [`Pipeline::stats`] before calling it to read the counters.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<Event>,
        lines: mpsc::Sender<Line>,
        shutdown: CancellationToken,
    ) {
        let now = || tokio::time::Instant::now().into_std();
        loop {
            let deadline = self.next_deadline().map(tokio::time::Instant::from_std);
            let batch = tokio::select! {
                _ = shutdown.cancelled() => break,
                event = events.recv() => match event {
                    Some(event) => self.push(event, now()),
                    None => break,
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.tick(now()),
            };
            for line in batch {
                if lines.send(line).await.is_err() {
                    return;
                }
            }
        }
        for line in self.flush() {
            if lines.send(line).await.is_err() {
                return;
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
