//! A fake Twitch OAuth server (`id.twitch.tv/oauth2`) on 127.0.0.1, speaking the real wire
//! format: `/device`, `/token` (device-code, refresh-token and client-credentials grants,
//! with refresh-token rotation), `/validate`, `/revoke`. Its answers can be scripted (pending N times,
//! `slow_down`, denied, expired, refused refreshes, 401 on validate, server errors) and it
//! records every request.
//!
//! Point [`crate::auth::AuthSettings::oauth_url`] at [`FakeOAuth::base_url`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How the fake answers one device-code poll before it approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// `400 authorization_pending`.
    Pending,
    /// `400 slow_down`.
    SlowDown,
    /// `400 access_denied`.
    Denied,
    /// `400 expired_token` (and the code is forgotten).
    Expired,
}

/// The fake's fixed facts.
#[derive(Debug, Clone)]
pub struct FakeOAuthConfig {
    /// The only client id it accepts.
    pub client_id: String,
    /// If set, refreshes must carry this client secret.
    pub client_secret: Option<String>,
    /// The account every token belongs to.
    pub login: String,
    /// Its user id.
    pub user_id: String,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Device-code poll interval it announces (seconds).
    pub device_interval: u64,
    /// Device-code lifetime it announces (seconds).
    pub device_expires_in: u64,
    /// If set, grant these scopes whatever was asked (to test missing scopes).
    pub grant_scopes: Option<Vec<String>>,
}

impl Default for FakeOAuthConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-client-id".to_string(),
            client_secret: None,
            login: "tiktwitch_bot".to_string(),
            user_id: "424242".to_string(),
            access_ttl: Duration::from_secs(4 * 3600),
            device_interval: 5,
            device_expires_in: 1800,
            grant_scopes: None,
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path after `/oauth2/` (`device`, `token`, `validate`, `revoke`).
    pub endpoint: &'static str,
    /// Form and query parameters.
    pub params: BTreeMap<String, String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

struct AccessEntry {
    expires: Instant,
    scopes: Vec<String>,
    refresh: Option<String>,
    /// An app access token (client-credentials grant): no user, no scopes.
    app: bool,
}

/// What a stand-in API (the Helix stand-in) learns of a bearer token from this OAuth
/// stand-in: valid or not, whose kind, which scopes.
#[derive(Clone)]
pub struct TokenBook {
    state: Arc<Mutex<FakeState>>,
}

/// A valid token, as [`TokenBook::lookup`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    /// An app access token (client-credentials grant).
    pub app: bool,
    /// Its scopes (none for an app token).
    pub scopes: Vec<String>,
}

impl TokenBook {
    /// The facts of `access_token` if it is valid now.
    pub fn lookup(&self, access_token: &str) -> Option<TokenFacts> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .access
            .get(access_token)
            .filter(|a| a.expires > Instant::now())
            .map(|a| TokenFacts {
                app: a.app,
                scopes: a.scopes.clone(),
            })
    }
}

#[derive(Default)]
struct FakeState {
    device_script: VecDeque<DevicePoll>,
    devices: HashMap<String, Vec<String>>,
    access: HashMap<String, AccessEntry>,
    refresh: HashMap<String, Vec<String>>,
    validate_failures: u32,
    refresh_server_errors: u32,
    refuse_refreshes: bool,
    requests: Vec<RecordedRequest>,
    issued: Vec<String>,
    counter: u64,
}

/// The running fake. Dropping it stops the server.
pub struct FakeOAuth {
    addr: SocketAddr,
    config: Arc<FakeOAuthConfig>,
    state: Arc<Mutex<FakeState>>,
    shutdown: CancellationToken,
}

