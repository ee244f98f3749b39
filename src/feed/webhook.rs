//! `[[webhook]]`: events POSTed as JSON, one document per event (or batched), signed.
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
//! `max_attempts` times is dead-lettered (counted, logged). Deliveries go out one at a time,
//! in order, from a bounded queue; an event that finds the queue full is dropped (counted).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::Envelope;
pub use crate::config::feed::redacted_url;
use crate::limits::{WEBHOOK_QUEUE_CAPACITY, WEBHOOK_RETRY_AFTER_MAX, WEBHOOK_RETRY_MIN_DELAY};
use crate::secret::Secret;

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

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

fn new_mac(secret: &Secret) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is not `t=...,v1=...`.
    #[error("malformed signature header {0:?}")]
    Malformed(String),
    /// The timestamp is too far from now.
    #[error("signature timestamp {timestamp} is {skew_secs} s away from now (replay?)")]
    Stale {
        /// The header's timestamp.
        timestamp: u64,
        /// How far from now.
        skew_secs: u64,
    },
    /// The MAC does not match.
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks a signature header against `body` as a receiver would: the MAC (constant time)
/// and that the timestamp is within `tolerance` of `now`.
pub fn verify(
    secret: &Secret,
    header: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let malformed = || VerifyError::Malformed(header.chars().take(200).collect());
    let mut timestamp = None;
    let mut mac_hex = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => mac_hex = Some(v),
            _ => {}
        }
    }
    let (Some(timestamp), Some(mac_hex)) = (timestamp, mac_hex) else {
        return Err(malformed());
    };
    let expected = decode_hex(mac_hex).ok_or_else(malformed)?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let skew_secs = now.abs_diff(timestamp);
    if skew_secs > tolerance.as_secs() {
        return Err(VerifyError::Stale {
            timestamp,
            skew_secs,
        });
    }
    let mut mac = new_mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| VerifyError::Mismatch)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Drains one webhook's queue until it closes: batches, signs, POSTs, retries.
pub(crate) async fn deliver_all(
    settings: WebhookSettings,
    mut queue: mpsc::Receiver<Envelope>,
    stats: Arc<WebhookStats>,
) {
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tiktwitch/", env!("CARGO_PKG_VERSION")))
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => {
            error!(error = %e, "the webhook's HTTP client cannot start; its events are dead-lettered");
            while let Some(_event) = queue.recv().await {
                stats.settle(1, &stats.dead_lettered);
            }
            return;
        }
    };
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        if settings.batch_max > 1 {
            let deadline = tokio::time::Instant::now() + settings.batch_wait;
            while batch.len() < settings.batch_max {
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(next)) => batch.push(next),
                    _ => break,
                }
            }
        }
        deliver(&client, &settings, &stats, &batch).await;
    }
}

#[derive(Serialize)]
struct BatchBody<'a> {
    events: &'a [Envelope],
}

/// How one attempt went.
enum Attempt {
    Delivered,
    /// Try again: why, and the wait the receiver asked for (`Retry-After`), if any.
    Retry(String, Option<Duration>),
    Final(String),
}

/// The wait a `Retry-After` header asks for (delay-seconds or an HTTP-date, RFC 9110
/// 10.2.3), capped at [`WEBHOOK_RETRY_AFTER_MAX`]; `None` when absent or unreadable.
fn retry_after(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .unwrap_or(Duration::ZERO),
    };
    Some(wait.min(WEBHOOK_RETRY_AFTER_MAX))
}

