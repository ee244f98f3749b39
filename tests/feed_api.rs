//! The REST API on its own (a bridge record we publish on): the ring's bounds, pause needs
//! a configured token, and the JSON of `/api/events`.

mod feed_support;

use serde_json::Value;
use tiktwitch::feed::FeedSettings;
use tiktwitch::secret::Secret;

use feed_support::{bridge, chat, start};

fn api_on() -> FeedSettings {
    FeedSettings {
        api_enabled: true,
        ring_capacity: 5,
        ..FeedSettings::default()
    }
}

async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Waits until the tap has taken `n` events (it runs as its own task).
async fn until_held(base: &str, bridge: &str, n: u64) {
    loop {
        let (_, s) = get(format!("{base}/api/status")).await;
        let b = s["bridges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == bridge)
            .cloned()
            .unwrap();
        if b["ring"]["held"].as_u64().unwrap() + b["ring"]["evicted"].as_u64().unwrap() >= n {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn the_ring_keeps_the_newest_and_sequence_numbers_span_bridges() {
    let a = bridge("a");
    let b = bridge("b");
    let (_hub, _tasks, addr) = start(api_on(), &[a.clone(), b.clone()]).await;
    let base = format!("http://{addr}");
    for id in 1..=8 {
        a.publish(&chat(id, "to a"));
    }
    until_held(&base, "a", 8).await;
    b.publish(&chat(100, "to b"));
    until_held(&base, "b", 1).await;

    let (code, page) = get(format!("{base}/api/events?bridge=a")).await;
    assert_eq!(code, 200);
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 5, 6, 7, 8], "the 5 newest of bridge a");
    let (_, all) = get(format!("{base}/api/events?since=7")).await;
    let got: Vec<(u64, String)> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["bridge"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, [(8, "a".to_owned()), (9, "b".to_owned())]);
    assert_eq!(all["next_since"], 9);
    let (_, s) = get(format!("{base}/api/status")).await;
    assert_eq!(s["bridges"][0]["ring"]["evicted"], 3);
    assert_eq!(s["bridges"][0]["ring"]["oldest_seq"], 4);
    assert_eq!(s["twitch"], Value::Null);
}

#[tokio::test]
async fn pause_is_refused_without_a_configured_token_and_works_with_one() {
    let a = bridge("a");
    let (_hub, _tasks, addr) = start(api_on(), std::slice::from_ref(&a)).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://{addr}/api/bridges/a/pause"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "no token configured: state changes are refused"
    );
    assert!(!a.health.is_paused());

    let settings = FeedSettings {
        api_token: Some(Secret::new("tok")),
        ..api_on()
    };
    let (_hub, _tasks, addr) = start(settings, std::slice::from_ref(&a)).await;
    let post = |path: &str, token: &str| {
        http.post(format!("http://{addr}/api/bridges/a/{path}"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(post("pause", "tok").await.unwrap().status(), 200);
    assert!(a.health.is_paused());
    assert_eq!(post("explode", "tok").await.unwrap().status(), 404);
    assert_eq!(post("resume", "bad").await.unwrap().status(), 401);
    assert!(a.health.is_paused());
    assert_eq!(post("resume", "tok").await.unwrap().status(), 200);
    assert!(!a.health.is_paused());
    // GET on a POST route is not allowed.
    let r = http
        .get(format!("http://{addr}/api/bridges/a/pause"))
        .bearer_auth("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn reads_need_the_token_when_one_is_set_and_are_open_without() {
    let a = bridge("a");
    let http = reqwest::Client::new();
    let settings = FeedSettings {
        api_token: Some(Secret::new("tok")),
        ..api_on()
    };
    let (_hub, _tasks, addr) = start(settings, std::slice::from_ref(&a)).await;
    for path in ["/api/status", "/api/events", "/api/events?bridge=a&since=0"] {
        let url = format!("http://{addr}{path}");
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
        let r = http.get(&url).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        let r = http.get(&url).bearer_auth("tok").send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    // No token configured (only allowed on a loopback listener): reads are open.
    let (_hub, _tasks, addr) = start(api_on(), std::slice::from_ref(&a)).await;
    let r = http
        .get(format!("http://{addr}/api/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
