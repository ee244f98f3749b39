//! A fake TikTok on 127.0.0.1: the unsigned room endpoints, the signer's `/webcast/fetch`
//! contract and the push WebSocket, on ONE port.
//!
//! It speaks the real wire formats (JSON, `SIGI_STATE` HTML, raw `ProtoMessageFetchResult`,
//! protobuf push frames) and plays whatever frames a caller scripts ([`Step`]), with pacing.
//! It checks the client's duties (enter-room first, rising heartbeats, acks echoing the
//! right `log_id` and `internal_ext`, the signer's cookie and exact user agent on the
//! handshake, a fresh signed URL per connection) and records every breach in
//! [`FakeReport::violations`]. Faults are injected per call: [`SignerFault`],
//! [`HandshakeFault`], [`LookupMode`], and the script's own [`Step::Silence`],
//! [`Step::CloseMidFrame`] ...

pub mod frames;
mod web;
mod socket;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::proto;

/// What the fake plays on one WebSocket connection, in order, once the client entered the
/// room. When a script runs out the connection stays open, echoing heartbeats.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send one binary message (a push frame; any bytes, even corrupt ones).
    Frame(Bytes),
    /// Wait before the next step.
    Pause(Duration),
    /// Stop answering anything (heartbeats included) but keep the socket open.
    Silence,
    /// Close the socket cleanly (close frame 1000).
    Close,
    /// Write half a WebSocket frame, then drop the TCP connection.
    CloseMidFrame,
    /// Mark the room offline (status 4) right now.
    GoOffline,
    /// After a delay, go live again under `room_id` (runs in the background).
    GoLiveLater {
        /// The new room id.
        room_id: u64,
        /// How long the creator stays offline.
        after: Duration,
    },
}

/// A signer answer to inject (one per call, in order).
#[derive(Debug, Clone)]
pub enum SignerFault {
    /// HTTP 429 with `limit_label` and `Retry-After`.
    RateLimited {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
        /// `limit_label` in the body.
        label: String,
    },
    /// HTTP 500 `Empty response payload received!`.
    ServerError,
    /// HTTP 200 with no body.
    EmptyBody,
    /// HTTP 401: invalid API key.
    Unauthorized,
    /// HTTP 402: premium feature.
    PaymentRequired,
}

/// A handshake answer to inject (one per connection attempt, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFault {
    /// HTTP 200 with `Handshake-Msg: DEVICE_BLOCKED`, `Handshake-Status: 415`.
    DeviceBlocked,
    /// HTTP 400 with `Handshake-Msg: illegal secret key` (a session-signed URL without the
    /// session cookie).
    BadRequest,
    /// HTTP 503.
    Unavailable,
}

/// How the room endpoints answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupMode {
    /// The API answers (and so does the live page).
    #[default]
    Normal,
    /// The API answers 500; the live page's `SIGI_STATE` still works.
    ApiDown,
    /// Both answer "user not found".
    NotFound,
    /// The API says age restricted (4003110).
    AgeRestricted,
    /// Both answer with a captcha / verify page.
    Captcha,
}

/// How `/webcast/gift/list/` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GiftListMode {
    /// The catalogue of [`FAKE_GIFTS`].
    #[default]
    Normal,
    /// HTTP 500.
    ServerError,
    /// Never answers (the client's timeout must fire).
    Stall,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// HTTP 200 with a valid catalogue padded past
    /// [`crate::limits::MAX_GIFT_LIST_BODY_BYTES`].
    Oversized,
}

/// The fake's gift catalogue: `(id, name, diamonds, type)`. Type 1 streaks.
pub const FAKE_GIFTS: &[(u64, &str, u32, i64)] = &[
    (5655, "Rose", 1, 1),
    (5269, "TikTok", 1, 1),
    (5487, "Finger Heart", 5, 1),
    (5879, "Doughnut", 30, 1),
    (11046, "Galaxy", 1000, 1),
    (6369, "Lion", 29_999, 2),
];

/// The fake's fixed setup.
#[derive(Debug, Clone)]
pub struct FakeTikTokConfig {
    /// The creator's handle (lower case).
    pub username: String,
    /// The room id while live.
    pub room_id: u64,
    /// Live at start.
    pub live: bool,
    /// Viewers reported by the room endpoints.
    pub viewers: u64,
    /// The API key the signer requires (`None`: any, or none).
    pub api_key: Option<String>,
    /// The `ttwid` cookie handed out by the signer and required on the handshake.
    pub ttwid: String,
    /// A `ProtoMessageFetchResult` whose messages become the first fetch's history (e.g.
    /// the real `batch.pb`). Its `push_server`, cursor and route params are replaced.
    pub first_fetch: Option<Bytes>,
    /// `heartbeat_duration` in the first fetch result, in ms (0: leave it out).
    pub heartbeat_ms: i64,
    /// The creator's followers, as the room lookup reports them.
    pub followers: u64,
    /// Accounts the creator follows.
    pub following: u64,
}

