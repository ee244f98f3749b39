//! The command-line interface. `main.rs` parses nothing itself: it calls [`main`].
//!
//! This is the one place `anyhow` is used: every library error is typed, and is turned into
//! a message for a person here.

mod auth;
mod check;
mod completions;
mod config_file;
pub mod connect_args;
mod decode;
mod demo;
mod init;
pub mod logging;
mod probe;
pub mod record;
pub mod replay;
mod run;
mod secret;
mod signals;
pub mod tail;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// `--version`: the crate version and the git revision it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TIKTWITCH_GIT_REVISION"),
    ")"
);

/// Mirror a TikTok LIVE into a Twitch channel's chat.
#[derive(Debug, Parser)]
#[command(name = "tiktwitch", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// The config file (default: $XDG_CONFIG_HOME/tiktwitch/config.toml), for the commands
    /// that read one.
    #[arg(long, global = true, value_name = "FILE", env = "TIKTWITCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// First setup: ask for the creator and channel, sign the bot in, write a config.
    Init(init::InitArgs),
    /// Run the bridge(s) described by the config file.
    Run(run::RunArgs),
    /// Run a simulated TikTok live into a local Twitch stand-in: no accounts, no network.
    Demo(demo::DemoArgs),
    /// Validate the config, show where each secret comes from, render sample lines.
    Check(CheckArgs),
    /// Log in to Twitch, show who is logged in, or log out.
    Auth(auth::AuthArgs),
    /// Put a secret (client secret, signer API key, TikTok session id) into the secret store.
    Secret(secret::SecretArgs),
    /// Print a TikTok live's events as they happen.
    Tail(connect_args::TailArgs),
    /// Record a TikTok live's raw frames to a capture file.
    Record(connect_args::RecordArgs),
    /// Push a capture through the pipeline and print (or send) the lines.
    Replay(replay::ReplayArgs),
    /// Decode a capture file to one JSON event per line.
    Decode(DecodeArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish) to standard output.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) to standard output: `tiktwitch man > tiktwitch.1`.
    Man,
    /// Ask a running tiktwitch's /livez (exit 0 when it answers): for container health checks.
    Probe(probe::ProbeArgs),
}

/// Arguments of `tiktwitch check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Also validate the Twitch token and resolve the TikTok room (network).
    #[arg(long)]
    pub online: bool,
}

/// Arguments of `tiktwitch decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// The capture's format.
    #[arg(long, value_enum, default_value_t = CaptureFormat::Frames)]
    pub format: CaptureFormat,
    /// The capture file; `-` reads standard input.
    pub file: PathBuf,
}

/// Capture file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptureFormat {
    /// Records of `[u32 little-endian length][WebcastPushFrame bytes]`.
    Frames,
    /// JSON lines `{"method": "...", "payload": "<base64>"}`.
    Payloads,
}

/// Parses the command line, runs the command, and maps the outcome to an exit code.
///
/// A closed pipe (`tiktwitch decode FILE | head -1`) ends quietly with status 0: the reader
/// has what it wanted. Nothing here uses `eprintln!`, which panics when stderr is that pipe.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write;
            // Errors are built never to hold a secret; scrubbing here too is the same
            // belt and braces as the log's (a library's message may quote a URL or header).
            let text = error_text(&e);
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                crate::secret::redact::scrub(&text)
            );
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each said once: many errors already include their
/// source in their own text (`event ring file x: file is not a database`), and SQLite's
/// error repeats its message after a code, which `{:#}` would print two or three times.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut shown = String::new();
    let mut previous = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let said = shown.contains(&text) || (!previous.is_empty() && text.ends_with(&previous));
        if !said {
            if !shown.is_empty() {
                shown.push_str(": ");
            }
            shown.push_str(&text);
        }
        previous = text;
    }
    shown
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|json| json.io_error_kind())
                .is_some_and(|kind| kind == std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Run(args) => run::run(cli.config.as_deref(), &args),
        Command::Demo(args) => demo::run(&args),
        Command::Tail(args) => tail::run(&args, cli.config.as_deref()),
        Command::Record(args) => record::run(&args, cli.config.as_deref()),
        Command::Auth(args) => auth::run(&args, cli.config.as_deref()),
        Command::Secret(args) => secret::run(&args, cli.config.as_deref()),
        Command::Check(args) => check::run(cli.config.as_deref(), &args),
        Command::Replay(args) => replay::run(cli.config.as_deref(), &args),
        Command::Probe(args) => probe::run(&args),
        Command::Init(args) => init::run(&args, cli.config.as_deref()),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
    }
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("event ring file x: {0}")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("file is not a database")]
    struct Middle(#[source] Code);

    #[derive(Debug, thiserror::Error)]
    #[error("Error code 26: file is not a database")]
    struct Code;

    #[test]
    fn each_cause_is_said_once() {
        let e = anyhow::Error::new(Outer(Middle(Code))).context("opening the event ring");
        assert_eq!(
            format!("{e:#}"),
            "opening the event ring: event ring file x: file is not a database: file is not a database: Error code 26: file is not a database",
            "what `{{:#}}` prints"
        );
        assert_eq!(
            error_text(&e),
            "opening the event ring: event ring file x: file is not a database"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(
            error_text(&plain),
            "outer: inner",
            "distinct causes all stay"
        );
    }
}
