//! The `[http]` listener's connections: an accept loop over hyper's HTTP/1 server with the
//! limits `axum::serve` does not have, so no client decides how long the daemon lives.
//!
//! - a cap on connections at once ([`HttpServerSettings::max_connections`]); past it a
//!   new connection is answered `503` and closed at once (counted);
//! - a header-read timeout (hyper's, on tokio's timer): a client that starts a request and
//!   stops sending is cut, and so is a keep-alive connection with no next request;
//! - an idle timeout: no byte either way for that long (a client that never reads its
//!   response) closes the connection;
//! - a shutdown deadline: on shutdown the listener closes, each connection is asked to
//!   finish its request and close, and after [`HttpServerSettings::shutdown_timeout`]
//!   whatever is still open is dropped.
//!
//! A connection's slot (its semaphore permit) lives inside its socket, so a connection
//! upgraded to a WebSocket keeps counting until the socket closes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::limits::{
    HTTP_ACCEPT_ERROR_BACKOFF, HTTP_HEADER_READ_TIMEOUT, HTTP_IDLE_TIMEOUT, HTTP_MAX_CONNECTIONS,
    HTTP_SHUTDOWN_TIMEOUT,
};

/// What the listener allows its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpServerSettings {
    /// Connections at once; more are refused with a `503`.
    pub max_connections: usize,
    /// Time to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time with no byte moving either way before a connection is closed.
    pub idle_timeout: Duration,
    /// At shutdown, time for requests in flight before every connection is dropped.
    pub shutdown_timeout: Duration,
}

impl Default for HttpServerSettings {
    fn default() -> Self {
        Self {
            max_connections: HTTP_MAX_CONNECTIONS,
            header_read_timeout: HTTP_HEADER_READ_TIMEOUT,
            idle_timeout: HTTP_IDLE_TIMEOUT,
            shutdown_timeout: HTTP_SHUTDOWN_TIMEOUT,
        }
    }
}

/// The listener's counters (for `/metrics`).
#[derive(Debug, Default)]
pub struct HttpStats {
    open: AtomicU64,
    accepted: AtomicU64,
    refused_full: AtomicU64,
    timed_out: AtomicU64,
    accept_errors: AtomicU64,
    dropped_at_shutdown: AtomicU64,
}

/// [`HttpStats`] now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HttpStatsSnapshot {
    /// Connections open now (WebSocket feed clients included).
    pub open: u64,
    /// Connections accepted since start.
    pub accepted: u64,
    /// Connections refused because `max_connections` were open.
    pub refused_full: u64,
    /// Connections closed for a header-read or idle timeout.
    pub timed_out: u64,
    /// Accept errors (out of file descriptors ...).
    pub accept_errors: u64,
    /// Connections still open at the shutdown deadline, dropped.
    pub dropped_at_shutdown: u64,
}

impl HttpStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> HttpStatsSnapshot {
        HttpStatsSnapshot {
            open: self.open.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            refused_full: self.refused_full.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
            dropped_at_shutdown: self.dropped_at_shutdown.load(Ordering::Relaxed),
        }
    }
}

/// The listener's families for `/metrics`.
pub fn render_metrics(s: &HttpStatsSnapshot) -> String {
    let mut e = crate::status::exposition::Exposition::default();
    e.gauge(
        "tiktwitch_http_connections",
        "HTTP connections open now (WebSocket feed clients included).",
        &[],
        s.open as f64,
    );
    e.counter(
        "tiktwitch_http_connections_accepted_total",
        "HTTP connections accepted.",
        &[],
        s.accepted,
    );
    e.counter(
        "tiktwitch_http_connections_refused_total",
        "HTTP connections refused with a 503 because [http] max_connections were open.",
        &[],
        s.refused_full,
    );
    e.counter(
        "tiktwitch_http_connections_timed_out_total",
        "HTTP connections closed by the header-read or the idle timeout.",
        &[],
        s.timed_out,
    );
    e.counter(
        "tiktwitch_http_accept_errors_total",
        "Errors accepting HTTP connections (out of file descriptors ...).",
        &[],
        s.accept_errors,
    );
    e.finish()
}

/// What an over-the-cap client is told before the socket closes (written without waiting:
/// a fresh socket's send buffer always takes it).
const REFUSED_FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\r\ntoo many connections\n";

/// Serves `app` on `listener` until `shutdown`, then closes every connection within
/// `settings.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: HttpServerSettings,
    stats: Arc<HttpStats>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let mut connections = JoinSet::new();
    // Accept errors that persist (no file descriptors left) are logged once, not per try.
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            // Reap finished connection tasks so the set stays as large as what is open.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                failing = false;
                stream
            }
            Err(e) if is_one_connection_error(&e) => continue,
            Err(e) => {
                stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                if !failing {
                    warn!(error = %e, "the HTTP listener cannot accept connections (is `ulimit -n` above [http] max_connections?)");
                }
                failing = true;
                tokio::select! {
                    () = tokio::time::sleep(HTTP_ACCEPT_ERROR_BACKOFF) => continue,
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            stats.refused_full.fetch_add(1, Ordering::Relaxed);
            debug!("HTTP connection refused: max_connections are open");
            // Take what the client already sent, so closing sends a FIN after the answer
            // rather than a reset that could discard it.
            let mut sent = [0u8; 4096];
            let _ = stream.try_read(&mut sent);
            let _ = stream.try_write(REFUSED_FULL);
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let io = Tracked::new(stream, slot, stats.clone());
        connections.spawn(serve_connection(
            io,
            app.clone(),
            settings,
            stats.clone(),
            shutdown.clone(),
        ));
    }
    // New connections are refused by the OS from here on.
    drop(listener);
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(settings.shutdown_timeout, all_closed)
        .await
        .is_err()
    {
        let left = connections.len();
        stats
            .dropped_at_shutdown
            .fetch_add(left as u64, Ordering::Relaxed);
        connections.shutdown().await;
        info!(
            connections = left,
            "HTTP connections still open at the shutdown deadline were closed"
        );
    }
}

/// Errors about the connection being accepted (it went away first), not the listener.
fn is_one_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection until it ends, times out, or shutdown's deadline drops it (the task is
/// aborted then).
async fn serve_connection(
    io: Tracked,
    app: Router,
    settings: HttpServerSettings,
    stats: Arc<HttpStats>,
    shutdown: CancellationToken,
) {
    let activity = io.activity.clone();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let idle_at = activity.last() + settings.idle_timeout;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    if e.is_timeout() {
                        stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    }
                    debug!(error = %e, "HTTP connection ended");
                }
                return;
            }
            () = shutdown.cancelled(), if !closing => {
                // Finish the request in flight (if any), then close; idle ones close now.
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_at) => {
                if activity.last() + settings.idle_timeout <= Instant::now() {
                    stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    debug!("HTTP connection closed: idle");
                    return;
                }
            }
        }
    }
}

/// When a connection last moved a byte, as milliseconds since it was accepted.
#[derive(Debug)]
struct Activity {
    since: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A connection's socket: notes each byte moved, and holds the connection's slot (and its
/// place in the `open` count) until the socket is dropped.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
    _slot: OwnedSemaphorePermit,
    stats: Arc<HttpStats>,
}

impl Tracked {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, stats: Arc<HttpStats>) -> Self {
        // Small responses (health probes) go out at once.
        let _ = stream.set_nodelay(true);
        stats.open.fetch_add(1, Ordering::Relaxed);
        Self {
            stream,
            activity: Arc::new(Activity {
                since: Instant::now(),
                last_ms: AtomicU64::new(0),
            }),
            _slot: slot,
            stats,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
