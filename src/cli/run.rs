//! `tiktwitch run`: every bridge of the config, until SIGINT/SIGTERM; SIGHUP reloads the
//! routes, templates and filters.
//!
//! The stop is bounded: the daemon drains for up to `[shutdown] grace_secs` and closes
//! the HTTP listener's connections by their own deadline; should anything still hang,
//! the process gives up at grace + [`SHUTDOWN_OVERRUN`] (exit 1), and a second signal
//! stops it at once (exit 1). A clean stop exits 0.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tracing::info;

use super::logging::{self, LogFormat};
use super::signals::StopSignals;
use crate::config::{self, schema::LogFormat as ConfigLogFormat};
use crate::daemon::{self, Plan, Shard};
use crate::limits::{RUNTIME_SHUTDOWN_TIMEOUT, SHUTDOWN_OVERRUN};
use crate::secret::{FileStoreMode, open_store};

/// Arguments of `tiktwitch run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run only shard `i` of `n` of the `[[bridge]]` list (e.g. `0/3`): for many pods.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Log format (default: the config's `[log] format`).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

pub(super) fn run(config_path: Option<&Path>, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = config::load(config_path, crate::pipeline::Pipeline::check)?;
    let format = args.log_format.unwrap_or(match loaded.config.log.format {
        ConfigLogFormat::Json => LogFormat::Json,
        _ => LogFormat::Human,
    });
    logging::init(format, &loaded.config.log.filter);
    let plan = Plan::from_config(&loaded, args.shard)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let store = open_store(&plan.secrets, FileStoreMode::Exclusive)
            .await
            .context("opening the secret store")?;
        // The stop may take the grace period plus a margin, whatever anything connected does.
        let bound = plan.grace + SHUTDOWN_OVERRUN;
        // How many stop signals came: the first stops the daemon, a second one ends the wait.
        let (signalled, signals_seen) = tokio::sync::watch::channel(0u32);
        tokio::spawn(async move {
            let mut signals = StopSignals::new();
            loop {
                signals.recv().await;
                signalled.send_modify(|n| *n += 1);
            }
        });
        let mut first = signals_seen.clone();
        let shutdown = async move {
            if first.wait_for(|n| *n >= 1).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let run = daemon::run(plan, store, shutdown, move |running| {
            tokio::spawn(reload_on_sighup(running.reloader.clone()));
        });
        let mut seen = signals_seen;
        let overrun = async move {
            if seen.wait_for(|n| *n >= 1).await.is_err() {
                return std::future::pending().await;
            }
            tokio::select! {
                () = tokio::time::sleep(bound) => tracing::error!(
                    secs = bound.as_secs_f64(),
                    "the stop took longer than [shutdown] grace_secs + {} s: exiting anyway",
                    SHUTDOWN_OVERRUN.as_secs_f64()
                ),
                _ = seen.wait_for(|n| *n >= 2) => tracing::warn!("second stop signal: exiting now"),
            }
        };
        let report = tokio::select! {
            report = run => report?,
            () = overrun => return Ok(ExitCode::FAILURE),
        };
        let t = report.totals();
        let shed: u64 = report.sink.shed.values().sum();
        info!(
            events = t.received,
            relayed = t.relayed,
            coalesced = t.coalesced,
            filtered = t.filtered,
            failed = t.failed,
            sent = report.sink.sent,
            shed,
            "stopped"
        );
        Ok(exit_code(&report))
    });
    // Tasks still running (a feed client's writer, a connection past its deadline) are
    // dropped; a blocking task is not waited for past this.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    result
}

/// `run`'s exit status when no bridge is left running: a bridge that ended as "not live"
/// (`tiktok.wait_for_live = false` and the creator offline), and none failed.
pub const EXIT_NOT_LIVE: u8 = 3;

/// 0 when every bridge ran until shutdown or until its stream was over; 1 when one failed
/// for good (a config error no retry fixes); [`EXIT_NOT_LIVE`] when one found its creator
/// offline and was told not to wait. Errors that stop the daemon (a lost Twitch login, a
/// vital part that died) are returned as errors and exit 1 as well.
fn exit_code(report: &daemon::RunReport) -> ExitCode {
    let ends = || report.bridges.iter().map(|(name, end, _)| (name, end));
    if let Some((name, daemon::BridgeEnd::Failed(why))) =
        ends().find(|(_, end)| matches!(end, daemon::BridgeEnd::Failed(_)))
    {
        tracing::error!(bridge = %name, error = %why, "exiting 1: a bridge failed for good");
        return ExitCode::FAILURE;
    }
    if let Some((name, _)) = ends().find(|(_, end)| matches!(end, daemon::BridgeEnd::NotLive(_))) {
        info!(bridge = %name, code = EXIT_NOT_LIVE, "exiting: the creator is not live and the bridge does not wait");
        return ExitCode::from(EXIT_NOT_LIVE);
    }
    ExitCode::SUCCESS
}

/// SIGHUP reloads where SIGHUP exists; everywhere, `POST /api/reload` (see the `[api]`
/// section) is the portable path.
async fn reload_on_sighup(reloader: daemon::Reloader) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            match reloader.reload_file() {
                Ok(n) => info!(
                    bridges = n,
                    "SIGHUP: config reloaded (routes, templates, filters)"
                ),
                Err(e) => tracing::error!("SIGHUP: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = reloader;
    }
}
