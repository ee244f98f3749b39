//! Webhooks: events POSTed as JSON, one document per event (or batched), signed. They come
//! from `[[webhook]]` in the config file (read-only at runtime) or are added, changed and
//! removed through the API (`/api/webhooks`, [`registry`]), which keeps them in
//! `<state_dir>/webhooks.json` across restarts.
//!
//! Each POST carries
//! - `X-Tiktwitch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`:
//!   the receiver recomputes it (see [`verify`]) and refuses old timestamps, so a captured
//!   request cannot be replayed later. Each attempt is signed afresh.
//! - `Idempotency-Key`: TikTok's msg_id (batches: `batch-<first key>-<count>`), the same on
//!   every attempt: a receiver that got a request whose answer was lost sees the retry and
//!   drops it. Delivery is at-least-once; with the key, each event is taken exactly once.
//! - `X-Tiktwitch-Attempt`: 1, 2, ...
//!
//! Bodies: `{"seq":12,"bridge":"a","event":{...}}`, or with `batch_max > 1`
//! `{"events":[{"seq":12,...},...]}`. A 5xx, 408, 429, a timeout or a connect error is
//! retried with exponential back-off; another 4xx is final. A delivery that fails
//! `max_attempts` times is dead-lettered: kept in the webhook's bounded [`dead_letter`]
//! queue (persisted), to be listed and replayed. Deliveries go out one at a time, in order,
//! from a bounded queue, at most `rate_per_sec` a second ([`delivery_rate`]: over the rate a POST
//! waits); an event that finds the queue full is dropped (counted).
//!
//! - [`signature`]: signing and [`verify`].
//! - [`delivery`]: one webhook's sender task (batches, retries, the rate, dead letters).
//! - [`registry`]: the webhooks of this process, added and removed at runtime.
//! - [`spec`]: a webhook as the API and the state file give it, and its checks.
//! - [`management`]: `/api/webhooks...` and `/api/dead-letters`.

pub mod dead_letter;
pub mod delivery;
pub mod delivery_rate;
pub mod registry;
pub mod management;
pub mod signature;
pub mod spec;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

pub use crate::config::feed::redacted_url;
use crate::limits::{
    WEBHOOK_QUEUE_CAPACITY, WEBHOOK_RATE_BURST, WEBHOOK_RATE_PER_SEC, WEBHOOK_RETRY_MIN_DELAY,
};
use crate::secret::Secret;
pub use dead_letter::{DeadLetter, DeadLetterQueue};
pub use registry::Registry;
pub use signature::{VerifyError, sign, verify};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-tiktwitch-signature";
/// The idempotency key header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The attempt number header.
pub const ATTEMPT_HEADER: &str = "x-tiktwitch-attempt";

/// One webhook. `Debug` hides the URL's credentials and query (where tokens hide).
#[derive(Clone)]
pub struct WebhookSettings {
    /// Where to POST.
    pub url: String,
    /// Event types sent; empty: all.
    pub events: Vec<String>,
    /// Bridges whose events are sent; empty: all.
    pub bridges: Vec<String>,
    /// The HMAC key.
    pub secret: Secret,
    /// Events per POST at most (1: one document per event).
    pub batch_max: usize,
    /// How long a partial batch waits for more events.
    pub batch_wait: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
    /// Attempts per delivery before it is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay (doubles per failure).
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Events waiting at most.
    pub queue_capacity: usize,
    /// POSTs per second at most, on average (retries and replays included).
    pub rate_per_sec: u32,
    /// POSTs at once after a quiet spell.
    pub rate_burst: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            events: Vec::new(),
            bridges: Vec::new(),
            secret: Secret::new(""),
            batch_max: 1,
            batch_wait: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            min_backoff: WEBHOOK_RETRY_MIN_DELAY,
            max_backoff: Duration::from_secs(60),
            queue_capacity: WEBHOOK_QUEUE_CAPACITY,
            rate_per_sec: WEBHOOK_RATE_PER_SEC,
            rate_burst: WEBHOOK_RATE_BURST,
        }
    }
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &redacted_url(&self.url))
            .field("events", &self.events)
            .field("bridges", &self.bridges)
            .field("secret", &self.secret)
            .field("batch_max", &self.batch_max)
            .field("batch_wait", &self.batch_wait)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("queue_capacity", &self.queue_capacity)
            .field("rate_per_sec", &self.rate_per_sec)
            .field("rate_burst", &self.rate_burst)
            .finish()
    }
}

