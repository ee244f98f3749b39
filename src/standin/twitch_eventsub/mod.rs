//! A stand-in for Twitch's stream side on 127.0.0.1: the EventSub WebSocket server
//! (`/ws`: `session_welcome`, `session_keepalive`, `notification`, `session_reconnect`
//! with a reconnect URL, `revocation`) and the Helix endpoints the stream watch calls
//! (`GET /helix/users`, `GET /helix/streams`, `POST /helix/eventsub/subscriptions`), on
//! one port, sharing one state: a test makes a channel go live with [`FakeTwitchApi::go_live`]
//! and both the subscribed sessions (a notification) and the next poll (Helix) see it.
//!
//! Like Twitch it refuses a subscription for a session that is not connected, a transport
//! other than `websocket`, an unknown broadcaster, and a request without the right
//! `Client-Id` and bearer token.
//!
//! - [`helix_routes`]: the Helix handlers.
//! - [`eventsub_socket`]: one EventSub WebSocket connection.

pub mod eventsub_socket;
pub mod helix_routes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct FakeTwitchApiConfig {
    /// The `Client-Id` every Helix request must carry.
    pub client_id: String,
    /// The bearer token every Helix request must carry (`None`: any).
    pub token: Option<String>,
    /// The keepalive timeout each welcome names (a keepalive is sent this often).
    pub keepalive_secs: u64,
    /// The channels Twitch knows: login -> numeric id.
    pub users: BTreeMap<String, String>,
}

impl Default for FakeTwitchApiConfig {
    fn default() -> Self {
        Self {
            client_id: "standin-client".into(),
            token: None,
            keepalive_secs: 10,
            users: BTreeMap::new(),
        }
    }
}

/// A channel's stream as the stand-in holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeStream {
    /// Live now.
    pub live: bool,
    /// The title.
    pub title: String,
    /// The category name.
    pub category: String,
    /// When it went live (RFC 3339).
    pub started_at: String,
}

/// One subscription a client created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `stream.online` ...
    pub kind: String,
    /// Its version.
    pub version: String,
    /// `condition.broadcaster_user_id`.
    pub broadcaster_id: String,
    /// `transport.session_id`.
    pub session_id: String,
}

/// What goes out on a session's socket.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

#[derive(Debug)]
pub(crate) struct SessionSlot {
    /// The connection currently holding the session (a reconnect moves it).
    pub connection: u64,
    pub tx: mpsc::UnboundedSender<Outgoing>,
}

