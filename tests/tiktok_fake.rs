//! The fake TikTok catches a client that neglects its duties: these tests play a careless
//! client by hand and check that every breach is reported.

use futures_util::{SinkExt, StreamExt};
use tiktwitch::source::tiktok::client_frames::{ack_frame, enter_room_frame, heartbeat_frame};
use tiktwitch::source::tiktok::decode::decode_fetch_result;
use tiktwitch::source::tiktok::{EulerSigner, SignRequest, Signer};
use tiktwitch::standin::tiktok::frames::{chat_message, single};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(start_paused = true)]
async fn a_careless_client_is_caught() {
    let fake = FakeTikTok::start(FakeTikTokConfig::default())
        .await
        .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![Step::Frame(single(
        42,
        chat_message(42, room, "ann", "hi"),
    ))]);
    assert_eq!(fake.pending_scripts(), 1);
    let signer = EulerSigner::new(
        reqwest::Client::new(),
        &fake.base_url(),
        Some("fake-euler-key".into()),
        "t",
    );
    let signed = signer
        .fetch(&SignRequest {
            room_id: room,
            user_agent: "UA-1".into(),
            session_cookie: None,
        })
        .await
        .unwrap();
    let first = decode_fetch_result(signed.body).unwrap();
    // No cookie, no user agent, one version_code, no cursor: all wrong.
    let url = format!("{}?room_id={room}&version_code=180800", first.push_server);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    ws.send(Message::Binary(heartbeat_frame(room, 1)))
        .await
        .unwrap();
    ws.send(Message::Binary(enter_room_frame(room, "")))
        .await
        .unwrap();
    ws.send(Message::Binary(heartbeat_frame(room, 3)))
        .await
        .unwrap();
    // Wait for the scripted chat frame, then ack it wrongly.
    loop {
        let Some(Ok(Message::Binary(bytes))) = ws.next().await else {
            panic!("socket ended")
        };
        let frame = tiktwitch::source::tiktok::decode::decode_frame(bytes).unwrap();
        if frame.payload_type == "msg" {
            break;
        }
    }
    assert_eq!(fake.pending_scripts(), 0, "the connection took its script");
    ws.send(Message::Binary(ack_frame(41, "whatever")))
        .await
        .unwrap();
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;

    let first_conn = &fake.report().connections[0];
    assert_eq!(first_conn.sent_msg_ids, [42]);
    assert_eq!(
        first_conn.sent_at.len(),
        1,
        "one write time per message sent"
    );
    let violations = fake.violations().join("\n");
    for expected in [
        "version_code appears 1 times",
        "lacks the signer's ttwid",
        "is not the signing one",
        "cursor",
        "heartbeat before im_enter_room",
        "heartbeat seq 3 after 1",
        "ack for log_id 41",
        "leaving log_ids [42] unacked",
    ] {
        assert!(
            violations.contains(expected),
            "missing {expected:?} in:\n{violations}"
        );
    }
    // A second handshake with the same signed URL is a reuse.
    let url = format!("{}?room_id={room}", first.push_server);
    let _ = tokio_tungstenite::connect_async(url.as_str()).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(fake.violations().join("\n").contains("signed URL reused"));
}

#[tokio::test(start_paused = true)]
async fn the_signer_is_not_for_polling_an_offline_room() {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        live: false,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let signer = EulerSigner::new(
        reqwest::Client::new(),
        &fake.base_url(),
        Some("fake-euler-key".into()),
        "t",
    );
    let result = signer
        .fetch(&SignRequest {
            room_id: fake.room_id(),
            user_agent: "UA".into(),
            session_cookie: None,
        })
        .await;
    assert!(result.is_err());
    assert!(
        fake.violations()
            .join("\n")
            .contains("while the room is offline")
    );
}
