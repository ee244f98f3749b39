//! The signals that stop `run`: SIGINT or SIGTERM; on Windows Ctrl-C, Ctrl-Break, closing
//! the console window, or the system shutting down.
//!
//! The OS streams are opened once and read again for each signal, so a second signal that
//! arrives while the first is being handled is kept, not lost between two registrations.

use tracing::info;

/// Every stop signal, one [`StopSignals::recv`] each.
pub(super) struct StopSignals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
    #[cfg(windows)]
    windows: Option<(
        tokio::signal::windows::CtrlC,
        tokio::signal::windows::CtrlBreak,
        tokio::signal::windows::CtrlClose,
        tokio::signal::windows::CtrlShutdown,
    )>,
}

impl StopSignals {
    /// Starts listening (the process no longer dies of these signals: they are ours).
    pub(super) fn new() -> Self {
        Self {
            #[cfg(unix)]
            unix: {
                use tokio::signal::unix::{SignalKind, signal};
                match (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) {
                    (Ok(term), Ok(int)) => Some((term, int)),
                    _ => None,
                }
            },
            #[cfg(windows)]
            windows: {
                use tokio::signal::windows;
                match (
                    windows::ctrl_c(),
                    windows::ctrl_break(),
                    windows::ctrl_close(),
                    windows::ctrl_shutdown(),
                ) {
                    (Ok(c), Ok(brk), Ok(close), Ok(shutdown)) => Some((c, brk, close, shutdown)),
                    _ => None,
                }
            },
        }
    }

    /// The next stop signal (logged by name).
    pub(super) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.unix {
            tokio::select! {
                _ = term.recv() => info!("SIGTERM"),
                _ = int.recv() => info!("SIGINT"),
            }
            return;
        }
        #[cfg(windows)]
        if let Some((c, brk, close, shutdown)) = &mut self.windows {
            tokio::select! {
                _ = c.recv() => info!("Ctrl-C"),
                _ = brk.recv() => info!("Ctrl-Break"),
                _ = close.recv() => info!("console closed"),
                _ = shutdown.recv() => info!("system shutdown"),
            }
            return;
        }
        // No OS streams (or another OS): Ctrl-C as tokio knows it.
        let _ = tokio::signal::ctrl_c().await;
    }
}
