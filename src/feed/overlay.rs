//! `GET /overlay/{bridge}`: a ready OBS browser source. A transparent page (no build step,
//! everything inline) that shows the bridge's chat with avatars, and gift and follow
//! alerts, from `/ws/{bridge}`. Query parameters:
//!
//! - `types=chat,gift,follow` (the default): which event types to show.
//! - `theme=dark|light`, `font=20` (pixels, 8 to 96), `max=12` (items shown, 1 to 100),
//!   `ttl=0` (seconds an item stays; 0: until pushed out).
//! - `avatars=0`: no avatar images (an initial-letter badge instead). With avatars on, the
//!   events' avatar URLs (TikTok's CDN) are the only requests the page makes beyond this
//!   listener; its Content-Security-Policy allows nothing else.
//! - `token=...`: the `[feed]` token, when the feed needs one.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Hub;

/// The overlay page.
pub const OVERLAY_HTML: &str = include_str!("static/overlay.html");

/// What the page may load: its own inline script and style, its own listener's WebSocket,
/// and images (avatars) over http(s). Nothing else, whatever an event carries.
pub const OVERLAY_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src http: https:; \
     base-uri 'none'; form-action 'none'";

pub(crate) fn router(hub: Hub) -> Router {
    Router::new()
        .route("/overlay/{bridge}", get(overlay))
        .with_state(hub)
}

async fn overlay(State(hub): State<Hub>, Path(bridge): Path<String>) -> Response {
    if hub.bridge(&bridge).is_none() {
        return super::ws::error(StatusCode::NOT_FOUND, format!("no bridge {bridge:?}"));
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, OVERLAY_CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        OVERLAY_HTML,
    )
        .into_response()
}