#[derive(Clone)]
struct Shared {
    config: Arc<FakeOAuthConfig>,
    state: Arc<Mutex<FakeState>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FakeOAuth {
    /// Starts the fake on 127.0.0.1 (a free port).
    pub async fn start(config: FakeOAuthConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(FakeState::default())),
        };
        let app = Router::new()
            .route("/oauth2/device", post(device))
            .route("/oauth2/token", post(token))
            .route("/oauth2/validate", get(validate))
            .route("/oauth2/revoke", post(revoke))
            .with_state(shared.clone());
        let shutdown = crate::standin::serve_http(listener, app);
        Ok(Self {
            addr,
            config: shared.config,
            state: shared.state,
            shutdown,
        })
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OAuth base URL to configure: `http://127.0.0.1:PORT/oauth2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/oauth2", self.addr)
    }

    /// The config it runs with.
    pub fn config(&self) -> &FakeOAuthConfig {
        &self.config
    }

    /// Device-code polls are answered with these, in order, before the next one approves.
    pub fn script_device(&self, polls: impl IntoIterator<Item = DevicePoll>) {
        self.lock().device_script.extend(polls);
    }

    /// The next `n` validations answer 401.
    pub fn fail_next_validations(&self, n: u32) {
        self.lock().validate_failures += n;
    }

    /// The next `n` refreshes answer 503.
    pub fn fail_next_refreshes_with_server_error(&self, n: u32) {
        self.lock().refresh_server_errors += n;
    }

    /// From now on every refresh token is refused (the user disconnected the app, or 30
    /// days passed).
    pub fn refuse_all_refreshes(&self) {
        self.lock().refuse_refreshes = true;
    }

    /// Every access token issued so far stops working (expired or revoked), refresh
    /// tokens stay good.
    pub fn expire_access_tokens(&self) {
        self.lock().access.clear();
    }

    /// Issues a token pair as if a login had happened before (for seeding a store).
    pub fn mint(&self, scopes: &[&str]) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut state = self.lock();
        let (access, refresh) = issue(&self.config, &mut state, scopes);
        (access, refresh)
    }

    /// The token book a stand-in API checks bearer tokens against.
    pub fn tokens(&self) -> TokenBook {
        TokenBook {
            state: self.state.clone(),
        }
    }

    /// Whether `refresh_token` would be accepted now.
    pub fn is_refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.lock().refresh.contains_key(refresh_token)
    }

    /// Whether `access_token` would validate now.
    pub fn is_access_token_valid(&self, access_token: &str) -> bool {
        self.lock()
            .access
            .get(access_token)
            .is_some_and(|a| a.expires > Instant::now())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many requests hit `endpoint` (`device`, `token`, `validate`, `revoke`).
    pub fn count(&self, endpoint: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    /// Every secret value it ever handed out (device codes, access and refresh tokens), for
    /// tests that check none of them leaks.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.lock().issued.clone()
    }
}

impl std::fmt::Debug for FakeOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Its state is full of tokens; tests print requests explicitly when they want them.
        f.debug_struct("FakeOAuth")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeOAuth {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn fresh(state: &mut FakeState, kind: &str) -> String {
    state.counter += 1;
    let value = format!("{kind}{:03}{:016x}", state.counter, rand::random::<u64>());
    state.issued.push(value.clone());
    value
}

fn issue(config: &FakeOAuthConfig, state: &mut FakeState, scopes: Vec<String>) -> (String, String) {
    let access = fresh(state, "fakeat");
    let refresh = fresh(state, "fakert");
    state.access.insert(
        access.clone(),
        AccessEntry {
            expires: Instant::now() + config.access_ttl,
            scopes: scopes.clone(),
            refresh: Some(refresh.clone()),
            app: false,
        },
    );
    state.refresh.insert(refresh.clone(), scopes);
    (access, refresh)
}

fn params(body: &str, query: Option<&str>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for part in [query.unwrap_or(""), body] {
        out.extend(url::form_urlencoded::parse(part.as_bytes()).into_owned());
    }
    out
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"status": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn record(
    state: &mut FakeState,
    method: &'static str,
    endpoint: &'static str,
    params: &BTreeMap<String, String>,
    headers: &HeaderMap,
) {
    state.requests.push(RecordedRequest {
        method,
        endpoint,
        params: params.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
}

fn token_json(
    config: &FakeOAuthConfig,
    access: String,
    refresh: String,
    scopes: &[String],
) -> Response {
    axum::Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": config.access_ttl.as_secs(),
        "scope": scopes,
        "token_type": "bearer",
    }))
    .into_response()
}

async fn device(
    State(s): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    let p = params(&body, q.as_deref());
    let mut state = s.lock();
    record(&mut state, "POST", "device", &p, &headers);
    if p.get("client_id") != Some(&s.config.client_id) {
        return error(StatusCode::BAD_REQUEST, "invalid client");
    }
    let scopes: Vec<String> = p
        .get("scopes")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let code = fresh(&mut state, "fakedc");
    state.devices.insert(code.clone(), scopes);
    let user_code = format!("FAKE{:04}", state.counter % 10_000);
    axum::Json(json!({
        "device_code": code,
        "expires_in": s.config.device_expires_in,
        "interval": s.config.device_interval,
        "user_code": user_code,
        "verification_uri": format!("https://www.twitch.tv/activate?public=true&device-code={user_code}"),
    }))
    .into_response()
}

async fn token(
    State(s): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    let p = params(&body, q.as_deref());
    let mut state = s.lock();
    record(&mut state, "POST", "token", &p, &headers);
    if p.get("client_id") != Some(&s.config.client_id) {
        return error(StatusCode::BAD_REQUEST, "invalid client");
    }
    match p.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let code = p.get("device_code").cloned().unwrap_or_default();
            let Some(asked) = state.devices.get(&code).cloned() else {
                return error(StatusCode::BAD_REQUEST, "invalid device code");
            };
            match state.device_script.pop_front() {
                Some(DevicePoll::Pending) => {
                    error(StatusCode::BAD_REQUEST, "authorization_pending")
                }
                Some(DevicePoll::SlowDown) => error(StatusCode::BAD_REQUEST, "slow_down"),
                Some(DevicePoll::Denied) => {
                    state.devices.remove(&code);
                    error(StatusCode::BAD_REQUEST, "access_denied")
                }
                Some(DevicePoll::Expired) => {
                    state.devices.remove(&code);
                    error(StatusCode::BAD_REQUEST, "expired_token")
                }
                None => {
                    state.devices.remove(&code);
                    let scopes = s.config.grant_scopes.clone().unwrap_or(asked);
                    let (access, refresh) = issue(&s.config, &mut state, scopes.clone());
                    token_json(&s.config, access, refresh, &scopes)
                }
            }
        }
        Some("refresh_token") => {
            if let Some(secret) = &s.config.client_secret
                && p.get("client_secret") != Some(secret)
            {
                return error(StatusCode::FORBIDDEN, "invalid client secret");
            }
            if state.refresh_server_errors > 0 {
                state.refresh_server_errors -= 1;
                return error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
            }
            let old = p.get("refresh_token").cloned().unwrap_or_default();
            if state.refuse_refreshes {
                return error(StatusCode::BAD_REQUEST, "Invalid refresh token");
            }
            // Rotation: the old refresh token is spent by this use.
            let Some(scopes) = state.refresh.remove(&old) else {
                return error(StatusCode::BAD_REQUEST, "Invalid refresh token");
            };
            let (access, refresh) = issue(&s.config, &mut state, scopes.clone());
            token_json(&s.config, access, refresh, &scopes)
        }
        Some("client_credentials") => {
            // Twitch's client-credentials grant needs the client secret.
            if s.config.client_secret.is_none() || p.get("client_secret") != s.config.client_secret.as_ref() {
                return error(StatusCode::FORBIDDEN, "invalid client secret");
            }
            let access = fresh(&mut state, "fakeapp");
            state.access.insert(
                access.clone(),
                AccessEntry {
                    expires: Instant::now() + s.config.access_ttl,
                    scopes: Vec::new(),
                    refresh: None,
                    app: true,
                },
            );
            axum::Json(json!({
                "access_token": access,
                "expires_in": s.config.access_ttl.as_secs(),
                "token_type": "bearer",
            }))
            .into_response()
        }
        _ => error(StatusCode::BAD_REQUEST, "unsupported grant type"),
    }
}

async fn validate(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let mut state = s.lock();
    record(&mut state, "GET", "validate", &BTreeMap::new(), &headers);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("OAuth ")
                .or_else(|| v.strip_prefix("Bearer "))
        })
        .unwrap_or("")
        .to_string();
    if state.validate_failures > 0 {
        state.validate_failures -= 1;
        return error(StatusCode::UNAUTHORIZED, "invalid access token");
    }
    let now = Instant::now();
    match state.access.get(&token) {
        Some(entry) if entry.expires > now => axum::Json(json!({
            "client_id": s.config.client_id,
            "login": s.config.login,
            "scopes": entry.scopes,
            "user_id": s.config.user_id,
            "expires_in": (entry.expires - now).as_secs(),
        }))
        .into_response(),
        _ => error(StatusCode::UNAUTHORIZED, "invalid access token"),
    }
}

async fn revoke(
    State(s): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    let p = params(&body, q.as_deref());
    let mut state = s.lock();
    record(&mut state, "POST", "revoke", &p, &headers);
    if p.get("client_id") != Some(&s.config.client_id) {
        return error(StatusCode::BAD_REQUEST, "invalid client");
    }
    let token = p.get("token").cloned().unwrap_or_default();
    match state.access.remove(&token) {
        Some(entry) => {
            if let Some(refresh) = entry.refresh {
                state.refresh.remove(&refresh);
            }
            StatusCode::OK.into_response()
        }
        None => error(StatusCode::BAD_REQUEST, "Invalid token"),
    }
}
