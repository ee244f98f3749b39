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
