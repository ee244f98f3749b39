//! A fake Twitch Helix API on 127.0.0.1: `GET /helix/users?login=...` and `POST
//! /helix/chat/messages`, speaking the real wire format.
//!
//! Bearer tokens are checked against the OAuth stand-in ([`super::oauth::TokenBook`]): an
//! unknown or expired token is `401`, a user token without `user:write:chat` is `401`
//! (Twitch's "Missing scope"), an app token is accepted (Twitch then wants `user:bot` of the
//! sender and `channel:bot` of the broadcaster, which the stand-in takes as granted). Without
//! a book every non-empty token is accepted. The next answers to `chat/messages` can be
//! scripted ([`HelixAnswer`]): `is_sent: false` with a drop reason, a `429` with
//! `Ratelimit-Reset`, any status. Every request is recorded with its arrival instant.
//!
//! Point `[twitch] helix_base_url` at [`FakeHelix::base_url`].

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::oauth::TokenBook;
use crate::auth::{Clock, SystemClock};

/// The fake's fixed facts.
#[derive(Clone)]
pub struct FakeHelixConfig {
    /// The only `Client-Id` it accepts.
    pub client_id: String,
    /// The users it knows: login -> id.
    pub users: BTreeMap<String, String>,
    /// Where bearer tokens are checked (`None`: any non-empty token).
    pub tokens: Option<TokenBook>,
    /// The wall clock `Ratelimit-Reset` is written with (tests under paused time pass
    /// [`crate::auth::TokioClock`]).
    pub clock: Arc<dyn Clock>,
}

impl Default for FakeHelixConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-client-id".into(),
            users: BTreeMap::new(),
            tokens: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A scripted answer to the next `POST /chat/messages`.
#[derive(Debug, Clone)]
pub enum HelixAnswer {
    /// `200` with `is_sent: true` (what an unscripted request gets).
    Sent,
    /// `200` with `is_sent: false` and this drop reason.
    NotSent {
        /// `drop_reason.code` (e.g. `msg_duplicate`).
        code: String,
        /// `drop_reason.message`.
        message: String,
    },
    /// `429` with `Ratelimit-Reset` this far in the future (by the config's clock).
    RateLimited {
        /// Until the bucket is full again.
        reset_in: Duration,
    },
    /// Any status with this JSON body.
    Status(u16, Value),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct HelixRequest {
    /// When it arrived.
    pub at: Instant,
    /// `users` or `chat/messages`.
    pub endpoint: &'static str,
    /// The `Authorization` header.
    pub authorization: String,
    /// The `Client-Id` header.
    pub client_id: String,
    /// The JSON body (`chat/messages`), or the query's `login`s as a JSON array (`users`).
    pub body: Value,
    /// The status it answered.
    pub status: u16,
    /// `chat/messages` answered 200: its `is_sent`.
    pub is_sent: Option<bool>,
}

#[derive(Default)]
struct FakeState {
    answers: VecDeque<HelixAnswer>,
    requests: Vec<HelixRequest>,
    counter: u64,
}

#[derive(Clone)]
struct Shared {
    config: Arc<FakeHelixConfig>,
    state: Arc<Mutex<FakeState>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeHelix {
    addr: SocketAddr,
    shared: Shared,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for FakeHelix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeHelix")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeHelix {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl FakeHelix {
    /// Starts the fake on 127.0.0.1 (a free port).
    pub async fn start(config: FakeHelixConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            config: Arc::new(config),
            state: Arc::default(),
        };
        let app = Router::new()
            .route("/helix/users", get(users))
            .route("/helix/chat/messages", post(send_message))
            .with_state(shared.clone());
        let shutdown = crate::standin::serve_http(listener, app);
        Ok(Self {
            addr,
            shared,
            shutdown,
        })
    }

    /// The Helix base URL to configure: `http://127.0.0.1:PORT/helix`.
    pub fn base_url(&self) -> String {
        format!("http://{}/helix", self.addr)
    }

    /// The next `chat/messages` requests get these answers, in order (then `is_sent: true`).
    pub fn script(&self, answers: impl IntoIterator<Item = HelixAnswer>) {
        self.shared.lock().answers.extend(answers);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<HelixRequest> {
        self.shared.lock().requests.clone()
    }

    /// The requests to `endpoint` (`users`, `chat/messages`).
    pub fn requests_to(&self, endpoint: &str) -> Vec<HelixRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == endpoint)
            .collect()
    }

