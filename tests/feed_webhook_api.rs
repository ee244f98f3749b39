//! Webhooks managed at runtime through the token-protected API (`/api/webhooks`), against
//! a real receiver on 127.0.0.1 that checks every signature itself
//! (`feed_support::receiver`): added, delivered signed, filter changed, removed; kept in
//! `state_dir` across a restart; dead letters kept, listed and replayed once the receiver
//! is back; the per-webhook rate observed on paused time.

mod feed_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tiktwitch::event::{Event, EventKind, Meta};
use tiktwitch::feed::{FeedInput, FeedSettings, Hub, HubTasks, WebhookSettings};
use tiktwitch::secret::Secret;

use feed_support::receiver::{Receiver, SECRET, hook, keys, receiver, receiver_on, settled};
use feed_support::{bridge, chat, gift, serve, user};

const TOKEN: &str = "api-token-for-tests";

fn follow(msg_id: u64) -> Event {
    Event {
        meta: Meta {
            method: "WebcastSocialMessage".into(),
            msg_id,
            ..Meta::default()
        },
        kind: EventKind::Follow { user: user(3) },
    }
}

fn settings(state_dir: &Path) -> FeedSettings {
    FeedSettings {
        api_enabled: true,
        api_token: Some(Secret::new(TOKEN)),
        state_dir: Some(state_dir.to_owned()),
        ..FeedSettings::default()
    }
}

async fn start(settings: FeedSettings, a: &FeedInput) -> (Hub, HubTasks, SocketAddr) {
    let (hub, tasks) = Hub::start(settings, std::slice::from_ref(a), None);
    let addr = serve(&hub).await;
    (hub, tasks, addr)
}

/// One API request with the token (or `token`), answered as (status, JSON or null).
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn api(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call(addr, method, path, body, Some(TOKEN)).await
}

