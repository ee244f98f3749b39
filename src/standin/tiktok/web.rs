//! The fake's HTTP side: room endpoints and the signer contract (axum).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prost::Message;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{FAKE_GIFTS, FakeTikTok, GiftListMode, LookupMode, Shared, SignerFault};

/// Hands axum the connections the dispatcher decided are plain HTTP.
pub(super) struct ChannelListener {
    pub(super) rx: mpsc::Receiver<(TcpStream, SocketAddr)>,
    pub(super) addr: SocketAddr,
}

impl axum::serve::Listener for ChannelListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The dispatcher is gone: the server is shutting down.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

type Shared_ = Arc<Shared>;

pub(super) fn router(shared: Shared_) -> Router {
    Router::new()
        .route("/api-live/user/room/", get(room_api))
        .route("/{handle}/live", get(live_page))
        .route("/webcast/fetch", get(signer_fetch))
        .route("/webcast/gift/list/", get(gift_list))
        .with_state(shared)
}

const CAPTCHA_PAGE: &str = "<html><head><title>Verify</title></head><body><div id=\"tiktok-verify-page\">captcha</div></body></html>";

fn room_json(shared: &Shared) -> serde_json::Value {
    let state = shared.lock();
    let status = if state.live { 2 } else { 4 };
    serde_json::json!({
        "user": {
            "id": "6000000000000000001",
            "uniqueId": shared.config.username,
            "nickname": "Fake Creator",
            "avatarLarger": format!("http://{}/avatar/{}.webp", shared.addr, shared.config.username),
            "roomId": state.room_id.to_string(),
            "status": status,
        },
        "stats": {
            "followerCount": shared.config.followers,
            "followingCount": shared.config.following,
        },
        "liveRoom": {
            "status": status,
            "title": "fake live",
            "liveRoomStats": { "userCount": shared.config.viewers, "enterCount": 99 },
        },
    })
}

async fn room_api(
    State(shared): State<Shared_>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mode = {
        let mut state = shared.lock();
        state.report.api_lookups += 1;
        state.lookup
    };
    if query.get("aid").map(String::as_str) != Some("1988")
        || query.get("sourceType").map(String::as_str) != Some("54")
    {
        shared.violation(format!(
            "room API called without aid=1988&sourceType=54: {query:?}"
        ));
    }
    let user = query.get("uniqueId").cloned().unwrap_or_default();
    let not_found =
        serde_json::json!({"statusCode": 19881007, "message": "user_not_found", "data": {}});
    match mode {
        LookupMode::ApiDown => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        LookupMode::Captcha => {
            ([(header::CONTENT_TYPE, "text/html")], CAPTCHA_PAGE).into_response()
        }
        LookupMode::NotFound => axum::Json(not_found).into_response(),
        LookupMode::AgeRestricted => {
            axum::Json(serde_json::json!({"statusCode": 4003110, "message": "", "data": {}}))
                .into_response()
        }
        LookupMode::Normal if user != shared.config.username => {
            axum::Json(not_found).into_response()
        }
        LookupMode::Normal => axum::Json(
            serde_json::json!({"statusCode": 0, "message": "", "data": room_json(&shared)}),
        )
        .into_response(),
    }
}

async fn live_page(State(shared): State<Shared_>, Path(handle): Path<String>) -> Response {
    let mode = {
        let mut state = shared.lock();
        state.report.page_lookups += 1;
        state.lookup
    };
    let html = |sigi: serde_json::Value| {
        let page = format!(
            "<!DOCTYPE html><html><body><script id=\"SIGI_STATE\" type=\"application/json\">{sigi}</script></body></html>"
        );
        ([(header::CONTENT_TYPE, "text/html")], page).into_response()
    };
    let user = handle.trim_start_matches('@');
    match mode {
        LookupMode::Captcha => {
            ([(header::CONTENT_TYPE, "text/html")], CAPTCHA_PAGE).into_response()
        }
        LookupMode::NotFound => html(serde_json::json!({"AppContext": {}})),
        _ if user != shared.config.username => html(serde_json::json!({"AppContext": {}})),
        _ => html(serde_json::json!({"LiveRoom": {"liveRoomUserInfo": room_json(&shared)}})),
    }
}