    /// The messages it accepted (`is_sent: true`), in order: (arrival, broadcaster id, text).
    pub fn sent(&self) -> Vec<(Instant, String, String)> {
        self.requests_to("chat/messages")
            .into_iter()
            .filter(|r| r.is_sent == Some(true))
            .map(|r| {
                let text = |k: &str| r.body[k].as_str().unwrap_or_default().to_owned();
                (r.at, text("broadcaster_id"), text("message"))
            })
            .collect()
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn error(status: StatusCode, message: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    (
        status,
        axum::Json(json!({"error": reason, "status": status.as_u16(), "message": message})),
    )
        .into_response()
}

/// `None` when the request may go on; else the error to answer.
fn refuse(shared: &Shared, headers: &HeaderMap, needs_chat_scope: bool) -> Option<Response> {
    if header(headers, "client-id") != shared.config.client_id {
        return Some(error(StatusCode::UNAUTHORIZED, "Client ID and OAuth token do not match"));
    }
    let auth = header(headers, "authorization");
    let Some(token) = auth.strip_prefix("Bearer ").filter(|t| !t.is_empty()) else {
        return Some(error(StatusCode::UNAUTHORIZED, "OAuth token is missing"));
    };
    let Some(book) = &shared.config.tokens else {
        return None;
    };
    match book.lookup(token) {
        None => Some(error(StatusCode::UNAUTHORIZED, "Invalid OAuth token")),
        Some(facts)
            if needs_chat_scope
                && !facts.app
                && !facts.scopes.iter().any(|s| s == "user:write:chat") =>
        {
            Some(error(StatusCode::UNAUTHORIZED, "Missing scope: user:write:chat"))
        }
        Some(_) => None,
    }
}

fn record(shared: &Shared, endpoint: &'static str, headers: &HeaderMap, body: Value, status: u16) {
    record_sent(shared, endpoint, headers, body, status, None);
}

fn record_sent(
    shared: &Shared,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: Value,
    status: u16,
    is_sent: Option<bool>,
) {
    shared.lock().requests.push(HelixRequest {
        at: Instant::now(),
        endpoint,
        authorization: header(headers, "authorization"),
        client_id: header(headers, "client-id"),
        body,
        status,
        is_sent,
    });
}

async fn users(State(s): State<Shared>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let logins: Vec<String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "login")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect();
    if let Some(refused) = refuse(&s, &headers, false) {
        record(&s, "users", &headers, json!(logins), refused.status().as_u16());
        return refused;
    }
    record(&s, "users", &headers, json!(logins), 200);
    let data: Vec<Value> = logins
        .iter()
        .filter_map(|login| {
            s.config.users.get(login).map(|id| {
                json!({"id": id, "login": login, "display_name": login, "type": "", "broadcaster_type": ""})
            })
        })
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

async fn send_message(
    State(s): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(refused) = refuse(&s, &headers, true) {
        record(&s, "chat/messages", &headers, body, refused.status().as_u16());
        return refused;
    }
    let (answer, id) = {
        let mut state = s.lock();
        state.counter += 1;
        (state.answers.pop_front(), state.counter)
    };
    let mut is_sent = None;
    let response = match answer {
        None | Some(HelixAnswer::Sent) => {
            is_sent = Some(true);
            axum::Json(json!({"data": [{"message_id": format!("msg{id}"), "is_sent": true, "drop_reason": null}]}))
                .into_response()
        }
        Some(HelixAnswer::NotSent { code, message }) => {
            is_sent = Some(false);
            axum::Json(json!({"data": [{"message_id": "", "is_sent": false,
                "drop_reason": {"code": code, "message": message}}]}))
            .into_response()
        }
        Some(HelixAnswer::RateLimited { reset_in }) => {
            let reset = s.config.clock.unix_now() + reset_in.as_secs();
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            let h = r.headers_mut();
            h.insert("ratelimit-limit", HeaderValue::from_static("800"));
            h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
                h.insert("ratelimit-reset", v);
            }
            r
        }
        Some(HelixAnswer::Status(status, value)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(value),
        )
            .into_response(),
    };
    let status = response.status().as_u16();
    record_sent(&s, "chat/messages", &headers, body, status, is_sent);
    response
}
