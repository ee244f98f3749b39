//! [`AuthError`]. No variant carries a token: messages come from Twitch's error JSON
//! (`message`), reqwest (whose URLs never hold secrets here) and our own text.

use crate::secret::SecretError;

/// An error of the Twitch login.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No client id is configured.
    #[error(
        "no Twitch client id: register an app at dev.twitch.tv/console (category Chat Bot, client type Public) and pass --client-id or set TIKTWITCH_CLIENT_ID"
    )]
    NoClientId,
    /// An OAuth URL is malformed.
    #[error("invalid OAuth URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The named client secret is not in the store.
    #[error("client secret {name:?} is not in the {store}; run `tiktwitch secret set {name}`")]
    MissingClientSecret {
        /// Its name.
        name: String,
        /// The store.
        store: String,
    },
    /// An app access token needs the client secret, and none is configured.
    #[error("{op}: this needs the app's client secret; set twitch.client_secret to the name of the stored secret")]
    NoClientSecret {
        /// What was being done.
        op: &'static str,
    },
    /// A network failure.
    #[error("{op}: {reason}")]
    Http {
        /// What was being done.
        op: &'static str,
        /// reqwest's error.
        reason: String,
    },
    /// Twitch said no.
    #[error("{op}: Twitch answered {status}: {message}")]
    Rejected {
        /// What was being done.
        op: &'static str,
        /// The HTTP status.
        status: u16,
        /// Twitch's message.
        message: String,
    },
    /// An answer that could not be parsed.
    #[error("{op}: unexpected answer from Twitch: {reason}")]
    Decode {
        /// What was being done.
        op: &'static str,
        /// The parse error (position only).
        reason: String,
    },
    /// The user denied the device-code request.
    #[error("the login was denied on the Twitch page; run `tiktwitch auth twitch` again to retry")]
    DeviceAccessDenied,
    /// The device code expired before the user approved it.
    #[error(
        "the code expired before it was approved on the Twitch page; run `tiktwitch auth twitch` again"
    )]
    DeviceCodeExpired,
    /// The token lacks scopes we need.
    #[error(
        "the Twitch token lacks the scopes {missing:?} (it has {granted:?}); run `tiktwitch auth twitch` to log in with them"
    )]
    MissingScopes {
        /// What is missing.
        missing: Vec<String>,
        /// What the token has.
        granted: Vec<String>,
    },
    /// The token belongs to another account than the configured one.
    #[error(
        "the Twitch token belongs to {actual:?}, not the configured bot {expected:?}; run `tiktwitch auth twitch` and log in as {expected:?}"
    )]
    WrongLogin {
        /// The configured login.
        expected: String,
        /// The token's login.
        actual: String,
    },
    /// No token is stored.
    #[error("no Twitch login is stored in the {store}; run `tiktwitch auth twitch`")]
    NotLoggedIn {
        /// The store.
        store: String,
    },
    /// The stored token cannot be parsed.
    #[error(
        "the stored Twitch token is damaged ({reason}); run `tiktwitch auth twitch` to log in again"
    )]
    CorruptToken {
        /// The parse error (position only).
        reason: String,
    },
    /// The login is gone: the refresh token was refused (revoked, expired after 30 days
    /// unused, already spent) or there is none to use. Only a new login helps.
    #[error(
        "the Twitch login is no longer valid ({reason}); run `tiktwitch auth twitch` to log in again"
    )]
    ReauthRequired {
        /// Why.
        reason: String,
    },
    /// The token must be refreshed, but the store it came from cannot keep a refreshed one
    /// (the env store is read-only), so it is not refreshed (that would spend the refresh
    /// token for nothing). Fatal: it says what to do.
    #[error(
        "the Twitch token {expiry} and must be refreshed, but the {store} is read-only and cannot keep a refreshed token (the refresh token was not spent). Keep the login where tiktwitch can update it: set secret_store = \"file\" or \"keyring\" and run `tiktwitch auth twitch`; or put a fresh token in this store before the old one expires"
    )]
    StoreCannotRefresh {
        /// The store.
        store: String,
        /// "expires in 14m", "has expired", "was refused by Twitch".
        expiry: String,
    },
    /// A refreshed token could not be saved; it is kept in memory, not used, and saving is
    /// retried before the next use.
    #[error("the refreshed Twitch token could not be saved, so it is not used yet: {0}")]
    Persist(#[source] SecretError),
    /// The secret store failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl AuthError {
    /// Whether retrying cannot help (the bridge should stop and tell the user what to do).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::Http { .. } | Self::Rejected { .. } | Self::Decode { .. } | Self::Persist(_)
        )
    }
}
