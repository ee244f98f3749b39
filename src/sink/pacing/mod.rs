//! When the next line may go out: Twitch's account window, per-channel gaps, slow mode,
//! holds after NOTICEs, and the duplicate guard.
//!
//! # Why a sliding-window log and not a governor GCRA quota
//!
//! Twitch counts a fixed 30 s window that starts at the first message; since the client
//! cannot see where Twitch's window starts, a safe client keeps at most N lines in **any**
//! 30 s window. A GCRA (governor) quota with burst `b` and period `p` admits
//! `b + ceil(W/p) - 1` cells in a window W: the obvious "20 per 30 s, burst 20" admits 39
//! (see the test `governor_naive_quota_lets_39_through`), and the largest safe burst
//! (`sliding_safe_period`) halves the steady throughput. A log of the last N send instants
//! is exact: the next line may go at `log[len-N] + W`, which gives N per window at full
//! throughput and never N+1. The pacer is pure (every method takes `now`), so it is tested
//! with a fake clock and driven by tokio time (paused in tests) in the sink.
//!
//! Twitch has two per-user buckets (pajbot/tmi-rate-limits): a line to a channel where the
//! bot is moderator/VIP/broadcaster spends from the large bucket only; any other line spends
//! from both. The pacer keeps one log per bucket.
//!
//! What a previous process spent comes back through [`Pacer::restore_send`] (from the
//! [`super::journal`]); JOINs have their own log in [`joins`].

pub mod joins;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// Pacing parameters (from [`super::TwitchSinkSettings`]).
#[derive(Debug, Clone)]
pub struct PacingConfig {
    /// Length of Twitch's window (30 s).
    pub window: Duration,
    /// Added to the window, for jitter between our send time and Twitch's processing time.
    pub window_margin: Duration,
    /// Lines per window for a normal account.
    pub limit: u32,
    /// Lines per window in channels where the bot is moderator/VIP/broadcaster.
    pub limit_elevated: u32,
    /// Minimum gap between two lines to one channel (non-elevated).
    pub channel_gap: Duration,
    /// Added to the slow-mode delay.
    pub slow_margin: Duration,
    /// Never send the same text to one channel twice within this window (0 disables).
    pub duplicate_window: Duration,
}

#[derive(Debug, Default)]
struct ChannelPace {
    last_sent: Option<Instant>,
    elevated: bool,
    slow: Duration,
    hold_until: Option<Instant>,
    recent: VecDeque<(Instant, u64)>,
}

/// The pacing state, owned by the sink task.
///
/// The line budget is a sliding log, not a governor quota like the JOINs' and the
/// signer's: GCRA's "20 per 30 s" lets 39 lines into one 30 s window, and its safe period
/// halves the throughput (module docs, `governor_naive_quota_lets_39_through`). The JOIN
/// quota can afford that trade; the chat budget, the scarcer one, cannot.
#[derive(Debug)]
pub struct Pacer {
    config: PacingConfig,
    /// Sends to non-elevated channels (the 20 bucket).
    normal_log: VecDeque<Instant>,
    /// Every send (the 100 bucket).
    all_log: VecDeque<Instant>,
    channels: HashMap<String, ChannelPace>,
    paused_until: Option<Instant>,
    half_rate_until: Option<Instant>,
}

