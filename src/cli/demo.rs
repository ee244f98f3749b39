//! `tiktwitch demo`: see [`crate::demo`].

use std::process::ExitCode;

use anyhow::Context;

use super::logging::{self, LogFormat};

/// Arguments of `tiktwitch demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Play the show this many times faster (Twitch's pacing stays real).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}

pub(super) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    logging::init(LogFormat::Human, "tiktwitch=info,warn");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(crate::demo::run(args.speed, std::io::stdout()))?;
    Ok(if report.violations == 0 && !report.locked_out {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
