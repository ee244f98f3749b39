//! The sink's counters and per-channel status, owned by one sink instance.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Counters, behind one mutex (every update is a few integer adds).
#[derive(Debug, Default)]
pub struct SinkStats {
    inner: Mutex<StatsSnapshot>,
}

/// Plain numbers: what [`SinkStats::snapshot`] returns.
///
/// Accounting identity (checked by the tests): every part the handle accepted ends up in
/// exactly one of `sent`, `coalesced`, `dropped_duplicate`, `rejected`, `shed` or is still
/// waiting (`queue_depth`, `in_flight`):
/// `lines_in + extra_parts == sent + coalesced + packed + dropped_duplicate + rejected +
/// shed_total() + queue_depth + in_flight + paused_held`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// `Line`s handed to [`super::SinkHandle::send`].
    pub lines_in: u64,
    /// Extra parts created by splitting long lines (a line in 3 parts adds 2).
    pub extra_parts: u64,
    /// Lines written to Twitch (confirmed or not).
    pub sent: u64,
    /// Of `sent`, lines Twitch confirmed (USERSTATE, or Helix `is_sent`).
    pub confirmed: u64,
    /// Of `sent`, lines with neither confirmation nor NOTICE within the ack timeout.
    pub unconfirmed: u64,
    /// Lines merged into an identical line already waiting.
    pub coalesced: u64,
    /// Lines that went out as a part of another line ([`super::pack`]): a packed line of 4
    /// parts counts 1 in `sent` and 3 here.
    pub packed: u64,
    /// Lines dropped because the same text went to that channel within the duplicate window
    /// (our guard, or Twitch's `msg_duplicate`).
    pub dropped_duplicate: u64,
    /// Lines Twitch refused for good (`msg_rejected`, `msg_banned` ... on the line itself).
    pub rejected: u64,
    /// Lines shed by the sink, by (event kind, reason).
    pub shed: BTreeMap<(String, String), u64>,
    /// Every NOTICE (or Helix drop reason) seen, by msg-id (`"none"` when it had none).
    pub notices: BTreeMap<String, u64>,
    /// Lines put back in the queue after `msg_ratelimit`, `msg_slowmode`, a hold or a write error.
    pub requeued: u64,
    /// Lines waiting now.
    pub queue_depth: u64,
    /// Highest `queue_depth` seen.
    pub max_queue_depth: u64,
    /// Lines written but not yet answered (0 or 1).
    pub in_flight: u64,
    /// Lines of paused bridges kept for after the resume (`pause_keep_secs`); the ones still
    /// fresh then are queued again, the rest shed (`paused`).
    pub paused_held: u64,
    /// Successful logins (001 welcomes).
    pub logins: u64,
    /// Logins after the first: reconnects.
    pub reconnects: u64,
    /// `Login authentication failed` NOTICEs.
    pub login_failures: u64,
    /// Errors writing a line to the client (the line was requeued).
    pub write_errors: u64,
    /// Time from a line entering the queue to Twitch confirming it (pacing included).
    pub send_latency: LatencyHistogram,
    /// Helix answers `is_sent: false`, by `drop_reason.code` (`"none"` without one; at most
    /// [`crate::limits::MAX_NOTICE_KINDS`] codes, then `"other"`).
    pub helix_dropped: BTreeMap<String, u64>,
    /// Helix `429 Too Many Requests` answers (the line waited for `Ratelimit-Reset`).
    pub helix_rate_limited: u64,
    /// TikTok chat comments Twitch accepted, alone or as parts of packed lines, by bridge
    /// (the sender's origin; `""` for lines sent without one).
    pub chat_relayed: BTreeMap<String, ChatRelayed>,
}

/// The line kind of one TikTok chat comment (what [`ChatRelayed`] counts).
pub const CHAT_COMMENT_KIND: &str = "chat";

/// Chat comments of one bridge that reached Twitch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatRelayed {
    /// Comments in lines Twitch accepted (a packed line of 5 comments counts 5).
    pub comments: u64,
    /// Accepted lines that carried at least one comment.
    pub lines: u64,
}

