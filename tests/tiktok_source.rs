//! The TikTok source against the fake TikTok: the whole lifecycle, the client's duties on
//! the socket, and every socket-side fault. Paused tokio time throughout: heartbeats,
//! silence detection and backoff run in virtual time.

mod support;
mod tiktok_support;

use std::collections::HashSet;
use std::time::Duration;

use tiktok_support::*;
use tiktwitch::event::{ControlAction, EventKind};
use tiktwitch::source::tiktok::{SessionError, SignerBudget, SourceError, Status, TikTokSource};
use tiktwitch::standin::tiktok::frames::{batch, chat_message, control_message, msg_frame, single};
use tiktwitch::standin::tiktok::{FakeTikTok, Step};

const SECOND: Duration = Duration::from_secs(1);

fn source(fake: &FakeTikTok) -> TikTokSource {
    TikTokSource::with_euler(settings(fake), SignerBudget::new(0)).expect("source builds")
}

/// Frames with a pause after each.
fn paced(frames: &[bytes::Bytes], pause: Duration) -> Vec<Step> {
    frames
        .iter()
        .flat_map(|f| [Step::Frame(f.clone()), Step::Pause(pause)])
        .collect()
}

fn end_frame(msg_id: u64, room_id: u64) -> Step {
    Step::Frame(single(
        9_000_000 + msg_id,
        control_message(msg_id, room_id, 3),
    ))
}

