//! The WebSocket feed against real sockets on 127.0.0.1: many clients get every event in
//! order; a client that stops reading is cut without delaying the others; filters and the
//! token.

mod feed_support;

use std::net::SocketAddr;

use futures_util::StreamExt;
use tiktwitch::feed::FeedSettings;
use tiktwitch::secret::Secret;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use feed_support::{bridge, chat, gift, start};

fn ws_on() -> FeedSettings {
    FeedSettings {
        ws_enabled: true,
        ..FeedSettings::default()
    }
}

/// A client reading `/ws/{path}` and forwarding each text message.
async fn client(addr: SocketAddr, path: &str) -> mpsc::UnboundedReceiver<serde_json::Value> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/{path}"))
        .await
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = ws.next().await {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("feed client error: {e}");
                    return;
                }
            };
            if let Message::Text(text) = message {
                let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if tx.send(value).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

async fn take(
    rx: &mut mpsc::UnboundedReceiver<serde_json::Value>,
    n: usize,
) -> Vec<serde_json::Value> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match rx.recv().await {
            Some(v) => out.push(v),
            None => panic!("the feed closed early after {} of {n}", out.len()),
        }
    }
    out
}

fn msg_ids(values: &[serde_json::Value]) -> Vec<u64> {
    values
        .iter()
        .map(|v| v["msg_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn many_clients_get_every_event_in_order_as_the_event_schema() {
    let a = bridge("a");
    let (hub, _tasks, addr) = start(ws_on(), std::slice::from_ref(&a)).await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(client(addr, "a").await);
    }
    let mut next = 1u64;
    for _chunk in 0..20 {
        let ids: Vec<u64> = (next..next + 100).collect();
        next += 100;
        for id in &ids {
            a.publish(&chat(*id, &format!("message {id}")));
        }
        for c in &mut clients {
            let got = take(c, ids.len()).await;
            assert_eq!(msg_ids(&got), ids, "every event, in order");
        }
    }
    // Exactly the public JSON schema of `decode`, with the bridge it came through.
    a.publish(&chat(424_242, "schema"));
    let mut expected: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&chat(424_242, "schema")).unwrap()).unwrap();
    expected["bridge"] = "a".into();
    for c in &mut clients {
        assert_eq!(take(c, 1).await[0], expected);
    }
    let stats = hub.ws_stats();
    assert_eq!(stats.connected, 8);
    assert_eq!(stats.dropped_slow, 0);
}

#[tokio::test]
async fn a_stalled_client_is_cut_and_the_others_never_wait() {
    let a = bridge("a");
    let settings = FeedSettings {
        client_queue: 64,
        ..ws_on()
    };
    let (hub, _tasks, addr) = start(settings, std::slice::from_ref(&a)).await;
    let mut fast = Vec::new();
    for _ in 0..3 {
        fast.push(client(addr, "a").await);
    }
    // The stalled client: a tiny receive window, and it never reads after the handshake.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (stalled, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws/a"), tcp)
        .await
        .unwrap();

    let padding = "x".repeat(4000);
    let mut next = 1u64;
    let mut chunks = 0;
    while hub.ws_stats().dropped_slow == 0 {
        chunks += 1;
        assert!(chunks <= 1000, "the stalled client was never cut");
        let ids: Vec<u64> = (next..next + 20).collect();
        next += 20;
        for id in &ids {
            // publish() never waits: the bridge is never slowed by a client.
            a.publish(&chat(*id, &padding));
        }
        for c in &mut fast {
            assert_eq!(msg_ids(&take(c, ids.len()).await), ids);
        }
        tokio::task::yield_now().await;
    }
    // The others go on unharmed.
    for _ in 0..10 {
        let ids: Vec<u64> = (next..next + 20).collect();
        next += 20;
        for id in &ids {
            a.publish(&chat(*id, "after the cut"));
        }
        for c in &mut fast {
            assert_eq!(msg_ids(&take(c, ids.len()).await), ids);
        }
    }
    let stats = hub.ws_stats();
    assert_eq!(stats.dropped_slow, 1, "{stats:?}");
    assert_eq!(stats.connected, 3, "{stats:?}");
    // The stalled client's connection is gone: once it reads what was in flight, it ends.
    let mut stalled = stalled;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(Ok(_)) = stalled.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stalled connection was not closed");
}

