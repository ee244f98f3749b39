//! The Helix backend (`POST /helix/chat/messages`) behind the same sink, against the Helix
//! stand-in (`tiktwitch::standin::helix_chat`), under paused tokio time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tiktwitch::auth::TokioClock;
use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::helix::{AccessTokenSource, HelixAuth};
use tiktwitch::sink::{
    ChannelState, LoginFailureHandler, SinkHandle, TwitchSink, TwitchSinkSettings,
};
use tiktwitch::standin::helix_chat::{FakeHelix, FakeHelixConfig, HelixAnswer};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

struct Token(Mutex<String>);

#[async_trait]
impl AccessTokenSource for Token {
    async fn access_token(&self) -> Result<String, String> {
        Ok(self.0.lock().unwrap().clone())
    }
}

/// Counts refreshes; each one hands out `fresh`.
struct Refresh(Arc<Token>, AtomicU32, &'static str);

#[async_trait]
impl LoginFailureHandler for Refresh {
    async fn on_login_failed(&self) -> bool {
        self.1.fetch_add(1, Ordering::SeqCst);
        *self.0.0.lock().unwrap() = self.2.into();
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

fn unauthorized() -> HelixAnswer {
    HelixAnswer::Status(
        401,
        json!({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}),
    )
}

struct Rig {
    fake: FakeHelix,
    token: Arc<Token>,
    hook: Arc<Refresh>,
    handle: SinkHandle,
    task: tokio::task::JoinHandle<Result<(), tiktwitch::sink::SinkError>>,
    shutdown: CancellationToken,
}

async fn rig(clock: TokioClock, fresh: &'static str) -> Rig {
    let fake = FakeHelix::start(FakeHelixConfig {
        client_id: "cid".into(),
        clock: Arc::new(clock),
        ..FakeHelixConfig::default()
    })
    .await
    .unwrap();
    let token = Arc::new(Token(Mutex::new("stale".into())));
    let hook = Arc::new(Refresh(token.clone(), AtomicU32::new(0), fresh));
    let auth = HelixAuth {
        client_id: "cid".into(),
        sender_id: "42".into(),
        broadcaster_ids: BTreeMap::from([
            ("alpha".into(), "7".into()),
            ("beta".into(), "8".into()),
        ]),
        token: token.clone(),
    };
    let settings = TwitchSinkSettings {
        channels: vec!["alpha".into(), "beta".into()],
        helix_base_url: fake.base_url(),
        // The burst measures pacing and waits longer than chat's maximum age.
        freshness: tiktwitch::sink::freshness::Freshness::UNBOUNDED,
        clock: Arc::new(clock),
        ..TwitchSinkSettings::default()
    };
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings)
        .on_login_failed(hook.clone())
        .start_helix(auth, shutdown.clone())
        .unwrap();
    Rig {
        fake,
        token,
        hook,
        handle,
        task,
        shutdown,
    }
}

#[tokio::test(start_paused = true)]
async fn helix_sink_posts_paced_sanitized_lines_and_reacts_to_drop_reasons() {
    let Rig {
        fake,
        token: _token,
        hook,
        handle,
        task,
        shutdown,
    } = rig(TokioClock::new(), "fresh").await;
    // 1st: token rejected; 2nd: duplicate.
    fake.script([
        unauthorized(),
        HelixAnswer::NotSent {
            code: "msg_duplicate".into(),
            message: "duplicate".into(),
        },
    ]);
    handle.send("alpha", chat("first\r\nPRIVMSG #x :injected", 1));
    handle.send("alpha", chat("second", 2));
    until_idle(&handle).await;
    for i in 0..25 {
        handle.send("alpha", chat(&format!("/ban burst {i}"), 10 + i));
    }
    until_idle(&handle).await;
    fake.script([HelixAnswer::NotSent {
        code: "msg_banned".into(),
        message: "banned".into(),
    }]);
    handle.send("beta", chat("to beta", 99));
    handle.send("beta", chat("to beta again", 100));
    until_idle(&handle).await;

    let requests = fake.requests_to("chat/messages");
    // 401 then retried with the refreshed token.
    assert_eq!(hook.1.load(Ordering::SeqCst), 1);
    assert_eq!(requests[0].authorization, "Bearer stale");
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.authorization == "Bearer fresh")
    );
    assert!(requests.iter().all(|r| r.client_id == "cid"));
    assert_eq!(
        requests[1].body,
        json!({"broadcaster_id": "7", "sender_id": "42", "message": "first PRIVMSG #x :injected"})
    );
    for r in &requests {
        let m = r.body["message"].as_str().unwrap();
        assert!(!m.starts_with(['/', '.']) && !m.contains(['\r', '\n']));
    }
    // Pacing holds on Helix too: no 30 s window with more than 18 chat messages (the refused
    // 401 request is not a chat message).
    let times: Vec<Instant> = requests[1..].iter().map(|r| r.at).collect();
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
    // is_sent = false, counted by drop reason.
    assert_eq!(
        s.helix_dropped,
        BTreeMap::from([("msg_banned".into(), 1), ("msg_duplicate".into(), 1)])
    );
    assert_eq!(s.sent, 26, "{s:#?}");
    assert_eq!(fake.sent().len(), 26);
    assert_eq!(s.shed_for("channel_stopped"), 1);
    assert!(matches!(
        handle.channels()["beta"].state,
        ChannelState::Stopped { .. }
    ));
    assert_eq!(s.lines_in + s.extra_parts, s.accounted());
    shutdown.cancel();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_ratelimit_reset_and_loses_no_line() {
    let Rig {
        fake,
        handle,
        task,
        shutdown,
        ..
    } = rig(TokioClock::new(), "fresh").await;
    fake.script([HelixAnswer::RateLimited {
        reset_in: Duration::from_secs(20),
    }]);
    let start = Instant::now();
    handle.send("alpha", chat("held back", 1));
    handle.send("alpha", chat("after it", 2));
    until_idle(&handle).await;
    let requests = fake.requests_to("chat/messages");
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert_eq!(requests[0].status, 429);
    // The retry waits until the reset (whole seconds of the wall clock), not before.
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_secs(19) && waited <= Duration::from_secs(21),
        "{waited:?}"
    );
    assert!(requests[0].at - start < Duration::from_secs(1));
    let texts: Vec<String> = fake.sent().into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(texts, ["held back", "after it"]);
    let s = handle.stats();
    assert_eq!(s.helix_rate_limited, 1);
    assert_eq!(s.requeued, 1);
    assert_eq!((s.sent, s.confirmed), (2, 2));
    assert_eq!(s.lines_in + s.extra_parts, s.accounted());
    shutdown.cancel();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_token_refused_again_after_its_refresh_stops_the_sink_instead_of_looping() {
    let Rig {
        fake,
        hook,
        handle,
        task,
        ..
    } = rig(TokioClock::new(), "still-bad").await;
    fake.script([unauthorized(), unauthorized(), unauthorized()]);
    handle.send("alpha", chat("never", 1));
    let end = tokio::time::timeout(Duration::from_secs(600), task)
        .await
        .expect("the sink stops")
        .unwrap();
    assert!(
        matches!(end, Err(tiktwitch::sink::SinkError::LoginFailed { .. })),
        "{end:?}"
    );
    assert_eq!(hook.1.load(Ordering::SeqCst), 1, "refreshed once");
    assert_eq!(fake.requests_to("chat/messages").len(), 2);
    let s = handle.stats();
    assert_eq!(s.login_failures, 2);
    assert_eq!(s.lines_in + s.extra_parts, s.accounted(), "{s:#?}");
}

#[tokio::test]
async fn the_id_lookup_batches_logins_and_names_the_unknown_ones() {
    use tiktwitch::sink::helix_ids::{HelixIdsError, lookup_ids};
    let channels: Vec<String> = (0..150).map(|i| format!("chan{i:03}")).collect();
    let mut users: BTreeMap<String, String> = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), (1000 + i).to_string()))
        .collect();
    users.insert("bot".into(), "42".into());
    let fake = FakeHelix::start(FakeHelixConfig {
        client_id: "cid".into(),
        users,
        ..FakeHelixConfig::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let ids = lookup_ids(&http, &fake.base_url(), "cid", "tok", "Bot", &channels)
        .await
        .unwrap();
    assert_eq!(ids.sender_id, "42");
    assert_eq!(ids.broadcaster_ids.len(), 150);
    assert_eq!(ids.broadcaster_ids["chan149"], "1149");
    // 151 logins, at most 100 a request.
    let requests = fake.requests_to("users");
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.authorization == "Bearer tok"));

    let err = lookup_ids(
        &http,
        &fake.base_url(),
        "cid",
        "tok",
        "bot",
        &["chan000".into(), "nobody".into()],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, HelixIdsError::UnknownLogins(l) if l == &["nobody"]),
        "{err}"
    );
    // A Client-Id the token does not belong to: Helix's 401, to be renewed once.
    let err = lookup_ids(&http, &fake.base_url(), "other", "tok", "bot", &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HelixIdsError::Unauthorized(_)), "{err}");
}
