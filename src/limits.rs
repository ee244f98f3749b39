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

// --- Twitch sink ---

/// Twitch's message cap: "The message is limited to a maximum of 500 characters" (Helix Send
/// Chat Message reference); IRC trims to 500 too. Counted in Unicode scalar values.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// The sanitizer reads at most this many characters of a line; the rest cannot reach chat
/// anyway (at most a few 500-char parts) and would only cost CPU.
pub const MAX_SANITIZE_INPUT_CHARS: usize = 16 * 1024;

/// Longest grapheme cluster kept whole: real emoji sequences (family + skin tones, tag flags)
/// stay under ~15 chars; "zalgo" stacks of thousands of combining marks are cut here.
pub const MAX_GRAPHEME_CHARS: usize = 32;

/// Twitch's rate-limit window: "20 messages per 30 seconds" (dev.twitch.tv/docs/irc, §2.2 of
/// docs/twitch.md). The sink keeps at most N lines in ANY window of this length.
pub const TWITCH_RATE_WINDOW: Duration = Duration::from_secs(30);

/// Lines per window for a normal account: Twitch allows 20; 2 are left as headroom (a human
/// using the account, dropped messages that still cost).
pub const TWITCH_LINES_PER_WINDOW: u32 = 18;

/// Lines per window when the bot is moderator, VIP or broadcaster: Twitch allows 100.
pub const TWITCH_LINES_PER_WINDOW_ELEVATED: u32 = 90;

/// Minimum gap between two lines to one channel for non-mods: Twitch enforces 1 s (pajbot
/// tmi-rate-limits), plus 100 ms for clock skew and network jitter.
pub const TWITCH_CHANNEL_GAP: Duration = Duration::from_millis(1100);

/// Added to a channel's slow-mode delay before the next line goes out.
pub const TWITCH_SLOW_MODE_MARGIN: Duration = Duration::from_millis(200);

/// Twitch rejects a line identical to the previous one sent less than 30 s ago
/// (`msg_duplicate`); the sink never sends the same text to a channel within this window.
pub const TWITCH_DUPLICATE_WINDOW: Duration = Duration::from_secs(30);

/// How long the sink waits for USERSTATE (accepted) or NOTICE (rejected) after a PRIVMSG
/// before counting the line as unconfirmed and moving on.
pub const TWITCH_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Lines the sink holds while it waits for its rate budget. A burst beyond this is shed,
/// lowest priority first.
pub const SINK_QUEUE_CAPACITY: usize = 256;

/// twitch-irc opens a second pooled connection (reordering lines) when this many messages are
/// "in flight" on each; the sink sends one at a time, so any high value keeps one connection.
/// Never `usize::MAX`: twitch-irc multiplies it by 2 and panics.
pub const TWITCH_MAX_WAITING_PER_CONNECTION: usize = 10_000;

/// Parts a long line may be split into (when its kind is configured to split).
pub const MAX_SPLIT_PARTS: usize = 3;

/// Distinct NOTICE msg-ids the sink counts separately; more (a hostile server) go to `other`.
pub const MAX_NOTICE_KINDS: usize = 64;

/// A channel held by followers-/subs-/emote-only mode gets one line retried this often, in
/// case the bot now qualifies without a ROOMSTATE change (it was followed, subbed, VIP'd).
pub const TWITCH_HOLD_RETRY: Duration = Duration::from_secs(60);

/// How long a stopping sink keeps sending lines already queued (the "LIVE ended" notice the
/// pipeline emits just before shutdown). Enough for a few lines at the non-mod pace.
pub const SINK_SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);
