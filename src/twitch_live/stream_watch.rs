//! The whole watch: EventSub while it works, Helix polling when it cannot be used.
//!
//! - The channels' ids come first (`GET /users`); EventSub conditions name them.
//! - EventSub sessions follow one another (back-off between failures). A refusal (a 4xx
//!   to a subscription, a revocation) switches to polling for the rest of the run; no user
//!   token polls for [`EVENTSUB_RETRY_AFTER`] and looks again; [`EVENTSUB_MAX_FAILURES`] failures in a row switch to polling for
//!   [`EVENTSUB_RETRY_AFTER`], then EventSub is tried again.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::eventsub::{Session, SessionEnd};
use super::stream_api::HelixApi;
use super::{LiveBoard, TokenSource, poll};

/// Failed EventSub sessions in a row before the watch polls instead.
pub const EVENTSUB_MAX_FAILURES: u32 = 3;
/// How long the watch polls after repeated EventSub failures before trying EventSub again.
pub const EVENTSUB_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);
/// The first wait after a failed session (doubling up to [`EVENTSUB_MAX_BACKOFF`]).
pub const EVENTSUB_MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between failed sessions.
pub const EVENTSUB_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What to watch and where.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// Channel logins (lowercase, without `#`).
    pub channels: Vec<String>,
    /// `[twitch] helix_base_url`.
    pub helix_base_url: String,
    /// `[twitch] client_id`.
    pub client_id: String,
    /// `[twitch_stream] eventsub_url`.
    pub eventsub_url: String,
    /// `[twitch_stream] poll_interval_secs`.
    pub poll_interval: Duration,
}

/// Watches until `shutdown`, keeping `board` current.
pub async fn run(
    settings: WatchSettings,
    token: Arc<dyn TokenSource>,
    board: LiveBoard,
    shutdown: CancellationToken,
) {
    let api = HelixApi::new(&settings.helix_base_url, &settings.client_id, token.clone());
    let poll_for = |until| poll::run(&api, &settings.channels, settings.poll_interval, &board, &shutdown, until);
    let mut backoff = EVENTSUB_MIN_BACKOFF;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        if token.user_token().await.is_none() {
            // EventSub over WebSocket takes only a user token; one may come (a refresh).
            warn!(retry_in = ?EVENTSUB_RETRY_AFTER, "no Twitch user token: EventSub cannot be used; polling Helix meanwhile");
            poll_for(Some(Instant::now() + EVENTSUB_RETRY_AFTER)).await;
            continue;
        }
        let ids = match api.user_ids(&settings.channels).await {
            Ok(ids) => {
                for unknown in settings.channels.iter().filter(|c| !ids.contains_key(*c)) {
                    warn!(channel = %unknown, "Twitch knows no such channel: its stream state stays unknown");
                }
                ids
            }
            Err(e) if e.is_refusal() => {
                warn!(error = %e, "the Twitch channels' ids could not be read; polling Helix for the stream state");
                return poll_for(None).await;
            }
            Err(e) => {
                warn!(error = %e, "reading the Twitch channels' ids failed; polling meanwhile");
                poll_for(Some(Instant::now() + settings.poll_interval)).await;
                continue;
            }
        };
        let session = Session {
            url: settings.eventsub_url.clone(),
            ids,
            api: api.clone(),
            board: board.clone(),
        };
        let mut failures = 0;
        loop {
            match session.run(&shutdown).await {
                SessionEnd::Shutdown => return,
                SessionEnd::Refused(e) => {
                    warn!(error = %e, "EventSub refused; polling Helix for the stream state");
                    return poll_for(None).await;
                }
                SessionEnd::Failed { error, established } => {
                    if established {
                        failures = 0;
                        backoff = EVENTSUB_MIN_BACKOFF;
                    }
                    failures += 1;
                    if failures >= EVENTSUB_MAX_FAILURES {
                        warn!(%error, failures, retry_in = ?EVENTSUB_RETRY_AFTER, "EventSub keeps failing; polling Helix meanwhile");
                        poll_for(Some(Instant::now() + EVENTSUB_RETRY_AFTER)).await;
                        break;
                    }
                    if established {
                        // A dead or closed connection: reconnect at once.
                        info!(%error, "EventSub connection lost; reconnecting");
                    } else {
                        warn!(%error, wait = ?backoff, "EventSub session failed; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            () = shutdown.cancelled() => return,
                        }
                        backoff = (backoff * 2).min(EVENTSUB_MAX_BACKOFF);
                    }
                }
            }
        }
    }
}
