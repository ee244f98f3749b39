//! Webhooks against a receiver on 127.0.0.1 (`feed_support::receiver`: axum, checks every
//! signature itself, answers with injected 500s, slow answers past the sender's timeout and
//! 4xx, and keeps each event by its idempotency key). Paused tokio time: timeouts and
//! back-off cost no real time.

mod feed_support;

use std::time::Duration;

use tiktwitch::feed::{FeedSettings, Hub, WebhookSettings};

use feed_support::receiver::{Answer, hook, keys, receiver, settled};
use feed_support::{bridge, chat, gift};

#[tokio::test(start_paused = true)]
async fn every_event_exactly_once_signed_across_500s_and_timeouts() {
    let (r, addr) = receiver().await;
    r.script.lock().unwrap().extend([
        Answer::Fail500,
        Answer::Ok,
        Answer::AcceptThenStall, // taken, answer lost: the retry must not be taken twice
        Answer::Ok,
        Answer::Fail500,
        Answer::Fail500,
        Answer::Fail500,
        Answer::Ok,
        Answer::AcceptThenStall,
        Answer::AcceptThenStall,
    ]);
    let a = bridge("a");
    let settings = FeedSettings {
        webhooks: vec![hook(addr)],
        ..FeedSettings::default()
    };
    let (hub, tasks) = Hub::start(settings, std::slice::from_ref(&a), None);
    let ids: Vec<u64> = (1..=30).map(|i| 7_300_000_000_000_000_000 + i).collect();
    for (i, id) in ids.iter().enumerate() {
        if i % 3 == 0 {
            a.publish(&gift(*id));
        } else {
            a.publish(&chat(*id, &format!("message {i}")));
        }
    }
    let stats = settled(&hub, 30).await;
    assert!(r.bad_signatures.lock().unwrap().is_empty());
    let expected: Vec<String> = ids.iter().map(u64::to_string).collect();
    assert_eq!(keys(&r), expected, "every event once, in order");
    assert!(r.changed_bodies.lock().unwrap().is_empty());
    assert!(
        *r.replays.lock().unwrap() >= 3,
        "the lost answers were retried"
    );
    assert_eq!(stats.delivered, 30, "{stats:?}");
    assert_eq!(stats.dead_lettered, 0, "{stats:?}");
    assert!(stats.retries >= 7, "{stats:?}");
    // The documented body: {"seq":N,"bridge":"a","event":{...the event schema...}}.
    let (_, body) = r.taken.lock().unwrap()[1].clone();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["seq"], 2);
    assert_eq!(json["bridge"], "a");
    // The event schema, with the bridge it came through (as on the WebSocket feed).
    let mut expected = serde_json::to_value(chat(ids[1], "message 1")).unwrap();
    expected["bridge"] = "a".into();
    assert_eq!(json["event"], expected);
    tasks.finish(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn batches_carry_every_event_once_and_filters_apply() {
    let (r, addr) = receiver().await;
    r.script
        .lock()
        .unwrap()
        .extend([Answer::Fail500, Answer::AcceptThenStall]);
    let a = bridge("a");
    let b = bridge("b");
    let settings = FeedSettings {
        webhooks: vec![WebhookSettings {
            batch_max: 7,
            events: vec!["chat".into()],
            bridges: vec!["a".into()],
            ..hook(addr)
        }],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, &[a.clone(), b.clone()], None);
    for id in 1..=40u64 {
        a.publish(&chat(id, "to a"));
        a.publish(&gift(1000 + id)); // not a chat: not sent
        b.publish(&chat(2000 + id, "to b")); // not bridge a: not sent
    }
    let stats = settled(&hub, 40).await;
    assert_eq!(stats.delivered, 40, "{stats:?}");
    assert!(r.bad_signatures.lock().unwrap().is_empty());
    let mut seen = Vec::new();
    for (key, body) in r.taken.lock().unwrap().iter() {
        assert!(key.starts_with("batch-"), "{key}");
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        let events = json["events"].as_array().unwrap();
        assert!(!events.is_empty() && events.len() <= 7);
        for e in events {
            assert_eq!(e["bridge"], "a");
            assert_eq!(e["event"]["type"], "chat");
            seen.push(
                e["event"]["msg_id"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            );
        }
    }
    assert_eq!(
        seen,
        (1..=40).collect::<Vec<_>>(),
        "each event once, in order"
    );
    assert!(r.changed_bodies.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn failures_are_dead_lettered_after_the_attempts_and_4xx_is_final() {
    // Always 500: every delivery is tried max_attempts times, then dead-lettered.
    let (r, addr) = receiver().await;
    *r.always.lock().unwrap() = Some(Answer::Fail500);
    let a = bridge("a");
    let settings = FeedSettings {
        webhooks: vec![WebhookSettings {
            max_attempts: 3,
            ..hook(addr)
        }],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, std::slice::from_ref(&a), None);
    for id in 1..=4 {
        a.publish(&chat(id, "x"));
    }
    let stats = settled(&hub, 4).await;
    assert_eq!(
        (stats.dead_lettered, stats.attempts, stats.delivered),
        (4, 12, 0),
        "{stats:?}"
    );
    assert_eq!(*r.requests.lock().unwrap(), 12);

    // A 400 is not retried.
    *r.always.lock().unwrap() = Some(Answer::Refuse400);
    let b = bridge("b");
    let settings = FeedSettings {
        webhooks: vec![hook(addr)],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, std::slice::from_ref(&b), None);
    b.publish(&chat(9, "x"));
    let stats = settled(&hub, 1).await;
    assert_eq!((stats.dead_lettered, stats.attempts), (1, 1), "{stats:?}");

    // Nobody listening (connection refused): retried, then dead-lettered.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c = bridge("c");
    let settings = FeedSettings {
        webhooks: vec![WebhookSettings {
            max_attempts: 4,
            ..hook(closed)
        }],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, std::slice::from_ref(&c), None);
    c.publish(&chat(10, "x"));
    let stats = settled(&hub, 1).await;
    assert_eq!(
        (stats.dead_lettered, stats.attempts, stats.retries),
        (1, 4, 3),
        "{stats:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_new_events_counted() {
    let (r, addr) = receiver().await;
    // Every attempt fails and is retried after a back-off, so the queue backs up.
    *r.always.lock().unwrap() = Some(Answer::Fail500);
    let a = bridge("a");
    let settings = FeedSettings {
        webhooks: vec![WebhookSettings {
            queue_capacity: 5,
            max_attempts: 2,
            ..hook(addr)
        }],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, std::slice::from_ref(&a), None);
    for id in 1..=20 {
        a.publish(&chat(id, "x"));
    }
    let stats = settled(&hub, 20).await;
    assert!(stats.dropped_queue_full >= 14, "{stats:?}");
    assert_eq!(
        stats.delivered + stats.dead_lettered + stats.dropped_queue_full,
        20,
        "every event accounted for: {stats:?}"
    );
}

/// 429 and 503 with `Retry-After` (seconds, then an HTTP-date): the retry waits as asked,
/// not the 1-s back-off, and each is counted.
#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let (r, addr) = receiver().await;
    r.script
        .lock()
        .unwrap()
        .extend([Answer::TooMany(7), Answer::UnavailableUntil(20), Answer::Ok]);
    let a = bridge("a");
    let settings = FeedSettings {
        webhooks: vec![hook(addr)],
        ..FeedSettings::default()
    };
    let (hub, _tasks) = Hub::start(settings, std::slice::from_ref(&a), None);
    a.publish(&chat(1, "x"));
    let stats = settled(&hub, 1).await;
    assert_eq!(
        (stats.delivered, stats.attempts, stats.retry_after),
        (1, 3, 2),
        "{stats:?}"
    );
    let arrivals = r.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 3);
    let first_wait = arrivals[1] - arrivals[0];
    assert!(
        first_wait >= Duration::from_secs(7) && first_wait < Duration::from_secs(8),
        "{first_wait:?}"
    );
    // The date is 20-21 s of wall time ahead (whole seconds); virtual time stands still
    // meanwhile, so the retry waits about that long on the paused clock.
    let second_wait = arrivals[2] - arrivals[1];
    assert!(
        second_wait >= Duration::from_secs(19) && second_wait <= Duration::from_secs(22),
        "{second_wait:?}"
    );
}
