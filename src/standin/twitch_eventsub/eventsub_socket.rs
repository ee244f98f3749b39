//! One EventSub WebSocket connection of the stand-in: `session_welcome` first (a new
//! session, or with `?reconnect=ID` the moved session `ID`), a keepalive whenever
//! `keepalive_secs` pass without another message (unless the stand-in is silent), and
//! whatever the stand-in queues for the session (notifications, reconnect, revocation).
//! A session with no subscription [`UNUSED_AFTER`] its welcome is closed with 4003.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::{Outgoing, SessionSlot, Shared, message};

/// Twitch closes a session that has no subscription this long after its welcome.
pub const UNUSED_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
pub(crate) struct WsQuery {
    reconnect: Option<String>,
}

pub(crate) async fn upgrade(
    State(shared): State<Shared>,
    Query(query): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| serve(shared, socket, query.reconnect))
}

async fn serve(shared: Shared, mut socket: WebSocket, moved: Option<String>) {
    let keepalive = Duration::from_secs(shared.config.keepalive_secs.max(1));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (connection, welcome, session_id) = {
        let mut state = shared.lock();
        state.connections += 1;
        state.open_connections += 1;
        let connection = state.connections;
        let session_id = moved.unwrap_or_else(|| format!("standin-session-{connection}"));
        state.sessions.insert(
            session_id.clone(),
            SessionSlot {
                connection,
                tx: tx.clone(),
            },
        );
        let payload = json!({ "session": {
            "id": session_id,
            "status": "connected",
            "connected_at": "2026-01-01T00:00:00Z",
            "keepalive_timeout_seconds": shared.config.keepalive_secs,
            "reconnect_url": null,
        }});
        let welcome = message(&mut state, "session_welcome", payload, json!({}));
        (connection, welcome, session_id)
    };
    let _ = tx.send(Outgoing::Text(welcome));
    let mut idle = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    // Like Twitch: a new session with no subscription 10 s after its welcome is closed
    // (4003, connection unused). A moved session keeps its subscriptions.
    let unused = tokio::time::sleep(UNUSED_AFTER);
    tokio::pin!(unused);
    let mut checked = false;
    loop {
        tokio::select! {
            () = &mut unused, if !checked => {
                checked = true;
                let used = shared.lock().subscriptions.iter().any(|s| s.session_id == session_id);
                if !used {
                    let frame = CloseFrame { code: 4003, reason: "connection unused".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break;
                }
            }
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                    idle.reset();
                }
                Some(Outgoing::Close(code, reason)) => {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                        .await;
                    break;
                }
                None => break,
            },
            _ = idle.tick() => {
                let text = {
                    let mut state = shared.lock();
                    if state.silent {
                        continue;
                    }
                    message(&mut state, "session_keepalive", json!({}), json!({}))
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut state = shared.lock();
    state.open_connections -= 1;
    if state
        .sessions
        .get(&session_id)
        .is_some_and(|s| s.connection == connection)
    {
        state.sessions.remove(&session_id);
    }
}
