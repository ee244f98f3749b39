//! `tiktwitch record @user -o FILE`: the raw push frames, in the shared capture format, so
//! `decode` and `replay` can read them.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::connect_args::{RecordArgs, block_on_with_ctrl_c};
use crate::source::tiktok::watch::record;
use crate::source::tiktok::{SignerBudget, TikTokSource};

pub(super) fn run(args: &RecordArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = args.connect.resolve(args.user.as_deref(), config_path)?;
    let source = TikTokSource::with_euler(settings, SignerBudget::default())?;
    let file = File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let token = CancellationToken::new();
    let frames = block_on_with_ctrl_c(token.clone(), async move {
        let mut out = BufWriter::new(file);
        Ok(record(source, &mut out, &mut std::io::stderr(), token).await?)
    })?;
    stderr_line!(
        "record: {frames} frames written to {}",
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
