//! What the integration tests share: the rule for prerequisites a machine may lack, and
//! the real `tiktwitch` binary as a child process. Each test file that needs them says
//! `mod support;`; not every file uses every helper.
#![allow(dead_code)]

// Drives the Twitch stand-in: only the test files that require the `standin` feature use it.
#[cfg(feature = "standin")]
pub mod auth;
// A headless chromium for the feed's pages (tokio, tungstenite: the runtime's crates).
#[cfg(feature = "runtime")]
pub mod browser;
// The daemon in-process against the stand-ins.
#[cfg(feature = "standin")]
pub mod daemon;
pub mod decode;
pub mod events;
pub mod prereq;
#[cfg(unix)]
pub mod process;
pub mod schema;
#[cfg(feature = "standin")]
pub mod sink;
