//! The signer step: a trusted service performs TikTok's signed first fetch and hands back
//! the raw `ProtoMessageFetchResult` and the cookies the socket handshake needs.
//!
//! [`Signer`] is the seam; [`EulerSigner`] speaks Euler Stream's `GET /webcast/fetch`
//! contract (also spoken by self-hosted signers). [`SignerBudget`] is shared by every
//! bridge of a process so together they respect the signer's limits.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;

use super::error::SignerError;
use super::transport::{describe, read_limited};
use crate::limits::{MAX_SIGNER_BODY_BYTES, SIGNER_BUDGET_WINDOW, SIGNER_DEFAULT_RETRY_AFTER};
use crate::rate::Gcra;

/// What to sign.
#[derive(Clone)]
pub struct SignRequest {
    /// The live room.
    pub room_id: u64,
    /// The user agent the signer must use; the socket handshake reuses it exactly.
    pub user_agent: String,
    /// A `Cookie`-style session header (`sessionid=..; tt-target-idc=..`) to sign with,
    /// when the user allowed sending it. Secret.
    pub session_cookie: Option<String>,
}

impl fmt::Debug for SignRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignRequest")
            .field("room_id", &self.room_id)
            .field("user_agent", &self.user_agent)
            .field(
                "session_cookie",
                &self.session_cookie.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The signer's answer.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedFetch {
    /// The raw first `ProtoMessageFetchResult` (decode with `decode_fetch_result`).
    pub body: Bytes,
    /// TikTok cookies to replay on the socket (`ttwid` is the essential one).
    pub cookies: Vec<(String, String)>,
    /// The room id the signer used (`X-Room-Id`), when it says.
    pub room_id: Option<u64>,
}

impl fmt::Debug for SignedFetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.cookies.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("SignedFetch")
            .field("body_len", &self.body.len())
            .field("cookie_names", &names)
            .field("room_id", &self.room_id)
            .finish()
    }
}

/// Something that can produce a signed first fetch.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Fetches the first fetch result for a live room.
    async fn fetch(&self, request: &SignRequest) -> Result<SignedFetch, SignerError>;
}

/// Euler Stream's `GET {base}/webcast/fetch` (or any server with the same contract).
#[derive(Clone)]
pub struct EulerSigner {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    client: String,
}

impl fmt::Debug for EulerSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EulerSigner")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("client", &self.client)
            .finish()
    }
}

impl EulerSigner {
    /// A signer at `base_url` (e.g. `https://api.eulerstream.com`) with an optional API key
    /// and the `client` id to report.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        api_key: Option<String>,
        client: &str,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.is_empty()),
            client: client.to_string(),
        }
    }
}