async fn signer_fetch(
    State(shared): State<Shared_>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let user_agent = query.get("user_agent").cloned().unwrap_or_default();
    let (fault, room_id, live, n) = {
        let mut state = shared.lock();
        state.report.signer_calls += 1;
        state.report.signer_user_agents.push(user_agent.clone());
        let cookie_header = headers.get("x-cookie-header").and_then(|v| v.to_str().ok());
        state
            .report
            .signer_cookie_headers
            .push(cookie_header.unwrap_or("").to_string());
        (
            state.signer_faults.pop_front(),
            state.room_id,
            state.live,
            state.report.signer_calls as usize,
        )
    };
    let json =
        |status: StatusCode, body: serde_json::Value| (status, axum::Json(body)).into_response();
    if let Some(expected) = &shared.config.api_key {
        let given = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"message": "Invalid API key"}),
            );
        }
    }
    if user_agent.is_empty() {
        shared.violation("signer called without user_agent".into());
    }
    if query.get("client_enter").map(String::as_str) != Some("true") {
        shared.violation("signer called without client_enter=true".into());
    }
    match fault {
        Some(SignerFault::RateLimited {
            retry_after_secs,
            label,
        }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                axum::Json(
                    serde_json::json!({"message": "Too many requests", "limit_label": label}),
                ),
            )
                .into_response();
        }
        Some(SignerFault::ServerError) => {
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"message": "Empty response payload received! (Internal Code: 200)"}),
            );
        }
        Some(SignerFault::EmptyBody) => return StatusCode::OK.into_response(),
        Some(SignerFault::Unauthorized) => {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"message": "Invalid API key"}),
            );
        }
        Some(SignerFault::PaymentRequired) => {
            return json(
                StatusCode::PAYMENT_REQUIRED,
                serde_json::json!({"message": "Premium feature"}),
            );
        }
        None => {}
    }
    if !live {
        shared.violation(
            "signer called while the room is offline (poll the unsigned endpoint)".into(),
        );
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"message": "room is not live"}),
        );
    }
    if query.get("room_id") != Some(&room_id.to_string()) {
        shared.violation(format!(
            "signer called for room {:?}, but the live room is {room_id}",
            query.get("room_id")
        ));
    }
    let (result, mut issued) = FakeTikTok::first_fetch(&shared, n);
    issued.user_agent = user_agent;
    shared.lock().issued.push(issued);
    let cookie = format!(
        "ttwid={}; Path=/; Domain=.tiktok.com; Expires=Wed, 21 Oct 2099 07:28:00 GMT; HttpOnly, tt_csrf_token=fake-csrf; Path=/",
        shared.config.ttwid
    );
    (
        StatusCode::OK,
        [
            ("x-set-tt-cookie", cookie),
            ("x-room-id", room_id.to_string()),
            (
                header::CONTENT_TYPE.as_str(),
                "application/x-protobuf".to_string(),
            ),
        ],
        result.encode_to_vec(),
    )
        .into_response()
}

/// `{"data":{"gifts":[..]},"status_code":0}` of [`FAKE_GIFTS`], plus one entry without an id
/// (real lists have odd entries too).
pub(super) fn gift_list_json(shared: &Shared) -> serde_json::Value {
    let mut gifts: Vec<serde_json::Value> = FAKE_GIFTS
        .iter()
        .map(|(id, name, diamonds, kind)| {
            serde_json::json!({
                "id": id,
                "name": name,
                "diamond_count": diamonds,
                "type": kind,
                "describe": format!("sent {name}"),
                "image": {
                    "url_list": [format!("http://{}/gift/{id}.webp", shared.addr)],
                    "uri": format!("webcast-va/{id}"),
                },
            })
        })
        .collect();
    gifts.push(serde_json::json!({"name": "no id", "diamond_count": 3}));
    serde_json::json!({"data": {"gifts": gifts}, "extra": {"now": 0}, "status_code": 0})
}

async fn gift_list(
    State(shared): State<Shared_>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (mode, room_id) = {
        let mut state = shared.lock();
        state.report.gift_list_calls += 1;
        (state.gift_list, state.room_id)
    };
    if query.get("aid").map(String::as_str) != Some("1988")
        || query.get("room_id") != Some(&room_id.to_string())
    {
        shared.violation(format!(
            "gift list called without aid=1988 and the live room {room_id}: {query:?}"
        ));
    }
    match mode {
        GiftListMode::Normal => axum::Json(gift_list_json(&shared)).into_response(),
        GiftListMode::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        GiftListMode::Stall => {
            shared.shutdown.cancelled().await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        GiftListMode::Garbage => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"data\":{\"gifts\":[{\"id\":1,",
        )
            .into_response(),
        GiftListMode::Oversized => {
            let mut json = gift_list_json(&shared);
            json["extra"]["padding"] =
                serde_json::Value::from("x".repeat(crate::limits::MAX_GIFT_LIST_BODY_BYTES));
            axum::Json(json).into_response()
        }
    }
}
