//! Every limit and timeout of the bridge as a named constant, in one place.
//!
//! Values TikTok or Twitch dictate carry the source of the number in their comment.

use std::time::Duration;

/// Largest inflated WebCast batch we accept. Real batches inflate to ~13 KiB on average
/// (65.8 MB over 5,000 corpus frames); anything near this is a gzip bomb, and is dropped.
pub const MAX_INFLATED_BYTES: usize = 8 * 1024 * 1024;

/// How deep embedded messages may nest when a message's invalid UTF-8 text is repaired
/// (prost's own recursion limit).
pub const MAX_PROTO_NESTING: usize = 100;

/// Largest record a capture file (`[u32 LE length][frame]`) may declare. Guards against a
/// corrupt length prefix allocating gigabytes.
pub const MAX_CAPTURE_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// What the push socket reserves for reading (tungstenite's default is 128 KiB per socket,
/// which a thousand bridges would hold idle). Push frames average ~3.6 KB compressed;
/// a larger one grows the buffer as needed. 8 KiB holds two average frames: heaptrack at
/// 1,000 bridges showed the 16 KiB reservation as ~16 KB held by every socket.
pub const WS_READ_BUFFER_BYTES: usize = 8 * 1024;

/// Idle keep-alive connections the shared TikTok/signer HTTP client keeps per host. Each
/// pooled connection holds hyper's read and write buffers (~8-16 KB) for the idle timeout
/// (90 s): a thousand bridges starting at once left ~780 of them (~20 MB in heaptrack),
/// while the lookups after start are one per bridge per reconnect and need no warm pool.
pub const TIKTOK_HTTP_MAX_IDLE_PER_HOST: usize = 8;

/// TikTok's default heartbeat interval (`heartbeat_duration=10000` in the socket URL).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

// --- tiktok source ---

/// How often to poll the unsigned room status while waiting for a creator to go live.
/// Peers poll every 30-60 s; the signer is never used for this (its day budget would run
/// out: TikTokLive issues #140, #342).
pub const ROOM_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// The socket is dead after this many heartbeat intervals without any frame.
pub const SILENT_HEARTBEATS: u32 = 3;

/// How long closing the TikTok socket waits for the close handshake before dropping it
/// (shutdown must not hang on a server that never answers).
pub const SOCKET_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// First reconnect delay.
pub const RECONNECT_MIN_BACKOFF: Duration = Duration::from_secs(1);

/// Longest reconnect delay (SIGNER: doubling, at most 60 s).
pub const RECONNECT_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Failed connection attempts in a row after which `tail`/`record --no-wait` give up with
/// the last error (about 30 s of backoff): nobody is waiting for the live there, so a
/// typo'd host or a DNS failure must end instead of retrying forever.
pub const NO_WAIT_MAX_ATTEMPTS: u32 = 5;

/// The longest answer `tiktwitch init` reads for one question (a handle, a client id, an
/// API key): a stray binary on stdin cannot fill memory.
pub const MAX_PROMPT_ANSWER_BYTES: u64 = 4096;

/// Recent message ids remembered to drop replays across reconnects. A busy room sends
/// ~50 messages/s; this covers several minutes, for about 200 KiB.
pub const DEDUPE_CAPACITY: usize = 20_000;