#[tokio::test]
async fn types_filter_and_unknown_bridges_and_types_are_refused() {
    let a = bridge("a");
    let (_hub, _tasks, addr) = start(ws_on(), std::slice::from_ref(&a)).await;
    let mut gifts = client(addr, "a?types=gift").await;
    let mut all = client(addr, "a").await;
    a.publish(&chat(1, "hi"));
    a.publish(&gift(2));
    a.publish(&chat(3, "again"));
    a.publish(&gift(4));
    assert_eq!(msg_ids(&take(&mut all, 4).await), [1, 2, 3, 4]);
    let got = take(&mut gifts, 2).await;
    assert_eq!(msg_ids(&got), [2, 4]);
    assert!(got.iter().all(|v| v["type"] == "gift"));

    for (path, status) in [("nope", 404), ("a?types=gfit", 400)] {
        let err = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/{path}"))
            .await
            .unwrap_err();
        match err {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status().as_u16(), status, "{path}");
            }
            other => panic!("{path}: {other}"),
        }
    }
}

#[tokio::test]
async fn the_feed_token_is_required_when_configured() {
    let a = bridge("a");
    let settings = FeedSettings {
        ws_token: Some(Secret::new("feed-s3cret")),
        ..ws_on()
    };
    let (hub, _tasks, addr) = start(settings, std::slice::from_ref(&a)).await;
    for path in ["a", "a?token=wrong"] {
        match tokio_tungstenite::connect_async(format!("ws://{addr}/ws/{path}")).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status().as_u16(), 401)
            }
            other => panic!("{path}: {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(hub.ws_stats().refused_auth, 2);
    // In the query (browsers) ...
    let mut by_query = client(addr, "a?token=feed-s3cret").await;
    // ... or as a bearer header.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws/a").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer feed-s3cret".parse().unwrap());
    let (mut by_header, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    a.publish(&chat(9, "secret room"));
    assert_eq!(msg_ids(&take(&mut by_query, 1).await), [9]);
    let Some(Ok(Message::Text(text))) = by_header.next().await else {
        panic!("no event")
    };
    assert!(text.as_str().contains("secret room"));
}

#[tokio::test]
async fn clients_are_told_at_shutdown() {
    let a = bridge("a");
    let (hub, tasks, addr) = start(ws_on(), std::slice::from_ref(&a)).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/a"))
        .await
        .unwrap();
    a.publish(&chat(1, "before"));
    let Some(Ok(Message::Text(_))) = ws.next().await else {
        panic!("no event")
    };
    tasks.finish(std::time::Duration::from_secs(5)).await;
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    // The count drops once the session ends.
    while hub.ws_stats().connected != 0 {
        tokio::task::yield_now().await;
    }
}

/// Opens `/ws/a` as a browser page at `origin` would (no `Origin`: as a script would),
/// with `host` as the `Host` header when given; the HTTP status of a refusal, or 101.
async fn open_from(addr: SocketAddr, origin: Option<&str>, host: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws/a").into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    if let Some(host) = host {
        request.headers_mut().insert("host", host.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut ws, response)) => {
            let _ = ws.close(None).await;
            response.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("{origin:?}: {e}"),
    }
}

#[tokio::test]
async fn pages_from_other_sites_cannot_open_the_feed() {
    let a = bridge("a");
    let (hub, _tasks, addr) = start(ws_on(), std::slice::from_ref(&a)).await;
    let own = format!("http://{addr}");
    // What the defaults must let in: scripts and OBS tools (no Origin), the bundled page
    // (its own origin), pages on this machine, OBS local files (Chromium sends `null` for
    // a file:// page, `file://` when file access is allowed: both checked with headless
    // Chromium 156), and OBS's older local-file origin.
    for origin in [
        None,
        Some(own.as_str()),
        Some("http://localhost:8080"),
        Some("http://127.0.0.1:5500"),
        Some("http://[::1]:3000"),
        Some("null"),
        Some("file://"),
        Some("http://absolute"),
    ] {
        assert_eq!(open_from(addr, origin, None).await, 101, "{origin:?}");
    }
    // The listener's own page on a LAN name is same-origin too.
    assert_eq!(
        open_from(addr, Some("http://mybox.lan:9464"), Some("mybox.lan:9464")).await,
        101
    );
    for origin in [
        "https://evil.example",
        "http://localhost.evil.example",
        "http://mybox.lan:9464",
    ] {
        assert_eq!(open_from(addr, Some(origin), None).await, 403, "{origin}");
    }
    assert_eq!(hub.ws_stats().refused_origin, 3);

    // A configured list replaces the defaults.
    let settings = FeedSettings {
        allowed_origins: tiktwitch::config::origin::OriginPolicy::parse(&[
            "https://overlay.example.com",
        ])
        .unwrap(),
        ..ws_on()
    };
    let (_hub, _tasks, addr) = start(settings, std::slice::from_ref(&a)).await;
    assert_eq!(
        open_from(addr, Some("https://overlay.example.com"), None).await,
        101
    );
    assert_eq!(
        open_from(addr, Some("http://localhost:8080"), None).await,
        403
    );
    assert_eq!(open_from(addr, None, None).await, 101);
}
