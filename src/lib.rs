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
//! - [`line`]: a rendered chat line with its priority and metadata (author, question, first
//!   comment ...), from the pipeline to the sinks.
//! - [`sink`]: sanitized, paced delivery of lines to Twitch chat (twitch-irc or Helix).
//! - [`limits`]: every limit and timeout as a named constant.
//! - [`format`]: how numbers and instants are shown to people (`12,345`, UTC times).
//! - [`secret`]: where secrets live (file, OS keyring, env) behind one small trait.
//! - [`auth`]: Twitch OAuth: device-code login, a token manager that refreshes and validates.
//! - [`config`]: the config file (TOML + `TIKTWITCH__*` env), typed and checked, reporting
//!   every problem at once.
//! - [`pipeline`]: events to lines: dedupe, filters, coalescing, templates, accounting.
//! - [`daemon`]: `run`: every bridge (source -> pipeline -> shared sink), health, metrics,
//!   shutdown and reload.
//! - [`status`]: each bridge's state and counters, the one home `daemon` and `feed` read.
//! - [`feed`]: beyond chat: the live event WebSocket feed, page and OBS overlay, signed
//!   webhooks (managed at runtime, dead letters replayed) and the REST API (`/api/status`,
//!   `/api/events`, pause/resume, `/api/webhooks`).
//! - [`tls`]: the TLS client settings the socket and the sink share.
//! - [`standin`]: in-process fakes of TikTok and Twitch (real wire protocols on 127.0.0.1)
//!   for the tests, the benches and `tiktwitch demo`.
//! - [`demo`]: the scripted show and wiring behind `tiktwitch demo`.
//! - [`control`]: moderating the bridge from Twitch chat (`!tt` commands, mutes, pauses,
//!   Shared Chat) and the same actions on the API; the Twitch chat on the event feed.
//! - [`rate`]: GCRA rate limits (governor) on tokio's clock: the JOIN quota and the signer
//!   budget.
//! - [`twitch_live`]: whether the Twitch channels are live, their title and category
//!   (EventSub over WebSocket, Helix polling as the fallback), for pausing and announcing.
//!
//! The command-line interface is not part of the library: it lives in the `tiktwitch`
//! binary (`src/main.rs`, `src/cli/`), the one place `anyhow` and clap are used, and so
//! does the process's global allocator.
//!
//! # Features
//!
//! - `runtime` (default): everything that touches the network or the OS: `auth`,
//!   `daemon`, `feed`, `secret`, `tls`, the sink's delivery and the source's client, and the
//!   `tiktwitch` binary. Without it the crate is the pure core (event model, decoder,
//!   sanitizer, config, pipeline), which is what the fuzz targets build.
//! - `secret-service` (default, implies `runtime`): the Linux desktop Secret Service
//!   (GNOME Keyring, KWallet) as a secret store.
//! - `standin` (default, implies `runtime`): `standin` and `demo`, for the tests, the benches
//!   and `tiktwitch demo`. A shipped daemon can be built without them
//!   (`--no-default-features --features runtime,secret-service`); its `demo` then says the
//!   build has none.

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
pub mod format;
pub mod limits;
pub mod line;
pub mod pipeline;
pub mod proto;
pub mod source;

runtime! {
    pub mod auth;
    pub mod control;
    pub mod daemon;
    pub mod feed;
    pub mod secret;
    pub mod sink;
    pub mod status;
    pub mod tls;
    pub mod rate;
    pub mod twitch_live;
}

/// The items given only exist with the `standin` feature (stand-ins and what plays them).
macro_rules! standin {
    ($($item:item)*) => { $( #[cfg(feature = "standin")] $item )* };
}

standin! {
    pub mod demo;
    pub mod standin;
}

/// Without the `runtime` feature the sink is only its (pure) sanitizer.
#[cfg(not(feature = "runtime"))]
pub mod sink {
    pub mod sanitize;
}
