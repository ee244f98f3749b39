//! `[api] ring_path`: the event ring kept in an SQLite file. A client's `since` cursor held
//! across a restart gets every event exactly once and sequence numbers continue; each
//! bridge is pruned to `ring_capacity` on disk; a writer stuck on a locked file never slows
//! the tap (what it cannot take is counted); a bad file stops the daemon at start, naming it.

mod feed_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tiktwitch::config;
use tiktwitch::daemon::{self, DaemonError, Plan};
use tiktwitch::feed::{FeedSettings, Hub, HubTasks, RingStore};
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};

use feed_support::{bridge, chat, serve};

fn persisted(path: &Path, capacity: usize) -> FeedSettings {
    FeedSettings {
        api_enabled: true,
        ring_capacity: capacity,
        ring_path: Some(path.to_owned()),
        ..FeedSettings::default()
    }
}

/// A hub over `bridges` with its ring in the settings' file, served.
async fn start(
    settings: FeedSettings,
    bridges: &[tiktwitch::feed::FeedInput],
) -> (Hub, HubTasks, String) {
    let names: Vec<String> = bridges.iter().map(|b| b.health.snapshot().name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let store = RingStore::open_for(&settings, &names).unwrap();
    assert!(store.is_some());
    let (hub, tasks) = Hub::start_with_store(settings, bridges, None, store);
    let addr = serve(&hub).await;
    (hub, tasks, format!("http://{addr}"))
}

async fn get(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Waits (bounded) until `done` says yes about `/api/status`; the tap and the writer run
/// on their own, so their work is watched, not slept on.
async fn until_status(base: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            let status = get(format!("{base}/api/status")).await;
            if done(&status) {
                return status;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("never happened: {what}"))
}

fn ring<'a>(status: &'a Value, bridge: &str) -> &'a Value {
    &status["bridges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == bridge)
        .unwrap()["ring"]
}

fn seqs_and_texts(page: &Value) -> Vec<(u64, String)> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["event"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_cursor_held_across_a_restart_gets_every_event_once_and_seq_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    let (a, b) = (bridge("a"), bridge("b"));
    let (_hub, tasks, base) = start(persisted(&path, 100), &[a.clone(), b.clone()]).await;
    for id in 1..=6 {
        let on = if id % 3 == 0 { &b } else { &a };
        on.publish(&chat(id, &format!("before {id}")));
    }
    until_status(&base, "six events written", |s| {
        ring(s, "a")["persisted"]["written"] == 4 && ring(s, "b")["persisted"]["written"] == 2
    })
    .await;
    // The client reads the first page, then the daemon restarts.
    let first = get(format!("{base}/api/events?limit=4")).await;
    let mut seen = seqs_and_texts(&first);
    let cursor = first["next_since"].as_u64().unwrap();
    assert_eq!(cursor, 4);
    tasks.finish(Duration::from_secs(10)).await;

    let (a, b) = (bridge("a"), bridge("b"));
    let (hub, _tasks, base) = start(persisted(&path, 100), &[a.clone(), b.clone()]).await;
    let s = get(format!("{base}/api/status")).await;
    assert_eq!(ring(&s, "a")["persisted"]["loaded"], 4, "{s}");
    assert_eq!(ring(&s, "b")["persisted"]["loaded"], 2, "{s}");
    assert_eq!(ring(&s, "a")["held"], 4, "{s}");
    assert_eq!(ring(&s, "a")["oldest_seq"], 1, "{s}");
    for id in 7..=8 {
        a.publish(&chat(id, &format!("after {id}")));
    }
    until_status(&base, "two new events held", |s| ring(s, "a")["held"] == 6).await;
    let rest = get(format!("{base}/api/events?since={cursor}")).await;
    seen.extend(seqs_and_texts(&rest));
    // (Each bridge's tap numbers its events as it takes them: across bridges the order of
    // numbers need not be the order of publishing.)
    let seqs: Vec<u64> = seen.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
        "each number once, in order"
    );
    let mut texts: Vec<&str> = seen.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(&texts[6..], ["after 7", "after 8"], "seq continues after 6");
    texts.sort_unstable();
    let mut expected: Vec<String> = (1..=6).map(|n| format!("before {n}")).collect();
    expected.extend(["after 7".to_owned(), "after 8".to_owned()]);
    expected.sort_unstable();
    assert_eq!(texts, expected, "every event exactly once");
    assert_eq!(rest["next_since"], 8);
    // A stored event is served with the same JSON as a live one.
    let only_a = get(format!("{base}/api/events?bridge=a&limit=1")).await;
    assert_eq!(only_a["events"][0]["bridge"], "a");
    assert_eq!(only_a["events"][0]["event"]["type"], "chat");
    assert_eq!(only_a["events"][0]["event"]["msg_id"], "1");
    assert_eq!(only_a["events"][0]["event"]["user"]["username"], "fan1");
    let metrics = tiktwitch::feed::feed_metrics::render(&hub);
    assert!(
        metrics.contains("tiktwitch_ring_loaded_events{bridge=\"a\"} 4\n"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("tiktwitch_ring_persist_events_total{bridge=\"b\",outcome=\"dropped\"} 0\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn each_bridge_is_pruned_to_the_capacity_on_disk_and_in_the_ring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    let (a, b) = (bridge("a"), bridge("b"));
    let (_hub, tasks, base) = start(persisted(&path, 3), &[a.clone(), b.clone()]).await;
    for id in 1..=10 {
        a.publish(&chat(id, "a"));
    }
    b.publish(&chat(11, "b"));
    until_status(&base, "eleven events written", |s| {
        ring(s, "a")["persisted"]["written"] == 10 && ring(s, "b")["persisted"]["written"] == 1
    })
    .await;
    tasks.finish(Duration::from_secs(10)).await;
    let db = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(String, i64)> = db
        .prepare("SELECT bridge, seq FROM events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, i64)> = [("a", 8), ("a", 9), ("a", 10), ("b", 11)]
        .into_iter()
        .map(|(b, s)| (b.to_owned(), s))
        .collect();
    assert_eq!(rows, expected);

    let (a, b) = (bridge("a"), bridge("b"));
    let (_hub, _tasks, base) = start(persisted(&path, 3), &[a.clone(), b]).await;
    a.publish(&chat(12, "a"));
    until_status(&base, "the new event held", |s| {
        ring(s, "a")["persisted"]["written"] == 1
    })
    .await;
    let page = get(format!("{base}/api/events?bridge=a")).await;
    let seqs: Vec<u64> = seqs_and_texts(&page).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        seqs,
        [9, 10, 12],
        "the 3 newest; seq continues after 11 (bridge b's)"
    );
}

#[tokio::test]
async fn a_writer_stuck_on_a_locked_file_never_slows_the_tap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    let settings = FeedSettings {
        ring_persist_queue: 2,
        ..persisted(&path, 1000)
    };
    let a = bridge("a");
    let (_hub, tasks, base) = start(settings, std::slice::from_ref(&a)).await;
    // Another connection holds the write lock: the writer waits on it (busy timeout).
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    for id in 1..=50 {
        a.publish(&chat(id, "x"));
    }
    // The tap keeps every event in the ring although the writer is stuck.
    let s = until_status(&base, "the ring took every event", |s| {
        ring(s, "a")["held"] == 50
    })
    .await;
    // How many the writer's first batch took before it got stuck depends on thread timing
    // (it drains the queue while the tap fills it), so only "some were dropped, counted" is
    // certain: with a 2-event queue and a stuck writer, 50 cannot all be held.
    let dropped = ring(&s, "a")["persisted"]["dropped"].as_u64().unwrap();
    assert!(
        dropped > 0,
        "the full queue counts what it cannot take: {s}"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    tasks.finish(Duration::from_secs(30)).await;
    let s = get(format!("{base}/api/status")).await;
    let p = &ring(&s, "a")["persisted"];
    assert_eq!(p["failed"], 0, "{s}");
    assert_eq!(
        p["written"].as_u64().unwrap() + p["dropped"].as_u64().unwrap(),
        50,
        "each event written or counted as dropped: {s}"
    );
    let rows: i64 = blocker
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as u64, p["written"].as_u64().unwrap());
}

#[tokio::test]
async fn the_daemon_refuses_a_ring_file_that_is_not_a_database_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let ring_path = dir.path().join("events.sqlite");
    std::fs::write(&ring_path, vec![b'#'; 4096]).unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"secret_store = "env"
[tiktok]
username = "@creator"
[twitch]
channels = ["mychannel"]
bot_login = "mybot"
client_id = "abc123"
[http]
enabled = true
[api]
enabled = true
ring_path = {ring_path:?}
"#
        ),
    )
    .unwrap();
    let loaded = config::load(Some(&config_path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan::from_config(&loaded, None).unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set("tiktok-signer-api-key", &Secret::new("k"))
        .await
        .unwrap();
    let run = daemon::run(plan, Arc::new(secrets), std::future::pending(), |_| {});
    let err = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the bad file stops the start at once")
        .unwrap_err();
    assert!(matches!(err, DaemonError::Ring(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&ring_path.display().to_string()), "{text}");
    assert!(text.contains("not a database"), "{text}");
}
