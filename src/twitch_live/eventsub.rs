//! One EventSub WebSocket session after another (dev.twitch.tv/docs/eventsub/handling-
//! websocket-events): connect, wait for `session_welcome`, create the subscriptions within
//! its 10 s, read Helix once (what happened while no socket was open), then apply each
//! notification to the board. Silence past the keepalive timeout means the connection is
//! dead: the session ends and the watch reconnects. `session_reconnect` moves the session:
//! connect to its URL, and close the old socket once the new one says welcome (the
//! subscriptions move with the session, so none is created again).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::stream_api::HelixApi;
use super::eventsub_messages::{Incoming, SUBSCRIPTIONS, StreamEvent, parse};
use super::{LiveBoard, Report, StateSource, TwitchLiveError};

/// How long connecting (TCP, TLS, WebSocket handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to say welcome after the handshake (Twitch subscribes
/// within 10 s of it, so it says it at once).
pub const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// The keepalive timeout when the welcome names none (Twitch's default).
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(10);
/// Added to the keepalive timeout before silence counts as a dead connection: the server's
/// keepalive and our clock disagree by network jitter.
pub const KEEPALIVE_GRACE: Duration = Duration::from_secs(1);
/// The largest message taken from the server (EventSub's are a few kilobytes).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a session ended.
#[derive(Debug)]
pub enum SessionEnd {
    /// Shutdown was asked for.
    Shutdown,
    /// Twitch refused the subscriptions (or revoked one): EventSub cannot be used now.
    Refused(TwitchLiveError),
    /// The connection failed or died; `established` when it had subscribed (and so ran
    /// well for a while) before that.
    Failed {
        /// Why.
        error: TwitchLiveError,
        /// The session had subscribed before it failed.
        established: bool,
    },
}

/// What one session needs.
#[derive(Debug, Clone)]
pub struct Session {
    /// The EventSub WebSocket URL.
    pub url: String,
    /// Channel login -> numeric id, for every watched channel.
    pub ids: BTreeMap<String, String>,
    /// The Helix client (subscriptions, the read after subscribing).
    pub api: HelixApi,
    /// Where states go.
    pub board: LiveBoard,
}

async fn connect(url: &str) -> Result<Socket, TwitchLiveError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let tls = crate::tls::client_config([])
        .ok()
        .map(|c| tokio_tungstenite::Connector::Rustls(Arc::new(c)));
    let handshake = tokio_tungstenite::connect_async_tls_with_config(url, Some(config), false, tls);
    match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
        Err(_) => Err(TwitchLiveError::WebSocket(format!(
            "{url}: no handshake within {CONNECT_TIMEOUT:?}"
        ))),
        Ok(Err(e)) => Err(TwitchLiveError::WebSocket(format!("{url}: {e}"))),
        Ok(Ok((socket, _))) => Ok(socket),
    }
}

/// The next text message, or why there is none (closed, failed, silent for `silence`).
async fn next_text(socket: &mut Socket, silence: Duration) -> Result<String, TwitchLiveError> {
    loop {
        let next = tokio::time::timeout(silence, socket.next()).await.map_err(|_| {
            TwitchLiveError::WebSocket(format!("no message within {silence:?}: the connection is dead"))
        })?;
        match next {
            None => return Err(TwitchLiveError::WebSocket("closed".into())),
            Some(Err(e)) => return Err(TwitchLiveError::WebSocket(e.to_string())),
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => {
                return Err(TwitchLiveError::WebSocket(match frame {
                    Some(f) => format!("closed by Twitch: {} {}", u16::from(f.code), f.reason),
                    None => "closed by Twitch".into(),
                }));
            }
            // Pings are answered by the socket; nothing else is sent.
            Some(Ok(_)) => {}
        }
    }
}

/// Waits for `session_welcome`: the session id and its keepalive timeout.
async fn welcome(socket: &mut Socket) -> Result<(String, Duration), TwitchLiveError> {
    let text = next_text(socket, WELCOME_TIMEOUT).await?;
    match parse(&text) {
        Ok(Incoming::Welcome {
            session_id,
            keepalive,
        }) => Ok((session_id, keepalive.unwrap_or(DEFAULT_KEEPALIVE))),
        Ok(other) => Err(TwitchLiveError::Protocol(format!(
            "expected session_welcome, got {other:?}"
        ))),
        Err(e) => Err(TwitchLiveError::Protocol(format!("not an EventSub message: {e}"))),
    }
}

