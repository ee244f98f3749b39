//! `tiktwitch replay FILE [--send]`: a recorded capture through one bridge's pipeline, to
//! try routes, templates and filters on real traffic.
//!
//! The pipeline runs on a virtual clock, so gift streak timeouts and like/join summary
//! windows behave as they would have live, without waiting: frames are taken to arrive
//! `--interval-ms` apart (a capture holds no timing), or at their events' `create_time_ms`
//! when TikTok set it. Timers fall due in between exactly when they would have.
//!
//! The lines are printed in order with their kinds (`kind<TAB>text`); a summary with the
//! pipeline's accounting goes to stderr. `--send` also delivers them to the bridge's Twitch
//! channels through the real sink (paced, and in the sink's priority order: a High line such
//! as "the live has ended" overtakes queued chat), and waits until every line is accounted
//! for.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::CaptureFormat;
use super::connect_args::block_on_with_ctrl_c;
use crate::auth::{SystemClock, TokenManager};
use crate::config::{self, Bridge, Loaded};
use crate::daemon::Plan;
use crate::event::Event;
use crate::line::Line;
use crate::pipeline::{Pipeline, PipelineSnapshot};
use crate::secret::{FileStoreMode, open_store};
use crate::sink::{StatsSnapshot, TwitchSink};
use crate::source::tiktok::capture::{FrameReader, parse_payload_line};
use crate::source::tiktok::decode::{decode_frame, decode_message};

/// Arguments of `tiktwitch replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The capture file; `-` reads standard input.
    pub file: PathBuf,
    /// The capture's format.
    #[arg(long, value_enum, default_value_t = CaptureFormat::Frames)]
    pub format: CaptureFormat,
    /// The `[[bridge]]` whose routes, templates and filters to use (default: the first).
    #[arg(long)]
    pub bridge: Option<String>,
    /// Virtual milliseconds between two frames (payload lines) of the capture.
    #[arg(long, default_value_t = 100)]
    pub interval_ms: u64,
    /// Also deliver the lines to the bridge's Twitch channels (the config's `[twitch]`, the
    /// token from the secret store), paced, and wait until they are sent.
    #[arg(long)]
    pub send: bool,
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct ReplaySummary {
    /// Frames (or payload lines) read.
    pub frames: u64,
    /// Events handed to the pipeline.
    pub events: u64,
    /// Frames and messages that could not be decoded.
    pub decode_errors: u64,
    /// Lines the pipeline produced.
    pub lines: u64,
    /// How much virtual time the capture spanned.
    pub span: Duration,
    /// The pipeline's counters at the end (everything flushed: nothing pending).
    pub pipeline: PipelineSnapshot,
}

impl std::fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.pipeline.total();
        write!(
            f,
            "replay: {} frames, {} events ({} undecodable) over {:.1} s virtual: {} relayed, \
             {} filtered, {} coalesced, {} failed; {} lines",
            self.frames,
            self.events,
            self.decode_errors,
            self.span.as_secs_f64(),
            t.relayed,
            t.filtered,
            t.coalesced,
            t.failed,
            self.lines
        )?;
        if !self.pipeline.filtered_by_rule.is_empty() {
            let rules: Vec<String> = self
                .pipeline
                .filtered_by_rule
                .iter()
                .map(|(rule, n)| format!("{rule} {n}"))
                .collect();
            write!(f, " (filtered: {})", rules.join(", "))?;
        }
        Ok(())
    }
}

/// Timer rounds let fall due after the capture ends (each releases something; a handful is
/// the norm: streaks, the like and join windows, floods).
const TRAILING_TICKS: usize = 1024;

/// The virtual clock: frame `n` arrives `n × interval` after the start, an event with a
/// create time at its offset from the first create time seen; it never runs backwards.
struct VirtualClock {
    start: Instant,
    now: Instant,
    interval: Duration,
    frames: u32,
    anchor: Option<(i64, Instant)>,
}

impl VirtualClock {
    fn new(interval: Duration) -> Self {
        let start = Instant::now();
        Self {
            start,
            now: start,
            interval,
            frames: 0,
            anchor: None,
        }
    }

    /// A new frame arrives.
    fn next_frame(&mut self) {
        if self.frames > 0 {
            self.now = self.now.max(self.frame_time());
        }
        self.frames = self.frames.saturating_add(1);
    }

    fn frame_time(&self) -> Instant {
        self.start + self.interval * self.frames.saturating_sub(1)
    }

