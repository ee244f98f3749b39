//! One WebSocket session with TikTok's push server: the handshake (through the proxy, with
//! the cookies and the signing user agent), then the client's duties: `im_enter_room`
//! first, `hb` every heartbeat with a rising sequence, an `ack` for every `msg` frame that
//! asks for one. No WebSocket pings: TikTok never answers them; three silent heartbeat
//! intervals mean the socket is dead instead.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use super::decode::{Frame, FrameError, decode_frame};
use super::error::SessionError;
use super::proxy::{ProxyConfig, dial};
use super::source_stats::{SourceStats, bump};
use super::client_frames;
use crate::limits::{
    MAX_CAPTURE_RECORD_BYTES, SILENT_HEARTBEATS, SOCKET_CLOSE_TIMEOUT, WS_READ_BUFFER_BYTES,
};

/// The socket type.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How to open the socket.
#[derive(Clone, Copy)]
pub struct Handshake<'a> {
    /// The full socket URL (see `socket_url`).
    pub url: &'a str,
    /// Cookies for the `Cookie` header (the signer's, plus the session's).
    pub cookies: &'a [(String, String)],
    /// Exactly the user agent the signer used.
    pub user_agent: &'a str,
    /// The proxy to dial through.
    pub proxy: Option<&'a ProxyConfig>,
    /// Handshake timeout (TCP, proxy, TLS and HTTP upgrade together).
    pub timeout: Duration,
}

/// Opens the socket. A 200/400 answer instead of 101 is [`SessionError::Blocked`].
pub async fn connect(h: Handshake<'_>) -> Result<WsStream, SessionError> {
    let url = Url::parse(h.url).map_err(|e| SessionError::Url(e.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| SessionError::Url("socket URL has no host".into()))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| SessionError::Url("socket URL has no port".into()))?;
    let mut request = h
        .url
        .into_client_request()
        .map_err(|e| SessionError::Url(e.to_string()))?;
    let headers = request.headers_mut();
    let header = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| SessionError::Url("header has invalid bytes".into()))
    };
    headers.insert("User-Agent", header(h.user_agent)?);
    headers.insert("Origin", HeaderValue::from_static("https://www.tiktok.com"));
    if !h.cookies.is_empty() {
        let cookie = h
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        headers.insert("Cookie", header(&cookie)?);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_CAPTURE_RECORD_BYTES))
        .max_frame_size(Some(MAX_CAPTURE_RECORD_BYTES));
    let handshake = async {
        let tcp = dial(h.proxy, &host, port)
            .await
            .map_err(|e| SessionError::Handshake(format!("connecting to {host}:{port}: {e}")))?;
        let tls = super::transport::websocket_tls().map(tokio_tungstenite::Connector::Rustls);
        tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(config), tls)
            .await
            .map_err(handshake_error)
    };
    let (ws, _response) = tokio::time::timeout(h.timeout, handshake)
        .await
        .map_err(|_| SessionError::Handshake(format!("no answer within {:?}", h.timeout)))??;
    Ok(ws)
}

fn handshake_error(e: tungstenite::Error) -> SessionError {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let message = header("handshake-msg");
            if matches!(status, 200 | 400) || !message.is_empty() {
                SessionError::Blocked {
                    status,
                    message,
                    handshake_status: header("handshake-status"),
                }
            } else {
                SessionError::Handshake(format!("HTTP {status} instead of 101"))
            }
        }
        other => SessionError::Handshake(other.to_string()),
    }
}

/// A timer `after` from `from`. `sleep` takes any length (past the clock's end it never
/// fires); `Instant +` would panic on a huge limit.
fn sleep_past(from: Instant, after: Duration) -> Sleep {
    match from.checked_add(after) {
        Some(at) => tokio::time::sleep_until(at),
        None => tokio::time::sleep(after),
    }
}

/// A received binary frame: its bytes (for recording) and what it decoded to.
#[derive(Debug)]
pub struct Incoming {
    /// The raw push frame.
    pub raw: Bytes,
    /// The decoded frame, or why it did not decode.
    pub frame: Result<Frame, FrameError>,
}

