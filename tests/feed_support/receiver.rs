//! A webhook receiver on 127.0.0.1 (axum) that checks every signature itself
//! (HMAC-SHA256 computed here, not by the code under test), answers as scripted (500s,
//! answers lost past the sender's timeout, 4xx, 429/503 with `Retry-After`) and keeps each
//! event by its idempotency key. Shared by the webhook tests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tiktwitch::feed::webhook::{WebhookStatsSnapshot, verify};
use tiktwitch::feed::{Hub, WebhookSettings};
use tiktwitch::secret::Secret;

pub const SECRET: &str = "whsec_test_key_0123456789";

#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Ok,
    Fail500,
    /// Takes the event, then answers long after the sender gave up (the answer is lost).
    AcceptThenStall,
    Refuse400,
    /// 429 with `Retry-After: <secs>`.
    TooMany(u64),
    /// 503 with `Retry-After: <HTTP-date this many seconds ahead>`.
    UnavailableUntil(u64),
}

#[derive(Default)]
pub struct Receiver {
    pub script: Mutex<VecDeque<Answer>>,
    pub always: Mutex<Option<Answer>>,
    /// Requests seen, bad signatures among them.
    pub requests: Mutex<u64>,
    pub bad_signatures: Mutex<Vec<String>>,
    /// Each key's body as first taken, in the order taken.
    pub taken: Mutex<Vec<(String, Bytes)>>,
    /// Retries of a key already taken (answered 200 again, not taken twice).
    pub replays: Mutex<u64>,
    /// A retry whose body differed from the first attempt's.
    pub changed_bodies: Mutex<Vec<String>>,
    /// When each request arrived (virtual time).
    pub arrivals: Mutex<Vec<tokio::time::Instant>>,
}

impl Receiver {
    fn take_once(&self, key: &str, body: &Bytes) {
        let mut taken = self.taken.lock().unwrap();
        if let Some((_, first)) = taken.iter().find(|(k, _)| k == key) {
            *self.replays.lock().unwrap() += 1;
            if first != body {
                self.changed_bodies.lock().unwrap().push(key.to_owned());
            }
        } else {
            taken.push((key.to_owned(), body.clone()));
        }
    }
}

/// The receiver's own check: `t=<secs>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
fn signature_ok(header: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let Ok(t_secs) = t.parse::<u64>() else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(t_secs) > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex == v1
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    *r.requests.lock().unwrap() += 1;
    r.arrivals.lock().unwrap().push(tokio::time::Instant::now());
    let signature = headers
        .get("x-tiktwitch-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let library_ok = verify(
        &Secret::new(SECRET),
        signature,
        &body,
        SystemTime::now(),
        tiktwitch::limits::WEBHOOK_SIGNATURE_TOLERANCE,
    )
    .is_ok();
    if !signature_ok(signature, &body) || !library_ok || key.is_empty() {
        r.bad_signatures.lock().unwrap().push(signature.to_owned());
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let answer = r
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or(*r.always.lock().unwrap())
        .unwrap_or(Answer::Ok);
    match answer {
        Answer::Ok => {
            r.take_once(&key, &body);
            StatusCode::OK.into_response()
        }
        Answer::Fail500 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Answer::Refuse400 => StatusCode::BAD_REQUEST.into_response(),
        Answer::AcceptThenStall => {
            r.take_once(&key, &body);
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::OK.into_response()
        }
        Answer::TooMany(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
        )
            .into_response(),
        Answer::UnavailableUntil(secs) => {
            // The wall clock (an HTTP-date is wall time), rounded up to whole seconds.
            let at = SystemTime::now() + Duration::from_secs(secs + 1);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", httpdate::fmt_http_date(at))],
            )
                .into_response()
        }
    }
}

pub async fn receiver() -> (Arc<Receiver>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (receiver_on(listener), addr)
}

/// The receiver, answering on `listener`.
pub fn receiver_on(listener: tokio::net::TcpListener) -> Arc<Receiver> {
    let state = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    state
}

pub fn hook(addr: SocketAddr) -> WebhookSettings {
    WebhookSettings {
        url: format!("http://{addr}/hook"),
        secret: Secret::new(SECRET),
        timeout: Duration::from_secs(2),
        max_attempts: 10,
        max_backoff: Duration::from_secs(8),
        ..WebhookSettings::default()
    }
}

/// Waits (virtual time) until every event offered is settled.
pub async fn settled(hub: &Hub, offered: u64) -> WebhookStatsSnapshot {
    for _ in 0..3_600 {
        let stats = hub.webhook_stats()[0].1;
        if stats.delivered + stats.dead_lettered + stats.dropped_queue_full >= offered
            && stats.queued == 0
        {
            return stats;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("deliveries never settled: {:?}", hub.webhook_stats());
}

pub fn keys(r: &Receiver) -> Vec<String> {
    r.taken
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect()
}
