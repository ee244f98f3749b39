//! `tiktwitch tail @user`: the live's events as readable lines (or JSON), with a status
//! line whenever the connection changes state.

use std::path::Path;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::connect_args::{TailArgs, block_on_with_ctrl_c};
use crate::source::tiktok::watch::tail;
use crate::source::tiktok::{SignerBudget, TikTokSource};

pub(super) fn run(args: &TailArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = args.connect.resolve(args.user.as_deref(), config_path)?;
    let source = TikTokSource::with_euler(settings, SignerBudget::default())?;
    let token = CancellationToken::new();
    block_on_with_ctrl_c(token.clone(), async move {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr();
        Ok(tail(&source, args.json, args.history, &mut out, &mut err, token).await?)
    })?;
    Ok(ExitCode::SUCCESS)
}
