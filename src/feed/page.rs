//! `GET /`: one static page (no build step, no external assets) that shows a bridge's live
//! feed: `/?bridge=a` (default: the first bridge, from `/healthz`), `&token=...` when the
//! feed needs one, `&types=chat,gift` to filter.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The page.
pub const INDEX_HTML: &str = include_str!("static/index.html");

pub(crate) fn router() -> Router {
    Router::new().route("/", get(index))
}

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
}
