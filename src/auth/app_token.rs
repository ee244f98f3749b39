//! [`AppToken`]: an app access token from the client-credentials grant, for Helix's Chat
//! Bot badge path (`POST /chat/messages` with an app token, `user:bot` granted by the bot and
//! `channel:bot` by the broadcaster). It has no refresh token: a new one is simply asked
//! for when it is near its expiry, or after Helix refused it (`invalidate`). It lives in
//! memory only; nothing is stored.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{AuthError, OAuthClient};
use crate::limits::TOKEN_REFRESH_MARGIN;
use crate::secret::Secret;

/// An app access token, fetched on first use and again before it expires.
pub struct AppToken {
    client: OAuthClient,
    current: Mutex<Option<(Secret, Option<Instant>)>>,
}

impl std::fmt::Debug for AppToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppToken").finish_non_exhaustive()
    }
}

impl AppToken {
    /// Over `client` (a confidential client: it needs the secret).
    pub fn new(client: OAuthClient) -> Arc<Self> {
        Arc::new(Self {
            client,
            current: Mutex::new(None),
        })
    }

    /// A token good for at least [`TOKEN_REFRESH_MARGIN`] (or with no known expiry).
    pub async fn token(&self) -> Result<Secret, AuthError> {
        let mut current = self.current.lock().await;
        let now = Instant::now();
        if let Some((token, expires)) = &*current
            && expires.is_none_or(|e| e > now + TOKEN_REFRESH_MARGIN)
        {
            return Ok(token.clone());
        }
        let grant = self.client.client_credentials().await?;
        let expires = grant
            .expires_in
            .map(|d| now + d.max(Duration::from_secs(1)));
        *current = Some((grant.access_token.clone(), expires));
        tracing::info!(expires_in_s = ?grant.expires_in.map(|d| d.as_secs()), "app access token obtained");
        Ok(grant.access_token)
    }

    /// Helix refused the token: the next [`AppToken::token`] asks for a new one.
    pub async fn invalidate(&self) {
        *self.current.lock().await = None;
    }
}
