//! `tiktwitch demo`: see `tiktwitch::demo`. A build without the `standin` feature has no
//! stand-ins to play the show through; its `demo` says so instead of vanishing, so the
//! README's first command gets an answer.

use std::process::ExitCode;

/// Arguments of `tiktwitch demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Play the show this many times faster (Twitch's pacing stays real).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}

#[cfg(feature = "standin")]
pub(super) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context;

    use super::logging::{self, LogFormat};

    logging::init(LogFormat::Human, "tiktwitch=info,warn");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(crate::demo::run(args.speed, std::io::stdout()))?;
    Ok(if report.violations == 0 && !report.locked_out {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What `tiktwitch demo` answers in a build without the stand-ins.
#[cfg(not(feature = "standin"))]
pub const NO_DEMO: &str = "this build of tiktwitch has no demo: it was built without the \
    `standin` feature (the in-process TikTok and Twitch stand-ins the demo plays through); \
    a default build (`cargo install tiktwitch`) has it";

#[cfg(not(feature = "standin"))]
pub(super) fn run(_args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(NO_DEMO)
}
