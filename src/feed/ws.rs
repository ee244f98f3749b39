//! `GET /ws/{bridge}`: every event of a bridge, as the JSON event schema
//! ([`super::feed_json::FeedEvent`]), one text message per event, in order.
//! `?types=chat,gift` keeps only those types. With `[feed] token` set,
//! the client presents it (`Authorization: Bearer ...` or `?token=...`). A browser page may
//! connect only from an allowed `Origin` (`[feed] allowed_origins`,
//! [`crate::config::origin`]); clients without one are let through.
//!
//! Each client has a small queue between the bridge's broadcast and its socket. A client
//! that does not keep up (its queue fills, or it falls behind the broadcast) is dropped and
//! counted; the bridge never waits for it and the other clients never notice.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc::{self, error::TrySendError};
use tracing::{debug, info};

use super::feed_json::FeedEvent;
use super::{Hub, presented_token, token_matches};
use crate::config::feed::EVENT_TYPES;
use crate::event::Event;

/// Close code sent (when the socket still takes it) to a client that fell behind.
const CLOSE_TOO_SLOW: u16 = 1008;
/// Close code at shutdown ("going away").
const CLOSE_GOING_AWAY: u16 = 1001;
/// The largest message a feed client may send (they are ignored anyway).
const CLIENT_MESSAGE_MAX: usize = 16 * 1024;
/// How long the close frame may take at shutdown.
const SHUTDOWN_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn router(hub: Hub) -> Router {
    Router::new()
        .route("/ws/{bridge}", get(upgrade))
        .with_state(hub)
}

/// The query parameters of `/ws/{bridge}`.
#[derive(Debug, Default, Deserialize)]
pub struct WsQuery {
    /// Comma-separated event types to keep; absent: all.
    pub types: Option<String>,
    /// The token, for clients that cannot set headers (browsers).
    pub token: Option<String>,
}

pub(crate) fn error(code: StatusCode, message: String) -> Response {
    (code, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

async fn upgrade(
    State(hub): State<Hub>,
    Path(bridge): Path<String>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // A browser lets any page open a socket here; the Origin says which page did.
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("(not text)"));
    if !hub.settings().allowed_origins.allows(origin, header(header::HOST)) {
        hub.ws().refused_origin.fetch_add(1, Ordering::Relaxed);
        let shown: String = origin.unwrap_or_default().chars().take(100).collect();
        debug!(origin = %shown, "feed client refused: origin not allowed");
        return error(
            StatusCode::FORBIDDEN,
            format!("origin {shown:?} may not open the feed (add it to [feed] allowed_origins)"),
        );
    }
    if let Some(token) = &hub.settings().ws_token
        && !token_matches(token, presented_token(&headers, query.token.as_deref()))
    {
        hub.ws().refused_auth.fetch_add(1, Ordering::Relaxed);
        return error(StatusCode::UNAUTHORIZED, "a valid token is required".into());
    }
    let Some(feed) = hub.bridge(&bridge) else {
        let names: Vec<&str> = hub.bridges().iter().map(|b| &*b.name).collect();
        return error(
            StatusCode::NOT_FOUND,
            format!("no bridge {bridge:?} (bridges: {})", names.join(", ")),
        );
    };
    let types = match parse_types(query.types.as_deref()) {
        Ok(types) => types,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if hub.ws().connected.load(Ordering::Relaxed) as usize >= hub.settings().max_clients {
        hub.ws().refused_full.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many feed clients".into(),
        );
    }
    // Subscribed now, so every event after the handshake reaches the client.
    let rx = feed.events.subscribe();
    let name = feed.name.clone();
    // Clients have nothing to say beyond pings and close: keep what they may send small.
    ws.max_message_size(CLIENT_MESSAGE_MAX)
        .max_frame_size(CLIENT_MESSAGE_MAX)
        .on_upgrade(move |socket| serve_client(hub, name, socket, rx, types))
}

/// `None`: every type.
fn parse_types(raw: Option<&str>) -> Result<Option<Vec<&'static str>>, String> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let mut types = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match EVENT_TYPES.iter().find(|t| **t == name) {
            Some(t) => types.push(*t),
            None => {
                let shown: String = name.chars().take(40).collect();
                return Err(format!(
                    "unknown event type {shown:?} (types: {})",
                    EVENT_TYPES.join(", ")
                ));
            }
        }
    }
    Ok(Some(types))
}

/// Why a client's session ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    ClientGone,
    TooSlow,
    Shutdown,
}

async fn serve_client(
    hub: Hub,
    bridge: Arc<str>,
    socket: WebSocket,
    mut rx: broadcast::Receiver<Arc<Event>>,
    types: Option<Vec<&'static str>>,
) {
    let stats = hub.ws();
    stats.connected.fetch_add(1, Ordering::Relaxed);
    stats.accepted.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let (queue, mut queued) = mpsc::channel::<Message>(hub.settings().client_queue.max(1));
    // The writer may block on a client that does not read; only it waits, never the bridge.
    let writer_hub = hub.clone();
    let mut writer = tokio::spawn(async move {
        while let Some(message) = queued.recv().await {
            let is_close = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() {
                return;
            }
            if is_close {
                return;
            }
            writer_hub.ws().sent.fetch_add(1, Ordering::Relaxed);
        }
    });
    let closing = hub.closing().clone();
    let usd_per_diamond = hub.settings().usd_per_diamond;
    let end = loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok(event) => {
                    if types.as_ref().is_some_and(|t| !t.contains(&event.type_name())) {
                        continue;
                    }
                    let wire = FeedEvent { bridge: &bridge, event: &event, usd_per_diamond };
                    let Ok(json) = serde_json::to_string(&wire) else { continue };
                    match queue.try_send(Message::Text(json.into())) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => break End::TooSlow,
                        Err(TrySendError::Closed(_)) => break End::ClientGone,
                    }
                }
                Err(RecvError::Lagged(_)) => break End::TooSlow,
                Err(RecvError::Closed) => break End::Shutdown,
            },
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::ClientGone,
                Some(Ok(_)) => {} // pings are answered by the socket; text is ignored
            },
            _ = &mut writer => break End::ClientGone,
            () = closing.cancelled() => break End::Shutdown,
        }
    };
    match end {
        End::TooSlow => {
            stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
            info!(bridge = %bridge, "a feed client fell behind and was dropped");
            // Tell it why if its socket still takes a frame; then cut the connection
            // either way (the writer may be stuck on a full socket).
            let _ = queue.try_send(close(CLOSE_TOO_SLOW, "too slow"));
            drop(queue);
            writer.abort();
        }
        End::Shutdown => {
            let _ = queue.try_send(close(CLOSE_GOING_AWAY, "shutting down"));
            drop(queue);
            // A client that does not read gets a moment, not a say in how long we wait.
            if tokio::time::timeout(SHUTDOWN_CLOSE_WAIT, &mut writer)
                .await
                .is_err()
            {
                writer.abort();
            }
        }
        End::ClientGone => {
            debug!(bridge = %bridge, "a feed client left");
            writer.abort();
        }
    }
    stats.connected.fetch_sub(1, Ordering::Relaxed);
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked() {
        assert_eq!(parse_types(None), Ok(None));
        assert_eq!(parse_types(Some("")), Ok(None));
        assert_eq!(
            parse_types(Some("chat, gift")),
            Ok(Some(vec!["chat", "gift"]))
        );
        assert!(parse_types(Some("chat,gfit")).unwrap_err().contains("gfit"));
        assert_eq!(
            parse_types(Some("twitch_online")),
            Ok(Some(vec!["twitch_online"]))
        );
    }
}
