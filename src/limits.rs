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

// --- pipeline and config ---

/// How many recent TikTok message ids the pipeline remembers to drop duplicates (reconnects
/// replay the last batch). 16 bytes an entry: about 256 KiB.
pub const DEDUPE_CAPACITY: usize = 16_384;

/// Most gift streaks tracked at once; past this, a new streak flushes the oldest one.
pub const MAX_OPEN_GIFT_STREAKS: usize = 4_096;

/// Most distinct chat texts tracked for flood collapsing at once; past this, new texts are
/// relayed without tracking.
pub const MAX_FLOOD_KEYS: usize = 4_096;

/// Names listed in a join summary line (`users`), the rest are counted only.
pub const MAX_SUMMARY_NAMES: usize = 5;

/// Fuel for one template render (minijinja instructions): far above any sane template,
/// low enough that a runaway loop ends in microseconds and falls back to the default.
pub const TEMPLATE_FUEL: u64 = 50_000;

/// Longest rendered line kept by the pipeline (chars). Twitch allows 500; the sink clips or
/// splits, this only bounds memory when a template loops.
pub const MAX_RENDERED_CHARS: usize = 2_000;

/// Most problems a config report lists (and most repair passes the loader makes).
pub const MAX_CONFIG_PROBLEMS: usize = 200;
