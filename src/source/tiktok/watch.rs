//! Watching a live outside the daemon: [`record`] keeps its raw push frames in the capture
//! format (`tiktwitch record`), [`tail`] prints its events as they come (`tiktwitch tail`).
//! The CLI only parses arguments and picks the writers; this is the behaviour it runs.

use std::io::{self, Write};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::capture::write_frame;
use super::{SourceError, SourceItem, TikTokSource};
use crate::event::{Event, EventKind, User};

/// Frames or items the source may run ahead of the writer before it waits: enough for a
/// burst of batches, small enough that a stalled terminal holds little memory.
pub const WATCH_QUEUE: usize = 256;

/// Why watching stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The output (capture file, terminal) could not be written.
    #[error("writing the output: {0}")]
    Write(#[from] io::Error),
    /// The source stopped on a failure retrying cannot fix.
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Runs `source`, writing every received frame to `out` (flushed per frame, so a crash
/// loses nothing) and status lines to `status`. Returns the number of frames written.
pub async fn record(
    mut source: TikTokSource,
    out: &mut impl Write,
    status: &mut impl Write,
    shutdown: CancellationToken,
) -> Result<u64, WatchError> {
    let (frame_tx, mut frames) = mpsc::channel(WATCH_QUEUE);
    source.tap_frames(frame_tx);
    let (tx, mut items) = mpsc::channel(WATCH_QUEUE);
    let run = source.run(tx, shutdown);
    tokio::pin!(run);
    let mut written = 0u64;
    let mut result = None;
    let mut items_open = true;
    loop {
        tokio::select! {
            biased;
            frame = frames.recv() => match frame {
                Some(frame) => {
                    write_frame(out, &frame)?;
                    out.flush()?;
                    written += 1;
                }
                None => break,
            },
            item = items.recv(), if items_open => match item {
                Some(SourceItem::Status(s)) => writeln!(status, "-- {s}")?,
                Some(SourceItem::Event(_) | SourceItem::Profile(_)) => {}
                None => items_open = false,
            },
            done = &mut run, if result.is_none() => result = Some(done),
        }
        // The source holds both senders; once it returned, drain what is queued.
        if result.is_some() {
            while let Ok(frame) = frames.try_recv() {
                write_frame(out, &frame)?;
                written += 1;
            }
            while let Ok(item) = items.try_recv() {
                if let SourceItem::Status(s) = item {
                    writeln!(status, "-- {s}")?;
                }
            }
            break;
        }
    }
    out.flush()?;
    match result {
        Some(r) => r?,
        None => run.await?,
    }
    Ok(written)
}

/// Runs `source` and prints what it yields until it stops or `shutdown` fires. Events go
/// to `out`; status lines go to `out` too in readable mode and to `err` in JSON mode (so
/// `out` stays pure event JSON).
pub async fn tail(
    source: &TikTokSource,
    json: bool,
    history: bool,
    out: &mut impl Write,
    err: &mut impl Write,
    shutdown: CancellationToken,
) -> Result<(), WatchError> {
    let (tx, mut rx) = mpsc::channel(WATCH_QUEUE);
    let run = source.run(tx, shutdown);
    tokio::pin!(run);
    let mut result = None;
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => print_item(&item, json, history, out, err)?,
                None => break,
            },
            done = &mut run, if result.is_none() => result = Some(done),
        }
    }
    let outcome = match result {
        Some(r) => r,
        None => run.await,
    };
    out.flush()?;
    Ok(outcome?)
}

fn print_item(
    item: &SourceItem,
    json: bool,
    history: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<()> {
    match item {
        SourceItem::Status(status) if json => writeln!(err, "-- {status}"),
        SourceItem::Status(status) => writeln!(out, "-- {status}"),
        SourceItem::Event(event) if event.meta.history && !history => Ok(()),
        SourceItem::Event(event) if json => {
            serde_json::to_writer(&mut *out, event)?;
            writeln!(out)
        }
        SourceItem::Event(event) => writeln!(out, "{}", describe(event)),
        // The profile is for `check --online` and `/api/status`, not the event stream.
        SourceItem::Profile(_) => Ok(()),
    }
}

/// One readable line for an event.
pub fn describe(event: &Event) -> String {
    let who = |u: &User| {
        if u.username.is_empty() {
            u.display_name().to_string()
        } else {
            format!("{} (@{})", u.display_name(), u.username)
        }
    };
    let text = match &event.kind {
        EventKind::Chat { user, text, .. } => format!("{}: {text}", who(user)),
        EventKind::Gift {
            user,
            gift,
            count,
            streak_end,
            ..
        } => format!(
            "{} sent {} x{count}{}",
            who(user),
            gift.name,
            if *streak_end { "" } else { " (streak going)" }
        ),
        EventKind::Like { user, count, total } => format!(
            "{} liked x{count} (total {total})",
            user.as_ref().map_or("someone".to_string(), who)
        ),
        EventKind::Join { user } => format!("{} joined", who(user)),
        EventKind::Follow { user } => format!("{} followed", who(user)),
        EventKind::Share { user } => format!("{} shared the live", who(user)),
        EventKind::Viewers {
            current,
            cumulative,
        } => format!("{current} watching ({cumulative} total)"),
        EventKind::Control { action } => format!("stream {}", action.name()),
        EventKind::Subscribe { user, .. } => format!("{} subscribed", who(user)),
        EventKind::Question { text, .. } | EventKind::System { text } => text.clone(),
        EventKind::Unknown => event.meta.method.to_string(),
        _ => serde_json::to_string(&event.kind).unwrap_or_default(),
    };
    let prefix = if event.meta.history { "[history] " } else { "" };
    format!("{prefix}{:<9}{text}", event.type_name())
}
