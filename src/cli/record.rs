//! `tiktwitch record @user -o FILE`: the raw push frames, in the shared capture format, so
//! `decode` and `replay` can read them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connect_args::{RecordArgs, block_on_with_ctrl_c};
use crate::source::tiktok::capture::write_frame;
use crate::source::tiktok::{SignerBudget, SourceItem, TikTokSource};

pub(super) fn run(args: &RecordArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = args.connect.resolve(args.user.as_deref(), config_path)?;
    let source = TikTokSource::with_euler(settings, SignerBudget::default())?;
    let file = File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let token = CancellationToken::new();
    let frames = block_on_with_ctrl_c(token.clone(), async move {
        let mut out = BufWriter::new(file);
        record(source, &mut out, &mut std::io::stderr(), token).await
    })?;
    stderr_line!(
        "record: {frames} frames written to {}",
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `source`, writing every received frame to `out` (flushed per frame, so a crash
/// loses nothing) and status lines to `status`. Returns the number of frames written.
pub async fn record(
    mut source: TikTokSource,
    out: &mut impl Write,
    status: &mut impl Write,
    shutdown: CancellationToken,
) -> anyhow::Result<u64> {
    let (frame_tx, mut frames) = mpsc::channel(256);
    source.tap_frames(frame_tx);
    let (tx, mut items) = mpsc::channel(256);
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
