//! `tiktwitch probe`: asks a running tiktwitch's `/livez` (or any URL) and exits 0 when it
//! answers 2xx. For container health checks: the slim image has no curl.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

/// How long a probe waits for the answer: well under Docker's default 30 s check timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `tiktwitch probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// What to ask.
    #[arg(long, default_value = "http://127.0.0.1:9464/livez")]
    pub url: String,
}

pub(super) fn run(args: &ProbeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .no_proxy()
            .build()
            .context("building the HTTP client")?;
        let response = client
            .get(&args.url)
            .send()
            .await
            .with_context(|| format!("no answer from {}", args.url))?;
        let status = response.status();
        if status.is_success() {
            Ok(ExitCode::SUCCESS)
        } else {
            stderr_line!("{}: {status}", args.url);
            Ok(ExitCode::FAILURE)
        }
    })
}