/// An open, entered session.
pub struct Session {
    ws: WsStream,
    room_id: u64,
    hb_seq: u64,
    heartbeat: Interval,
    silence_limit: Duration,
    last_rx: Instant,
    /// Fires at the earliest moment the socket can have been silent too long. It is not
    /// moved on every frame (a timer re-registered per message was a measurable share of
    /// a bridge's CPU): when it fires, it checks `last_rx` and moves itself if a frame
    /// came meanwhile.
    silence: Pin<Box<Sleep>>,
    stats: Arc<SourceStats>,
}

impl Session {
    /// Enters the room (`im_enter_room`) and arms the heartbeat; the first heartbeat goes
    /// out on the first call to [`Session::next`].
    pub async fn enter(
        mut ws: WsStream,
        room_id: u64,
        cursor: &str,
        heartbeat: Duration,
        stats: Arc<SourceStats>,
    ) -> Result<Self, SessionError> {
        ws.send(Message::Binary(client_frames::enter_room_frame(room_id, cursor)))
            .await
            .map_err(|e| SessionError::Transport(e.to_string()))?;
        let mut timer = tokio::time::interval(heartbeat);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let silence_limit = heartbeat.saturating_mul(SILENT_HEARTBEATS);
        let now = Instant::now();
        Ok(Self {
            ws,
            room_id,
            hb_seq: 0,
            heartbeat: timer,
            silence_limit,
            last_rx: now,
            silence: Box::pin(sleep_past(now, silence_limit)),
            stats,
        })
    }

    /// The next binary frame, sending heartbeats and acks meanwhile. Errors end the session:
    /// the server closed it, a read failed, or it went silent. Cancel-safe between frames.
    pub async fn next(&mut self) -> Result<Incoming, SessionError> {
        enum Wake {
            Heartbeat,
            Silent,
            Read(Option<Result<Message, tungstenite::Error>>),
        }
        loop {
            let wake = tokio::select! {
                _ = self.heartbeat.tick() => Wake::Heartbeat,
                () = self.silence.as_mut() => Wake::Silent,
                read = self.ws.next() => Wake::Read(read),
            };
            match wake {
                Wake::Heartbeat => {
                    self.hb_seq += 1;
                    self.send(client_frames::heartbeat_frame(self.room_id, self.hb_seq))
                        .await?;
                    bump(&self.stats.heartbeats);
                }
                Wake::Silent => {
                    let silent = self.last_rx.elapsed();
                    if silent >= self.silence_limit {
                        return Err(SessionError::Silent(self.silence_limit));
                    }
                    // A frame came since the timer was set: wait out the rest from it.
                    let rest = self.silence_limit - silent;
                    self.silence.set(sleep_past(Instant::now(), rest));
                }
                Wake::Read(None) => {
                    return Err(SessionError::Closed {
                        code: 1006,
                        reason: "stream ended without a close frame".into(),
                    });
                }
                Wake::Read(Some(Err(e))) => return Err(SessionError::Transport(e.to_string())),
                Wake::Read(Some(Ok(message))) => {
                    self.last_rx = Instant::now();
                    match message {
                        Message::Binary(raw) => {
                            bump(&self.stats.frames);
                            let frame = decode_frame(raw.clone());
                            if let Ok(frame) = &frame
                                && let Some(batch) = &frame.batch
                                && batch.need_ack
                            {
                                self.send(client_frames::ack_frame(frame.log_id, &batch.internal_ext))
                                    .await?;
                                bump(&self.stats.acks);
                            }
                            return Ok(Incoming { raw, frame });
                        }
                        Message::Close(close) => {
                            let (code, reason) = close.map_or((1005, String::new()), |c| {
                                (u16::from(c.code), c.reason.to_string())
                            });
                            return Err(SessionError::Closed { code, reason });
                        }
                        // Pings are answered by tungstenite; text and pongs only prove life.
                        _ => {}
                    }
                }
            }
        }
    }

    async fn send(&mut self, frame: Bytes) -> Result<(), SessionError> {
        self.ws
            .send(Message::Binary(frame))
            .await
            .map_err(|e| SessionError::Transport(e.to_string()))
    }

    /// Closes the socket politely (bounded wait): status 1000 with `reason`, so the server
    /// sees a normal close, not a missing status (1005).
    pub async fn close(mut self, reason: &'static str) {
        let frame = tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(SOCKET_CLOSE_TIMEOUT, self.ws.close(Some(frame))).await;
    }
}