impl Pacer {
    /// A pacer with nothing sent yet.
    pub fn new(config: PacingConfig) -> Self {
        Self {
            config,
            normal_log: VecDeque::new(),
            all_log: VecDeque::new(),
            channels: HashMap::new(),
            paused_until: None,
            half_rate_until: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PacingConfig {
        &self.config
    }

    fn limits(&self, now: Instant) -> (u32, u32) {
        let halve = self.half_rate_until.is_some_and(|t| now < t);
        if halve {
            (
                (self.config.limit / 2).max(1),
                (self.config.limit_elevated / 2).max(1),
            )
        } else {
            (self.config.limit.max(1), self.config.limit_elevated.max(1))
        }
    }

    fn span(&self) -> Duration {
        self.config.window + self.config.window_margin
    }

    /// The earliest instant a log with `limit` allows one more send.
    fn window_ready(&self, log: &VecDeque<Instant>, limit: u32, now: Instant) -> Instant {
        let limit = limit as usize;
        if log.len() < limit {
            return now;
        }
        log[log.len() - limit] + self.span()
    }

    /// The earliest instant a line to `channel` may be sent (`now` if it may go now).
    pub fn ready_at(&self, channel: &str, now: Instant) -> Instant {
        let (limit, limit_elevated) = self.limits(now);
        let pace = self.channels.get(channel);
        let elevated = pace.is_some_and(|p| p.elevated);
        let mut at = now;
        if let Some(p) = self.paused_until {
            at = at.max(p);
        }
        at = at.max(self.window_ready(&self.all_log, limit_elevated, now));
        if !elevated {
            at = at.max(self.window_ready(&self.normal_log, limit, now));
        }
        if let Some(p) = pace {
            if let Some(h) = p.hold_until {
                at = at.max(h);
            }
            if let (Some(last), false) = (p.last_sent, elevated) {
                let gap = if p.slow.is_zero() {
                    self.config.channel_gap
                } else {
                    self.config
                        .channel_gap
                        .max(p.slow + self.config.slow_margin)
                };
                at = at.max(last + gap);
            }
        }
        // Half rate may start after `now`; if the limits differ at `at`, re-check once.
        if at > now && self.limits(at) != (limit, limit_elevated) {
            return self.ready_at(channel, at);
        }
        at
    }

    /// Records that a line went to `channel` at `at` (it spends rate budget whatever Twitch
    /// then answers: "dropped messages still cost").
    pub fn record_send(&mut self, channel: &str, at: Instant) {
        let keep = self.keep();
        let pace = self.channels.entry(channel.to_owned()).or_default();
        if !pace.elevated {
            self.normal_log.push_back(at);
        }
        self.all_log.push_back(at);
        for log in [&mut self.normal_log, &mut self.all_log] {
            while log.len() > keep {
                log.pop_front();
            }
        }
        pace.last_sent = Some(at);
    }

    /// Puts back a line an earlier process sent at `at` (from the journal, oldest first):
    /// it spends from the buckets it spent from then, sets the channel's last send, and its
    /// text counts for the duplicate guard (it may have been delivered; a line Twitch never
    /// saw only waits a little).
    pub fn restore_send(&mut self, channel: &str, elevated: bool, key: u64, at: Instant) {
        let keep = self.keep();
        if !elevated {
            insert_sorted(&mut self.normal_log, at, keep);
        }
        insert_sorted(&mut self.all_log, at, keep);
        let pace = self.channels.entry(channel.to_owned()).or_default();
        pace.last_sent = Some(pace.last_sent.map_or(at, |t| t.max(at)));
        if !self.config.duplicate_window.is_zero() {
            let pos = pace.recent.partition_point(|(t, _)| *t <= at);
            pace.recent.insert(pos, (at, key));
        }
    }

    /// Counts a full window of lines in both buckets as sent at `now`: what an earlier
    /// process sent is unknown (its journal was damaged or unreadable), so nothing goes out
    /// for one window.
    pub fn assume_full_window(&mut self, now: Instant) {
        let keep = self.keep();
        for _ in 0..keep {
            insert_sorted(&mut self.normal_log, now, keep);
            insert_sorted(&mut self.all_log, now, keep);
        }
    }

    fn keep(&self) -> usize {
        self.config.limit.max(self.config.limit_elevated).max(1) as usize
    }

    /// Records that the text with `key` (see [`super::queue::text_key`]) was delivered to
    /// `channel` at `at`, for the duplicate guard. Only delivered text counts: Twitch's rule is
    /// about the previous message it accepted, and a refused line must be retryable.
    pub fn record_delivered(&mut self, channel: &str, key: u64, at: Instant) {
        let window = self.config.duplicate_window;
        if window.is_zero() {
            return;
        }
        let pace = self.channels.entry(channel.to_owned()).or_default();
        while pace
            .recent
            .front()
            .is_some_and(|(t, _)| at.saturating_duration_since(*t) >= window)
        {
            pace.recent.pop_front();
        }
        pace.recent.push_back((at, key));
    }

    /// True when `key` was sent to `channel` less than the duplicate window ago.
    pub fn is_duplicate(&self, channel: &str, key: u64, now: Instant) -> bool {
        let window = self.config.duplicate_window;
        if window.is_zero() {
            return false;
        }
        self.channels.get(channel).is_some_and(|p| {
            p.recent
                .iter()
                .any(|(t, k)| *k == key && now.saturating_duration_since(*t) < window)
        })
    }

    /// Sets whether the bot is moderator/VIP/broadcaster in `channel` (from USERSTATE badges).
    pub fn set_elevated(&mut self, channel: &str, elevated: bool) {
        self.channels
            .entry(channel.to_owned())
            .or_default()
            .elevated = elevated;
    }

    /// True when the bot is moderator/VIP/broadcaster in `channel`.
    pub fn is_elevated(&self, channel: &str) -> bool {
        self.channels.get(channel).is_some_and(|p| p.elevated)
    }

    /// Sets the channel's slow-mode delay (from ROOMSTATE; zero = off).
    pub fn set_slow(&mut self, channel: &str, slow: Duration) {
        self.channels.entry(channel.to_owned()).or_default().slow = slow;
    }

    /// Sends nothing to `channel` before `until` (e.g. `msg_slowmode` "talk again in N s").
    pub fn hold_channel_until(&mut self, channel: &str, until: Instant) {
        let pace = self.channels.entry(channel.to_owned()).or_default();
        pace.hold_until = Some(pace.hold_until.map_or(until, |h| h.max(until)));
    }

    /// Lifts a hold set by [`Pacer::hold_channel_until`].
    pub fn release_channel(&mut self, channel: &str) {
        if let Some(p) = self.channels.get_mut(channel) {
            p.hold_until = None;
        }
    }

    /// Reacts to `msg_ratelimit`: nothing goes out for one window, then the next window runs
    /// at half the budget.
    pub fn on_ratelimit(&mut self, now: Instant) {
        let pause_end = now + self.span();
        self.paused_until = Some(pause_end);
        self.half_rate_until = Some(pause_end + self.span());
    }

    /// Nothing goes out before `until` (a Helix 429's `Ratelimit-Reset`); the rate after it
    /// is not halved, since the server said exactly when its bucket is full again.
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// True while a `msg_ratelimit` pause is running.
    pub fn is_paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|p| now < p)
    }
}

