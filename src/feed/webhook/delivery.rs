//! One webhook's sender task: drains its queue in order, batches, signs, POSTs within the
//! webhook's rate, retries with back-off, and dead-letters what fails every attempt.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::dead_letter::DeadLetter;
use super::delivery_rate::DeliveryRate;
use super::registry::{Dirty, HookState};
use super::signature::sign_now;
use super::{ATTEMPT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, WebhookSettings};
use crate::feed::Envelope;
use crate::limits::WEBHOOK_RETRY_AFTER_MAX;

/// What one sender task needs.
#[derive(Clone)]
pub(crate) struct Sender {
    pub(crate) settings: Arc<WebhookSettings>,
    pub(crate) state: Arc<HookState>,
    pub(crate) rate: Arc<DeliveryRate>,
    /// `None` when the HTTP client could not start (every delivery is dead-lettered).
    pub(crate) client: Option<reqwest::Client>,
    /// Told when a dead letter was added, so the state file is written.
    pub(crate) dirty: Arc<Dirty>,
}

/// The HTTP client every webhook shares (each POST sets its own timeout).
pub(crate) fn http_client() -> Option<reqwest::Client> {
    let built = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tiktwitch/", env!("CARGO_PKG_VERSION")))
        .build();
    match built {
        Ok(client) => Some(client),
        Err(e) => {
            error!(error = %e, "the webhooks' HTTP client cannot start; their events are dead-lettered");
            None
        }
    }
}

/// Drains the queue until it closes (the webhook was changed, or shutdown), or until
/// `stop` (the webhook was removed, or the grace ran out).
pub(crate) async fn deliver_all(
    sender: Sender,
    mut queue: mpsc::Receiver<Envelope>,
    stop: CancellationToken,
) {
    let settings = sender.settings.clone();
    loop {
        let first = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            next = queue.recv() => match next {
                Some(first) => first,
                None => return,
            },
        };
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
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = sender.deliver(&batch) => {}
        }
    }
}

#[derive(Serialize)]
struct BatchBody<'a> {
    events: &'a [Envelope],
}

/// How one attempt went.
pub(crate) enum Attempt {
    Delivered,
    /// Try again: why, and the wait the receiver asked for (`Retry-After`), if any.
    Retry(String, Option<Duration>),
    Final(String),
}

impl Attempt {
    /// Why it failed (`None`: delivered).
    pub(crate) fn failure(self) -> Option<String> {
        match self {
            Attempt::Delivered => None,
            Attempt::Retry(why, _) | Attempt::Final(why) => Some(why),
        }
    }
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

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Sender {
    async fn deliver(&self, batch: &[Envelope]) {
        let stats = &self.state.stats;
        let n = batch.len() as u64;
        let (body, key) = match batch {
            [one] if self.settings.batch_max == 1 => {
                (serde_json::to_string(one), one.idempotency_key())
            }
            _ => (
                serde_json::to_string(&BatchBody { events: batch }),
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
        let first_seq = batch.first().map_or(0, |e| e.seq);
        let body = match body.map(RawValue::from_string) {
            Ok(Ok(body)) => body,
            Ok(Err(e)) | Err(e) => {
                error!(error = %e, "an event could not be written as JSON; dropped");
                stats.settle(n, &stats.dead_lettered);
                return;
            }
        };
        let mut delay = self.settings.min_backoff;
        let mut attempt = 1;
        loop {
            let outcome = self.post(body.get().as_bytes(), &key, attempt).await;
            let why = match outcome {
                Attempt::Delivered => {
                    stats.posts.fetch_add(1, Ordering::Relaxed);
                    stats.settle(n, &stats.delivered);
                    return;
                }
                Attempt::Final(why) => {
                    warn!(key, error = %why, events = n, "webhook refused the delivery; dead-lettered");
                    self.dead_letter(batch.len(), first_seq, key, attempt, why, body);
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
            if attempt >= self.settings.max_attempts {
                warn!(key, error = %why, attempts = attempt, events = n, "webhook delivery failed every attempt; dead-lettered");
                self.dead_letter(batch.len(), first_seq, key, attempt, why, body);
                return;
            }
            stats.retries.fetch_add(1, Ordering::Relaxed);
            warn!(key, error = %why, attempt, retry_in = ?delay, "webhook delivery failed; retrying");
            tokio::time::sleep(delay).await;
            delay = delay
                .saturating_mul(2)
                .clamp(self.settings.min_backoff, self.settings.max_backoff);
            attempt += 1;
        }
    }

    fn dead_letter(
        &self,
        events: usize,
        first_seq: u64,
        key: String,
        attempts: u32,
        error: String,
        body: Box<RawValue>,
    ) {
        let stats = &self.state.stats;
        stats.settle(events as u64, &stats.dead_lettered);
        self.state.dead_letters().push(DeadLetter {
            id: 0,
            key,
            events,
            first_seq,
            failed_at: unix_now(),
            attempts,
            error,
            body,
        });
        self.dirty.mark();
    }

    /// One POST of `body`, within the webhook's rate.
    pub(crate) async fn post(&self, body: &[u8], key: &str, attempt: u32) -> Attempt {
        let stats = &self.state.stats;
        if self.rate.until_ready().await {
            stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        stats.attempts.fetch_add(1, Ordering::Relaxed);
        let Some(client) = &self.client else {
            return Attempt::Final("the HTTP client could not start".into());
        };
        let sent = client
            .post(&self.settings.url)
            .timeout(self.settings.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign_now(&self.settings.secret, body))
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
