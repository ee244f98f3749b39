//! Every limit and timeout of the bridge as a named constant, in one place.
//!
//! Values TikTok or Twitch dictate carry the source of the number in their comment.

use std::time::Duration;

/// Largest inflated WebCast batch we accept. Real batches inflate to ~13 KiB on average
/// (65.8 MB over 5,000 corpus frames); anything near this is a gzip bomb, and is dropped.
pub const MAX_INFLATED_BYTES: usize = 8 * 1024 * 1024;

/// Largest record a capture file (`[u32 LE length][frame]`) may declare. Guards against a
/// corrupt length prefix allocating gigabytes.
pub const MAX_CAPTURE_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// TikTok's default heartbeat interval (`heartbeat_duration=10000` in the socket URL).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

// --- auth and secrets ---

/// Largest secrets file (and systemd credential) the secret stores read. A few tokens take
/// about 1 KiB; anything near this is not ours.
pub const MAX_SECRETS_FILE_BYTES: u64 = 1024 * 1024;

/// Timeout of one Twitch OAuth HTTP request.
pub const OAUTH_HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Refresh the access token when less than this is left. Twitch user tokens live ~4 h.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);

/// Validate the token this often. Twitch: "must validate the OAuth token when it starts and
/// on an hourly basis thereafter" (dev.twitch.tv/docs/authentication/validate-tokens).
pub const TOKEN_VALIDATE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// First wait after a failed (network/server) refresh or validation; doubles per failure.
pub const TOKEN_RETRY_MIN: Duration = Duration::from_secs(30);

/// Longest wait between retries of a failed refresh or validation.
pub const TOKEN_RETRY_MAX: Duration = Duration::from_secs(10 * 60);

/// Device flow: the least poll interval, whatever the server says.
pub const DEVICE_POLL_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Device flow: added to the poll interval on `slow_down` (RFC 8628 section 3.5).
pub const DEVICE_SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Device flow: network/server errors in a row before giving up.
pub const DEVICE_MAX_POLL_ERRORS: u32 = 5;
