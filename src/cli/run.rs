//! `tiktwitch run`: every bridge of the config, until SIGINT/SIGTERM; SIGHUP reloads the
//! routes, templates and filters.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tracing::info;

use super::logging::{self, LogFormat};
use crate::config::{self, schema::LogFormat as ConfigLogFormat};
use crate::daemon::{self, Plan, Shard};
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
    let loaded = config::load(config_path)?;
    let format = args.log_format.unwrap_or(match loaded.config.log.format {
        ConfigLogFormat::Json => LogFormat::Json,
        _ => LogFormat::Human,
    });
    logging::init(format, &loaded.config.log.filter);
    let plan = Plan::from_config(&loaded, args.shard)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let store = open_store(&plan.secrets, FileStoreMode::Exclusive)
            .await
            .context("opening the secret store")?;
        let report = daemon::run(plan, store, shutdown_signal(), move |running| {
            tokio::spawn(reload_on_sighup(running.reloader.clone()));
        })
        .await?;
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
    })
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

/// SIGINT or SIGTERM; on Windows Ctrl-C, Ctrl-Break, closing the console window, or the
/// system shutting down.
pub(super) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => info!("SIGTERM"),
            _ = int.recv() => info!("SIGINT"),
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        let (Ok(mut c), Ok(mut brk), Ok(mut close), Ok(mut shutdown)) = (
            windows::ctrl_c(),
            windows::ctrl_break(),
            windows::ctrl_close(),
            windows::ctrl_shutdown(),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = c.recv() => info!("Ctrl-C"),
            _ = brk.recv() => info!("Ctrl-Break"),
            _ = close.recv() => info!("console closed"),
            _ = shutdown.recv() => info!("system shutdown"),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
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
