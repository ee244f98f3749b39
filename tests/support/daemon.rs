//! The real daemon in-process against the stand-ins, the way several tests start it: the
//! config written from TOML, loaded and planned as `run` does, its secrets in the Twitch
//! side's memory store, and a wait (in paused tokio time) until it runs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tiktwitch::config;
use tiktwitch::daemon::{self, Plan};
use tiktwitch::standin::TwitchSide;

/// Polls `done` once a (virtual) second for up to ten minutes; panics naming `what`.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("never happened (virtual time): {what}");
}

/// Writes `toml` to `path`, loads and plans it like `run`, and starts the daemon with the
/// Twitch side's token and `secrets` (name, value); returns once it runs.
pub async fn spawn_daemon(
    path: &Path,
    toml: &str,
    side: &TwitchSide,
    secrets: &[(&str, &str)],
) -> daemon::Background {
    std::fs::write(path, toml).unwrap();
    let loaded = config::load(Some(path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan::from_config(&loaded, None).unwrap();
    let store = side.secrets(secrets).await.unwrap();
    let daemon = daemon::spawn(plan, Arc::new(store));
    wait_until("the daemon started", || daemon.running().is_some()).await;
    daemon
}
