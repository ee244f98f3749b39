//! Logging setup: `RUST_LOG`-style filters, a human format on a terminal, JSON lines for
//! journald and log shippers.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Whether to colour the log: only on a terminal, and never when `NO_COLOR` is set to
/// anything non-empty (<https://no-color.org>). clap's help follows `NO_COLOR` by itself.
pub fn colors_enabled() -> bool {
    colors_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn colors_wanted(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber: `RUST_LOG` wins over `default_filter`. Logs go to stderr.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colors_enabled());
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_turns_colours_off() {
        assert!(colors_wanted(true, None));
        assert!(colors_wanted(true, Some(OsStr::new(""))));
        assert!(!colors_wanted(true, Some(OsStr::new("1"))));
        assert!(!colors_wanted(false, None));
    }
}
