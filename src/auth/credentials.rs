//! [`TwitchCredentials`]: twitch-irc's `LoginCredentials` over the [`TokenManager`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use twitch_irc::login::{CredentialsPair, LoginCredentials};

use super::{AuthError, TokenManager};
use crate::limits::{IRC_CREDENTIALS_RETRY_MAX, IRC_CREDENTIALS_RETRY_MIN};
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

/// Hands twitch-irc a fresh token on every (re)connect. Cheap to clone (clones share the
/// backoff).
///
/// twitch-irc asks for credentials before it opens a connection, and when the answer is
/// an error it drops that connection and opens the next one at once, with no pause: a
/// token that cannot be had made hundreds of reconnects in milliseconds. So after a failed
/// fetch the next one waits, from [`IRC_CREDENTIALS_RETRY_MIN`] doubling up to
/// [`IRC_CREDENTIALS_RETRY_MAX`]; a fetch that works resets it.
#[derive(Clone)]
pub struct TwitchCredentials {
    manager: Arc<TokenManager>,
    failures: Arc<AtomicU32>,
}

impl TwitchCredentials {
    /// Credentials over `manager`.
    pub fn new(manager: Arc<TokenManager>) -> Self {
        Self {
            manager,
            failures: Arc::new(AtomicU32::new(0)),
        }
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
        let failures = self.failures.load(Ordering::Acquire);
        if failures > 0 {
            tokio::time::sleep(retry_delay(failures)).await;
        }
        match self.manager.fresh_token().await {
            Ok(fresh) => {
                self.failures.store(0, Ordering::Release);
                Ok(CredentialsPair {
                    login: fresh.login,
                    token: Some(fresh.access_token.expose().to_string()),
                })
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }
}

/// The wait before the next fetch after `failures` failed ones in a row.
fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    IRC_CREDENTIALS_RETRY_MIN
        .saturating_mul(1 << doublings)
        .min(IRC_CREDENTIALS_RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_up_to_the_cap() {
        assert_eq!(retry_delay(1), IRC_CREDENTIALS_RETRY_MIN);
        assert_eq!(retry_delay(2), IRC_CREDENTIALS_RETRY_MIN * 2);
        assert_eq!(retry_delay(3), IRC_CREDENTIALS_RETRY_MIN * 4);
        assert_eq!(retry_delay(40), IRC_CREDENTIALS_RETRY_MAX);
        assert_eq!(retry_delay(u32::MAX), IRC_CREDENTIALS_RETRY_MAX);
    }
}
