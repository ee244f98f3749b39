//! tiktwitch mirrors a TikTok LIVE into a Twitch channel's chat.
//!
//! It joins the live through TikTok's private WebCast push service (protobuf over
//! WebSocket), turns what happens into typed [`event::Event`]s, filters and coalesces them,
//! renders each through a template, and posts the lines to Twitch over authenticated IRC,
//! paced so the bot is never rate-limited.
//!
//! # Layout
//!
//! - [`event`]: the typed `Event`, the contract between source, pipeline and sinks, and its
//!   stable JSON form.
//! - [`proto`]: the generated WebCast protobuf types (`proto/webcast.proto`).
//! - [`source`]: where events come from. [`source::tiktok::decode`] turns push frames into
//!   events; [`source::tiktok::capture`] reads and writes capture files.
//! - [`dedupe`]: bounded memory of recent message ids (source and pipeline both drop replays).
//! - [`line`]: a rendered chat line with its priority, from the pipeline to the sinks.
//! - [`sink`]: sanitized, paced delivery of lines to Twitch chat (twitch-irc or Helix).
//! - [`standin`]: in-process fakes of the services (fake Twitch IRC ...) for tests and demos.
//! - [`limits`]: every limit and timeout as a named constant.
//! - [`demo`]: the scripted show and wiring behind `tiktwitch demo`.
//! - [`secret`]: where secrets live (file, OS keyring, env) behind one small trait.
//! - [`auth`]: Twitch OAuth: device-code login, a token manager that refreshes and validates.
//! - [`standin`]: in-process fakes of TikTok and Twitch for tests and `tiktwitch demo`.
//! - [`config`]: the config file (TOML + `TIKTWITCH__*` env), typed and checked, reporting
//!   every problem at once.
//! - [`pipeline`]: events to lines: dedupe, filters, coalescing, templates, accounting.
//! - [`daemon`]: `run`: every bridge (source -> pipeline -> shared sink), health, metrics,
//!   shutdown and reload.
//! - [`status`]: each bridge's state and counters, the one home `daemon` and `feed` read.
//! - [`feed`]: beyond chat: the live event WebSocket feed and page, signed webhooks and the
//!   REST API (`/api/status`, `/api/events`, pause/resume).
//! - [`tls`]: the TLS client settings the socket and the sink share.
//! - [`cli`]: the command-line interface (`run`, `demo`, `decode` ...); `main.rs` only calls it.

//!
//! The `runtime` feature (on by default) brings everything that touches the network or the
//! OS: `auth`, `cli`, `daemon`, `demo`, `feed`, `secret`, `standin`, the sink and the
//! source's client. Without it the crate is the pure core (event model, decoder,
//! sanitizer, config, pipeline), which is what the fuzz targets build.

#![warn(missing_docs)]

/// `eprintln!` that never panics: with stderr closed (`2>&1 | head`) the line is dropped.
#[allow(unused_macros)]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` that never panics: with stdout closed (`| head`) the line is dropped.
#[allow(unused_macros)]
macro_rules! stdout_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The items given only exist with the `runtime` feature.
macro_rules! runtime {
    ($($item:item)*) => { $( #[cfg(feature = "runtime")] $item )* };
}

pub mod config;
pub mod dedupe;
pub mod event;
pub mod limits;
pub mod line;
pub mod pipeline;
pub mod proto;
pub mod source;

runtime! {
    pub mod auth;
    pub mod cli;
    pub mod daemon;
    pub mod demo;
    pub mod feed;
    pub mod secret;
    pub mod sink;
    pub mod standin;
    pub mod status;
    pub mod tls;
}

/// The allocator of every binary built on the runtime (the daemon, its tests and
/// benchmarks, so they measure what ships): mimalloc, faster than glibc's malloc on the
/// decoder's many small strings (BENCHMARKS.md, "Against the peers").
#[cfg(feature = "runtime")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Without the `runtime` feature the sink is only its (pure) sanitizer.
#[cfg(not(feature = "runtime"))]
pub mod sink {
    pub mod sanitize;
}
