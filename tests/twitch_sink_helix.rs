//! The Helix backend (`POST /helix/chat/messages`) behind the same sink, against a local
//! axum fake of the endpoint, under paused tokio time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{Value, json};
use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::helix::{AccessTokenSource, HelixAuth};
use tiktwitch::sink::{
    ChannelState, LoginFailureHandler, SinkHandle, TwitchSink, TwitchSinkSettings,
};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Api {
    /// (at, authorization, client-id, body) of every request.
    requests: Vec<(Instant, String, String, Value)>,
    /// Canned answers: (status, body); empty = 200 is_sent.
    answers: VecDeque<(u16, Value)>,
}

type Shared = Arc<Mutex<Api>>;

async fn send_message(
    State(api): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut api = api.lock().unwrap();
    api.requests.push((
        Instant::now(),
        header("authorization"),
        header("client-id"),
        body,
    ));
    let (status, body) = api.answers.pop_front().unwrap_or((
        200,
        json!({"data": [{"message_id": "m", "is_sent": true, "drop_reason": null}]}),
    ));
    (StatusCode::from_u16(status).unwrap(), Json(body))
}

async fn fake_helix() -> (String, Shared) {
    let api = Shared::default();
    let app = Router::new()
        .route("/helix/chat/messages", post(send_message))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/helix"), api)
}

struct Token(Mutex<String>);

#[async_trait]
impl AccessTokenSource for Token {
    async fn access_token(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

struct Refresh(Arc<Token>, AtomicU32);

#[async_trait]
impl LoginFailureHandler for Refresh {
    async fn on_login_failed(&self) -> bool {
        self.1.fetch_add(1, Ordering::SeqCst);
        *self.0.0.lock().unwrap() = "fresh".into();
        true
    }
}

fn chat(text: &str, id: u64) -> Line {
    Line {
        text: text.into(),
        priority: Priority::Normal,
        kind: "chat",
        msg_id: id,
        meta: Default::default(),
    }
}

async fn until_idle(handle: &SinkHandle) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let s = handle.stats();
        if s.queue_depth == 0 && s.in_flight == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{s:#?}");
        sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn helix_sink_posts_paced_sanitized_lines_and_reacts_to_drop_reasons() {
    let (base, api) = fake_helix().await;
    let token = Arc::new(Token(Mutex::new("stale".into())));
    let hook = Arc::new(Refresh(token.clone(), AtomicU32::new(0)));
    let auth = HelixAuth {
        client_id: "cid".into(),
        sender_id: "42".into(),
        broadcaster_ids: BTreeMap::from([
            ("alpha".into(), "7".into()),
            ("beta".into(), "8".into()),
        ]),
        token: token.clone(),
    };
    {
        let mut api = api.lock().unwrap();
        // 1st: token rejected; 2nd: duplicate; 3rd: banned in beta.
        api.answers.push_back((
            401,
            json!({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}),
        ));
        api.answers.push_back((
            200,
            json!({"data": [{"message_id": "", "is_sent": false,
            "drop_reason": {"code": "msg_duplicate", "message": "duplicate"}}]}),
        ));
    }
    let settings = TwitchSinkSettings {
        channels: vec!["alpha".into(), "beta".into()],
        helix_base_url: base,
        // The burst measures pacing and waits longer than chat's maximum age.
        freshness: tiktwitch::sink::freshness::Freshness::UNBOUNDED,
        ..TwitchSinkSettings::default()
    };
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings)
        .on_login_failed(hook.clone())
        .start_helix(auth, shutdown.clone())
        .unwrap();

    handle.send("alpha", chat("first\r\nPRIVMSG #x :injected", 1));
    handle.send("alpha", chat("second", 2));
    until_idle(&handle).await;
    for i in 0..25 {
        handle.send("alpha", chat(&format!("/ban burst {i}"), 10 + i));
    }
    until_idle(&handle).await;
    api.lock().unwrap().answers.push_back((
        200,
        json!({"data": [{"message_id": "", "is_sent": false,
        "drop_reason": {"code": "msg_banned", "message": "banned"}}]}),
    ));
    handle.send("beta", chat("to beta", 99));
    handle.send("beta", chat("to beta again", 100));
    until_idle(&handle).await;

    let requests = api.lock().unwrap().requests.clone();
    // 401 then retried with the refreshed token.
    assert_eq!(hook.1.load(Ordering::SeqCst), 1);
    assert_eq!(requests[0].1, "Bearer stale");
    assert!(requests[1..].iter().all(|r| r.1 == "Bearer fresh"));
    assert!(requests.iter().all(|r| r.2 == "cid"));
    assert_eq!(
        requests[1].3,
        json!({"broadcaster_id": "7", "sender_id": "42", "message": "first PRIVMSG #x :injected"})
    );
    for r in &requests {
        let m = r.3["message"].as_str().unwrap();
        assert!(!m.starts_with(['/', '.']) && !m.contains(['\r', '\n']));
    }
    // Pacing holds on Helix too: no 30 s window with more than 18 chat messages (the refused
    // 401 request is not a chat message).
    let times: Vec<Instant> = requests[1..].iter().map(|r| r.0).collect();
    for (i, t) in times.iter().enumerate() {
        let n = times[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_secs(30))
            .count();
        assert!(n <= 18, "{n} requests within 30 s");
    }
    let s = handle.stats();
    assert_eq!(s.login_failures, 1);
    assert_eq!(s.notices.get("msg_duplicate"), Some(&1));
    assert_eq!(s.dropped_duplicate, 1);
    assert_eq!(s.notices.get("msg_banned"), Some(&1));
    assert_eq!(s.sent, 26, "{s:#?}");
    assert_eq!(s.shed_for("channel_stopped"), 1);
    assert!(matches!(
        handle.channels()["beta"].state,
        ChannelState::Stopped { .. }
    ));
    assert_eq!(s.lines_in + s.extra_parts, s.accounted());
    shutdown.cancel();
    assert!(task.await.unwrap().is_ok());
}
