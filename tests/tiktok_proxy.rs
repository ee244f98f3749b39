//! The whole TikTok source through an HTTP (CONNECT) proxy and a SOCKS5 proxy: room lookup,
//! signer and the WebSocket all go through it. Both proxies are tiny in-test servers.

mod support;
mod tiktok_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tiktok_support::*;
use tiktwitch::source::tiktok::{SignerBudget, TikTokSource};
use tiktwitch::standin::tiktok::frames::{control_message, single};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};

type Seen = Arc<Mutex<Vec<String>>>;

async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.ok()?);
    }
    Some(head)
}

/// An HTTP proxy: `CONNECT` tunnels, and absolute-form requests forwarded as they are.
async fn http_proxy() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let Some(head) = read_head(&mut client).await else {
                    return;
                };
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or("").to_string();
                record.lock().unwrap().push(line.clone());
                let mut parts = line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let authority = if method == "CONNECT" {
                    target.to_string()
                } else {
                    url::Url::parse(target)
                        .map(|u| {
                            format!(
                                "{}:{}",
                                u.host_str().unwrap_or(""),
                                u.port_or_known_default().unwrap_or(80)
                            )
                        })
                        .unwrap_or_default()
                };
                let Ok(mut upstream) = TcpStream::connect(&authority).await else {
                    return;
                };
                let _ = upstream.set_nodelay(true);
                let _ = client.set_nodelay(true);
                if method == "CONNECT" {
                    let _ = client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await;
                } else {
                    let _ = upstream.write_all(&head).await;
                }
                let _ = copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, seen)
}

/// A SOCKS5 proxy (no auth, CONNECT, IPv4 or domain targets).
async fn socks5_proxy() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut greeting = [0u8; 2];
                client.read_exact(&mut greeting).await.ok()?;
                let mut methods = vec![0u8; greeting[1] as usize];
                client.read_exact(&mut methods).await.ok()?;
                client.write_all(&[5, 0]).await.ok()?;
                let mut request = [0u8; 4];
                client.read_exact(&mut request).await.ok()?;
                let host = match request[3] {
                    1 => {
                        let mut ip = [0u8; 4];
                        client.read_exact(&mut ip).await.ok()?;
                        std::net::Ipv4Addr::from(ip).to_string()
                    }
                    3 => {
                        let len = client.read_u8().await.ok()? as usize;
                        let mut name = vec![0u8; len];
                        client.read_exact(&mut name).await.ok()?;
                        String::from_utf8(name).ok()?
                    }
                    _ => return None,
                };
                let port = client.read_u16().await.ok()?;
                record.lock().unwrap().push(format!("{host}:{port}"));
                let mut upstream = TcpStream::connect((host.as_str(), port)).await.ok()?;
                let _ = upstream.set_nodelay(true);
                let _ = client.set_nodelay(true);
                client
                    .write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])
                    .await
                    .ok()?;
                let _ = copy_bidirectional(&mut client, &mut upstream).await;
                Some(())
            });
        }
    });
    (addr, seen)
}

async fn fake_with_end() -> FakeTikTok {
    let fake = FakeTikTok::start(FakeTikTokConfig::default())
        .await
        .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![Step::Frame(single(7, control_message(7, room, 3)))]);
    fake
}

#[tokio::test(start_paused = true)]
async fn everything_goes_through_an_http_connect_proxy() {
    let fake = fake_with_end().await;
    let (proxy, seen) = http_proxy().await;
    let mut s = settings(&fake);
    s.proxy = Some(format!("http://{proxy}"));
    let source = TikTokSource::with_euler(s, SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    assert_eq!(status_names(&items), ["connecting", "live", "ended"]);
    let seen = seen.lock().unwrap().clone();
    let fake_addr = fake.addr().to_string();
    assert!(
        seen.iter()
            .any(|l| l == &format!("CONNECT {fake_addr} HTTP/1.1")),
        "the WebSocket tunnels through CONNECT: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with(&format!("GET http://{fake_addr}/api-live/user/room/"))),
        "the room lookup is proxied: {seen:?}"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn everything_goes_through_a_socks5_proxy() {
    let fake = fake_with_end().await;
    let (proxy, seen) = socks5_proxy().await;
    let mut s = settings(&fake);
    s.proxy = Some(format!("socks5://{proxy}"));
    let source = TikTokSource::with_euler(s, SignerBudget::new(0)).unwrap();
    let (result, items) = run_to_end(&source).await;
    result.unwrap();
    assert_eq!(status_names(&items), ["connecting", "live", "ended"]);
    let seen = seen.lock().unwrap().clone();
    let fake_addr = fake.addr().to_string();
    assert!(
        seen.len() >= 2,
        "HTTP and the WebSocket each tunnel: {seen:?}"
    );
    assert!(seen.iter().all(|t| t == &fake_addr), "{seen:?}");
    let report = fake.report();
    assert_eq!(
        (
            report.api_lookups,
            report.signer_calls,
            report.connections.len()
        ),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unusable_proxy_setting_is_a_clear_error() {
    let fake = fake_with_end().await;
    let mut s = settings(&fake);
    s.proxy = Some("ftp://user:hunter2@proxy:21".into());
    let err = TikTokSource::with_euler(s, SignerBudget::new(0))
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("not supported") && !text.contains("hunter2"),
        "{text}"
    );
}
