//! The moderator actions on the HTTP API, for tools like Streamer.bot (on the `[http]`
//! listener, with `[api] enabled`):
//!
//! - `GET /api/control`: every bridge's control state; `GET /api/control/{bridge}`: one.
//! - `POST /api/control/{bridge}/pause[?minutes=N]`, `.../resume`,
//!   `.../mute?user=<tiktok_user>`, `.../unmute?user=<tiktok_user>`,
//!   `.../only?scope=chat|gifts|all`.
//!
//! The `POST`s always need `Authorization: Bearer <[api] token>`; the `GET`s need it when a
//! token is stored, like `/api/status`. They do what the chat commands do: the change
//! persists in `state_dir`, shows in `/api/status` and `/metrics`, and is published on the
//! bridge's feed as a `bridge_control` event (`platform: "api"`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::command::Scope;
use super::controller::{ActionError, Actor, Controller};
use crate::feed::Hub;

#[derive(Clone)]
struct Api {
    control: Controller,
    hub: Hub,
}

/// The routes, for the daemon's listener.
pub fn router(control: Controller, hub: Hub) -> Router {
    Router::new()
        .route("/api/control", get(all))
        .route("/api/control/{bridge}", get(one))
        .route("/api/control/{bridge}/{action}", post(act))
        .with_state(Api { control, hub })
}

fn refuse(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// `Some(refusal)` when the request may not go on; `write` needs a stored token.
fn check(api: &Api, headers: &HeaderMap, write: bool) -> Option<Response> {
    let settings = api.hub.settings();
    if !settings.api_enabled {
        return Some(refuse(StatusCode::NOT_FOUND, "the API is off ([api] enabled = false)"));
    }
    let Some(expected) = &settings.api_token else {
        return write.then(|| {
            refuse(
                StatusCode::FORBIDDEN,
                "no API token is configured (store one under the secret named by [api] token)",
            )
        });
    };
    (!crate::feed::token_matches(expected, crate::feed::presented_token(headers, None)))
        .then(|| refuse(StatusCode::UNAUTHORIZED, "Authorization: Bearer <[api] token> is required"))
}

fn answer<T: serde::Serialize>(result: Result<T, ActionError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e @ ActionError::NoBridge(_)) => refuse(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ ActionError::Bad(_)) => refuse(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

async fn all(State(api): State<Api>, headers: HeaderMap) -> Response {
    if let Some(refused) = check(&api, &headers, false) {
        return refused;
    }
    let all: Result<Vec<_>, _> = api
        .control
        .bridges()
        .iter()
        .map(|b| api.control.status(&b.name))
        .collect();
    answer(all.map(|bridges| serde_json::json!({ "bridges": bridges })))
}

async fn one(State(api): State<Api>, Path(bridge): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = check(&api, &headers, false) {
        return refused;
    }
    answer(api.control.status(&bridge))
}

/// The query of the `POST`s.
#[derive(Debug, Default, Deserialize)]
struct ActionQuery {
    minutes: Option<u64>,
    user: Option<String>,
    scope: Option<String>,
}

async fn act(
    State(api): State<Api>,
    Path((bridge, action)): Path<(String, String)>,
    Query(query): Query<ActionQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = check(&api, &headers, true) {
        return refused;
    }
    let c = &api.control;
    let by = Actor::api();
    let user = || {
        query
            .user
            .clone()
            .ok_or_else(|| ActionError::Bad(format!("{action} needs ?user=<tiktok_user>")))
    };
    let done = match action.as_str() {
        "pause" => c.pause(&bridge, query.minutes, &by),
        "resume" => c.resume(&bridge, &by),
        "mute" => user().and_then(|u| c.mute(&bridge, &u, &by)).map(drop),
        "unmute" => user().and_then(|u| c.unmute(&bridge, &u, &by)).map(drop),
        "only" => match query.scope.as_deref().and_then(Scope::parse) {
            Some(scope) => c.only(&bridge, scope, &by),
            None => Err(ActionError::Bad("only needs ?scope=chat|gifts|all".into())),
        },
        _ => {
            return refuse(
                StatusCode::NOT_FOUND,
                "use /pause, /resume, /mute, /unmute or /only",
            );
        }
    };
    answer(done.and_then(|()| c.status(&bridge)))
}