impl Session {
    /// Runs one session until it fails or `shutdown`.
    pub async fn run(&self, shutdown: &CancellationToken) -> SessionEnd {
        tokio::select! {
            end = self.run_inner() => end,
            () = shutdown.cancelled() => SessionEnd::Shutdown,
        }
    }

    async fn run_inner(&self) -> SessionEnd {
        let failed = |error, established| SessionEnd::Failed { error, established };
        let mut socket = match connect(&self.url).await {
            Ok(s) => s,
            Err(e) => return failed(e, false),
        };
        let (session_id, mut keepalive) = match welcome(&mut socket).await {
            Ok(w) => w,
            Err(e) => return failed(e, false),
        };
        for (login, id) in &self.ids {
            for (kind, version) in SUBSCRIPTIONS {
                if let Err(e) = self.api.subscribe(kind, version, id, &session_id).await {
                    warn!(channel = %login, subscription = kind, error = %e, "EventSub subscription failed");
                    return if e.is_refusal() {
                        SessionEnd::Refused(e)
                    } else {
                        failed(e, false)
                    };
                }
            }
        }
        info!(channels = self.ids.len(), "EventSub session subscribed");
        // Whatever happened while no socket listened.
        self.resync().await;
        loop {
            let text = match next_text(&mut socket, keepalive + KEEPALIVE_GRACE).await {
                Ok(t) => t,
                Err(e) => return failed(e, true),
            };
            match parse(&text) {
                Ok(Incoming::Notification { kind, event }) => self.notified(&kind, event).await,
                Ok(Incoming::Reconnect { url }) => {
                    // The old socket keeps the session until the new one is welcomed.
                    let mut next = match connect(&url).await {
                        Ok(s) => s,
                        Err(e) => return failed(e, true),
                    };
                    match welcome(&mut next).await {
                        Ok((_, k)) => keepalive = k,
                        Err(e) => return failed(e, true),
                    }
                    // What the old socket already holds was sent before the move.
                    while let Some(Some(Ok(Message::Text(text)))) = socket.next().now_or_never() {
                        if let Ok(Incoming::Notification { kind, event }) = parse(text.as_str()) {
                            self.notified(&kind, event).await;
                        }
                    }
                    let _ = socket.close(None).await;
                    socket = next;
                    info!("EventSub session moved to its reconnect URL");
                }
                Ok(Incoming::Revocation { kind, status }) => {
                    return SessionEnd::Refused(TwitchLiveError::Protocol(format!(
                        "Twitch revoked the {kind} subscription ({status})"
                    )));
                }
                Ok(Incoming::Keepalive | Incoming::Welcome { .. }) => {}
                Ok(Incoming::Other(kind)) => debug!(%kind, "EventSub message ignored"),
                Err(e) => warn!(error = %e, "EventSub message not understood; ignored"),
            }
        }
    }

    /// Reads every channel's state from Helix (after subscribing: nothing is missed between).
    async fn resync(&self) {
        let logins: Vec<String> = self.ids.keys().cloned().collect();
        match self.api.streams(&logins, StateSource::Eventsub).await {
            Ok(reports) => {
                for r in reports {
                    self.board.apply(r);
                }
            }
            Err(e) => warn!(error = %e, "reading the Twitch streams failed"),
        }
    }

    async fn notified(&self, kind: &str, event: StreamEvent) {
        let channel = event.broadcaster_user_login.to_ascii_lowercase();
        if !self.ids.contains_key(&channel) {
            debug!(%channel, kind, "EventSub notification for a channel not watched");
            return;
        }
        let report = |live| Report {
            channel: channel.clone(),
            live,
            title: None,
            category: None,
            since: None,
            source: StateSource::Eventsub,
        };
        match kind {
            "stream.online" => {
                // stream.online carries no title or category: Helix has them (once it lists
                // the stream; if not yet, they come with the next channel.update).
                let listed = self
                    .api
                    .streams(std::slice::from_ref(&channel), StateSource::Eventsub)
                    .await
                    .ok()
                    .and_then(|r| r.into_iter().find(|r| r.live == Some(true)));
                self.board.apply(Report {
                    since: event.started_at.or(listed.as_ref().and_then(|l| l.since.clone())),
                    title: listed.as_ref().and_then(|l| l.title.clone()),
                    category: listed.and_then(|l| l.category),
                    ..report(Some(true))
                });
            }
            "stream.offline" => {
                self.board.apply(report(Some(false)));
            }
            "channel.update" => {
                self.board.apply(Report {
                    title: event.title,
                    category: event.category_name,
                    ..report(None)
                });
            }
            other => debug!(kind = other, "EventSub notification ignored"),
        }
    }
}
