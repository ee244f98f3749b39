//! Twitch login that keeps working: device-code login, and a token manager that refreshes,
//! validates hourly and persists every rotated refresh token before using the new token.
//!
//! - [`OAuthClient`]: the raw OAuth calls, every URL under one configurable base.
//! - [`device`]: the Device Code Grant (public client, no secret needed).
//! - [`TokenManager`]: owns the token; refreshes before expiry and on demand
//!   ([`TokenManager::force_refresh`]); validates at start and hourly
//!   ([`TokenManager::run`]); hands fresh tokens to twitch-irc through
//!   [`TwitchCredentials`] (a `twitch_irc::login::LoginCredentials`).
//! - [`account`]: what `tiktwitch auth twitch|status|logout` do.
//!
//! The token lives in the [`crate::secret`] store as one secret (`twitch-token`, JSON), so
//! the access and refresh token always change together.

pub mod account;
mod app_token;
mod oauth_client;
mod clock;
mod credentials;
pub mod device;
mod error;
mod manager;
mod auth_stats;
mod token;

use std::path::PathBuf;

pub use oauth_client::{DeviceCode, OAuthClient, PollError, RefreshError, TokenGrant, ValidateError};
pub use app_token::AppToken;
pub use clock::{Clock, SystemClock, TokioClock};
pub use credentials::{FreshToken, TwitchCredentials};
pub use error::AuthError;
pub use manager::{TokenManager, describe_left};
pub use auth_stats::{AuthStats, AuthStatsSnapshot};
pub use token::{StoredToken, TokenInfo, missing_scopes};

use crate::secret::{KeyringBackend, SecretStore, SecretStoreKind, SecretStoreSettings};

/// Twitch's OAuth base URL.
pub const TWITCH_OAUTH_URL: &str = "https://id.twitch.tv/oauth2";

/// The scopes IRC chat needs.
pub const IRC_SCOPES: [&str; 2] = ["chat:read", "chat:edit"];

/// The scopes the Helix chat sink needs when the bot's own token sends (Helix Send Chat
/// Message: "a user access token that includes the user:write:chat scope").
pub const HELIX_SCOPES: [&str; 1] = ["user:write:chat"];

/// The scopes the bot's token must carry when an app access token sends (the Chat Bot
/// badge path): "If app access token used, then additionally requires user:bot scope from
/// chatting user, and either channel:bot scope from broadcaster or moderator status". The
/// broadcaster's `channel:bot` is on the broadcaster's token, which `/validate` of the bot's
/// token cannot show.
pub const HELIX_APP_SCOPES: [&str; 2] = ["user:write:chat", "user:bot"];

/// The default name of the stored token secret.
pub const TOKEN_SECRET: &str = "twitch-token";

/// The default name of a bare access token a user brings (read when no `twitch-token` is
/// stored; never refreshed).
pub const BARE_TOKEN_SECRET: &str = "twitch-access-token";

/// Settings of the Twitch login.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The app's client id (public client: no secret needed).
    pub client_id: String,
    /// Name of the client secret in the secret store, for a confidential client.
    pub client_secret_name: Option<String>,
    /// OAuth base URL; `/device`, `/token`, `/validate`, `/revoke` hang off it.
    pub oauth_url: String,
    /// Whether the Helix chat sink is used (then [`HELIX_SCOPES`] are required instead of
    /// [`IRC_SCOPES`]).
    pub helix_scopes: bool,
    /// Which secret store keeps the token.
    pub secret_store: SecretStoreKind,
    /// Which OS keyring `secret_store = "keyring"` means.
    pub keyring_backend: KeyringBackend,
    /// The state directory (the file store lives here).
    pub state_dir: PathBuf,
    /// Name of the stored token secret.
    pub token_secret_name: String,
    /// Name of a bare access token secret (no refresh).
    pub bare_token_secret_name: String,
    /// If set, the token must belong to this login.
    pub expected_login: Option<String>,
    /// With `helix_scopes`: an app access token sends (`[twitch] helix_token = "app"`), so
    /// the bot's token needs [`HELIX_APP_SCOPES`].
    pub helix_app_token: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let store = SecretStoreSettings::default();
        Self {
            client_id: String::new(),
            client_secret_name: None,
            oauth_url: TWITCH_OAUTH_URL.to_string(),
            helix_scopes: false,
            secret_store: store.kind,
            keyring_backend: store.keyring_backend,
            state_dir: store.state_dir,
            token_secret_name: TOKEN_SECRET.to_string(),
            bare_token_secret_name: BARE_TOKEN_SECRET.to_string(),
            expected_login: None,
            helix_app_token: false,
        }
    }
}

impl AuthSettings {
    /// The scopes the token must have.
    pub fn required_scopes(&self) -> Vec<String> {
        let scopes: &[&str] = match (self.helix_scopes, self.helix_app_token) {
            (false, _) => &IRC_SCOPES,
            (true, false) => &HELIX_SCOPES,
            (true, true) => &HELIX_APP_SCOPES,
        };
        scopes.iter().map(|s| s.to_string()).collect()
    }

    /// The secret store these settings name (other fields at their defaults).
    pub fn store_settings(&self) -> SecretStoreSettings {
        SecretStoreSettings {
            kind: self.secret_store,
            state_dir: self.state_dir.clone(),
            keyring_backend: self.keyring_backend,
            ..SecretStoreSettings::default()
        }
    }

    /// The OAuth client, with the client secret read from `store` if one is named.
    pub async fn oauth_client(&self, store: &dyn SecretStore) -> Result<OAuthClient, AuthError> {
        let secret = match &self.client_secret_name {
            None => None,
            Some(name) => {
                Some(
                    store
                        .get(name)
                        .await?
                        .ok_or_else(|| AuthError::MissingClientSecret {
                            name: name.clone(),
                            store: store.describe(),
                        })?,
                )
            }
        };
        OAuthClient::new(&self.oauth_url, &self.client_id, secret)
    }
}