/// Timeout of each TikTok / signer HTTP request and of the socket handshake.
pub const TIKTOK_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest body read from a room lookup (the `/@user/live` page is a few hundred KiB).
pub const MAX_LOOKUP_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Largest first fetch result accepted from the signer.
pub const MAX_SIGNER_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Wait after a signer 429 that names no reset time.
pub const SIGNER_DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Default cap on signer calls per minute shared by every bridge of a process (Euler's
/// Community tier allows 2,500 a day; a reconnect storm must not burn it).
pub const SIGNER_CALLS_PER_MINUTE: u32 = 10;
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

/// First wait before twitch-irc may fetch credentials again after a failed fetch (it
/// retries at once otherwise); doubles per failure in a row.
pub const IRC_CREDENTIALS_RETRY_MIN: Duration = Duration::from_secs(1);

/// Longest wait between credential fetches that keep failing.
pub const IRC_CREDENTIALS_RETRY_MAX: Duration = Duration::from_secs(60);

/// Device flow: the least poll interval, whatever the server says.
pub const DEVICE_POLL_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Device flow: added to the poll interval on `slow_down` (RFC 8628 section 3.5).
pub const DEVICE_SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Device flow: network/server errors in a row before giving up.
pub const DEVICE_MAX_POLL_ERRORS: u32 = 5;
// --- pipeline and config ---

/// How many recent TikTok message ids the pipeline remembers to drop duplicates (reconnects
/// replay the last batch). 16 bytes an entry: about 256 KiB.
pub const PIPELINE_DEDUPE_CAPACITY: usize = 16_384;

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

/// Twitch's IRC endpoint, `host:port` (TLS): the default of `[twitch] server` and of the
/// sink's own settings.
pub const TWITCH_IRC_SERVER: &str = "irc.chat.twitch.tv:6697";

/// Twitch's Helix API origin: the default of `[twitch] helix_base_url` and of the sink's.
pub const TWITCH_HELIX_BASE_URL: &str = "https://api.twitch.tv/helix";

/// Added to [`TWITCH_RATE_WINDOW`] (and the JOIN window) before a slot counts as free again:
/// Twitch's clock and ours disagree by network jitter, so a line sent exactly 30 s after
/// another may still land inside Twitch's window.
pub const TWITCH_WINDOW_MARGIN: Duration = Duration::from_millis(250);

/// Twitch's rate-limit window: "20 messages per 30 seconds" (dev.twitch.tv/docs/irc, §2.2 of
/// docs/twitch.md). The sink keeps at most N lines in ANY window of this length.
pub const TWITCH_RATE_WINDOW: Duration = Duration::from_secs(30);

/// Lines per [`TWITCH_RATE_WINDOW`] Twitch allows a normal account (docs/twitch.md §2.2).
/// The sink never uses this much: see [`TWITCH_LINES_PER_WINDOW`].
pub const TWITCH_ALLOWED_LINES_PER_WINDOW: u32 = 20;

/// Lines per [`TWITCH_RATE_WINDOW`] Twitch allows where the bot is moderator, VIP or
/// broadcaster. The sink uses [`TWITCH_LINES_PER_WINDOW_ELEVATED`].
pub const TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED: u32 = 100;

/// Lines per window for a normal account: 18 of Twitch's 20; 2 are left as headroom (a
/// human using the account, dropped messages that still cost).
pub const TWITCH_LINES_PER_WINDOW: u32 = 18;

/// Lines per window when the bot is moderator, VIP or broadcaster: 90 of Twitch's 100, the
/// same margin in proportion.
pub const TWITCH_LINES_PER_WINDOW_ELEVATED: u32 = 90;

/// Minimum gap between two lines to one channel for non-mods: Twitch enforces 1 s (pajbot
/// tmi-rate-limits), plus 100 ms for clock skew and network jitter.
pub const TWITCH_CHANNEL_GAP: Duration = Duration::from_millis(1100);

/// Added to a channel's slow-mode delay before the next line goes out.
pub const TWITCH_SLOW_MODE_MARGIN: Duration = Duration::from_millis(200);

/// Twitch rejects a line identical to the previous one sent less than 30 s ago
/// (`msg_duplicate`); the sink never sends the same text to a channel within this window.
pub const TWITCH_DUPLICATE_WINDOW: Duration = Duration::from_secs(30);

/// Twitch's JOIN window: "20 JOIN attempts per 10 seconds per user" (docs/twitch.md §2.2).
pub const TWITCH_JOIN_WINDOW: Duration = Duration::from_secs(10);

/// JOINs the sink sends per [`TWITCH_JOIN_WINDOW`]: Twitch allows 20; 5 are left for the
/// rejoins twitch-irc makes by itself when a connection drops (it does not pace those).
pub const TWITCH_JOINS_PER_WINDOW: u32 = 15;

/// How long the sink waits for USERSTATE (accepted) or NOTICE (rejected) after a PRIVMSG
/// before counting the line as unconfirmed and moving on.
pub const TWITCH_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Lines the sink holds while it waits for its rate budget (the default of `[twitch]
/// queue_capacity`). A burst beyond this is shed, lowest priority first: at 18 lines per
/// 30 s, the 64th line waits almost two minutes, stale by the time it would go out.
pub const SINK_QUEUE_CAPACITY: usize = 64;

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

// --- daemon ---

/// Events buffered between a bridge's source and its pipeline. A busy room sends ~50
/// messages/s; the pipeline is pure and fast, so this only absorbs bursts.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// First wait before restarting a bridge whose source failed for good (bad key, no such
/// user ...); doubles per failure.
pub const BRIDGE_RESTART_MIN_DELAY: Duration = Duration::from_secs(30);

/// Longest wait between restarts of a failing bridge.
pub const BRIDGE_RESTART_MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// Events a slow event-feed subscriber may fall behind before it misses some (the bridge
/// never waits for it). The buffer is allocated whole, on the first subscription.
pub const FEED_CHANNEL_CAPACITY: usize = 1024;

// --- feed ---

/// Events a WebSocket feed client may have queued (not yet written to its socket) before it
/// is dropped as too slow; the bridge never waits for it.
pub const FEED_CLIENT_QUEUE: usize = 1024;

/// WebSocket feed clients connected at once, over every bridge; more are refused (503).
pub const FEED_MAX_CLIENTS: usize = 256;

/// Recent events kept per bridge for `GET /api/events`.
pub const API_RING_CAPACITY: usize = 1000;

/// Events `GET /api/events` returns at most per request.
pub const API_EVENTS_MAX_LIMIT: usize = 1000;

/// Events waiting for one webhook's delivery at most; past this new ones are dropped.
pub const WEBHOOK_QUEUE_CAPACITY: usize = 10_000;

/// First wait before retrying a failed webhook POST; doubles per failure.
pub const WEBHOOK_RETRY_MIN_DELAY: Duration = Duration::from_secs(1);

/// Longest wait a webhook receiver's `Retry-After` is honoured for: a receiver asking for
/// hours must not hold the queue (and its memory) that long.
pub const WEBHOOK_RETRY_AFTER_MAX: Duration = Duration::from_secs(300);

/// The clock skew a webhook receiver should allow when it checks a signature (the feed's
/// webhook signature check uses it): older requests are refused, so a captured one cannot
/// be replayed later.
pub const WEBHOOK_SIGNATURE_TOLERANCE: Duration = Duration::from_secs(5 * 60);

// --- enrichment from TikTok ---

/// Characters kept of a profile's text fields (nickname, room title) from TikTok.
pub const PROFILE_TEXT_MAX_CHARS: usize = 200;

/// Longest avatar / gift image URL kept (TikTok's signed CDN links run ~300 characters).
pub const PROFILE_URL_MAX_CHARS: usize = 2048;

/// Largest `webcast/gift/list` body read (the real one is about 2.6 MB); past it the
/// catalogue fetch fails and the bridge goes on without it.
pub const MAX_GIFT_LIST_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Gifts kept of one catalogue at most (the real list has a few hundred); the rest are
/// ignored.
pub const MAX_CATALOGUE_GIFTS: usize = 4096;

/// Characters kept of a catalogue gift's name.
pub const GIFT_NAME_MAX_CHARS: usize = 100;
// --- event ring persistence ---

/// Events waiting to be written to the `[api] ring_path` SQLite file at most; past this
/// new ones are not persisted (counted) rather than slowing the bridge.
pub const RING_PERSIST_QUEUE: usize = 8192;

/// Events written to the ring's SQLite file in one transaction at most.
pub const RING_PERSIST_BATCH: usize = 512;

/// How long a write to the ring's SQLite file waits for another connection's lock (someone
/// reading it with `sqlite3`, a checkpoint) before it fails (counted); meanwhile new events
/// queue up to [`RING_PERSIST_QUEUE`].
pub const RING_PERSIST_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

// --- the HTTP listener and shutdown ---

/// Connections the `[http]` listener holds at once (`[http] max_connections`). Above 1,000
/// on purpose: a thousand clients stuck sending their headers still leave room for
/// `/healthz` until the header-read timeout sheds them. Past it a new connection gets a
/// `503` and is closed at once, so the kernel's backlog never fills with clients waiting
/// on nothing. Each open connection is one file descriptor: keep `ulimit -n` above it.
pub const HTTP_MAX_CONNECTIONS: usize = 2048;

/// How long a client may take to send a request's headers (`[http]
/// header_read_timeout_secs`), counted from when the listener is ready to read them (a
/// keep-alive connection waiting for its next request counts too). Slowloris clients are
/// shed after this.
pub const HTTP_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection on which no byte moves either way for this long is closed (`[http]
/// idle_timeout_secs`): a client that never reads its response, or stops mid-body.
pub const HTTP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// At shutdown, after the drain (the listener serves `/healthz` while the queue drains):
/// requests in flight get this long to finish, then every connection still open is closed,
/// whatever its client does. Handlers answer in milliseconds; only stuck clients wait.
pub const HTTP_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(500);

/// After an accept error that is not about one connection (out of file descriptors), the
/// listener waits this long before accepting again, instead of spinning.
pub const HTTP_ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// The stop after SIGTERM/SIGINT may take `[shutdown] grace_secs` plus this; past it the
/// process stops waiting and exits non-zero (logged). The HTTP listener's own bound
/// ([`HTTP_SHUTDOWN_TIMEOUT`]) and [`RUNTIME_SHUTDOWN_TIMEOUT`] fit inside it, so a clean
/// stop always ends within grace + 2 s.
pub const SHUTDOWN_OVERRUN: Duration = Duration::from_millis(1500);

/// How long the async runtime may take to end its last tasks after `run` returned.
pub const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(250);

/// A chat line (comment, question, emote, flood summary) older than this when its turn comes
/// is dropped as `stale` (issue 21): a comment posted minutes late has lost its context.
pub const SINK_CHAT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(20);

/// Any other line but a status line (gifts, follows, shares, summaries) older than this when
/// its turn comes is dropped as `stale`: a thank-you may be late, not minutes late.
pub const SINK_EVENT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(120);

/// Chat messages the sink read from Twitch, buffered for their readers (the moderator
/// commands, the feed's `twitch_chat` events); a reader that falls further behind misses
/// the oldest (counted), the IRC connection never waits on it.
pub const TWITCH_CHAT_READ_CAPACITY: usize = 1024;

/// A Shared Chat session counts as over once no PRIVMSG of another channel's room
/// (`source-room-id` differing from `room-id`) was seen for this long.
pub const SHARED_CHAT_QUIET: Duration = Duration::from_secs(10 * 60);

/// One reply per moderator command (per channel and command) at most this often, unless
/// `[twitch.commands] cooldown_secs` says otherwise.
pub const COMMAND_REPLY_COOLDOWN: Duration = Duration::from_secs(30);

/// `!tt status` counts the lines sent and shed over this long.
pub const COMMAND_STATUS_WINDOW: Duration = Duration::from_secs(5 * 60);

/// How often the sink's counters are sampled for [`COMMAND_STATUS_WINDOW`].
pub const COMMAND_STATUS_SAMPLE: Duration = Duration::from_secs(15);

/// The longest `!tt pause <minutes>` (a day); longer is refused with a reply.
pub const COMMAND_PAUSE_MAX_MINUTES: u64 = 24 * 60;

/// Muted TikTok users kept per bridge at most (the state file stays small).
pub const CONTROL_MAX_MUTES: usize = 1000;
/// The window of the signer budget: [`SIGNER_CALLS_PER_MINUTE`] is "at most N calls in any
/// such window".
pub const SIGNER_BUDGET_WINDOW: Duration = Duration::from_secs(60);

/// After a Helix 429, the sink waits at least this long, whatever `Ratelimit-Reset` says
/// (a reset in the past, or a clock behind Twitch's, must not make it retry at once).
pub const HELIX_RATELIMIT_MIN_WAIT: Duration = Duration::from_secs(1);

/// After a Helix 429, the sink waits at most this long (Helix's bucket refills within a
/// minute; a reset far in the future is a bad header or a bad clock).
pub const HELIX_RATELIMIT_MAX_WAIT: Duration = Duration::from_secs(60);

/// After a Helix 429 without a readable `Ratelimit-Reset`.
pub const HELIX_RATELIMIT_DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// Characters of a Helix error body kept for logs and stats.
pub const HELIX_ERROR_TEXT_MAX: usize = 300;

/// Logins per `GET /helix/users` request (Helix allows up to 100).
pub const HELIX_USERS_PER_REQUEST: usize = 100;

/// Timeout of the Helix user-id lookup at start (`GET /helix/users`).
pub const HELIX_LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
// --- webhooks managed at runtime (issue #19) ---

/// POSTs per second one webhook sends at most, on average (`webhook[].rate_per_sec`):
/// a receiver is not flooded when a live bursts; over the rate a POST waits.
pub const WEBHOOK_RATE_PER_SEC: u32 = 10;

/// POSTs one webhook may send at once after a quiet spell (`webhook[].rate_burst`).
pub const WEBHOOK_RATE_BURST: u32 = 20;

/// Deliveries kept per webhook in its dead-letter queue; a new one evicts the oldest
/// (counted), so an unreachable receiver cannot fill the disk or the memory.
pub const WEBHOOK_DEAD_LETTER_CAPACITY: usize = 1_000;

/// Dead letters one `POST .../replay` request tries at most (oldest first); the answer
/// says how many remain, so a client repeats until none do.
pub const WEBHOOK_REPLAY_MAX: usize = 100;

/// Webhooks the API may add at most (config-file webhooks not counted): each has a task,
/// a queue and a dead-letter queue.
pub const WEBHOOK_API_MAX: usize = 100;

/// Characters of a webhook secret given through the API, at least and at most: a short
/// HMAC key is guessable, a huge one is a mistake.
pub const WEBHOOK_SECRET_MIN_CHARS: usize = 16;

/// See [`WEBHOOK_SECRET_MIN_CHARS`].
pub const WEBHOOK_SECRET_MAX_CHARS: usize = 512;
/// Twitch's EventSub WebSocket endpoint: the default of `[twitch_stream] eventsub_url`.
pub const TWITCH_EVENTSUB_WS_URL: &str = "wss://eventsub.wss.twitch.tv/ws";

/// How often Helix `GET /streams` is asked whether the Twitch channels are live when
/// EventSub cannot be used: the default of `[twitch_stream] poll_interval_secs`.
pub const TWITCH_STREAM_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// The pipeline remembers this many of the session's commenters, to mark a viewer's first
/// comment (the sink sends those first); the oldest are forgotten first.
pub const PIPELINE_COMMENTERS_CAPACITY: usize = 65_536;

/// The pipeline ranks at most this many gifters by the session's diamonds; past it the
/// smallest is forgotten.
pub const PIPELINE_GIFTERS_CAPACITY: usize = 4_096;

/// The comments of this many biggest gifters of the session count as notable (sent first).
pub const PIPELINE_TOP_GIFTERS: usize = 3;

/// The sink's round-robin between chat users remembers when this many users (per channel)
/// were last served; the ones served longest ago are forgotten first.
pub const SINK_ROUND_ROBIN_USERS: usize = 4_096;
/// Badges kept per user (issue 19): real users carry one to four; a message with more keeps
/// the first ones.
pub const MAX_USER_BADGES: usize = 16;

/// A badge's text ("Moderator", "No. 1") is cut to this many characters.
pub const BADGE_TEXT_MAX_CHARS: usize = 64;

/// What a diamond is worth to the creator in US dollars, for a gift's `usd` estimate on the
/// feed (`[pricing] usd_per_diamond`): TikTok pays creators about half a cent per diamond
/// (the TikTokLive peer's heuristic: `repeat_count x diamond_count x $0.005`).
pub const USD_PER_DIAMOND: f64 = 0.005;
