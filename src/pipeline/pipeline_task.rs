//! The pipeline as a tokio task: events from a channel, lines to a channel, timers on tokio
//! time (so tests drive it with a paused clock).

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{Pipeline, PipelineConfig};
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
        self,
        events: mpsc::Receiver<Event>,
        lines: mpsc::Sender<Line>,
        shutdown: CancellationToken,
    ) {
        let (_keep, reload) = watch::channel(self.config.clone());
        self.run_with_reload(events, lines, reload, shutdown).await;
    }

    /// [`Pipeline::run`], and each config sent on `reload` (SIGHUP) replaces the routes,
    /// templates and filters in place ([`Pipeline::reconfigure`]): open gift streaks and
    /// summary windows carry on. A config that does not check out is refused and logged;
    /// the running one stays.
    pub async fn run_with_reload(
        mut self,
        mut events: mpsc::Receiver<Event>,
        lines: mpsc::Sender<Line>,
        mut reload: watch::Receiver<PipelineConfig>,
        shutdown: CancellationToken,
    ) {
        let now = || tokio::time::Instant::now().into_std();
        let mut reloads_open = true;
        loop {
            let deadline = self.next_deadline().map(tokio::time::Instant::from_std);
            let batch = tokio::select! {
                _ = shutdown.cancelled() => break,
                event = events.recv() => match event {
                    Some(event) => self.push(event, now()),
                    None => break,
                },
                changed = reload.changed(), if reloads_open => {
                    match changed {
                        Ok(()) => {
                            let config = reload.borrow_and_update().clone();
                            match self.reconfigure(&config) {
                                Ok(()) => tracing::info!("pipeline reloaded: routes, templates, filters"),
                                Err(e) => tracing::error!("reload refused, keeping the running config:\n{e}"),
                            }
                        }
                        Err(_) => reloads_open = false,
                    }
                    Vec::new()
                }
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
