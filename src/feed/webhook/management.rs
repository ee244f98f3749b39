//! The webhooks through the API (every request needs `Authorization: Bearer <[api] token>`;
//! without a stored token they are refused):
//!
//! - `GET /api/webhooks`: every webhook (`source`: `config` or `api`), never a secret.
//! - `POST /api/webhooks`: adds one (`url` and `secret` required; `events`, `bridges` and
//!   the numbers of `[[webhook]]` optional): `201` with it, its `id` new.
//! - `GET /api/webhooks/{id}`, `PUT` (replace: unnamed fields back to defaults, the secret
//!   kept unless given), `PATCH` (the fields given), `DELETE` (`204`). Config-file webhooks
//!   answer `409` to changes: change the config file.
//! - `GET /api/webhooks/{id}/dead-letters`, `POST /api/webhooks/{id}/dead-letters/replay`,
//!   `GET /api/dead-letters` (every webhook's).
//!
//! A body that is not right answers `400` (not JSON, an unknown field, a wrong type) or
//! `422` with every problem at its field path:
//! `{"error":"invalid webhook","problems":[{"path":"events[1]","message":"..."}]}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::registry::RegistryError;
use super::spec::{FieldProblem, WebhookPatch, WebhookSpec};
use crate::feed::ws::error;
use crate::feed::{Hub, presented_token, token_matches};

pub(crate) fn router(hub: Hub) -> Router {
    Router::new()
        .route("/api/webhooks", get(list).post(add))
        .route(
            "/api/webhooks/{id}",
            get(one).put(replace).patch(patch).delete(remove),
        )
        .route("/api/webhooks/{id}/dead-letters", get(dead_letters))
        .route("/api/webhooks/{id}/dead-letters/replay", post(replay))
        .route("/api/dead-letters", get(all_dead_letters))
        .with_state(hub)
}

/// `Some(refusal)` unless the request carries the API token (which must be stored).
fn refuse(hub: &Hub, headers: &HeaderMap) -> Option<Response> {
    let Some(expected) = &hub.settings().api_token else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "no API token is configured (store one under the secret named by [api] token)".into(),
        ));
    };
    (!token_matches(expected, presented_token(headers, None))).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "Authorization: Bearer <[api] token> is required".into(),
        )
    })
}

fn refused(e: &RegistryError) -> Response {
    let code = match e {
        RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
        RegistryError::FromConfig(_) | RegistryError::Full(_) => StatusCode::CONFLICT,
        RegistryError::Save(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let RegistryError::Save(e) = e {
        tracing::error!(error = %e, "a webhook change could not be saved");
    }
    error(code, e.to_string())
}

fn invalid(problems: Vec<FieldProblem>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": "invalid webhook", "problems": problems})),
    )
        .into_response()
}

/// The `400` saying why the body is not a webhook document.
fn not_a_document(e: &serde_json::Error) -> Response {
    // serde quotes the value of a wrong type ("invalid type: integer `123`"): it may
    // be the secret, so such errors say where, not what.
    let why = match e.classify() {
        serde_json::error::Category::Data
            if e.to_string().starts_with("invalid type")
                || e.to_string().starts_with("invalid value") =>
        {
            format!(
                "a field has the wrong type (line {}, column {}); see README \"Webhooks\"",
                e.line(),
                e.column()
            )
        }
        _ => e.to_string(),
    };
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid webhook", "problems": [
            {"path": "", "message": format!("not a webhook document: {why}")}
        ]})),
    )
        .into_response()
}

/// The body as a patch.
fn parse(body: &Bytes) -> Result<WebhookPatch, serde_json::Error> {
    serde_json::from_slice(body)
}

/// The checked spec, or its problems.
fn checked(hub: &Hub, spec: WebhookSpec) -> Result<WebhookSpec, Vec<FieldProblem>> {
    let problems = spec.problems(hub.webhooks().bridges());
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}

async fn list(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    Json(json!({ "webhooks": hub.webhooks().list() })).into_response()
}

async fn add(State(hub): State<Hub>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    let patch = match parse(&body) {
        Ok(patch) => patch,
        Err(e) => return not_a_document(&e),
    };
    let spec = match checked(&hub, patch.apply(WebhookSpec::default())) {
        Ok(spec) => spec,
        Err(problems) => return invalid(problems),
    };
    match hub.webhooks().add(spec).await {
        Ok(view) => {
            tracing::info!(webhook = %view.id, url = %view.url, "webhook added through the API");
            (StatusCode::CREATED, Json(view)).into_response()
        }
        Err(e) => refused(&e),
    }
}

async fn one(State(hub): State<Hub>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    match hub.webhooks().get(&id) {
        Some(view) => Json(view).into_response(),
        None => refused(&RegistryError::NotFound(id)),
    }
}

async fn change(hub: Hub, id: String, headers: HeaderMap, body: Bytes, whole: bool) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    let current = match hub.webhooks().spec(&id) {
        Ok(spec) => spec,
        Err(e) => return refused(&e),
    };
    let patch = match parse(&body) {
        Ok(patch) => patch,
        Err(e) => return not_a_document(&e),
    };
    let base = if whole {
        WebhookSpec {
            secret: current.secret.clone(),
            ..WebhookSpec::default()
        }
    } else {
        current
    };
    let spec = match checked(&hub, patch.apply(base)) {
        Ok(spec) => spec,
        Err(problems) => return invalid(problems),
    };
    match hub.webhooks().replace(&id, spec).await {
        Ok(view) => {
            tracing::info!(webhook = %id, url = %view.url, "webhook changed through the API");
            Json(view).into_response()
        }
        Err(e) => refused(&e),
    }
}

async fn replace(
    State(hub): State<Hub>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(hub, id, headers, body, true).await
}

async fn patch(
    State(hub): State<Hub>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(hub, id, headers, body, false).await
}

async fn remove(State(hub): State<Hub>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    match hub.webhooks().remove(&id).await {
        Ok(()) => {
            tracing::info!(webhook = %id, "webhook removed through the API");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => refused(&e),
    }
}

async fn dead_letters(
    State(hub): State<Hub>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    match hub.webhooks().dead_letters(&id) {
        Some((letters, dropped)) => {
            Json(json!({"webhook": id, "dead_letters": letters, "dropped": dropped}))
                .into_response()
        }
        None => refused(&RegistryError::NotFound(id)),
    }
}

async fn replay(State(hub): State<Hub>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    match hub.webhooks().replay(&id).await {
        Ok(report) => {
            tracing::info!(webhook = %id, ?report, "dead letters replayed");
            Json(report).into_response()
        }
        Err(e) => refused(&e),
    }
}

async fn all_dead_letters(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Some(no) = refuse(&hub, &headers) {
        return no;
    }
    let all: Vec<_> = hub
        .webhooks()
        .all_dead_letters()
        .into_iter()
        .flat_map(|(webhook, letters)| {
            letters.into_iter().map(move |letter| {
                let mut value = serde_json::to_value(letter).unwrap_or_default();
                value["webhook"] = json!(webhook);
                value
            })
        })
        .collect();
    Json(json!({ "dead_letters": all })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wrongly_typed_secret_is_not_echoed() {
        let body = Bytes::from_static(br#"{"url":"http://x/","secret":98765432123456789}"#);
        let answer = not_a_document(&parse(&body).expect_err("a number is not a secret"));
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("wrong type"), "{text}");
        assert!(!text.contains("98765432123456789"), "{text}");
        let unknown = Bytes::from_static(br#"{"colour":"red"}"#);
        assert!(parse(&unknown).is_err());
    }
}