#[derive(Debug, Default)]
pub(crate) struct ApiState {
    pub streams: BTreeMap<String, FakeStream>,
    pub sessions: BTreeMap<String, SessionSlot>,
    pub subscriptions: Vec<Subscription>,
    /// Answer subscription requests with this status instead of creating them.
    pub refuse_subscriptions: Option<u16>,
    /// Send no keepalives (a dead connection, as the client sees it).
    pub silent: bool,
    pub connections: u64,
    pub open_connections: u64,
    pub stream_polls: u64,
    pub refused_auth: u64,
    pub next_message: u64,
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub config: Arc<FakeTwitchApiConfig>,
    pub state: Arc<Mutex<ApiState>>,
    pub addr: SocketAddr,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ApiState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An EventSub message as Twitch frames it.
pub(crate) fn message(state: &mut ApiState, kind: &str, payload: Value, extra: Value) -> String {
    state.next_message += 1;
    let mut metadata = json!({
        "message_id": format!("standin-{}", state.next_message),
        "message_type": kind,
        "message_timestamp": "2026-01-01T00:00:00Z",
    });
    if let (Some(m), Some(extra)) = (metadata.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    json!({ "metadata": metadata, "payload": payload }).to_string()
}

/// The running stand-in. Dropping it stops the server.
pub struct FakeTwitchApi {
    shared: Shared,
    shutdown: CancellationToken,
}

impl Drop for FakeTwitchApi {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl FakeTwitchApi {
    /// Starts the stand-in on 127.0.0.1 (a free port).
    pub async fn start(config: FakeTwitchApiConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let shared = Shared {
            config: Arc::new(config),
            state: Arc::default(),
            addr: listener.local_addr()?,
        };
        let app = Router::new()
            .route("/helix/users", get(helix_routes::users))
            .route("/helix/streams", get(helix_routes::streams))
            .route(
                "/helix/eventsub/subscriptions",
                post(helix_routes::subscribe),
            )
            .route("/ws", get(eventsub_socket::upgrade))
            .with_state(shared.clone());
        let shutdown = crate::standin::serve_http(listener, app);
        Ok(Self { shared, shutdown })
    }

    fn lock(&self) -> MutexGuard<'_, ApiState> {
        self.shared.lock()
    }

    /// The Helix base URL to configure (`[twitch] helix_base_url`).
    pub fn helix_base_url(&self) -> String {
        format!("http://{}/helix", self.shared.addr)
    }

    /// The EventSub URL to configure (`[twitch_stream] eventsub_url`).
    pub fn eventsub_url(&self) -> String {
        format!("ws://{}/ws", self.shared.addr)
    }

    /// Sends `kind` with `event` to every session subscribed to it for `login`.
    fn notify(&self, state: &mut ApiState, login: &str, kind: &str, event: Value) {
        let Some(id) = self.shared.config.users.get(login) else {
            return;
        };
        let subs: Vec<Subscription> = state
            .subscriptions
            .iter()
            .filter(|s| s.kind == kind && &s.broadcaster_id == id)
            .cloned()
            .collect();
        for sub in subs {
            let payload = json!({
                "subscription": {
                    "id": format!("sub-{}-{}", sub.kind, sub.broadcaster_id),
                    "status": "enabled",
                    "type": sub.kind,
                    "version": sub.version,
                    "condition": { "broadcaster_user_id": sub.broadcaster_id },
                    "transport": { "method": "websocket", "session_id": sub.session_id },
                },
                "event": event,
            });
            let extra = json!({ "subscription_type": sub.kind, "subscription_version": sub.version });
            let text = message(state, "notification", payload, extra);
            if let Some(slot) = state.sessions.get(&sub.session_id) {
                let _ = slot.tx.send(Outgoing::Text(text));
            }
        }
    }

    fn event_base(&self, login: &str) -> Value {
        json!({
            "broadcaster_user_id": self.shared.config.users.get(login).cloned().unwrap_or_default(),
            "broadcaster_user_login": login,
            "broadcaster_user_name": login,
        })
    }

    /// The channel goes live: Helix lists its stream, subscribers get `stream.online`.
    pub fn go_live(&self, login: &str, title: &str, category: &str, started_at: &str) {
        let mut state = self.lock();
        state.streams.insert(
            login.to_owned(),
            FakeStream {
                live: true,
                title: title.into(),
                category: category.into(),
                started_at: started_at.into(),
            },
        );
        let mut event = self.event_base(login);
        event["id"] = json!("stream-1");
        event["type"] = json!("live");
        event["started_at"] = json!(started_at);
        self.notify(&mut state, login, "stream.online", event);
    }

    /// The channel goes offline: Helix lists no stream, subscribers get `stream.offline`.
    pub fn go_offline(&self, login: &str) {
        let mut state = self.lock();
        if let Some(s) = state.streams.get_mut(login) {
            s.live = false;
        }
        let event = self.event_base(login);
        self.notify(&mut state, login, "stream.offline", event);
    }

    /// The broadcaster changes title and category: subscribers get `channel.update`.
    pub fn update_channel(&self, login: &str, title: &str, category: &str) {
        let mut state = self.lock();
        let stream = state.streams.entry(login.to_owned()).or_default();
        stream.title = title.into();
        stream.category = category.into();
        let mut event = self.event_base(login);
        event["title"] = json!(title);
        event["language"] = json!("en");
        event["category_id"] = json!("509658");
        event["category_name"] = json!(category);
        event["content_classification_labels"] = json!([]);
        self.notify(&mut state, login, "channel.update", event);
    }

    /// Every connected session is told to move (`session_reconnect` with a reconnect URL).
    pub fn reconnect_sessions(&self) {
        let mut state = self.lock();
        let ids: Vec<String> = state.sessions.keys().cloned().collect();
        for id in ids {
            let payload = json!({ "session": {
                "id": id,
                "status": "reconnecting",
                "keepalive_timeout_seconds": null,
                "reconnect_url": format!("ws://{}/ws?reconnect={id}", self.shared.addr),
                "connected_at": "2026-01-01T00:00:00Z",
            }});
            let text = message(&mut state, "session_reconnect", payload, json!({}));
            if let Some(slot) = state.sessions.get(&id) {
                let _ = slot.tx.send(Outgoing::Text(text));
            }
        }
    }

    /// Every subscription of `kind` is revoked (`revocation`, `authorization_revoked`).
    pub fn revoke(&self, kind: &str) {
        let mut state = self.lock();
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.subscriptions)
            .into_iter()
            .partition(|s| s.kind == kind);
        state.subscriptions = kept;
        for sub in gone {
            let payload = json!({ "subscription": {
                "id": format!("sub-{}-{}", sub.kind, sub.broadcaster_id),
                "status": "authorization_revoked",
                "type": sub.kind,
                "version": sub.version,
                "condition": { "broadcaster_user_id": sub.broadcaster_id },
                "transport": { "method": "websocket", "session_id": sub.session_id },
            }});
            let text = message(&mut state, "revocation", payload, json!({}));
            if let Some(slot) = state.sessions.get(&sub.session_id) {
                let _ = slot.tx.send(Outgoing::Text(text));
            }
        }
    }

    /// Twitch closes every connection with `code` (e.g. 4000, internal server error).
    pub fn close_sessions(&self, code: u16) {
        for slot in self.lock().sessions.values() {
            let _ = slot.tx.send(Outgoing::Close(code, "closed by the stand-in"));
        }
    }

    /// Stops (or restarts) sending keepalives: the connections look dead to the client.
    pub fn set_silent(&self, silent: bool) {
        self.lock().silent = silent;
    }

    /// Answers every subscription request with `status` (e.g. 403) from now on (`None`:
    /// creates them again).
    pub fn refuse_subscriptions(&self, status: Option<u16>) {
        self.lock().refuse_subscriptions = status;
    }

    /// Every subscription created so far (revoked ones removed).
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.lock().subscriptions.clone()
    }

    /// WebSocket connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.lock().connections
    }

    /// WebSocket connections open now.
    pub fn open_connections(&self) -> u64 {
        self.lock().open_connections
    }

    /// `GET /helix/streams` requests answered so far.
    pub fn stream_polls(&self) -> u64 {
        self.lock().stream_polls
    }

    /// Helix requests refused for a wrong `Client-Id` or token.
    pub fn refused_auth(&self) -> u64 {
        self.lock().refused_auth
    }

    /// The sessions connected now.
    pub fn sessions(&self) -> Vec<String> {
        self.lock().sessions.keys().cloned().collect()
    }
}
