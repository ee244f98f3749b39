//! A bridge's pipeline, run inside the bridge's own task, and its lines handed straight to
//! the shared sink.
//!
//! Each TikTok message used to cross four task hops (source -> bridge loop -> pipeline task
//! -> fan-out task -> sink): every hop a channel send, a wake-up of another task and, on a
//! multi-threaded runtime, often a trip to another core. The sink's queue is a plain
//! synchronous push ([`SinkHandle::send_from`]) and the pipeline never waits, so neither
//! needs a task of its own: the bridge calls the pipeline and the sink itself, and its one
//! timer (the pipeline's next deadline: gift streaks, summaries, flood lines) is re-armed
//! only when that deadline moves, not once per message.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::event::Event;
use crate::line::Line;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::sink::SinkHandle;
use crate::status::BridgeHealth;

/// The pipeline of one bridge, its reloads, its timer and where its lines go.
pub struct BridgeLines {
    pipeline: Pipeline,
    reload: watch::Receiver<PipelineConfig>,
    reloads_open: bool,
    timer: Pin<Box<Sleep>>,
    /// The deadline `timer` is set to (`None`: nothing is held, the timer is ignored).
    armed: Option<Instant>,
    fanout: Fanout,
}

/// Where a bridge's lines go: each of its Twitch channels on the shared sink, unless the
/// bridge is paused.
struct Fanout {
    sink: SinkHandle,
    channels: Vec<String>,
    origin: Arc<str>,
    health: BridgeHealth,
}

/// What woke the bridge besides its source.
pub enum Wake {
    /// A new pipeline config (SIGHUP), or the reload channel closed.
    Reload(Result<(), watch::error::RecvError>),
    /// The pipeline's deadline passed.
    Timer,
}

impl BridgeLines {
    /// `pipeline`'s lines go to `channels` on `sink`, tagged with the bridge `origin`.
    pub fn new(
        pipeline: Pipeline,
        reload: watch::Receiver<PipelineConfig>,
        sink: SinkHandle,
        channels: Vec<String>,
        origin: Arc<str>,
        health: BridgeHealth,
    ) -> Self {
        Self {
            pipeline,
            reload,
            reloads_open: true,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: None,
            fanout: Fanout {
                sink,
                channels,
                origin,
                health,
            },
        }
    }

    /// Waits for a reload or the pipeline's deadline, whichever comes first; forever when
    /// neither can come. Cancel-safe: the bridge selects it against its source.
    pub async fn wake(&mut self) -> Wake {
        let armed = self.armed.is_some();
        tokio::select! {
            changed = self.reload.changed(), if self.reloads_open => Wake::Reload(changed),
            () = self.timer.as_mut(), if armed => Wake::Timer,
        }
    }

    /// Acts on what [`BridgeLines::wake`] returned.
    pub fn on_wake(&mut self, wake: Wake) {
        match wake {
            Wake::Reload(Ok(())) => {
                let config = self.reload.borrow_and_update().clone();
                match self.pipeline.reconfigure(&config) {
                    Ok(()) => tracing::info!("pipeline reloaded: routes, templates, filters"),
                    Err(e) => tracing::error!("reload refused, keeping the running config:\n{e}"),
                }
            }
            Wake::Reload(Err(_)) => self.reloads_open = false,
            Wake::Timer => {
                let lines = self.pipeline.tick(now());
                self.deliver(lines);
            }
        }
        self.rearm();
    }

    /// One event through the pipeline, its lines to the sink.
    pub fn push(&mut self, event: Event) {
        let lines = self.pipeline.push(event, now());
        self.deliver(lines);
        self.rearm();
    }

    /// Everything the pipeline still holds (open gift streaks, summaries) to the sink: the
    /// bridge's attempt is over.
    pub fn flush(&mut self) {
        let lines = self.pipeline.flush();
        self.deliver(lines);
    }

    fn deliver(&self, lines: Vec<Line>) {
        for line in lines {
            self.fanout.send(line);
        }
    }

    /// Moves the timer only when the pipeline's next deadline moved: re-registering a
    /// timer per message was a measurable share of a bridge's CPU (benches/efficiency.sh).
    fn rearm(&mut self) {
        let next = self.pipeline.next_deadline().map(Instant::from_std);
        if next != self.armed {
            if let Some(at) = next {
                self.timer.as_mut().reset(at);
            }
            self.armed = next;
        }
    }
}

impl Fanout {
    fn send(&self, line: Line) {
        if self.health.is_paused() {
            // Paused through the API: the line is withheld, counted.
            self.health
                .counters
                .paused_lines
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Tagged with the bridge: a pause that lands between the check above and the
        // queue is still honoured by the sink (shed `paused`).
        let (last, rest) = match self.channels.split_last() {
            Some(split) => split,
            None => return,
        };
        for channel in rest {
            self.sink.send_from(&self.origin, channel, line.clone());
        }
        self.sink.send_from(&self.origin, last, line);
    }
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}
