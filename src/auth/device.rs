//! The OAuth Device Code Grant (RFC 8628) as Twitch does it: ask for a code, show it, poll.

use tokio::time::Instant;

use super::{AuthError, DeviceCode, OAuthClient, PollError, TokenGrant};
use crate::limits::{DEVICE_MAX_POLL_ERRORS, DEVICE_POLL_MIN_INTERVAL, DEVICE_SLOW_DOWN_STEP};

/// Counts of one device-flow run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFlowStats {
    /// Polls sent.
    pub polls: u32,
    /// `authorization_pending` answers.
    pub pending: u32,
    /// `slow_down` answers.
    pub slow_downs: u32,
    /// Network/server errors.
    pub errors: u32,
}

/// Runs the device flow for `scopes`: requests a code, calls `show` with it (print the URL
/// and code), then polls until the user approves, denies, or the code expires.
///
/// Polls no faster than the server's interval, adds 5 s on `slow_down`, and tolerates a
/// few network errors in a row.
pub async fn run(
    client: &OAuthClient,
    scopes: &[String],
    show: impl FnOnce(&DeviceCode),
) -> Result<(TokenGrant, DeviceFlowStats), AuthError> {
    let code = client.request_device_code(scopes).await?;
    show(&code);
    let deadline = Instant::now() + code.expires_in;
    let mut interval = code.interval.max(DEVICE_POLL_MIN_INTERVAL);
    let mut stats = DeviceFlowStats::default();
    let mut errors_in_a_row = 0;
    loop {
        // Wait first: nobody approves within zero seconds, and the interval is a floor.
        tokio::time::sleep(interval).await;
        if Instant::now() >= deadline {
            return Err(AuthError::DeviceCodeExpired);
        }
        stats.polls += 1;
        match client.poll_device_token(&code.device_code, scopes).await {
            Ok(grant) => {
                tracing::debug!(polls = stats.polls, "device login approved");
                return Ok((grant, stats));
            }
            Err(PollError::Pending) => {
                stats.pending += 1;
                errors_in_a_row = 0;
                tracing::trace!(polls = stats.polls, "device login pending");
            }
            Err(PollError::SlowDown) => {
                stats.slow_downs += 1;
                errors_in_a_row = 0;
                interval += DEVICE_SLOW_DOWN_STEP;
                tracing::debug!(interval_s = interval.as_secs(), "device login: slow_down");
            }
            Err(PollError::Denied) => return Err(AuthError::DeviceAccessDenied),
            Err(PollError::Expired) => return Err(AuthError::DeviceCodeExpired),
            Err(PollError::Other(e)) => {
                stats.errors += 1;
                errors_in_a_row += 1;
                tracing::warn!(error = %e, "device login poll failed");
                if errors_in_a_row >= DEVICE_MAX_POLL_ERRORS {
                    return Err(e);
                }
            }
        }
    }
}
