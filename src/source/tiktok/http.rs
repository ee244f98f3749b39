//! The HTTP client every TikTok and signer request goes through.

use std::time::Duration;

use super::proxy::ProxyConfig;
use crate::source::tiktok::error::SourceError;

/// Builds the reqwest client: the proxy (or none: the environment is read by
/// [`ProxyConfig::resolve`], not by reqwest, so HTTP and the socket agree), a request
/// timeout, a cookie jar.
pub fn build_client(
    proxy: Option<&ProxyConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, SourceError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy();
    if let Some(proxy) = proxy {
        builder = builder.proxy(proxy.to_reqwest()?);
    }
    builder
        .build()
        .map_err(|e| SourceError::Client(e.to_string()))
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