/// Waits (virtual time) until the receiver took `n` events.
async fn taken(r: &Receiver, n: usize) -> Vec<String> {
    for _ in 0..600 {
        if r.taken.lock().unwrap().len() >= n {
            return keys(r);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the receiver took {:?}, not {n} events", keys(r));
}

fn types_taken(r: &Receiver) -> Vec<String> {
    r.taken
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            let json: Value = serde_json::from_slice(body).unwrap();
            json["event"]["type"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn webhooks_are_added_changed_and_removed_through_the_api() {
    let (r, hook_addr) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let a = bridge("a");
    let from_config = WebhookSettings {
        events: vec!["share".into()],
        ..hook(hook_addr)
    };
    let (hub, _tasks, addr) = start(
        FeedSettings {
            webhooks: vec![from_config],
            ..settings(dir.path())
        },
        &a,
    )
    .await;
    let url = format!("http://{hook_addr}/hook");

    // Without the token, or with a wrong one: refused, nothing added.
    let body = json!({"url": url, "secret": SECRET, "events": ["chat"]});
    for token in [None, Some("wrong")] {
        let (status, _) = call(addr, "POST", "/api/webhooks", Some(body.clone()), token).await;
        assert_eq!(status, 401);
        let (status, _) = call(addr, "GET", "/api/webhooks", None, token).await;
        assert_eq!(status, 401);
    }
    // Bad documents: every problem at its field path; or why it is not a webhook at all.
    let (status, bad) = api(
        addr,
        "POST",
        "/api/webhooks",
        Some(
            json!({"url": "ftp://x", "events": ["chat", "gfit"], "bridges": ["zz"],
                    "secret": "short", "timeout_secs": 0}),
        ),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let paths: Vec<&str> = bad["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["url", "events[1]", "bridges[0]", "secret", "timeout_secs"],
        "{bad}"
    );
    let (status, bad) = api(
        addr,
        "POST",
        "/api/webhooks",
        Some(json!({"url": url, "secret": SECRET, "colour": "red"})),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad.to_string().contains("colour"), "{bad}");

    // Added: listed beside the config file's, its secret never shown.
    let (status, added) = api(addr, "POST", "/api/webhooks", Some(body)).await;
    assert_eq!(status, 201, "{added}");
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["source"], "api");
    assert_eq!(added["secret_set"], true);
    let (_, list) = api(addr, "GET", "/api/webhooks", None).await;
    assert!(!list.to_string().contains(SECRET), "{list}");
    let sources: Vec<&str> = list["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["config", "api"]);
    // The config file's webhook is read-only here.
    let (status, refused) = api(
        addr,
        "PATCH",
        "/api/webhooks/config-0",
        Some(json!({"events": ["chat"]})),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    let (status, _) = api(addr, "DELETE", "/api/webhooks/config-0", None).await;
    assert_eq!(status, 409);

    // Delivered, signed (the receiver checks every signature), filtered to chat.
    a.publish(&gift(101));
    a.publish(&chat(102, "first"));
    assert_eq!(taken(&r, 1).await, ["102"]);
    assert!(r.bad_signatures.lock().unwrap().is_empty());

    // The filter changed: now gifts and follows, not chat.
    let (status, changed) = api(
        addr,
        "PATCH",
        &format!("/api/webhooks/{id}"),
        Some(json!({"events": ["gift", "follow"]})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["events"], json!(["gift", "follow"]));
    a.publish(&chat(201, "not sent"));
    a.publish(&gift(202));
    a.publish(&follow(203));
    assert_eq!(taken(&r, 3).await, ["102", "202", "203"]);
    assert_eq!(types_taken(&r), ["chat", "gift", "follow"]);
    // An unknown kind in a change is refused with its path; the webhook stays as it was.
    let (status, bad) = api(
        addr,
        "PATCH",
        &format!("/api/webhooks/{id}"),
        Some(json!({"events": ["gift", "nope"]})),
    )
    .await;
    assert_eq!(
        (status, bad["problems"][0]["path"].as_str()),
        (422, Some("events[1]"))
    );

    // Removed: no more deliveries.
    let (status, _) = api(addr, "DELETE", &format!("/api/webhooks/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = api(addr, "GET", &format!("/api/webhooks/{id}"), None).await;
    assert_eq!(status, 404);
    let requests = *r.requests.lock().unwrap();
    a.publish(&gift(301));
    a.publish(&follow(302));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(*r.requests.lock().unwrap(), requests, "{:?}", keys(&r));
    drop(hub);
}

#[tokio::test(start_paused = true)]
async fn api_webhooks_survive_a_restart_with_their_secret() {
    let (r, hook_addr) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let a = bridge("a");
    let (_hub, tasks, addr) = start(settings(dir.path()), &a).await;
    let (status, added) = api(
        addr,
        "POST",
        "/api/webhooks",
        Some(
            json!({"url": format!("http://{hook_addr}/hook"), "secret": SECRET,
                    "events": ["chat"], "rate_per_sec": 5}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    tasks.finish(Duration::from_secs(5)).await;
    let file = dir.path().join("webhooks.json");
    assert!(file.is_file(), "the API's webhooks are kept in state_dir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds secrets");
    }

    // A new feed on the same state_dir: the webhook is back, same id, same secret.
    let a = bridge("a");
    let (_hub, _tasks, addr) = start(settings(dir.path()), &a).await;
    let (_, list) = api(addr, "GET", "/api/webhooks", None).await;
    let hooks = list["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1, "{list}");
    assert_eq!(hooks[0]["id"], added["id"]);
    assert_eq!(hooks[0]["rate_per_sec"], 5);
    assert_eq!(hooks[0]["events"], json!(["chat"]));
    a.publish(&chat(7, "after the restart"));
    assert_eq!(taken(&r, 1).await, ["7"]);
    assert!(r.bad_signatures.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn dead_letters_are_kept_across_a_restart_and_replayed_when_the_receiver_is_back() {
    // A port nobody listens on (yet).
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = bridge("a");
    let (hub, tasks, addr) = start(settings(dir.path()), &a).await;
    let (status, added) = api(
        addr,
        "POST",
        "/api/webhooks",
        Some(
            json!({"url": format!("http://{down}/hook"), "secret": SECRET,
                    "max_attempts": 2}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    let id = added["id"].as_str().unwrap().to_owned();
    for msg_id in [11, 12, 13] {
        a.publish(&chat(msg_id, "while the receiver is down"));
    }
    let stats = settled(&hub, 3).await;
    assert_eq!((stats.dead_lettered, stats.attempts), (3, 6), "{stats:?}");
    tasks.finish(Duration::from_secs(5)).await;

    // Restarted: the dead letters are still there, listed per webhook and over all.
    let a = bridge("a");
    let (_hub, _tasks, addr) = start(settings(dir.path()), &a).await;
    let path = format!("/api/webhooks/{id}/dead-letters");
    let (status, dead) = api(addr, "GET", &path, None).await;
    assert_eq!(status, 200, "{dead}");
    let letters = dead["dead_letters"].as_array().unwrap();
    let letter_keys: Vec<&str> = letters.iter().map(|l| l["key"].as_str().unwrap()).collect();
    assert_eq!(letter_keys, ["11", "12", "13"]);
    assert_eq!(letters[0]["attempts"], 2);
    assert_eq!(
        letters[0]["body"]["event"]["text"],
        "while the receiver is down"
    );
    let (_, all) = api(addr, "GET", "/api/dead-letters", None).await;
    assert_eq!(all["dead_letters"].as_array().unwrap().len(), 3);
    assert_eq!(all["dead_letters"][0]["webhook"], id.as_str());
    let (status, _) = call(addr, "POST", &format!("{path}/replay"), None, None).await;
    assert_eq!(status, 401, "a replay needs the token");

    // Replayed while still down: tried, kept.
    let (_, report) = api(addr, "POST", &format!("{path}/replay"), None).await;
    assert_eq!(
        report,
        json!({"tried": 3, "delivered": 0, "failed": 3, "remaining": 3})
    );

    // The receiver is back on that port: replayed, delivered signed, the queue empty.
    let r = receiver_on(tokio::net::TcpListener::bind(down).await.unwrap());
    let (status, report) = api(addr, "POST", &format!("{path}/replay"), None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"tried": 3, "delivered": 3, "failed": 0, "remaining": 0})
    );
    assert_eq!(keys(&r), ["11", "12", "13"]);
    assert!(r.bad_signatures.lock().unwrap().is_empty());
    let first = r.taken.lock().unwrap()[0].1.clone();
    let body: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(body["bridge"], "a");
    let (_, dead) = api(addr, "GET", &path, None).await;
    assert_eq!(dead["dead_letters"], json!([]));
    let (_, view) = api(addr, "GET", &format!("/api/webhooks/{id}"), None).await;
    assert_eq!(view["stats"]["replayed"], 3, "{view}");
}

/// `rate_per_sec = 2`, `rate_burst = 1`: POSTs 500 ms apart at least, the wait counted.
#[tokio::test(start_paused = true)]
async fn the_per_webhook_rate_spaces_posts_on_paused_time() {
    let (r, hook_addr) = receiver().await;
    let a = bridge("a");
    let settings = FeedSettings {
        webhooks: vec![WebhookSettings {
            rate_per_sec: 2,
            rate_burst: 1,
            ..hook(hook_addr)
        }],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, std::slice::from_ref(&a), None);
    for msg_id in 1..=6 {
        a.publish(&chat(msg_id, "burst"));
    }
    let stats = settled(&hub, 6).await;
    assert_eq!(stats.delivered, 6, "{stats:?}");
    assert_eq!(
        stats.rate_limited, 5,
        "every POST after the first waited: {stats:?}"
    );
    let arrivals = r.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 6);
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(490), "{gap:?}");
    }
    let total = arrivals[5] - arrivals[0];
    assert!(
        total >= Duration::from_millis(2490) && total < Duration::from_secs(4),
        "{total:?}"
    );
}

/// A state file that cannot be read is set aside (not overwritten) and the feed starts
/// without it; the API works on.
#[tokio::test(start_paused = true)]
async fn an_unreadable_state_file_is_set_aside_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.json"), b"{\"webhooks\": [tr").unwrap();
    let a = bridge("a");
    let (_hub, _tasks, addr) = start(settings(dir.path()), &a).await;
    let aside = dir.path().join("webhooks.json.unreadable");
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        b"{\"webhooks\": [tr",
        "kept as it was"
    );
    let (_, list) = api(addr, "GET", "/api/webhooks", None).await;
    assert_eq!(list["webhooks"], json!([]));
    let (status, _) = api(
        addr,
        "POST",
        "/api/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook", "secret": SECRET})),
    )
    .await;
    assert_eq!(status, 201);
    let saved = std::fs::read_to_string(dir.path().join("webhooks.json")).unwrap();
    assert!(saved.contains("127.0.0.1:9"), "{saved}");
}