    /// When `event` happens.
    fn at(&mut self, event: &Event) -> Instant {
        let created = event.meta.create_time_ms;
        if created > 0 {
            let (first, at) = *self.anchor.get_or_insert((created, self.now));
            let offset = u64::try_from(created.saturating_sub(first)).unwrap_or(0);
            self.now = self.now.max(at + Duration::from_millis(offset));
        }
        self.now
    }
}

/// Pushes every event of a capture through `pipeline` on a virtual clock, handing each line
/// to `emit` in order; at the end lets the remaining timers fall due, then flushes.
pub fn replay_capture(
    format: CaptureFormat,
    input: impl BufRead,
    pipeline: &mut Pipeline,
    interval: Duration,
    mut emit: impl FnMut(&Line) -> io::Result<()>,
) -> io::Result<ReplaySummary> {
    let mut summary = ReplaySummary::default();
    let mut clock = VirtualClock::new(interval);
    let mut push = |event: Event, clock: &mut VirtualClock, summary: &mut ReplaySummary| {
        let at = clock.at(&event);
        let mut lines = due(pipeline, at);
        lines.extend(pipeline.push(event, at));
        summary.events += 1;
        summary.lines += lines.len() as u64;
        lines.iter().try_for_each(&mut emit)
    };
    match format {
        CaptureFormat::Frames => {
            for (index, record) in FrameReader::new(input).enumerate() {
                summary.frames += 1;
                clock.next_frame();
                let decoded = record
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| decode_frame(bytes).map_err(|e| e.to_string()));
                let frame = match decoded {
                    Ok(frame) => frame,
                    Err(e) => {
                        stderr_line!("frame {index}: {e}");
                        summary.decode_errors += 1;
                        continue;
                    }
                };
                for message in frame.batch.map(|b| b.messages).unwrap_or_default() {
                    match message {
                        Ok(event) => push(event, &mut clock, &mut summary)?,
                        Err(e) => {
                            stderr_line!("frame {index}: {e}");
                            summary.decode_errors += 1;
                        }
                    }
                }
            }
        }
        CaptureFormat::Payloads => {
            for (index, line) in input.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                summary.frames += 1;
                clock.next_frame();
                let decoded = parse_payload_line(index + 1, &line)
                    .map_err(|e| e.to_string())
                    .and_then(|(method, payload)| {
                        decode_message(&method, payload).map_err(|e| format!("{method}: {e}"))
                    });
                match decoded {
                    Ok(event) => push(event, &mut clock, &mut summary)?,
                    Err(e) => {
                        stderr_line!("line {}: {e}", index + 1);
                        summary.decode_errors += 1;
                    }
                }
            }
        }
    }
    // After the capture, time goes on: streaks time out and windows close as they would.
    let mut rest = Vec::new();
    for _ in 0..TRAILING_TICKS {
        let Some(deadline) = pipeline.next_deadline() else {
            break;
        };
        clock.now = clock.now.max(deadline);
        rest.extend(pipeline.tick(clock.now));
    }
    rest.extend(pipeline.flush());
    summary.lines += rest.len() as u64;
    rest.iter().try_for_each(&mut emit)?;
    summary.span = clock.now - clock.start;
    summary.pipeline = pipeline.stats().snapshot();
    Ok(summary)
}

/// Lines of every timer due by `now`, each fired at its own deadline (so a summary window
/// closes when it would have, not when the next event happens to arrive).
fn due(pipeline: &mut Pipeline, now: Instant) -> Vec<Line> {
    let mut lines = Vec::new();
    while let Some(deadline) = pipeline.next_deadline().filter(|d| *d <= now) {
        let fired = pipeline.tick(deadline);
        let stuck = fired.is_empty() && pipeline.next_deadline() == Some(deadline);
        lines.extend(fired);
        if stuck {
            break;
        }
    }
    lines
}