fn sent_ids(fake: &FakeTikTok) -> Vec<u64> {
    fake.report()
        .connections
        .iter()
        .flat_map(|c| c.sent_msg_ids.clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn relays_a_live_in_order_with_history_marked_and_every_duty_done() {
    let (Some(fake), Some(frames)) = (fake_with_history().await, corpus_frames(40)) else {
        return;
    };
    let room = fake.room_id();
    let mut script = paced(&frames[..20], SECOND);
    // Quiet for 35 s: heartbeats (echoed by the fake) keep the socket alive.
    script.push(Step::Pause(35 * SECOND));
    script.push(Step::Frame(single(1, control_message(8_000_001, room, 1))));
    script.extend(paced(&frames[20..], SECOND));
    script.push(Step::Frame(single(2, control_message(8_000_002, room, 2))));
    script.push(end_frame(8_000_003, room));
    fake.push_script(script);

    let source = source(&fake);
    let started = tokio::time::Instant::now();
    let (result, items) = run_to_end(&source).await;
    result.expect("the stream ended normally");

    // Live events: exactly what the fake sent, in order, nothing twice.
    assert_eq!(live_ids(&items), sent_ids(&fake));
    assert!(
        live_ids(&items).len() > 200,
        "the corpus frames carry hundreds of messages"
    );
    // History: the real batch's 13 messages, marked, before any live event.
    let evs = events(&items);
    let history = evs.iter().take_while(|e| e.meta.history).count();
    assert_eq!(history, 13);
    assert!(evs[history..].iter().all(|e| !e.meta.history));
    // The lifecycle, as statuses.
    assert_eq!(
        status_names(&items),
        ["connecting", "live", "paused", "live", "ended"]
    );
    assert!(
        matches!(statuses(&items)[1], Status::Live { room_id, viewers: Some(1234) } if *room_id == room)
    );
    assert!(matches!(
        evs.last().unwrap().kind,
        EventKind::Control {
            action: ControlAction::Ended
        }
    ));
    // Duties: no violation, every msg frame acked, heartbeats rising over ~75 virtual s.
    tokio::time::sleep(SECOND).await; // let the fake see the close
    let report = fake.report();
    assert_eq!(fake.violations(), Vec::<String>::new());
    let conn = &report.connections[0];
    assert!(conn.entered && conn.closed_by_client);
    assert_eq!(conn.acks.len(), 43, "40 corpus frames + 3 control frames");
    assert!(conn.unacked.is_empty());
    assert_eq!(
        conn.heartbeats,
        (1..=8).collect::<Vec<u64>>(),
        "one every 10 s for 75 s"
    );
    assert!(started.elapsed() >= 75 * SECOND);
    let stats = source.snapshot();
    assert_eq!(
        stats.frames as usize,
        43 + conn.heartbeats.len() + 1,
        "+ hb echoes + enter resp"
    );
    assert_eq!(stats.acks, 43);
    assert_eq!(stats.signer_calls, 1);
    assert_eq!(stats.reconnects, 0);
    assert_eq!(stats.history, 13);
    assert_eq!(report.connections.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_unexpected_close_reconnects_with_a_fresh_signature_and_loses_nothing() {
    let (Some(fake), Some(frames)) = (fake_with_history().await, corpus_frames(40)) else {
        return;
    };
    let room = fake.room_id();
    // 1: clean close by the server. 2: TCP dropped mid-frame. 3: silence. 4: the end.
    let mut first = paced(&frames[0..10], SECOND);
    first.push(Step::Close);
    let mut second = paced(&frames[10..20], SECOND);
    second.push(Step::CloseMidFrame);
    let mut third = paced(&frames[20..30], SECOND);
    third.push(Step::Silence);
    let mut fourth = paced(&frames[30..40], SECOND);
    fourth.push(end_frame(8_000_009, room));
    for script in [first, second, third, fourth] {
        fake.push_script(script);
    }

    let source = source(&fake);
    let (result, items) = run_to_end(&source).await;
    result.expect("ends normally after the fourth connection");

    let ids = live_ids(&items);
    assert_eq!(
        ids,
        sent_ids(&fake),
        "nothing lost, nothing repeated, in order"
    );
    let keys: Vec<(&str, u64)> = events(&items)
        .iter()
        .filter(|e| e.meta.msg_id != 0)
        .map(|e| (&*e.meta.method, e.meta.msg_id))
        .collect();
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "no message relayed twice");
    // The history is replayed on each of the 4 connects, relayed once.
    assert_eq!(events(&items).iter().filter(|e| e.meta.history).count(), 13);
    let stats = source.snapshot();
    assert_eq!(stats.duplicates, 3 * 13);
    assert_eq!(stats.reconnects, 3);
    assert_eq!(
        stats.signer_calls, 4,
        "each reconnect redoes the signer step"
    );
    let reasons: Vec<String> = statuses(&items)
        .iter()
        .filter_map(|s| match s {
            Status::Reconnecting { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("closed"), "{reasons:?}");
    assert!(reasons[2].contains("silent"), "{reasons:?}");
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(fake.report().connections.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn silence_is_detected_after_three_heartbeats_not_before() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    let room = fake.room_id();
    fake.push_script(vec![Step::Silence]);
    fake.push_script(vec![end_frame(8_000_010, room)]);
    let source = source(&fake);
    let started = tokio::time::Instant::now();
    let (result, items) = run_until(&source, |items| {
        status_names(items).contains(&"reconnecting")
    })
    .await;
    result.unwrap();
    let elapsed = started.elapsed();
    eprintln!("{:?}\n{:?}", statuses(&items), fake.report());
    assert!(
        elapsed >= 30 * SECOND && elapsed < 32 * SECOND,
        "silence declared after {elapsed:?}"
    );
    assert!(status_names(&items).contains(&"live"));
}

#[tokio::test(start_paused = true)]
async fn truncated_and_corrupt_frames_are_counted_and_the_rest_still_flows() {
    let (Some(fake), Some(frames)) = (fake_with_history().await, corpus_frames(6)) else {
        return;
    };
    let (Some(half), Some(corrupt), Some(crc), Some(bomb)) = (
        edge_frame("truncated_frame_half"),
        edge_frame("bad_gzip_corrupt_body"),
        edge_frame("bad_gzip_crc"),
        edge_frame("gzip_bomb_64MiB"),
    ) else {
        return;
    };
    let room = fake.room_id();
    let script = vec![
        Step::Frame(frames[0].clone()),
        Step::Frame(half),
        Step::Frame(frames[1].clone()),
        Step::Frame(corrupt),
        Step::Frame(frames[2].clone()),
        Step::Frame(crc),
        Step::Frame(bomb),
        Step::Frame(bytes::Bytes::from_static(&[0xff; 7])),
        Step::Frame(frames[3].clone()),
        end_frame(8_000_011, room),
    ];
    fake.push_script(script);
    let source = source(&fake);
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    assert_eq!(live_ids(&items), sent_ids(&fake));
    let stats = source.snapshot();
    assert_eq!(stats.frame_errors, 5, "{stats:?}");
    assert_eq!(stats.reconnects, 0, "bad frames do not kill the socket");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// A comment with invalid UTF-8 is relayed with U+FFFD where the bad bytes were, counted,
/// and its batch-mate still flows (prost refused the whole message before).
#[tokio::test(start_paused = true)]
async fn a_comment_with_invalid_utf8_is_relayed_lossily_and_counted() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    let room = fake.room_id();
    let mut bad = chat_message(room + 101, room, "fan", "caf\u{e9} XY ok");
    let at = bad.payload.windows(2).position(|w| w == b"XY").unwrap();
    let mut payload = bad.payload.to_vec();
    payload[at..at + 2].copy_from_slice(&[0xff, 0xfe]);
    bad.payload = payload.into();
    let good = chat_message(room + 102, room, "fan", "second");
    fake.push_script(vec![
        Step::Frame(msg_frame(1, 1, &batch(vec![bad, good], "ext-utf8"))),
        end_frame(8_000_021, room),
    ]);
    let source = source(&fake);
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    let texts: Vec<&str> = events(&items)
        .iter()
        .filter(|e| !e.meta.history)
        .filter_map(|e| match &e.kind {
            EventKind::Chat { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["caf\u{e9} \u{fffd}\u{fffd} ok", "second"]);
    let stats = source.snapshot();
    assert_eq!(stats.repaired_text, 1, "{stats:?}");
    assert_eq!(stats.message_errors, 0, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn stream_end_then_live_again_under_a_new_room_id() {
    let (Some(fake), Some(frames)) = (fake_with_history().await, corpus_frames(10)) else {
        return;
    };
    let first_room = fake.room_id();
    let second_room = first_room + 1_000;
    let mut first = paced(&frames[0..5], SECOND);
    first.push(Step::GoOffline);
    first.push(Step::GoLiveLater {
        room_id: second_room,
        after: Duration::from_secs(5 * 60),
    });
    first.push(end_frame(8_000_020, first_room));
    let mut second = paced(&frames[5..10], SECOND);
    second.push(end_frame(8_000_021, second_room));
    fake.push_script(first);
    fake.push_script(second);

    let mut settings = settings(&fake);
    settings.wait_for_live = true;
    let source = TikTokSource::with_euler(settings, SignerBudget::new(0)).unwrap();
    let (result, items) = run_until(&source, |items| {
        status_names(items)
            .iter()
            .filter(|s| **s == "ended")
            .count()
            == 2
    })
    .await;
    result.unwrap();

    let names = status_names(&items);
    let waiting = names.iter().filter(|n| **n == "waiting_for_live").count();
    assert!(waiting >= 9, "polled every 30 s for 5 min: {names:?}");
    let rooms: Vec<u64> = statuses(&items)
        .iter()
        .filter_map(|s| match s {
            Status::Live { room_id, .. } => Some(*room_id),
            _ => None,
        })
        .collect();
    assert_eq!(rooms, [first_room, second_room]);
    assert_eq!(live_ids(&items), sent_ids(&fake));
    let report = fake.report();
    assert_eq!(report.signer_calls, 2, "never signed while offline");
    assert!(report.api_lookups >= 11);
    assert_eq!(report.connections[1].room_id, second_room);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn device_blocked_handshake_is_a_clear_error_not_a_retry_loop() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    fake.fail_handshake(tiktwitch::standin::tiktok::HandshakeFault::DeviceBlocked);
    let source = source(&fake);
    let (result, items) = run_to_end(&source).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, SourceError::Session(SessionError::Blocked { status: 200, message, handshake_status })
            if message == "DEVICE_BLOCKED" && handshake_status == "415"),
        "{err:?}"
    );
    assert!(err.to_string().contains("DEVICE_BLOCKED"));
    assert_eq!(status_names(&items).last(), Some(&"failed"));
    let report = fake.report();
    assert_eq!((report.signer_calls, report.connections.len()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failing_handshake_is_retried_with_backoff() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    let room = fake.room_id();
    fake.fail_handshake(tiktwitch::standin::tiktok::HandshakeFault::Unavailable);
    fake.fail_handshake(tiktwitch::standin::tiktok::HandshakeFault::Unavailable);
    fake.push_script(vec![end_frame(8_000_030, room)]);
    let source = source(&fake);
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    let delays: Vec<Duration> = statuses(&items)
        .iter()
        .filter_map(|s| match s {
            Status::Reconnecting { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 2);
    assert!(delays[0] >= SECOND / 2 && delays[0] <= SECOND, "{delays:?}");
    assert!(delays[1] >= SECOND && delays[1] <= 2 * SECOND, "{delays:?}");
    assert_eq!(
        fake.report().signer_calls,
        3,
        "a fresh signature per attempt"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_a_live_session_promptly() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    let source = source(&fake);
    let (result, items) = run_until(&source, |items| status_names(items).contains(&"live")).await;
    result.unwrap();
    assert_eq!(status_names(&items), ["connecting", "live"]);
    // Let the fake see the close.
    tokio::time::sleep(SECOND).await;
    let connection = &fake.report().connections[0];
    assert!(connection.closed_by_client);
    // A normal close with a reason, not a close frame without a status (1005).
    assert_eq!(
        connection.client_close,
        Some((1000, "client shutting down".to_owned()))
    );
}

#[tokio::test(start_paused = true)]
async fn a_400_handshake_is_blocked_too() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    fake.fail_handshake(tiktwitch::standin::tiktok::HandshakeFault::BadRequest);
    let source = source(&fake);
    let (result, _) = run_to_end(&source).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, SourceError::Session(SessionError::Blocked { status: 400, message, .. })
            if message == "illegal secret key"),
        "{err:?}"
    );
    assert_eq!(fake.report().connections.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_servers_heartbeat_interval_is_honoured() {
    let Some(batch) = real_batch() else { return };
    let fake = FakeTikTok::start(tiktwitch::standin::tiktok::FakeTikTokConfig {
        first_fetch: Some(batch),
        heartbeat_ms: 5_000,
        ..Default::default()
    })
    .await
    .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![Step::Pause(21 * SECOND), end_frame(8_000_040, room)]);
    let source = source(&fake);
    let (result, _) = run_to_end(&source).await;
    result.unwrap();
    tokio::time::sleep(SECOND).await;
    let report = fake.report();
    assert_eq!(
        report.connections[0].heartbeats,
        [1, 2, 3, 4, 5],
        "every 5 s for 21 s"
    );
    assert!(
        report.connections[0]
            .query
            .contains(&("heartbeat_duration".into(), "5000".into()))
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn max_attempts_gives_up_with_the_last_error() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    for _ in 0..3 {
        fake.fail_signer(tiktwitch::standin::tiktok::SignerFault::ServerError);
    }
    let mut s = settings(&fake);
    s.max_attempts = Some(3);
    let source = TikTokSource::with_euler(s, SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, SourceError::GaveUp { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert_eq!(status_names(&items).last(), Some(&"failed"));
    assert_eq!(fake.report().signer_calls, 3);
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_hangs_up_stops_the_source() {
    let Some(fake) = fake_with_history().await else {
        return;
    };
    let source = source(&fake);
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let token = tokio_util::sync::CancellationToken::new();
    let consumer = async move {
        // Take the first two items, then hang up.
        rx.recv().await;
        rx.recv().await;
    };
    let (result, ()) = tokio::join!(source.run(tx, token), consumer);
    result.unwrap();
}
