//! Proxies for both the HTTP requests (reqwest) and the WebSocket (tokio-tungstenite has no
//! proxy support, so the TCP stream is dialled here: SOCKS5 through tokio-socks, HTTP
//! through a small `CONNECT`, and the TLS + WebSocket handshake then runs over it).

use std::io;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_socks::tcp::Socks5Stream;
use url::Url;

use super::error::ProxyError;

/// Largest `CONNECT` response header accepted.
const MAX_CONNECT_RESPONSE: usize = 8 * 1024;

/// How the proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyScheme {
    /// An HTTP proxy; HTTPS and WebSocket traffic goes through `CONNECT`.
    Http,
    /// SOCKS5, names resolved locally.
    Socks5,
    /// SOCKS5, names resolved by the proxy.
    Socks5h,
}

/// A parsed proxy URL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyConfig {
    url: String,
    /// How to speak to it.
    pub scheme: ProxyScheme,
    /// The proxy's host.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    auth: Option<(String, String)>,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ProxyConfig")
            .field(&redact_url(&self.url))
            .finish()
    }
}

impl ProxyConfig {
    /// Parses `http://[user:pass@]host:port`, `socks5://...` or `socks5h://...`.
    pub fn parse(url: &str) -> Result<Self, ProxyError> {
        let err = |reason: &str| ProxyError {
            url: redact_url(url),
            reason: reason.into(),
        };
        let parsed = Url::parse(url.trim()).map_err(|e| err(&e.to_string()))?;
        let (scheme, default_port) = match parsed.scheme() {
            "http" => (ProxyScheme::Http, 8080),
            "socks5" => (ProxyScheme::Socks5, 1080),
            "socks5h" => (ProxyScheme::Socks5h, 1080),
            other => {
                return Err(err(&format!(
                    "scheme {other:?} is not supported (use http://, socks5:// or socks5h://)"
                )));
            }
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| err("no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let auth = (!parsed.username().is_empty()).then(|| {
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map_or_else(String::new, |(_, v)| v.into_owned())
            };
            (
                decode(parsed.username()),
                decode(parsed.password().unwrap_or("")),
            )
        });
        Ok(Self {
            url: url.trim().to_string(),
            scheme,
            host,
            port: parsed.port().unwrap_or(default_port),
            auth,
        })
    }

    /// The proxy named by the environment: `HTTPS_PROXY`, then `ALL_PROXY` (either case).
    /// `get` reads a variable (`std::env::var(..).ok()` in production).
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Option<Result<Self, ProxyError>> {
        ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .into_iter()
            .find_map(|name| get(name).filter(|v| !v.trim().is_empty()))
            .map(|url| {
                // A bare `host:port` in the environment means an HTTP proxy.
                if url.contains("://") {
                    Self::parse(&url)
                } else {
                    Self::parse(&format!("http://{url}"))
                }
            })
    }

    /// The proxy to use: the explicit setting, else (when allowed) the environment.
    pub fn resolve(explicit: Option<&str>, from_env: bool) -> Result<Option<Self>, ProxyError> {
        match explicit.filter(|s| !s.trim().is_empty()) {
            Some(url) => Self::parse(url).map(Some),
            None if from_env => Self::from_env_with(|name| std::env::var(name).ok()).transpose(),
            None => Ok(None),
        }
    }

    /// The same proxy for reqwest.
    pub fn to_reqwest(&self) -> Result<reqwest::Proxy, ProxyError> {
        reqwest::Proxy::all(&self.url).map_err(|e| ProxyError {
            url: redact_url(&self.url),
            reason: e.to_string(),
        })
    }

    /// Opens a TCP stream to `host:port` through this proxy.
    pub async fn connect(&self, host: &str, port: u16) -> io::Result<TcpStream> {
        let proxy = (self.host.as_str(), self.port);
        match self.scheme {
            ProxyScheme::Http => http_connect(self, host, port).await,
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
                // socks5: resolve here and hand the proxy an address; socks5h: the name.
                let target = if self.scheme == ProxyScheme::Socks5 {
                    let addr = tokio::net::lookup_host((host, port))
                        .await?
                        .next()
                        .ok_or_else(|| io::Error::other(format!("{host} does not resolve")))?;
                    addr.to_string()
                } else {
                    format!("{host}:{port}")
                };
                let stream = match &self.auth {
                    Some((user, pass)) => {
                        Socks5Stream::connect_with_password(proxy, target, user, pass).await
                    }
                    None => Socks5Stream::connect(proxy, target).await,
                }
                .map_err(|e| io::Error::other(format!("SOCKS5 proxy: {e}")))?;
                Ok(stream.into_inner())
            }
        }
    }
}

/// Dials `host:port`, through `proxy` when there is one.
pub async fn dial(proxy: Option<&ProxyConfig>, host: &str, port: u16) -> io::Result<TcpStream> {
    let stream = match proxy {
        Some(p) => p.connect(host, port).await?,
        None => TcpStream::connect((host, port)).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `CONNECT host:port` through an HTTP proxy; the stream is then a tunnel.
async fn http_connect(proxy: &ProxyConfig, host: &str, port: u16) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port)).await?;
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, pass)) = &proxy.auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    // Read the response header byte by byte: anything after it belongs to the tunnel.
    let mut header = Vec::with_capacity(128);
    while !header.ends_with(b"\r\n\r\n") {
        if header.len() >= MAX_CONNECT_RESPONSE {
            return Err(io::Error::other(
                "HTTP proxy: CONNECT response header too long",
            ));
        }
        let byte = stream.read_u8().await?;
        header.push(byte);
    }
    let status_line = String::from_utf8_lossy(&header);
    let status_line = status_line.lines().next().unwrap_or("");
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        return Err(io::Error::other(format!(
            "HTTP proxy refused CONNECT {authority}: {status_line}"
        )));
    }
    Ok(stream)
}

/// A proxy URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "<unparseable proxy url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse() {
        let p = ProxyConfig::parse("socks5h://bob:s%40cret@proxy.example:9050").unwrap();
        assert_eq!(p.scheme, ProxyScheme::Socks5h);
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 9050));
        assert_eq!(p.auth, Some(("bob".into(), "s@cret".into())));
        assert!(!format!("{p:?}").contains("cret"));
        let h = ProxyConfig::parse("http://10.0.0.1").unwrap();
        assert_eq!((h.scheme, h.port), (ProxyScheme::Http, 8080));
        assert!(ProxyConfig::parse("ftp://x").is_err());
    }

    #[test]
    fn environment_order_is_https_then_all() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let p = ProxyConfig::from_env_with(env(&[
            ("ALL_PROXY", "socks5://a:1"),
            ("HTTPS_PROXY", "http://b:2"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(p.host, "b");
        let p = ProxyConfig::from_env_with(env(&[("all_proxy", "c:3")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port),
            (ProxyScheme::Http, "c", 3)
        );
        assert!(ProxyConfig::from_env_with(env(&[])).is_none());
    }
}
