//! The optional health and metrics listener (loopback by default): `GET /healthz` (per
//! bridge: TikTok state, Twitch state, last event), `GET /livez` (the process answers: for
//! a liveness probe), `GET /readyz` (Twitch connected and every bridge relaying or waiting
//! for its live: for a readiness probe) and `GET /metrics` (Prometheus text), plus the
//! routes of [`crate::feed`] that are enabled (`/ws/{bridge}`, `/`, `/api/...`).
//!
//! Liveness and readiness are apart on purpose: a creator going offline, or Twitch being
//! unreachable for a while, must never make an orchestrator restart the process (that
//! only spends signer calls and Twitch logins); `/livez` fails only when nothing answers.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Running;
use super::server::HttpServerSettings;
use crate::status::BridgeState;
use crate::sink::SinkState;

#[derive(Serialize)]
struct Healthz {
    /// "ok" when every bridge runs and Twitch is connected.
    status: &'static str,
    twitch: String,
    bridges: Vec<BridgeState>,
}

/// The listener's routes. More services (the event feed, the REST API) merge theirs here.
pub fn router(running: Running) -> Router {
    let feed = running.feed.router();
    let control = crate::control::control_api::router(running.control.clone(), running.feed.clone());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/api/reload", axum::routing::post(reload))
        .route("/metrics", get(metrics))
        .with_state(running)
        .merge(feed)
        .merge(control)
}

/// Serves until `shutdown`, within the limits of `settings` ([`super::server`]): no
/// client can hold the daemon past the shutdown deadline.
pub async fn serve(
    listener: TcpListener,
    running: Running,
    settings: HttpServerSettings,
    shutdown: CancellationToken,
) {
    let stats = running.http_stats.clone();
    let app = router(running);
    super::server::serve(listener, app, settings, stats, shutdown).await;
}

async fn healthz(State(running): State<Running>) -> impl IntoResponse {
    let twitch = match running.sink.state() {
        SinkState::Connecting => "connecting".to_owned(),
        SinkState::Connected => "connected".to_owned(),
        SinkState::Stopped(why) => format!("stopped: {why}"),
    };
    let bridges: Vec<BridgeState> = running.bridges.iter().map(|b| b.snapshot()).collect();
    let healthy = twitch == "connected" && running.bridges.iter().all(|b| b.is_healthy());
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Healthz {
        status: if healthy { "ok" } else { "degraded" },
        twitch,
        bridges,
    };
    (code, Json(body))
}

/// `POST /api/reload`: what SIGHUP does, for every OS and for tools (Streamer.bot, scripts).
/// Needs `Authorization: Bearer <[api] token>`, like the API's other state changes.
async fn reload(State(running): State<Running>, headers: axum::http::HeaderMap) -> impl IntoResponse {
    let refuse = |code: StatusCode, message: &str| {
        (code, Json(serde_json::json!({ "error": message }))).into_response()
    };
    let settings = running.feed.settings();
    if !settings.api_enabled {
        return refuse(StatusCode::NOT_FOUND, "the API is off ([api] enabled = false)");
    }
    let Some(expected) = &settings.api_token else {
        return refuse(
            StatusCode::FORBIDDEN,
            "no API token is configured (store one under the secret named by [api] token)",
        );
    };
    if !crate::feed::token_matches(expected, crate::feed::presented_token(&headers, None)) {
        return refuse(StatusCode::UNAUTHORIZED, "Authorization: Bearer <token> is required");
    }
    let reloader = running.reloader.clone();
    let result = tokio::task::spawn_blocking(move || reloader.reload_file()).await;
    match result {
        Ok(Ok(bridges)) => {
            tracing::info!(bridges, "API: config reloaded (routes, templates, filters)");
            Json(serde_json::json!({ "reloaded": bridges })).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!("API: {e}");
            refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
        }
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the reload task failed"),
    }
}

async fn livez() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Readyz {
    /// "ready" or "not_ready".
    status: &'static str,
    twitch: &'static str,
    /// The bridges that are not ready, with their state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_ready: Vec<NotReady>,
}

#[derive(Serialize)]
struct NotReady {
    bridge: String,
    tiktok_state: String,
}

async fn readyz(State(running): State<Running>) -> impl IntoResponse {
    let twitch = match running.sink.state() {
        SinkState::Connected => "connected",
        SinkState::Connecting => "connecting",
        SinkState::Stopped(_) => "stopped",
    };
    let not_ready: Vec<NotReady> = running
        .bridges
        .iter()
        .map(|b| b.snapshot())
        .filter(|s| !crate::status::is_ready_state(&s.tiktok_state))
        .map(|s| NotReady {
            bridge: s.name,
            tiktok_state: s.tiktok_state,
        })
        .collect();
    let ready = twitch == "connected" && not_ready.is_empty();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readyz {
        status: if ready { "ready" } else { "not_ready" },
        twitch,
        not_ready,
    };
    (code, Json(body))
}

async fn metrics(State(running): State<Running>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        running.metrics(),
    )
}
