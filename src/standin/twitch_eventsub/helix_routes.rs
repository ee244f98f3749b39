//! The stand-in's Helix handlers: `GET /helix/users?login=..`, `GET /helix/streams?
//! user_login=..` and `POST /helix/eventsub/subscriptions`, with Twitch's error shapes.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{Shared, Subscription};

/// Twitch's error body.
fn refusal(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({
            "error": status.canonical_reason().unwrap_or_default(),
            "status": status.as_u16(),
            "message": message,
        })),
    )
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token_ok = match &shared.config.token {
        Some(t) => header("authorization") == format!("Bearer {t}"),
        None => header("authorization").starts_with("Bearer "),
    };
    let ok = token_ok && header("client-id") == shared.config.client_id;
    if !ok {
        shared.lock().refused_auth += 1;
    }
    ok
}

fn values(query: Option<&str>, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect()
}

pub(crate) async fn users(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> (StatusCode, Json<Value>) {
    if !authorized(&shared, &headers) {
        return refusal(StatusCode::UNAUTHORIZED, "Invalid OAuth token");
    }
    let data: Vec<Value> = values(query.as_deref(), "login")
        .into_iter()
        .filter_map(|login| {
            shared.config.users.get(&login).map(|id| {
                json!({"id": id, "login": login, "display_name": login, "type": "",
                       "broadcaster_type": "", "description": "", "created_at": "2020-01-01T00:00:00Z"})
            })
        })
        .collect();
    (StatusCode::OK, Json(json!({ "data": data })))
}

pub(crate) async fn streams(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> (StatusCode, Json<Value>) {
    if !authorized(&shared, &headers) {
        return refusal(StatusCode::UNAUTHORIZED, "Invalid OAuth token");
    }
    let mut state = shared.lock();
    state.stream_polls += 1;
    let data: Vec<Value> = values(query.as_deref(), "user_login")
        .into_iter()
        .filter_map(|login| {
            let s = state.streams.get(&login).filter(|s| s.live)?;
            Some(json!({
                "id": "stream-1",
                "user_id": shared.config.users.get(&login).cloned().unwrap_or_default(),
                "user_login": login,
                "user_name": login,
                "game_id": "509658",
                "game_name": s.category,
                "type": "live",
                "title": s.title,
                "viewer_count": 12,
                "started_at": s.started_at,
                "language": "en",
                "tags": [],
                "is_mature": false,
            }))
        })
        .collect();
    (
        StatusCode::OK,
        Json(json!({ "data": data, "pagination": {} })),
    )
}

pub(crate) async fn subscribe(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&shared, &headers) {
        return refusal(StatusCode::UNAUTHORIZED, "Invalid OAuth token");
    }
    let mut state = shared.lock();
    if let Some(status) = state.refuse_subscriptions {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
        return refusal(status, "subscription missing proper authorization");
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let sub = Subscription {
        kind: text(&body["type"]),
        version: text(&body["version"]),
        broadcaster_id: text(&body["condition"]["broadcaster_user_id"]),
        session_id: text(&body["transport"]["session_id"]),
    };
    let known = [("stream.online", "1"), ("stream.offline", "1"), ("channel.update", "2")];
    if !known.contains(&(sub.kind.as_str(), sub.version.as_str())) {
        return refusal(StatusCode::BAD_REQUEST, "unknown subscription type or version");
    }
    if body["transport"]["method"] != "websocket" || !state.sessions.contains_key(&sub.session_id) {
        return refusal(StatusCode::BAD_REQUEST, "transport: no such websocket session");
    }
    if !shared.config.users.values().any(|id| *id == sub.broadcaster_id) {
        return refusal(StatusCode::BAD_REQUEST, "invalid condition: broadcaster_user_id");
    }
    if state.subscriptions.contains(&sub) {
        return refusal(StatusCode::CONFLICT, "subscription already exists");
    }
    state.subscriptions.push(sub.clone());
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "data": [{
                "id": format!("sub-{}-{}", sub.kind, sub.broadcaster_id),
                "status": "enabled",
                "type": sub.kind,
                "version": sub.version,
                "condition": { "broadcaster_user_id": sub.broadcaster_id },
                "transport": { "method": "websocket", "session_id": sub.session_id },
                "created_at": "2026-01-01T00:00:00Z",
                "cost": 0,
            }],
            "total": state.subscriptions.len(),
            "total_cost": 0,
            "max_total_cost": 10,
        })),
    )
}
