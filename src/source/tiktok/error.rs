//! The TikTok source's errors, one enum per stage (room lookup, signer, socket) and
//! [`SourceError`] for the whole lifecycle. Each says whether retrying can help.

use std::time::{Duration, SystemTime};

use super::decode::FrameError;

/// Resolving `@user` to a room failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The input is not a TikTok handle or profile/live URL.
    #[error("{input:?} is not a TikTok username or profile URL")]
    InvalidUsername {
        /// What was given.
        input: String,
    },
    /// TikTok has no such user (`user_not_found`, code 19881007), or the user never streamed.
    #[error("TikTok user @{username} does not exist ({detail})")]
    UserNotFound {
        /// The normalised handle.
        username: String,
        /// What TikTok said.
        detail: String,
    },
    /// The room is age-restricted (code 4003110): it needs a logged-in `session_id`.
    #[error("the LIVE of @{username} is age-restricted (18+): set a TikTok session id to watch it")]
    AgeRestricted {
        /// The normalised handle.
        username: String,
    },
    /// TikTok answered with a captcha / verify page or an anti-bot shell.
    #[error(
        "TikTok blocked the room lookup for @{username} ({reason}); try again later, from another IP, or through a proxy"
    )]
    Blocked {
        /// The normalised handle.
        username: String,
        /// What was seen.
        reason: String,
    },
    /// An HTTP status we cannot use.
    #[error("room lookup {url} answered HTTP {status}")]
    Status {
        /// The URL without its query.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The answer parsed but did not have the expected shape.
    #[error("room lookup for @{username}: unexpected answer ({detail})")]
    Malformed {
        /// The normalised handle.
        username: String,
        /// What was wrong.
        detail: String,
    },
    /// The request did not complete (DNS, TCP, TLS, proxy, timeout).
    #[error("room lookup request failed: {0}")]
    Transport(String),
}

impl LookupError {
    /// True when trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidUsername { .. }
            | Self::UserNotFound { .. }
            | Self::AgeRestricted { .. }
            | Self::Blocked { .. } => false,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Malformed { .. } | Self::Transport(_) => true,
        }
    }
}

/// The signer step failed.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The signer's rate limit (HTTP 429), with its `limit_label` and when to try again.
    #[error("signer rate limit {label:?} reached; retry in {}s", retry_after.as_secs())]
    RateLimited {
        /// E.g. `rate_limit_account_minute`, `rate_limit_account_day`.
        label: String,
        /// How long to wait.
        retry_after: Duration,
    },
    /// 401/402/403: the API key is missing, wrong, or the plan lacks the feature.
    #[error(
        "signer refused the request (HTTP {status}): {message}; check the signer API key and plan"
    )]
    Config {
        /// The status code.
        status: u16,
        /// The signer's message.
        message: String,
    },
    /// 5xx, or any other status: the signer or TikTok behind it is failing right now.
    #[error("signer unavailable (HTTP {status}): {message}")]
    Unavailable {
        /// The status code.
        status: u16,
        /// The signer's message.
        message: String,
    },
    /// HTTP 200 with an empty body: TikTok answered the signer with nothing.
    #[error("signer returned an empty fetch result")]
    EmptyBody,
    /// The body is not a usable `ProtoMessageFetchResult`.
    #[error("signer returned an unusable fetch result: {0}")]
    BadFetchResult(String),
    /// The request did not complete.
    #[error("signer request failed: {0}")]
    Transport(String),
}

impl SignerError {
    /// True when trying again (after [`SignerError::retry_after`]) can succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Config { .. })
    }

    /// The wait the signer asked for, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<FrameError> for SignerError {
    fn from(e: FrameError) -> Self {
        Self::BadFetchResult(e.to_string())
    }
}

/// The WebSocket session failed or ended unexpectedly.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The handshake was answered with HTTP 200/400 instead of 101: TikTok detected the
    /// client (`Handshake-Msg`, e.g. `DEVICE_BLOCKED`). Retrying the same way will not help.
    #[error(
        "TikTok refused the WebSocket (HTTP {status}, Handshake-Msg {message:?}, Handshake-Status {handshake_status:?}); check the user agent, cookies, session id or proxy"
    )]
    Blocked {
        /// The HTTP status instead of 101.
        status: u16,
        /// The `Handshake-Msg` header.
        message: String,
        /// The `Handshake-Status` header.
        handshake_status: String,
    },
    /// The fetch result had no usable `push_server`.
    #[error("cannot build the socket URL: {0}")]
    Url(String),
    /// Any other handshake failure (HTTP 5xx, TCP, TLS, proxy ...).
    #[error("WebSocket handshake failed: {0}")]
    Handshake(String),
    /// The server closed the socket.
    #[error("socket closed by TikTok (code {code}, reason {reason:?})")]
    Closed {
        /// The close code (1005 when none was sent).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Nothing arrived for longer than three heartbeats.
    #[error("socket silent for {}s", .0.as_secs())]
    Silent(Duration),
    /// A read or write failed (reset, truncated frame ...).
    #[error("socket error: {0}")]
    Transport(String),
}

impl SessionError {
    /// True when reconnecting can succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Blocked { .. })
    }
}

/// A proxy setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("proxy {url:?}: {reason}")]
pub struct ProxyError {
    /// The proxy URL with any password removed.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

/// Why the source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Room lookup failed for good.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The signer failed for good (configuration).
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The socket failed for good (blocked).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The proxy setting is unusable.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The creator is not live and `wait_for_live` is off.
    #[error("@{username} is not live (checked {})", crate::format::utc(*checked_at))]
    NotLive {
        /// The normalised handle.
        username: String,
        /// When the room was last checked.
        checked_at: SystemTime,
    },
    /// `max_attempts` reconnects in a row failed.
    #[error("gave up after {attempts} attempts in a row; last error: {last}")]
    GaveUp {
        /// How many attempts failed.
        attempts: u32,
        /// The last failure.
        last: Box<SourceError>,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl SourceError {
    /// True when reconnecting can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Lookup(e) => e.is_retryable(),
            Self::Signer(e) => e.is_retryable(),
            Self::Session(e) => e.is_retryable(),
            Self::Proxy(_) | Self::NotLive { .. } | Self::GaveUp { .. } | Self::Client(_) => false,
        }
    }

    /// The wait a rate limit asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Signer(e) => e.retry_after(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(
            !SignerError::Config {
                status: 401,
                message: "bad key".into()
            }
            .is_retryable()
        );
        assert!(SignerError::EmptyBody.is_retryable());
        let blocked = SessionError::Blocked {
            status: 200,
            message: "DEVICE_BLOCKED".into(),
            handshake_status: "415".into(),
        };
        assert!(!blocked.is_retryable());
        assert!(blocked.to_string().contains("DEVICE_BLOCKED"));
        assert!(SessionError::Silent(Duration::from_secs(30)).is_retryable());
        assert!(
            !LookupError::AgeRestricted {
                username: "a".into()
            }
            .is_retryable()
        );
        assert!(
            LookupError::Status {
                url: "u".into(),
                status: 503
            }
            .is_retryable()
        );
        assert!(
            !LookupError::Status {
                url: "u".into(),
                status: 404
            }
            .is_retryable()
        );
    }
}
