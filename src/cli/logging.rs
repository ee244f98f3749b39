//! Logging setup: `RUST_LOG`-style filters, a human format on a terminal, JSON lines for
//! journald and log shippers. Every byte goes through [`RedactingMakeWriter`], whatever the
//! filter lets through (`RUST_LOG=trace` included): no secret reaches the log.

use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::secret::redact::RedactingMakeWriter;

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

/// Installs the global subscriber: `RUST_LOG` wins over `default_filter`. Logs go to stderr,
/// scrubbed of secrets (see [`crate::secret::redact`]). `run` and `demo` both use it.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = RedactingMakeWriter::new(std::io::stderr);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(DropIrcPassword);
    let _ = match format {
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(colors_enabled())
                    .with_target(false),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(writer)
                    .with_ansi(false),
            )
            .try_init(),
    };
}

/// Drops twitch-irc's trace of the IRC `PASS` line it sends (`> PASS oauth:<token>`): the
/// redacting writer would scrub it anyway, but the line says nothing worth keeping.
pub struct DropIrcPassword;

impl<S: Subscriber> Layer<S> for DropIrcPassword {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if !meta.target().starts_with("twitch_irc") || *meta.level() != tracing::Level::TRACE {
            return true;
        }
        let mut seen = PassLine(false);
        event.record(&mut seen);
        !seen.0
    }
}

struct PassLine(bool);

impl Visit for PassLine {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let text = format!("{value:?}");
            self.0 |= is_pass_line(&text);
        }
    }
}

fn is_pass_line(message: &str) -> bool {
    let raw = message.trim_start_matches(['>', ' ']);
    raw.starts_with("PASS ")
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

    #[test]
    fn the_irc_pass_line_is_recognised() {
        assert!(is_pass_line("> PASS oauth:abc"));
        assert!(!is_pass_line("> NICK bot"));
        assert!(!is_pass_line("< :tmi.twitch.tv 001 bot :Welcome, PASS"));
    }
}