/// Inserts `at` in time order and keeps the newest `keep` entries.
fn insert_sorted(log: &mut VecDeque<Instant>, at: Instant, keep: usize) {
    let pos = log.partition_point(|t| *t <= at);
    log.insert(pos, at);
    while log.len() > keep {
        log.pop_front();
    }
}

/// The GCRA period that keeps a governor quota of `burst` cells at most `limit` cells in any
/// `window` ([`crate::rate::sliding_safe_period`]; twitch.md §5.2). The JOIN quota and the
/// signer budget use it; the line window does not (see the module docs).
pub fn sliding_safe_period(limit: u32, burst: u32, window: Duration) -> Duration {
    crate::rate::sliding_safe_period(limit, burst, window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::*;
    use proptest::prelude::*;

    fn config(dup: Duration) -> PacingConfig {
        PacingConfig {
            window: TWITCH_RATE_WINDOW,
            window_margin: Duration::ZERO,
            limit: TWITCH_LINES_PER_WINDOW,
            limit_elevated: TWITCH_LINES_PER_WINDOW_ELEVATED,
            channel_gap: TWITCH_CHANNEL_GAP,
            slow_margin: TWITCH_SLOW_MODE_MARGIN,
            duplicate_window: dup,
        }
    }

    /// Max sends in any half-open window [t, t+w) over sorted instants.
    fn max_in_any_window(times: &[Instant], w: Duration) -> usize {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= w {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    /// A greedy sender: always sends the moment the pacer allows.
    fn greedy(p: &mut Pacer, channels: &[&str], n: usize, start: Instant) -> Vec<Instant> {
        let mut now = start;
        let mut out = Vec::new();
        for i in 0..n {
            let ch = channels[i % channels.len()];
            now = p.ready_at(ch, now);
            p.record_send(ch, now);
            out.push(now);
        }
        out
    }

    #[test]
    fn greedy_sender_never_exceeds_18_in_any_30s_window() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        let times = greedy(&mut p, &["a", "b", "c"], 2000, t0);
        assert_eq!(max_in_any_window(&times, TWITCH_RATE_WINDOW), 18);
        // and full throughput: 2000 lines take ~ 2000/18 windows, not twice that.
        let took = *times.last().unwrap() - t0;
        assert!(took < TWITCH_RATE_WINDOW * (2000 / 18 + 1), "{took:?}");
    }

    #[test]
    fn one_channel_respects_gap_and_window() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        let times = greedy(&mut p, &["a"], 200, t0);
        assert!(times.windows(2).all(|w| w[1] - w[0] >= TWITCH_CHANNEL_GAP));
        assert_eq!(max_in_any_window(&times, TWITCH_RATE_WINDOW), 18);
    }

    #[test]
    fn elevated_channel_uses_the_large_bucket_without_gap() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        p.set_elevated("m", true);
        let times = greedy(&mut p, &["m"], 1000, t0);
        assert_eq!(max_in_any_window(&times, TWITCH_RATE_WINDOW), 90);
        assert_eq!(times[89], t0);
    }

    #[test]
    fn mixed_elevated_and_normal_keep_both_buckets() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        p.set_elevated("m", true);
        let mut now = t0;
        let (mut all, mut normal) = (Vec::new(), Vec::new());
        for i in 0..3000u64 {
            let ch = if i % 3 == 0 { "n" } else { "m" };
            now = p.ready_at(ch, now);
            p.record_send(ch, now);
            all.push(now);
            if ch == "n" {
                normal.push(now);
            }
        }
        assert!(max_in_any_window(&all, TWITCH_RATE_WINDOW) <= 90);
        assert!(max_in_any_window(&normal, TWITCH_RATE_WINDOW) <= 18);
    }

    #[test]
    fn slow_mode_and_holds_delay_the_channel() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        p.set_slow("a", Duration::from_secs(5));
        p.record_send("a", t0);
        assert_eq!(p.ready_at("a", t0), t0 + Duration::from_millis(5200));
        assert_eq!(p.ready_at("b", t0), t0);
        p.hold_channel_until("b", t0 + Duration::from_secs(9));
        assert_eq!(p.ready_at("b", t0), t0 + Duration::from_secs(9));
    }

    #[test]
    fn ratelimit_pauses_a_window_then_runs_at_half_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        p.on_ratelimit(t0);
        assert!(p.is_paused(t0));
        assert_eq!(p.ready_at("a", t0), t0 + TWITCH_RATE_WINDOW);
        let times = greedy(&mut p, &["a", "b"], 9, t0);
        let resumed = t0 + TWITCH_RATE_WINDOW;
        assert!(times.iter().all(|t| *t >= resumed));
        // 9 = half of 18 fit in the half-rate window; the 10th waits for the next window.
        let tenth = p.ready_at("c", *times.last().unwrap());
        assert!(tenth >= times[0] + TWITCH_RATE_WINDOW, "{:?}", tenth - t0);
    }

    #[test]
    fn duplicate_guard_remembers_for_the_window() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(TWITCH_DUPLICATE_WINDOW));
        p.record_delivered("a", 42, t0);
        assert!(p.is_duplicate("a", 42, t0 + Duration::from_secs(29)));
        assert!(!p.is_duplicate("b", 42, t0));
        assert!(!p.is_duplicate("a", 42, t0 + TWITCH_DUPLICATE_WINDOW));
    }

    #[test]
    fn restored_sends_spend_the_window_gap_and_duplicate_guard() {
        let t0 = Instant::now();
        let earlier = t0 - Duration::from_secs(10);
        let mut p = Pacer::new(config(TWITCH_DUPLICATE_WINDOW));
        for i in 0..18 {
            p.restore_send("a", false, i, earlier + Duration::from_millis(i));
        }
        // The 19th line waits until the first restored one leaves the window.
        assert_eq!(p.ready_at("b", t0), earlier + TWITCH_RATE_WINDOW);
        assert!(p.is_duplicate("a", 3, t0));
        assert!(!p.is_duplicate("b", 3, t0));
        let mut q = Pacer::new(config(Duration::ZERO));
        q.restore_send("a", false, 1, t0);
        assert_eq!(q.ready_at("a", t0), t0 + TWITCH_CHANNEL_GAP);
        // An elevated line spends from the large bucket only.
        let mut e = Pacer::new(config(Duration::ZERO));
        for i in 0..18 {
            e.restore_send("m", true, i, t0);
        }
        assert_eq!(e.ready_at("b", t0), t0);
    }

    #[test]
    fn a_full_window_assumed_holds_every_channel_for_a_window() {
        let t0 = Instant::now();
        let mut p = Pacer::new(config(Duration::ZERO));
        p.set_elevated("m", true);
        p.assume_full_window(t0);
        assert_eq!(p.ready_at("a", t0), t0 + TWITCH_RATE_WINDOW);
        assert_eq!(p.ready_at("m", t0), t0 + TWITCH_RATE_WINDOW);
    }

    /// The mistake the sliding log avoids, shown with governor's own fake clock.
    #[test]
    fn governor_naive_quota_lets_39_through() {
        use governor::clock::FakeRelativeClock;
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let count_max = |quota: Quota| {
            let clock = FakeRelativeClock::default();
            let lim = RateLimiter::direct_with_clock(quota, clock.clone());
            let mut times = Vec::new();
            let step = Duration::from_millis(10);
            let t0 = Instant::now();
            for i in 0..12_000u32 {
                if lim.check().is_ok() {
                    times.push(t0 + step * i);
                }
                clock.advance(step);
            }
            max_in_any_window(&times, TWITCH_RATE_WINDOW)
        };
        let naive = Quota::with_period(Duration::from_millis(1500))
            .and_then(|q| NonZeroU32::new(20).map(|b| q.allow_burst(b)));
        assert_eq!(naive.map(count_max), Some(39));
        let safe = Quota::with_period(sliding_safe_period(20, 10, TWITCH_RATE_WINDOW))
            .and_then(|q| NonZeroU32::new(10).map(|b| q.allow_burst(b)));
        assert_eq!(safe.map(count_max), Some(20));
    }

    proptest! {
        /// Lines arriving at arbitrary times, to arbitrary channels, with arbitrary
        /// ratelimit notices and mod status: no 30 s window ever holds more than N.
        #[test]
        fn no_window_exceeds_the_budget(
            steps in prop::collection::vec((0u64..5_000, 0usize..4, 0u8..40), 1..400)
        ) {
            let t0 = Instant::now();
            let mut p = Pacer::new(config(Duration::ZERO));
            p.set_elevated("m", true);
            let chans = ["a", "b", "c", "m"];
            let mut now = t0;
            let (mut normal, mut all) = (Vec::new(), Vec::new());
            for (gap_ms, ch, event) in steps {
                now += Duration::from_millis(gap_ms);
                if event == 0 {
                    p.on_ratelimit(now);
                }
                let ch = chans[ch];
                now = p.ready_at(ch, now);
                p.record_send(ch, now);
                all.push(now);
                if ch != "m" { normal.push(now); }
            }
            prop_assert!(max_in_any_window(&normal, TWITCH_RATE_WINDOW) <= 18);
            prop_assert!(max_in_any_window(&all, TWITCH_RATE_WINDOW) <= 90);
        }
    }
}