pub(super) fn run(config_path: Option<&Path>, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let loaded = config::load(config_path, crate::pipeline::Pipeline::check)?;
    let bridge = pick_bridge(&loaded, args.bridge.as_deref())?;
    let mut pipeline = Pipeline::new(&bridge.pipeline)
        .map_err(|errors| anyhow::anyhow!("bridge {}: {errors}", bridge.name))?;
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?,
        )
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut lines = Vec::new();
    let summary = replay_capture(
        args.format,
        BufReader::new(input),
        &mut pipeline,
        Duration::from_millis(args.interval_ms),
        |line| {
            if args.send {
                lines.push(line.clone());
            }
            writeln!(out, "{}\t{}", line.kind, line.text)
        },
    )?;
    out.flush()?;
    drop(out);
    stderr_line!("{summary}");
    let packing = crate::daemon::plan::pack_settings(&bridge.pipeline.routes.chat);
    stderr_line!("packing: {}", crate::sink::pack::summary(&packing));
    if args.send {
        let stats = send(&loaded, bridge, lines)?;
        stderr_line!(
            "send: {} lines to {}: {} sent ({} confirmed), {} packed into others, {} duplicates dropped, {} rejected, {} shed",
            stats.lines_in,
            bridge
                .twitch
                .channels
                .iter()
                .map(|c| format!("#{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            stats.sent,
            stats.confirmed,
            stats.packed,
            stats.dropped_duplicate,
            stats.rejected,
            stats.shed_total()
        );
        if stats.sent + stats.coalesced + stats.packed < stats.lines_in + stats.extra_parts {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pick_bridge<'a>(loaded: &'a Loaded, name: Option<&str>) -> anyhow::Result<&'a Bridge> {
    match name {
        None => loaded.bridges.first().context("the config has no bridge"),
        Some(name) => loaded
            .bridges
            .iter()
            .find(|b| b.name == name)
            .with_context(|| {
                let names: Vec<&str> = loaded.bridges.iter().map(|b| b.name.as_str()).collect();
                format!("no bridge {name:?} (the config has: {})", names.join(", "))
            }),
    }
}

/// Delivers `lines` to the bridge's channels through the real sink and waits until each
/// is sent, dropped or shed (or Ctrl-C). Lines are handed over as the queue makes room, so
/// a long replay is paced, not shed.
fn send(loaded: &Loaded, bridge: &Bridge, lines: Vec<Line>) -> anyhow::Result<StatsSnapshot> {
    let plan = Plan::from_config(loaded, None)?;
    let mut sink_settings = plan.sink.clone();
    sink_settings.channels = bridge.twitch.channels.clone();
    // Lines go without a bridge name: the replayed bridge's own packing applies.
    sink_settings.pack = crate::daemon::plan::pack_settings(&bridge.pipeline.routes.chat);
    // And its own maximum ages and selection policy.
    let policy = crate::daemon::plan::delivery_policy(&bridge.pipeline.routes);
    sink_settings.freshness = policy.freshness;
    sink_settings.select = policy.select;
    let room = (sink_settings.queue_capacity / 2).max(1) as u64;
    let channels = bridge.twitch.channels.clone();
    let interrupted = CancellationToken::new();
    block_on_with_ctrl_c(interrupted.clone(), async move {
        let store = open_store(&plan.secrets, FileStoreMode::Exclusive)
            .await
            .context("opening the secret store")?;
        let manager = TokenManager::load(&plan.auth, store, Arc::new(SystemClock)).await?;
        manager.start().await?;
        let stop = CancellationToken::new();
        let auth_task = tokio::spawn(manager.clone().run(stop.child_token()));
        let sink_shutdown = CancellationToken::new();
        let (sink, mut task) =
            TwitchSink::new(sink_settings).start(manager.credentials(), sink_shutdown.clone())?;
        let poll = Duration::from_millis(20);
        let mut stopped = None;
        'lines: for line in lines {
            while sink.stats().queue_depth >= room {
                tokio::select! {
                    () = tokio::time::sleep(poll) => {}
                    () = interrupted.cancelled() => break 'lines,
                    done = &mut task => { stopped = Some(done); break 'lines; }
                }
            }
            for channel in &channels {
                sink.send(channel, line.clone());
            }
        }
        // Wait until every part reached a final state.
        while stopped.is_none() && !interrupted.is_cancelled() {
            let s = sink.stats();
            if s.queue_depth == 0 && s.in_flight == 0 && s.accounted() == s.lines_in + s.extra_parts
            {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = interrupted.cancelled() => {}
                done = &mut task => stopped = Some(done),
            }
        }
        sink_shutdown.cancel();
        let result = match stopped {
            Some(done) => done,
            None => task.await,
        };
        stop.cancel();
        let _ = auth_task.await;
        result
            .context("the Twitch sink task")?
            .context("delivering to Twitch")?;
        Ok(sink.stats())
    })
}