impl Default for FakeTikTokConfig {
    fn default() -> Self {
        Self {
            username: "fakecreator".into(),
            room_id: 7_437_640_865_532_228_085,
            live: true,
            viewers: 1234,
            api_key: Some("fake-euler-key".into()),
            ttwid: "1%7Cfake-ttwid".into(),
            first_fetch: None,
            heartbeat_ms: 10_000,
            followers: 12_345,
            following: 67,
        }
    }
}

/// What one WebSocket connection saw.
#[derive(Debug, Clone, Default)]
pub struct ConnectionLog {
    /// `room_id` from the query.
    pub room_id: u64,
    /// The whole handshake query, in order.
    pub query: Vec<(String, String)>,
    /// The `Cookie` header.
    pub cookie: String,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The handshake was refused by an injected fault.
    pub rejected: bool,
    /// `im_enter_room` arrived.
    pub entered: bool,
    /// Heartbeat sequence numbers received.
    pub heartbeats: Vec<u64>,
    /// Acks received: `(log_id, payload)`.
    pub acks: Vec<(u64, String)>,
    /// Message ids of every event the fake sent on this connection, in order.
    pub sent_msg_ids: Vec<u64>,
    /// When each of `sent_msg_ids` was written to the socket (same order; every message of
    /// one frame shares its frame's time). For latency benchmarks.
    pub sent_at: Vec<tokio::time::Instant>,
    /// `log_id`s sent with `need_ack` and not acked when the connection ended.
    pub unacked: Vec<u64>,
    /// The client closed the connection (rather than the fake).
    pub closed_by_client: bool,
    /// The close frame the client sent: its status code and reason (`None`: none sent;
    /// `Some((1005, ""))`: a close frame without a status).
    pub client_close: Option<(u16, String)>,
}

/// Everything the fake observed.
#[derive(Debug, Clone, Default)]
pub struct FakeReport {
    /// `api-live/user/room` calls.
    pub api_lookups: u64,
    /// `/@user/live` page loads.
    pub page_lookups: u64,
    /// `webcast/gift/list` calls.
    pub gift_list_calls: u64,
    /// Signer calls.
    pub signer_calls: u64,
    /// The `user_agent` of each signer call.
    pub signer_user_agents: Vec<String>,
    /// The `x-cookie-header` of each signer call (empty when absent).
    pub signer_cookie_headers: Vec<String>,
    /// Every WebSocket connection attempt, in order.
    pub connections: Vec<ConnectionLog>,
    /// Every breach of the client's duties, as a sentence.
    pub violations: Vec<String>,
}

/// What a signer call handed out, checked on the next handshake.
#[derive(Debug, Clone, Default)]
struct Issued {
    cursor: String,
    internal_ext: String,
    wrss: String,
    user_agent: String,
    used: bool,
}

#[derive(Debug)]
struct State {
    room_id: u64,
    live: bool,
    lookup: LookupMode,
    gift_list: GiftListMode,
    signer_faults: VecDeque<SignerFault>,
    handshake_faults: VecDeque<HandshakeFault>,
    scripts: VecDeque<Vec<Step>>,
    issued: Vec<Issued>,
    report: FakeReport,
}

/// State shared by the server tasks.
#[derive(Debug)]
struct Shared {
    config: FakeTikTokConfig,
    addr: SocketAddr,
    state: Mutex<State>,
    shutdown: CancellationToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn violation(&self, text: String) {
        tracing::debug!(%text, "fake tiktok: violation");
        self.lock().report.violations.push(text);
    }
}

/// A running fake TikTok. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeTikTok {
    shared: Arc<Shared>,
}