async fn deliver(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    stats: &WebhookStats,
    batch: &[Envelope],
) {
    let n = batch.len() as u64;
    let (body, key) = match batch {
        [one] if settings.batch_max == 1 => (serde_json::to_vec(one), one.idempotency_key()),
        _ => (
            serde_json::to_vec(&BatchBody { events: batch }),
            format!(
                "batch-{}-{}",
                batch
                    .first()
                    .map(Envelope::idempotency_key)
                    .unwrap_or_default(),
                batch.len()
            ),
        ),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            error!(error = %e, "an event could not be written as JSON; dead-lettered");
            stats.settle(n, &stats.dead_lettered);
            return;
        }
    };
    let mut delay = settings.min_backoff;
    let mut attempt = 1;
    loop {
        stats.attempts.fetch_add(1, Ordering::Relaxed);
        let outcome = post(client, settings, &body, &key, attempt).await;
        let why = match outcome {
            Attempt::Delivered => {
                stats.posts.fetch_add(1, Ordering::Relaxed);
                stats.settle(n, &stats.delivered);
                return;
            }
            Attempt::Final(why) => {
                warn!(key, error = %why, events = n, "webhook refused the delivery; dead-lettered");
                stats.settle(n, &stats.dead_lettered);
                return;
            }
            Attempt::Retry(why, asked) => {
                if let Some(asked) = asked {
                    // The receiver said when: its wait (capped) instead of our back-off.
                    stats.retry_after.fetch_add(1, Ordering::Relaxed);
                    delay = asked;
                }
                why
            }
        };
        if attempt >= settings.max_attempts {
            warn!(key, error = %why, attempts = attempt, events = n, "webhook delivery failed every attempt; dead-lettered");
            stats.settle(n, &stats.dead_lettered);
            return;
        }
        stats.retries.fetch_add(1, Ordering::Relaxed);
        warn!(key, error = %why, attempt, retry_in = ?delay, "webhook delivery failed; retrying");
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2).clamp(settings.min_backoff, settings.max_backoff);
        attempt += 1;
    }
}

async fn post(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    body: &[u8],
    key: &str,
    attempt: u32,
) -> Attempt {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let sent = client
        .post(&settings.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(&settings.secret, timestamp, body))
        .header(IDEMPOTENCY_HEADER, key)
        .header(ATTEMPT_HEADER, attempt.to_string())
        .body(body.to_vec())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                Attempt::Delivered
            } else if status.is_server_error()
                || status == reqwest::StatusCode::REQUEST_TIMEOUT
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            {
                let asked = matches!(
                    status,
                    reqwest::StatusCode::TOO_MANY_REQUESTS
                        | reqwest::StatusCode::SERVICE_UNAVAILABLE
                )
                .then(|| retry_after(response.headers(), SystemTime::now()))
                .flatten();
                Attempt::Retry(format!("HTTP {status}"), asked)
            } else {
                Attempt::Final(format!("HTTP {status}"))
            }
        }
        // The URL may carry a token: never in logs.
        Err(e) => Attempt::Retry(e.without_url().to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_tampering_and_replays() {
        let secret = Secret::new("whsec");
        let now = SystemTime::now();
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let header = sign(&secret, t, b"{\"a\":1}");
        let tolerance = Duration::from_secs(300);
        assert_eq!(
            verify(&secret, &header, b"{\"a\":1}", now, tolerance),
            Ok(())
        );
        assert_eq!(
            verify(&secret, &header, b"{\"a\":2}", now, tolerance),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&Secret::new("other"), &header, b"{\"a\":1}", now, tolerance),
            Err(VerifyError::Mismatch)
        );
        let later = now + Duration::from_secs(301);
        assert!(matches!(
            verify(&secret, &header, b"{\"a\":1}", later, tolerance),
            Err(VerifyError::Stale { .. })
        ));
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert!(matches!(
                verify(&secret, bad, b"", now, tolerance),
                Err(VerifyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            retry_after(&h, now)
        };
        assert_eq!(with("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            with(&httpdate::fmt_http_date(now + Duration::from_secs(90))),
            Some(Duration::from_secs(90))
        );
        // A date in the past: retry now.
        assert_eq!(
            with(&httpdate::fmt_http_date(now - Duration::from_secs(5))),
            Some(Duration::ZERO)
        );
        assert_eq!(with("999999999"), Some(WEBHOOK_RETRY_AFTER_MAX));
        assert_eq!(with("soon"), None);
        assert_eq!(with("-3"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_mac_is_hmac_sha256() {
        // The classic HMAC-SHA256 test vector.
        let mut mac = new_mac(&Secret::new("key"));
        mac.update(b"The quick brown fox jumps over the lazy dog");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

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
