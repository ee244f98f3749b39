//! `[feed] allowed_origins`: which web pages may open the feed's WebSocket.
//!
//! A browser lets any page open a WebSocket to any address, and says which page did in the
//! `Origin` header; the server is the only one that can refuse (cross-site WebSocket
//! hijacking). Non-browser clients send no `Origin` (OBS's own tools, scripts,
//! `websocat`) and cannot be told apart by it anyway, so a request without one passes;
//! the feed's token is what guards against those.
//!
//! Entry forms: `scheme://host` (that host on the scheme's default port), `scheme://host:port`,
//! `scheme://host:*` (any port), `null` (pages with an opaque origin: a `file://` page in
//! Chromium, a sandboxed frame), `file://` (a `file://` page where file access is allowed:
//! Chromium with `--allow-file-access-from-files`), and `*` (any page).

/// The default list: pages served from this machine, and OBS browser sources (a URL on
/// localhost, a local file: `null` or `file://` in current OBS, `http://absolute` in OBS
/// before CEF's file scheme). The bundled page is served by the listener itself and passes
/// as same-origin (see [`OriginPolicy::allows`]).
pub const DEFAULT_ALLOWED_ORIGINS: &[&str] = &[
    "http://localhost:*",
    "https://localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
    "http://[::1]:*",
    "https://[::1]:*",
    "http://absolute",
    "file://",
    "null",
];

/// One allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// `*`: every origin.
    Any,
    /// `null`: an opaque origin.
    Null,
    /// `file://`.
    File,
    /// `scheme://host[:port]`; `port: None` is any port (`:*`), `Some(None)` the default.
    Site {
        /// `http` or `https`, lower case.
        scheme: String,
        /// The host as a URL shows it (lower case; IPv6 in brackets).
        host: String,
        /// `None`: any port; `Some(None)`: the scheme's default; `Some(Some(p))`: `p`.
        port: Option<Option<u16>>,
    },
}