impl WebhookSettings {
    /// True when events of this type are sent. The Twitch chat (`twitch_chat`) goes only
    /// to webhooks that name it: a webhook set up for TikTok's events does not start
    /// receiving every Twitch chat line.
    pub fn wants(&self, type_name: &str) -> bool {
        if self.events.is_empty() {
            return !NAMED_ONLY.contains(&type_name);
        }
        self.events.iter().any(|e| e == type_name)
    }

    /// True when this bridge's events are sent.
    pub fn wants_bridge(&self, bridge: &str) -> bool {
        self.bridges.is_empty() || self.bridges.iter().any(|b| b == bridge)
    }
}

/// Event types a webhook with no `events` list does not get.
const NAMED_ONLY: &[&str] = &["twitch_chat"];

/// One webhook's counters.
#[derive(Debug, Default)]
pub struct WebhookStats {
    queued: AtomicU64,
    dropped_queue_full: AtomicU64,
    delivered: AtomicU64,
    posts: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    retry_after: AtomicU64,
    dead_lettered: AtomicU64,
    rate_limited: AtomicU64,
    replayed: AtomicU64,
}

/// [`WebhookStats`] now. Every event offered ends as delivered, dead-lettered, dropped
/// (queue full) or is still queued / in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStatsSnapshot {
    /// Events waiting or in flight.
    pub queued: u64,
    /// Events dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Events delivered (answered 2xx).
    pub delivered: u64,
    /// POSTs answered 2xx.
    pub posts: u64,
    /// POSTs tried (retries included).
    pub attempts: u64,
    /// Attempts that failed and were retried.
    pub retries: u64,
    /// Retries that waited as the receiver's `Retry-After` asked (429/503).
    pub retry_after: u64,
    /// Events given up on (attempts exhausted, or refused with a 4xx).
    pub dead_lettered: u64,
    /// POSTs that waited for the webhook's rate (`rate_per_sec`).
    pub rate_limited: u64,
    /// Dead letters delivered by a replay.
    pub replayed: u64,
}

impl WebhookStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> WebhookStatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WebhookStatsSnapshot {
            queued: get(&self.queued),
            dropped_queue_full: get(&self.dropped_queue_full),
            delivered: get(&self.delivered),
            posts: get(&self.posts),
            attempts: get(&self.attempts),
            retries: get(&self.retries),
            retry_after: get(&self.retry_after),
            dead_lettered: get(&self.dead_lettered),
            rate_limited: get(&self.rate_limited),
            replayed: get(&self.replayed),
        }
    }

    /// An event was offered to the queue: taken, or dropped because it was full.
    pub(crate) fn offer(&self, taken: bool) {
        if taken {
            self.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn settle(&self, events: u64, counter: &AtomicU64) {
        counter.fetch_add(events, Ordering::Relaxed);
        self.queued.fetch_sub(events, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            redacted_url("https://me:pw@example.com/hook?token=abc"),
            "https://example.com/hook"
        );
        let settings = WebhookSettings {
            url: "https://example.com/hook?token=abc".into(),
            secret: Secret::new("whsec-value"),
            ..WebhookSettings::default()
        };
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("abc") && !debug.contains("whsec-value"),
            "{debug}"
        );
    }

    #[test]
    fn twitch_chat_goes_only_to_webhooks_that_name_it() {
        let all = WebhookSettings::default();
        assert!(all.wants("chat") && all.wants("bridge_control"));
        assert!(!all.wants("twitch_chat"), "off unless named");
        let named = WebhookSettings {
            events: vec!["twitch_chat".into()],
            ..WebhookSettings::default()
        };
        assert!(named.wants("twitch_chat") && !named.wants("chat"));
    }
}
