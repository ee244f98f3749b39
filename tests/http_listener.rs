//! The `[http]` listener's limits ([`tiktwitch::daemon::server`]) on real sockets on
//! 127.0.0.1: the connection cap, the header-read and idle timeouts, and the shutdown
//! deadline that no client can stretch.
//!
//! The timeouts run on tokio's paused clock: the runtime moves time on only when every
//! task waits, so a timeout fires exactly when nothing else can happen, and no test sleeps.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tiktwitch::daemon::server::{HttpServerSettings, HttpStats, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const HALF_SENT: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ";
/// More than any socket buffer holds, so a client that does not read stalls the write.
const BIG: usize = 32 * 1024 * 1024;

struct Server {
    addr: String,
    stats: Arc<HttpStats>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

async fn start(settings: HttpServerSettings) -> Server {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/big", get(|| async { vec![b'x'; BIG] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stats = Arc::new(HttpStats::default());
    let stop = CancellationToken::new();
    let task = tokio::spawn(serve(listener, app, settings, stats.clone(), stop.clone()));
    Server {
        addr,
        stats,
        stop,
        task,
    }
}

async fn half_sent(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(HALF_SENT).await.unwrap();
    s
}

/// Reads until EOF or an error; what was read.
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all).await;
    all
}

async fn healthz(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8_lossy(&read_to_close(&mut s).await).into_owned()
}

fn long_timeouts() -> HttpServerSettings {
    HttpServerSettings {
        header_read_timeout: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(3600),
        ..HttpServerSettings::default()
    }
}

#[tokio::test]
async fn past_the_cap_a_client_is_told_503_at_once() {
    let server = start(HttpServerSettings {
        max_connections: 3,
        ..long_timeouts()
    })
    .await;
    let held = [
        half_sent(&server.addr).await,
        half_sent(&server.addr).await,
        half_sent(&server.addr).await,
    ];
    let answer = tokio::time::timeout(Duration::from_secs(10), healthz(&server.addr))
        .await
        .expect("an over-the-cap client waited instead of being refused");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    assert_eq!(server.stats.snapshot().refused_full, 1);
    assert_eq!(server.stats.snapshot().open, 3);
    drop(held);
}

#[tokio::test]
async fn below_the_cap_healthz_answers_among_a_thousand_slow_clients() {
    let server = start(long_timeouts()).await;
    let mut held = Vec::new();
    for _ in 0..1000 {
        held.push(half_sent(&server.addr).await);
    }
    let answer = tokio::time::timeout(Duration::from_secs(10), healthz(&server.addr))
        .await
        .expect("/healthz did not answer among 1,000 slow clients");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    assert!(server.stats.snapshot().open >= 1000);
}

#[tokio::test(start_paused = true)]
async fn a_half_sent_request_is_cut_at_the_header_timeout() {
    let timeout = Duration::from_secs(10);
    let server = start(HttpServerSettings {
        header_read_timeout: timeout,
        ..HttpServerSettings::default()
    })
    .await;
    let started = Instant::now();
    let mut slow = half_sent(&server.addr).await;
    let answer = read_to_close(&mut slow).await;
    let took = started.elapsed();
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(took >= timeout && took < timeout * 2, "cut after {took:?}");
    assert_eq!(server.stats.snapshot().timed_out, 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_is_closed_by_the_idle_timeout() {
    let idle = Duration::from_secs(30);
    let server = start(HttpServerSettings {
        idle_timeout: idle,
        ..HttpServerSettings::default()
    })
    .await;
    let mut client = TcpStream::connect(&server.addr).await.unwrap();
    client
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Not reading: the response stalls in the socket buffers until the idle timeout.
    let started = Instant::now();
    let got = read_to_close_after_idle(&mut client, &server, idle).await;
    assert!(started.elapsed() >= idle, "{:?}", started.elapsed());
    assert!(
        got < BIG,
        "the whole response went out: the connection was not cut"
    );
    assert_eq!(server.stats.snapshot().timed_out, 1);
}

/// Lets the paused clock run past the idle timeout (the runtime jumps it forward while
/// every task waits), then reads what had reached the socket before the listener closed it.
async fn read_to_close_after_idle(
    client: &mut TcpStream,
    server: &Server,
    idle: Duration,
) -> usize {
    tokio::time::sleep(idle + Duration::from_secs(1)).await;
    assert_eq!(
        server.stats.snapshot().open,
        0,
        "still open after the idle timeout"
    );
    read_to_close(client).await.len()
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_every_kind_of_client_within_the_deadline() {
    let deadline = Duration::from_millis(500);
    let server = start(HttpServerSettings {
        shutdown_timeout: deadline,
        ..long_timeouts()
    })
    .await;
    let mut clients = Vec::new();
    // Half-sent requests.
    for _ in 0..10 {
        clients.push(half_sent(&server.addr).await);
    }
    // Idle sockets.
    for _ in 0..10 {
        clients.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    // Kept alive after a request.
    for _ in 0..5 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        clients.push(s);
    }
    // Never reading a big response.
    for _ in 0..3 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        clients.push(s);
    }
    // Accepted in the order they connected: once this one is answered, all of them are in.
    assert!(healthz(&server.addr).await.starts_with("HTTP/1.1 200"));
    assert_eq!(server.stats.snapshot().accepted, 29);
    let started = Instant::now();
    server.stop.cancel();
    tokio::time::timeout(Duration::from_secs(3600), server.task)
        .await
        .expect("the listener never stopped")
        .unwrap();
    let took = started.elapsed();
    assert!(took <= deadline + Duration::from_millis(50), "{took:?}");
    assert_eq!(
        server.stats.snapshot().open,
        0,
        "every connection is closed"
    );
    assert!(server.stats.snapshot().dropped_at_shutdown >= 1);
    // And each client sees its connection end.
    for mut c in clients {
        let _ = read_to_close(&mut c).await;
    }
}