impl Drop for FakeTikTok {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl FakeTikTok {
    /// Binds 127.0.0.1:0 and starts serving.
    pub async fn start(config: FakeTikTokConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                room_id: config.room_id,
                live: config.live,
                lookup: LookupMode::Normal,
                gift_list: GiftListMode::Normal,
                signer_faults: VecDeque::new(),
                handshake_faults: VecDeque::new(),
                scripts: VecDeque::new(),
                issued: Vec::new(),
                report: FakeReport::default(),
            }),
            config,
            addr,
            shutdown: CancellationToken::new(),
        });
        tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self { shared })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:port`: the web, webcast and signer base URL alike.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Source settings pointing every URL at this fake, with its API key, no proxy, and
    /// `wait_for_live` on (the demo's show can end and start again).
    pub fn source_settings(&self) -> crate::source::tiktok::TikTokSettings {
        crate::source::tiktok::TikTokSettings {
            web_base_url: self.base_url(),
            webcast_base_url: self.base_url(),
            signer_base_url: self.base_url(),
            signer_api_key: self.shared.config.api_key.clone(),
            proxy: None,
            proxy_from_env: false,
            ..crate::source::tiktok::TikTokSettings::for_user(format!("@{}", self.username()))
        }
    }

    /// The creator's handle.
    pub fn username(&self) -> &str {
        &self.shared.config.username
    }

    /// A `[[bridge]]` entry (for a config file) that mirrors this creator into `channel`
    /// (see [`bridge_toml`]).
    pub fn bridge_toml(&self, name: &str, channel: &str) -> String {
        bridge_toml(name, self.username(), channel, &self.base_url())
    }

    /// The current room id.
    pub fn room_id(&self) -> u64 {
        self.shared.lock().room_id
    }

    /// Queues the script of the next WebSocket connection.
    pub fn push_script(&self, steps: Vec<Step>) {
        self.shared.lock().scripts.push_back(steps);
    }

    /// Scripts queued and not yet taken by a connection (a long-running driver tops the
    /// queue up without cloning the whole [`FakeReport`]).
    pub fn pending_scripts(&self) -> usize {
        self.shared.lock().scripts.len()
    }

    /// Queues a signer fault for the next signer call.
    pub fn fail_signer(&self, fault: SignerFault) {
        self.shared.lock().signer_faults.push_back(fault);
    }

    /// Queues a handshake fault for the next connection attempt.
    pub fn fail_handshake(&self, fault: HandshakeFault) {
        self.shared.lock().handshake_faults.push_back(fault);
    }

    /// Sets how the room endpoints answer from now on.
    pub fn set_lookup(&self, mode: LookupMode) {
        self.shared.lock().lookup = mode;
    }

    /// Sets how the gift list answers from now on.
    pub fn set_gift_list(&self, mode: GiftListMode) {
        self.shared.lock().gift_list = mode;
    }

    /// Goes live under `room_id` now.
    pub fn go_live(&self, room_id: u64) {
        let mut state = self.shared.lock();
        state.room_id = room_id;
        state.live = true;
    }

    /// Goes offline now (the room id stays, as TikTok's does).
    pub fn go_offline(&self) {
        self.shared.lock().live = false;
    }

    /// A copy of everything observed so far.
    pub fn report(&self) -> FakeReport {
        self.shared.lock().report.clone()
    }

    /// The breaches of the client's duties so far.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().report.violations.clone()
    }

    /// The first fetch result the signer hands out (history + where to connect).
    fn first_fetch(shared: &Shared, n: usize) -> (proto::ProtoMessageFetchResult, Issued) {
        use prost::Message;
        let mut result = shared
            .config
            .first_fetch
            .clone()
            .and_then(|bytes| proto::ProtoMessageFetchResult::decode(bytes).ok())
            .unwrap_or_default();
        let issued = Issued {
            cursor: format!("fake-cursor-{n}"),
            internal_ext: format!("fake-ext-{n}|seq:{n}"),
            wrss: format!("fake-wrss-{n}"),
            user_agent: String::new(),
            used: false,
        };
        result.cursor = issued.cursor.clone();
        result.internal_ext = issued.internal_ext.clone();
        result.push_server = format!("ws://{}/webcast/im/push/", shared.addr);
        result.route_params = [
            ("wrss".to_string(), issued.wrss.clone()),
            ("imprp".to_string(), "fake-imprp".to_string()),
        ]
        .into_iter()
        .collect();
        result.heartbeat_duration = shared.config.heartbeat_ms;
        result.fetch_type = 1;
        result.is_first = true;
        result.need_ack = false;
        (result, issued)
    }
}

/// Accepts connections: WebSocket upgrades on the push path go to the socket handler, the
/// rest to the HTTP router.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let (http_tx, http_rx) = tokio::sync::mpsc::channel(64);
    let router = web::router(Arc::clone(&shared));
    let shutdown = shared.shutdown.clone();
    let addr = shared.addr;
    tokio::spawn(async move {
        let listener = web::ChannelListener { rx: http_rx, addr };
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        // Small frames must not wait for Nagle + delayed ACK (40 ms of real time, which a
        // paused-clock test turns into seconds of virtual time).
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let http_tx = http_tx.clone();
        tokio::spawn(async move {
            if socket::is_push_request(&stream).await {
                socket::handle(stream, shared).await;
            } else {
                let _ = http_tx.send((stream, peer)).await;
            }
        });
    }
}

/// A `[[bridge]]` entry (for a config file) that mirrors TikTok creator `user` into Twitch
/// `channel`, every TikTok URL pointing at a fake TikTok at `base_url` and the signer key
/// read from the secret named `tiktok-signer-api-key`.
pub fn bridge_toml(name: &str, user: &str, channel: &str, base_url: &str) -> String {
    format!(
        r#"
[[bridge]]
name = "{name}"
tiktok_username = "{user}"
twitch_channels = ["{channel}"]
[bridge.tiktok]
signer_api_key = "tiktok-signer-api-key"
web_base_url = "{base_url}"
webcast_base_url = "{base_url}"
signer_base_url = "{base_url}"
"#
    )
}
