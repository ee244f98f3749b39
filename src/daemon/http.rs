//! The optional health and metrics listener (loopback by default): `GET /healthz` (per
//! bridge: TikTok state, Twitch state, last event) and `GET /metrics` (Prometheus text),
//! plus the routes of [`crate::feed`] that are enabled (`/ws/{bridge}`, `/`, `/api/...`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Running;
use super::health::BridgeState;
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(running)
        .merge(feed)
}

/// Serves until `shutdown`.
pub async fn serve(listener: TcpListener, running: Running, shutdown: CancellationToken) {
    let app = router(running);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
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

async fn metrics(State(running): State<Running>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        running.metrics(),
    )
}