/// A cumulative latency histogram with fixed bounds (Prometheus style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Observations at or under each bound in [`LATENCY_BOUNDS_MS`], cumulative.
    pub buckets: [u64; LATENCY_BOUNDS_MS.len()],
    /// Observations in all.
    pub count: u64,
    /// Their sum, in microseconds.
    pub sum_micros: u64,
}

/// Upper bounds of the latency buckets, in milliseconds: from a line sent at once to one
/// that waited out a whole 30 s rate window or more.
pub const LATENCY_BOUNDS_MS: [u64; 12] = [
    1, 5, 25, 100, 250, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
];

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: [0; LATENCY_BOUNDS_MS.len()],
            count: 0,
            sum_micros: 0,
        }
    }
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn observe(&mut self, latency: Duration) {
        let ms = latency.as_millis();
        for (bucket, bound) in self.buckets.iter_mut().zip(LATENCY_BOUNDS_MS) {
            if ms <= u128::from(bound) {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum_micros = self
            .sum_micros
            .saturating_add(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }
}

impl StatsSnapshot {
    /// Sum of every shed counter.
    pub fn shed_total(&self) -> u64 {
        self.shed.values().sum()
    }

    /// Shed lines for one reason, over every kind.
    pub fn shed_for(&self, reason: &str) -> u64 {
        self.shed
            .iter()
            .filter(|((_, r), _)| r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// Counts a line Twitch accepted that carried `comments` chat comments of `origin`.
    pub fn count_chat_accepted(&mut self, origin: Option<&str>, comments: u32) {
        if comments == 0 {
            return;
        }
        let counts = self
            .chat_relayed
            .entry(origin.unwrap_or_default().to_owned())
            .or_default();
        counts.comments += u64::from(comments);
        counts.lines += 1;
    }

    /// The chat comments of bridge `origin` that reached Twitch.
    pub fn chat_relayed_for(&self, origin: &str) -> ChatRelayed {
        self.chat_relayed.get(origin).copied().unwrap_or_default()
    }

    /// Every part that reached a final state or still waits; equals `lines_in + extra_parts`.
    pub fn accounted(&self) -> u64 {
        self.sent
            + self.coalesced
            + self.packed
            + self.dropped_duplicate
            + self.rejected
            + self.shed_total()
            + self.queue_depth
            + self.in_flight
            + self.paused_held
    }
}

impl SinkStats {
    /// Applies `f` to the counters.
    pub fn update(&self, f: impl FnOnce(&mut StatsSnapshot)) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard);
        guard.max_queue_depth = guard.max_queue_depth.max(guard.queue_depth);
    }

    /// Counts one shed line.
    pub fn shed(&self, kind: &str, reason: &str) {
        self.update(|s| {
            *s.shed
                .entry((kind.to_owned(), reason.to_owned()))
                .or_default() += 1
        });
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Where one channel stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelState {
    /// Waiting for the JOIN to be confirmed.
    Joining,
    /// Joined; lines flow.
    Active,
    /// Lines wait (followers-/subs-/emote-only) until ROOMSTATE lifts the mode.
    Held {
        /// `followers_only`, `subs_only` or `emote_only`.
        reason: String,
    },
    /// Nothing more goes to this channel (banned, timed out, suspended ...); queued and new
    /// lines for it are shed with reason `channel_stopped`.
    Stopped {
        /// The msg-id or event that stopped it.
        reason: String,
    },
}

/// The status of one channel, for the daemon's status output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStatus {
    /// Where it stands.
    pub state: ChannelState,
    /// The bot is moderator/VIP/broadcaster there (the large rate budget applies).
    pub elevated: bool,
    /// Slow-mode delay from ROOMSTATE, if any.
    pub slow_mode: Option<Duration>,
    /// The last NOTICE msg-id seen for the channel.
    pub last_notice: Option<String>,
}

impl Default for ChannelStatus {
    fn default() -> Self {
        Self {
            state: ChannelState::Joining,
            elevated: false,
            slow_mode: None,
            last_notice: None,
        }
    }
}

/// The status of the whole sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkState {
    /// Connecting / logging in.
    Connecting,
    /// Logged in.
    Connected,
    /// The sink task ended; no more lines are sent. The text says why.
    Stopped(String),
}
