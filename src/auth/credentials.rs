//! [`TwitchCredentials`]: twitch-irc's `LoginCredentials` over the [`TokenManager`].

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use twitch_irc::login::{CredentialsPair, LoginCredentials};

use super::{AuthError, TokenManager};
use crate::secret::Secret;

/// A token fresh for at least the refresh margin, with whose it is.
#[derive(Debug, Clone)]
pub struct FreshToken {
    /// The account's login (IRC `NICK`).
    pub login: String,
    /// The account's user id (Helix `sender_id`).
    pub user_id: Option<String>,
    /// The access token.
    pub access_token: Secret,
}

/// Hands twitch-irc a fresh token on every (re)connect. Cheap to clone.
#[derive(Clone)]
pub struct TwitchCredentials {
    manager: Arc<TokenManager>,
}

impl TwitchCredentials {
    /// Credentials over `manager`.
    pub fn new(manager: Arc<TokenManager>) -> Self {
        Self { manager }
    }

    /// The manager (to `force_refresh` after `Login authentication failed`).
    pub fn manager(&self) -> &Arc<TokenManager> {
        &self.manager
    }
}

impl fmt::Debug for TwitchCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwitchCredentials").finish_non_exhaustive()
    }
}

#[async_trait]
impl LoginCredentials for TwitchCredentials {
    type Error = AuthError;

    async fn get_credentials(&self) -> Result<CredentialsPair, AuthError> {
        let fresh = self.manager.fresh_token().await?;
        Ok(CredentialsPair {
            login: fresh.login,
            token: Some(fresh.access_token.expose().to_string()),
        })
    }
}