impl std::str::FromStr for OriginPattern {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let s = raw.trim();
        match s.to_ascii_lowercase().as_str() {
            "*" => return Ok(Self::Any),
            "null" => return Ok(Self::Null),
            "file://" => return Ok(Self::File),
            _ => {}
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("`{raw}` is not an origin (scheme://host[:port])"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{raw}`: the scheme must be http or https"));
        }
        let (authority, any_port) = match rest.strip_suffix(":*") {
            Some(a) => (a, true),
            None => (rest, false),
        };
        let url = url::Url::parse(&format!("{scheme}://{authority}"))
            .map_err(|e| format!("`{raw}`: {e}"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{raw}` has no host"))?
            .to_owned();
        // An origin is scheme, host and port only: anything more is a mistake.
        if url.path() != "/" || rest.trim_end_matches(":*").ends_with('/') {
            return Err(format!("`{raw}`: an origin has no path (not even `/`)"));
        }
        if !url.username().is_empty() || url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{raw}`: an origin is scheme://host[:port] only"));
        }
        let port = if any_port { None } else { Some(url.port()) };
        Ok(Self::Site { scheme, host, port })
    }
}

impl OriginPattern {
    fn matches(&self, origin: &str) -> bool {
        let lower = origin.trim().to_ascii_lowercase();
        match self {
            Self::Any => true,
            Self::Null => lower == "null",
            Self::File => lower == "file://",
            Self::Site { scheme, host, port } => {
                let Some((o_scheme, o_host, o_port)) = parse_origin(&lower) else {
                    return false;
                };
                o_scheme == *scheme && o_host == *host && port.is_none_or(|p| p == o_port)
            }
        }
    }
}

/// An `Origin` header value as (scheme, host, explicit non-default port).
fn parse_origin(origin: &str) -> Option<(String, String, Option<u16>)> {
    let url = url::Url::parse(origin).ok()?;
    let host = url.host_str()?.to_owned();
    Some((url.scheme().to_owned(), host, url.port()))
}

/// Which origins may open the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    patterns: Vec<OriginPattern>,
}

impl Default for OriginPolicy {
    fn default() -> Self {
        Self::parse(DEFAULT_ALLOWED_ORIGINS).unwrap_or(Self {
            patterns: vec![OriginPattern::Null],
        })
    }
}

impl OriginPolicy {
    /// Every entry parsed, or the first that does not, as `(index, why)`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, (usize, String)> {
        let patterns = entries
            .iter()
            .enumerate()
            .map(|(i, e)| e.as_ref().parse().map_err(|why| (i, why)))
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// True when a request with this `Origin` (absent: `None`) and `Host` header may open
    /// the feed: no `Origin`, the listener's own origin (the bundled page: the origin's
    /// `host[:port]` is the request's `Host`), or an origin on the list.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if let (Some(host), Some((scheme, o_host, o_port))) =
            (host, parse_origin(&origin.trim().to_ascii_lowercase()))
            && (scheme == "http" || scheme == "https")
        {
            let authority = match o_port {
                Some(p) => format!("{o_host}:{p}"),
                None => o_host,
            };
            if authority == host.trim().to_ascii_lowercase() {
                return true;
            }
        }
        self.patterns.iter().any(|p| p.matches(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OriginPolicy {
        OriginPolicy::parse(entries).unwrap()
    }

    #[test]
    fn the_defaults_let_local_pages_and_obs_in_and_no_one_else() {
        let p = OriginPolicy::default();
        for ok in [
            "http://localhost:8080",
            "http://localhost",
            "http://127.0.0.1:5500",
            "https://localhost:3000",
            "http://[::1]:9464",
            "http://absolute",
            "null",
            "file://",
            "HTTP://LOCALHOST:1",
        ] {
            assert!(p.allows(Some(ok), Some("127.0.0.1:9464")), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:80",
            "http://absolute.evil.example",
            "chrome-extension://abc",
            "garbage",
        ] {
            assert!(!p.allows(Some(bad), Some("127.0.0.1:9464")), "{bad}");
        }
        assert!(
            p.allows(None, None),
            "clients without Origin (OBS tools, CLI)"
        );
    }

    #[test]
    fn the_listeners_own_page_is_same_origin() {
        let p = policy(&[]);
        assert!(p.allows(Some("http://mybox.lan:9464"), Some("mybox.lan:9464")));
        assert!(p.allows(Some("http://192.168.1.5:9464"), Some("192.168.1.5:9464")));
        assert!(!p.allows(Some("http://mybox.lan:9465"), Some("mybox.lan:9464")));
        assert!(!p.allows(Some("http://other.lan:9464"), Some("mybox.lan:9464")));
        assert!(!p.allows(Some("http://mybox.lan:9464"), None));
    }

    #[test]
    fn ports_are_exact_default_or_any() {
        let p = policy(&[
            "https://overlay.example.com",
            "http://tools.lan:8080",
            "http://dev.lan:*",
        ]);
        assert!(p.allows(Some("https://overlay.example.com"), None));
        assert!(!p.allows(Some("https://overlay.example.com:8443"), None));
        assert!(!p.allows(Some("http://overlay.example.com"), None));
        assert!(p.allows(Some("http://tools.lan:8080"), None));
        assert!(!p.allows(Some("http://tools.lan:8081"), None));
        assert!(p.allows(Some("http://dev.lan:1"), None));
        assert!(p.allows(Some("http://dev.lan"), None));
        assert!(!p.allows(Some("null"), None));
        assert!(policy(&["*"]).allows(Some("https://anything.example"), None));
    }

    #[test]
    fn bad_entries_are_refused_with_their_index() {
        for (entries, bad) in [
            (vec!["http://ok", "ftp://x"], 1),
            (vec!["localhost:8080"], 0),
            (vec!["http://ok", "http://x/path"], 1),
            (vec!["https://x/"], 0),
            (vec!["http://:80"], 0),
        ] {
            let (i, why) = OriginPolicy::parse(&entries).unwrap_err();
            assert_eq!(i, bad, "{entries:?}: {why}");
        }
    }
}