#[async_trait]
impl Signer for EulerSigner {
    async fn fetch(&self, request: &SignRequest) -> Result<SignedFetch, SignerError> {
        let room_id = request.room_id.to_string();
        let mut call = self
            .http
            .get(format!("{}/webcast/fetch", self.base_url))
            .query(&[
                ("client", self.client.as_str()),
                ("room_id", room_id.as_str()),
                ("user_agent", request.user_agent.as_str()),
                ("client_enter", "true"),
            ])
            .header("User-Agent", request.user_agent.as_str());
        if let Some(key) = &self.api_key {
            call = call.header("x-api-key", key);
        }
        if let Some(cookie) = &request.session_cookie {
            call = call.header("x-cookie-header", cookie);
        }
        let response = call
            .send()
            .await
            .map_err(|e| SignerError::Transport(describe(e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_limited(response, MAX_SIGNER_BODY_BYTES)
            .await
            .map_err(SignerError::Transport)?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match status {
            200 => {}
            429 => {
                let (label, reset_at) = rate_limit_body(&body);
                let retry_after = header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .or_else(|| reset_at.and_then(until_epoch))
                    .unwrap_or(SIGNER_DEFAULT_RETRY_AFTER);
                return Err(SignerError::RateLimited { label, retry_after });
            }
            401..=403 => {
                return Err(SignerError::Config {
                    status,
                    message: error_message(&body),
                });
            }
            _ => {
                return Err(SignerError::Unavailable {
                    status,
                    message: error_message(&body),
                });
            }
        }
        if body.is_empty() {
            return Err(SignerError::EmptyBody);
        }
        let cookies = header("x-set-tt-cookie")
            .map(|v| parse_set_cookie(&v))
            .unwrap_or_default();
        let room_id = header("x-room-id").and_then(|v| v.trim().parse().ok());
        Ok(SignedFetch {
            body,
            cookies,
            room_id,
        })
    }
}

/// `{message, limit_label, reset_at}` from a 429 body.
fn rate_limit_body(body: &[u8]) -> (String, Option<f64>) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let label = json
        .get("limit_label")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
        .to_string();
    let reset_at = json.get("reset_at").and_then(serde_json::Value::as_f64);
    (label, reset_at)
}

/// Time until a Unix timestamp given in seconds or milliseconds.
fn until_epoch(at: f64) -> Option<Duration> {
    let at_secs = if at > 1e12 { at / 1000.0 } else { at };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let wait = (at_secs - now).clamp(1.0, 86_400.0);
    Some(Duration::from_secs_f64(wait))
}

fn error_message(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match json.get("message").and_then(|v| v.as_str()) {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

/// Parses a `Set-Cookie`-style string (`ttwid=..; Path=/; Domain=.., tt_csrf_token=..`)
/// into `(name, value)` pairs, skipping the attributes.
pub fn parse_set_cookie(header: &str) -> Vec<(String, String)> {
    const ATTRIBUTES: [&str; 8] = [
        "path", "domain", "expires", "max-age", "secure", "httponly", "samesite", "priority",
    ];
    let mut cookies: Vec<(String, String)> = Vec::new();
    for part in header.split(';').flat_map(|p| p.split(", ")) {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty()
            || name.contains(' ')
            || ATTRIBUTES.contains(&name.to_ascii_lowercase().as_str())
        {
            continue;
        }
        cookies.retain(|(n, _)| n != name);
        cookies.push((name.to_string(), value.trim().to_string()));
    }
    cookies
}

/// A signer-call budget shared (by cloning) between every bridge of a process: at most
/// `per_minute` calls in any minute, and nothing at all until a 429's reset has passed.
///
/// The per-minute cap is a governor GCRA quota ([`crate::rate::Gcra`], on tokio's clock):
/// a burst of half the cap (bridges starting together each get their first call at once),
/// then one call per [`crate::rate::sliding_safe_period`], the period with which burst and
/// steady calls never add up to more than `per_minute` in any 60 s.
#[derive(Debug, Clone)]
pub struct SignerBudget {
    inner: Arc<Mutex<BudgetState>>,
}

/// The signer budget's burst is its cap divided by this (rounded up).
pub const SIGNER_BURST_DIVISOR: u32 = 2;

#[derive(Debug)]
struct BudgetState {
    /// `None`: unlimited.
    quota: Option<Gcra>,
    blocked_until: Option<Instant>,
}

impl SignerBudget {
    /// A budget of `per_minute` calls per rolling minute (0 means unlimited).
    pub fn new(per_minute: u32) -> Self {
        let quota = (per_minute > 0).then(|| {
            Gcra::at_most(
                per_minute,
                per_minute.div_ceil(SIGNER_BURST_DIVISOR),
                SIGNER_BUDGET_WINDOW,
            )
        });
        Self {
            inner: Arc::new(Mutex::new(BudgetState {
                quota,
                blocked_until: None,
            })),
        }
    }

    /// Takes one call from the budget now, or says how long to wait before asking again.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = state.blocked_until {
            if until > now {
                return Err(until - now);
            }
            state.blocked_until = None;
        }
        match &state.quota {
            Some(quota) => quota.try_take().map_err(|at| at - now),
            None => Ok(()),
        }
    }

    /// The signer said 429: nobody sharing this budget calls it before `retry_after`.
    pub fn rate_limited(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        state.blocked_until = Some(state.blocked_until.map_or(until, |u| u.max(until)));
    }
}

impl Default for SignerBudget {
    fn default() -> Self {
        Self::new(crate::limits::SIGNER_CALLS_PER_MINUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_strings_parse() {
        let cookies = parse_set_cookie(
            "ttwid=1%7Cabc; Path=/; Domain=.tiktok.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly, tt_csrf_token=xyz; Secure",
        );
        assert_eq!(
            cookies,
            [
                ("ttwid".to_string(), "1%7Cabc".to_string()),
                ("tt_csrf_token".to_string(), "xyz".to_string())
            ]
        );
        assert!(parse_set_cookie("").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn budget_is_shared_and_honours_rate_limits() {
        let budget = SignerBudget::new(2);
        let other = budget.clone();
        // Burst 1, then one per 60 s / 2 (+1 ms): never 3 in a minute.
        assert!(budget.try_acquire().is_ok());
        let wait = other.try_acquire().unwrap_err();
        assert_eq!(wait, Duration::from_millis(30_001));
        tokio::time::advance(wait).await;
        assert!(other.try_acquire().is_ok());
        assert!(budget.try_acquire().is_err());
        tokio::time::advance(Duration::from_millis(30_001)).await;
        assert!(other.try_acquire().is_ok());
        other.rate_limited(Duration::from_secs(300));
        assert_eq!(budget.try_acquire().unwrap_err(), Duration::from_secs(300));
        tokio::time::advance(Duration::from_secs(300)).await;
        assert!(budget.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_never_allows_more_than_its_cap_in_any_minute() {
        let budget = SignerBudget::new(10);
        let mut calls = Vec::new();
        let start = Instant::now();
        while Instant::now() - start < Duration::from_secs(600) {
            match budget.try_acquire() {
                Ok(()) => calls.push(Instant::now()),
                Err(wait) => tokio::time::advance(wait).await,
            }
        }
        let minute = Duration::from_secs(60);
        for (i, t) in calls.iter().enumerate() {
            let n = calls[i..].iter().take_while(|u| **u - *t < minute).count();
            assert!(n <= 10, "{n} signer calls within a minute");
        }
        // Half the cap at once, and close to the cap over the long run.
        assert_eq!(calls.iter().filter(|t| **t == start).count(), 5);
        assert!(calls.len() >= 55, "{}", calls.len());
    }

    #[test]
    fn rate_limit_bodies_name_their_label() {
        let (label, reset) =
            rate_limit_body(br#"{"message":"slow","limit_label":"rate_limit_account_day"}"#);
        assert_eq!(label, "rate_limit_account_day");
        assert!(reset.is_none());
        assert_eq!(rate_limit_body(b"garbage").0, "unknown");
    }
}
