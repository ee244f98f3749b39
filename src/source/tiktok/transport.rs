//! The HTTP client every TikTok and signer request goes through, and the TLS settings of
//! the push socket.
//!
//! Both are built once per process and shared by every bridge: a reqwest client carries
//! its own connection pool and a rustls root store (~130 KB of trust anchors), and a
//! process running a thousand bridges should hold one of each, not two thousand. Our
//! clients keep no cookie jar (cookies travel explicitly), so sharing leaks nothing
//! between bridges.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::proxy::ProxyConfig;
use crate::source::tiktok::error::SourceError;

/// What a shared client differs by.
type ClientKey = (Option<ProxyConfig>, Duration);

/// The process's reqwest client for this proxy and timeout (built on first use, then
/// shared; see the module comment).
pub fn build_client(
    proxy: Option<&ProxyConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, SourceError> {
    static CLIENTS: OnceLock<Mutex<HashMap<ClientKey, reqwest::Client>>> = OnceLock::new();
    let key = (proxy.cloned(), timeout);
    let mut clients = CLIENTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    let client = new_client(proxy, timeout)?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// A new reqwest client: the proxy (or none: the environment is read by
/// [`ProxyConfig::resolve`], not by reqwest, so HTTP and the socket agree) and a request
/// timeout.
fn new_client(
    proxy: Option<&ProxyConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, SourceError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(crate::limits::TIKTOK_HTTP_MAX_IDLE_PER_HOST)
        .no_proxy();
    if let Some(proxy) = proxy {
        builder = builder.proxy(proxy.to_reqwest()?);
    }
    builder
        .build()
        .map_err(|e| SourceError::Client(e.to_string()))
}

/// The TLS settings of every `wss://` push socket (webpki roots, aws-lc-rs), built once.
/// `None` only if rustls refuses its own safe defaults; tokio-tungstenite then builds its own.
pub fn websocket_tls() -> Option<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| crate::tls::client_config([]).ok().map(Arc::new))
        .clone()
}

/// Reads a response body, refusing more than `limit` bytes.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<bytes::Bytes, String> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > limit {
            return Err(format!("response body over {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A request error with its causes ("error sending request: connection refused ..."),
/// without the URL (it may carry query secrets).
pub fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
