//! [`TikTokSettings`]: everything the source needs, with production defaults.

use std::fmt;
use std::time::Duration;

use crate::limits;

/// The TikTok source's settings. `Default` gives the real services.
#[derive(Clone)]
pub struct TikTokSettings {
    /// The creator: `@user`, `user`, or a profile / `/live` URL.
    pub username: String,
    /// TikTok's web origin (room lookup, `/@user/live`).
    pub web_base_url: String,
    /// TikTok's WebCast API origin: the gift catalogue (`webcast/gift/list`). Nothing on the
    /// connect path needs it (room lookup is on `web_base_url`, the socket host comes from
    /// the fetch result).
    pub webcast_base_url: String,
    /// Fetch the room's gift catalogue once per room, to fill gift names, values and images
    /// that gift messages leave out. Optional: a failure is counted and the live goes on.
    pub gift_catalogue: bool,
    /// The signer (Euler Stream or a self-hosted server with the same contract).
    pub signer_base_url: String,
    /// The signer API key (`x-api-key`). Secret: never logged.
    pub signer_api_key: Option<String>,
    /// The `client` id reported to the signer.
    pub signer_client: String,
    /// A TikTok `sessionid` cookie, for 18+ rooms and full comment visibility. Secret.
    pub session_id: Option<String>,
    /// The account's data-centre cookie sent with `session_id` (`tt-target-idc`).
    pub tt_target_idc: String,
    /// Forward the session cookie to the signer (`x-cookie-header`). It is a full account
    /// credential, so this is off unless the user opts in.
    pub send_session_to_signer: bool,
    /// A proxy URL (`http://`, `socks5://`, `socks5h://`, with optional `user:pass@`) for
    /// every request and the socket.
    pub proxy: Option<String>,
    /// When `proxy` is unset, use `HTTPS_PROXY` / `ALL_PROXY` from the environment.
    pub proxy_from_env: bool,
    /// When the creator is offline or the stream ends, poll until live again instead of
    /// stopping.
    pub wait_for_live: bool,
    /// How often to poll the (unsigned) room status while waiting.
    pub poll_interval: Duration,
    /// Heartbeat interval when TikTok does not ask for one.
    pub heartbeat: Duration,
    /// First reconnect delay; doubles per failed attempt.
    pub min_backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
    /// Stop after this many failed attempts in a row (`None`: never stop).
    pub max_attempts: Option<u32>,
    /// The device preset name (`chrome-windows` ...); `None` picks one at random.
    pub preset: Option<String>,
    /// How many recent message ids to remember for de-duplication.
    pub dedupe_capacity: usize,
    /// Timeout of each HTTP request and of the socket handshake.
    pub request_timeout: Duration,
}

impl Default for TikTokSettings {
    fn default() -> Self {
        Self {
            username: String::new(),
            web_base_url: "https://www.tiktok.com".into(),
            webcast_base_url: "https://webcast.tiktok.com".into(),
            gift_catalogue: true,
            signer_base_url: "https://api.eulerstream.com".into(),
            signer_api_key: None,
            signer_client: "tiktwitch".into(),
            session_id: None,
            tt_target_idc: "useast1a".into(),
            send_session_to_signer: false,
            proxy: None,
            proxy_from_env: true,
            wait_for_live: true,
            poll_interval: limits::ROOM_POLL_INTERVAL,
            heartbeat: limits::DEFAULT_HEARTBEAT,
            min_backoff: limits::RECONNECT_MIN_BACKOFF,
            max_backoff: limits::RECONNECT_MAX_BACKOFF,
            max_attempts: None,
            preset: None,
            dedupe_capacity: limits::DEDUPE_CAPACITY,
            request_timeout: limits::TIKTOK_REQUEST_TIMEOUT,
        }
    }
}

impl TikTokSettings {
    /// The settings for one creator, everything else default.
    pub fn for_user(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            ..Self::default()
        }
    }

    /// The cookies that carry the session, when a session id is set.
    pub fn session_cookies(&self) -> Vec<(String, String)> {
        let Some(id) = self.session_id.as_deref().filter(|s| !s.is_empty()) else {
            return Vec::new();
        };
        ["sessionid", "sessionid_ss", "sid_tt"]
            .into_iter()
            .map(|name| (name.to_string(), id.to_string()))
            .chain([("tt-target-idc".to_string(), self.tt_target_idc.clone())])
            .collect()
    }
}

/// Secrets print as `<redacted>`; the proxy URL loses its password.
impl fmt::Debug for TikTokSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("TikTokSettings")
            .field("username", &self.username)
            .field("web_base_url", &self.web_base_url)
            .field("webcast_base_url", &self.webcast_base_url)
            .field("gift_catalogue", &self.gift_catalogue)
            .field("signer_base_url", &self.signer_base_url)
            .field("signer_api_key", &redacted(&self.signer_api_key))
            .field("signer_client", &self.signer_client)
            .field("session_id", &redacted(&self.session_id))
            .field("tt_target_idc", &self.tt_target_idc)
            .field("send_session_to_signer", &self.send_session_to_signer)
            .field(
                "proxy",
                &self.proxy.as_deref().map(super::proxy::redact_url),
            )
            .field("proxy_from_env", &self.proxy_from_env)
            .field("wait_for_live", &self.wait_for_live)
            .field("poll_interval", &self.poll_interval)
            .field("heartbeat", &self.heartbeat)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_attempts", &self.max_attempts)
            .field("preset", &self.preset)
            .field("dedupe_capacity", &self.dedupe_capacity)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let settings = TikTokSettings {
            signer_api_key: Some("euler-secret".into()),
            session_id: Some("session-secret".into()),
            proxy: Some("socks5://bob:proxy-secret@10.0.0.1:1080".into()),
            ..TikTokSettings::for_user("@someone")
        };
        let shown = format!("{settings:?}");
        for secret in ["euler-secret", "session-secret", "proxy-secret"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn defaults_are_the_real_services() {
        let s = TikTokSettings::default();
        assert_eq!(s.web_base_url, "https://www.tiktok.com");
        assert_eq!(s.signer_base_url, "https://api.eulerstream.com");
        assert!(s.wait_for_live);
        assert_eq!(s.heartbeat, Duration::from_secs(10));
        assert!(s.session_cookies().is_empty());
    }
}
