//! What `tiktwitch auth twitch | status | logout` do, as library calls the CLI wraps.

use std::fmt;

use super::{
    AuthError, AuthSettings, Clock, DeviceCode, OAuthClient, StoredToken, TokenGrant, TokenInfo,
    ValidateError, device, missing_scopes,
};
use crate::secret::{Secret, SecretStore};

/// Logs in with the device flow: requests a code, calls `show` with it, waits for the
/// user's approval, checks the scopes (and login), stores the token, and revokes the token
/// it replaces.
pub async fn login_device(
    settings: &AuthSettings,
    store: &dyn SecretStore,
    clock: &dyn Clock,
    show: impl FnOnce(&DeviceCode),
) -> Result<TokenInfo, AuthError> {
    check_writable(settings, store)?;
    let client = settings.oauth_client(store).await?;
    let (grant, stats) = device::run(&client, &settings.required_scopes(), show).await?;
    tracing::debug!(?stats, "device flow done");
    save_grant(settings, store, clock, &client, grant).await
}

/// Stores a token the user brought (an access token, and a refresh token if they have
/// one), after checking it with `/validate`.
pub async fn login_with_token(
    settings: &AuthSettings,
    store: &dyn SecretStore,
    clock: &dyn Clock,
    access_token: Secret,
    refresh_token: Option<Secret>,
) -> Result<TokenInfo, AuthError> {
    check_writable(settings, store)?;
    let client = settings.oauth_client(store).await?;
    let grant = TokenGrant {
        access_token,
        refresh_token,
        expires_in: None,
        scopes: Vec::new(),
    };
    save_grant(settings, store, clock, &client, grant).await
}

/// A login into a read-only store would be lost at the end: refuse before asking the user.
fn check_writable(settings: &AuthSettings, store: &dyn SecretStore) -> Result<(), AuthError> {
    if store.is_writable() {
        return Ok(());
    }
    Err(AuthError::Secret(crate::secret::SecretError::ReadOnly {
        store: "chosen",
        op: "set",
        name: settings.token_secret_name.clone(),
    }))
}

async fn save_grant(
    settings: &AuthSettings,
    store: &dyn SecretStore,
    clock: &dyn Clock,
    client: &OAuthClient,
    grant: TokenGrant,
) -> Result<TokenInfo, AuthError> {
    let info = match client.validate(&grant.access_token).await {
        Ok(info) => info,
        Err(ValidateError::Unauthorized) => {
            return Err(AuthError::Rejected {
                op: "checking the new token",
                status: 401,
                message: "Twitch says the token is invalid".to_string(),
            });
        }
        Err(ValidateError::Transient(e)) => return Err(e),
    };
    let missing = missing_scopes(&settings.required_scopes(), &info.scopes);
    if !missing.is_empty() {
        return Err(AuthError::MissingScopes {
            missing,
            granted: info.scopes,
        });
    }
    if let (Some(expected), Some(actual)) = (&settings.expected_login, &info.login)
        && !expected.eq_ignore_ascii_case(actual)
    {
        return Err(AuthError::WrongLogin {
            expected: expected.clone(),
            actual: actual.clone(),
        });
    }
    let now = clock.unix_now();
    let mut token = StoredToken::bare(grant.access_token, now);
    token.refresh_token = grant.refresh_token;
    token.apply_validation(&info, now);
    let previous = store.get(&settings.token_secret_name).await?;
    store
        .set(&settings.token_secret_name, &token.to_secret())
        .await?;
    // The old login is replaced: revoke it so it does not linger (best effort).
    if let Some(old) = previous.and_then(|s| StoredToken::from_secret(&s).ok())
        && old.access_token != token.access_token
        && let Err(e) = client.revoke(&old.access_token).await
    {
        tracing::warn!(error = %e, "could not revoke the replaced twitch token");
    }
    Ok(info)
}

/// What `tiktwitch auth status` shows. Holds no secret.
#[derive(Debug, Clone)]
pub struct AuthStatus {
    /// Where the token is kept.
    pub store: String,
    /// Whether it is a bare access token (no refresh).
    pub bare: bool,
    /// The login, as last known.
    pub login: Option<String>,
    /// The user id, as last known.
    pub user_id: Option<String>,
    /// The scopes, as last known.
    pub scopes: Vec<String>,
    /// When the access token expires (Unix seconds), as last known.
    pub expires_at: Option<u64>,
    /// Now (Unix seconds), for showing the time left.
    pub now: u64,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// What `/validate` said just now.
    pub validation: Validation,
    /// Scopes the settings require that the token lacks.
    pub missing_scopes: Vec<String>,
}

/// The outcome of the status check's `/validate` call.
#[derive(Debug, Clone)]
pub enum Validation {
    /// Valid now.
    Valid,
    /// Twitch refused it (expired or revoked); a running bridge would refresh it.
    Refused,
    /// Twitch could not be asked.
    Unreachable(String),
    /// Not asked (no client id configured).
    Skipped,
}

impl fmt::Display for AuthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let login = self.login.as_deref().unwrap_or("(unknown)");
        writeln!(f, "logged in as: {login}")?;
        if let Some(id) = &self.user_id {
            writeln!(f, "user id:      {id}")?;
        }
        writeln!(f, "scopes:       {}", self.scopes.join(" "))?;
        if !self.missing_scopes.is_empty() {
            writeln!(
                f,
                "MISSING:      {} (run `tiktwitch auth twitch`)",
                self.missing_scopes.join(" ")
            )?;
        }
        match self.expires_at {
            Some(at) if at > self.now => {
                let left = at - self.now;
                writeln!(
                    f,
                    "expires in:   {}h {:02}m (unix {at})",
                    left / 3600,
                    (left % 3600) / 60
                )?
            }
            Some(at) => writeln!(f, "expired:      at unix {at}")?,
            None => writeln!(f, "expires:      unknown")?,
        }
        let refresh = if self.bare {
            "no (a bare access token: log in with `tiktwitch auth twitch` to get one that renews)"
        } else if self.has_refresh_token {
            "yes"
        } else {
            "no"
        };
        writeln!(f, "renewable:    {refresh}")?;
        let validation = match &self.validation {
            Validation::Valid => "valid".to_string(),
            Validation::Refused => {
                "refused by Twitch (expired or revoked); a running bridge refreshes it".to_string()
            }
            Validation::Unreachable(e) => format!("could not check: {e}"),
            Validation::Skipped => "not checked (no client id)".to_string(),
        };
        writeln!(f, "validation:   {validation}")?;
        write!(f, "stored in:    {}", self.store)
    }
}

/// Reads the stored token and asks `/validate` about it (if a client id is set). Never
/// refreshes and never writes.
pub async fn status(
    settings: &AuthSettings,
    store: &dyn SecretStore,
    clock: &dyn Clock,
) -> Result<AuthStatus, AuthError> {
    let (mut token, bare) = load_token(settings, store, clock).await?;
    let validation = if settings.client_id.is_empty() {
        Validation::Skipped
    } else {
        let client = OAuthClient::new(&settings.oauth_url, &settings.client_id, None)?;
        match client.validate(&token.access_token).await {
            Ok(info) => {
                token.apply_validation(&info, clock.unix_now());
                Validation::Valid
            }
            Err(ValidateError::Unauthorized) => Validation::Refused,
            Err(ValidateError::Transient(e)) => Validation::Unreachable(e.to_string()),
        }
    };
    Ok(AuthStatus {
        store: store.describe(),
        bare,
        missing_scopes: missing_scopes(&settings.required_scopes(), &token.scopes),
        login: token.login,
        user_id: token.user_id,
        scopes: token.scopes,
        expires_at: token.expires_at,
        now: clock.unix_now(),
        has_refresh_token: token.refresh_token.is_some(),
        validation,
    })
}

/// What `logout` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// Whether a token was stored.
    pub had_token: bool,
    /// `Err(why)` if Twitch could not be told to revoke it (it is deleted locally anyway).
    pub revoked: Result<(), String>,
}

/// Revokes the stored token at Twitch and deletes it from the store. A failed revocation
/// is reported but does not keep the token.
pub async fn logout(
    settings: &AuthSettings,
    store: &dyn SecretStore,
) -> Result<LogoutOutcome, AuthError> {
    let Some(secret) = store.get(&settings.token_secret_name).await? else {
        return Ok(LogoutOutcome {
            had_token: false,
            revoked: Ok(()),
        });
    };
    let revoked = match StoredToken::from_secret(&secret) {
        Err(e) => Err(e.to_string()),
        Ok(token) => match OAuthClient::new(&settings.oauth_url, &settings.client_id, None) {
            Err(e) => Err(e.to_string()),
            Ok(client) => client
                .revoke(&token.access_token)
                .await
                .map_err(|e| e.to_string()),
        },
    };
    store.delete(&settings.token_secret_name).await?;
    Ok(LogoutOutcome {
        had_token: true,
        revoked,
    })
}

async fn load_token(
    settings: &AuthSettings,
    store: &dyn SecretStore,
    clock: &dyn Clock,
) -> Result<(StoredToken, bool), AuthError> {
    if let Some(secret) = store.get(&settings.token_secret_name).await? {
        return Ok((StoredToken::from_secret(&secret)?, false));
    }
    if let Some(bare) = store.get(&settings.bare_token_secret_name).await? {
        return Ok((StoredToken::bare(bare, clock.unix_now()), true));
    }
    Err(AuthError::NotLoggedIn {
        store: store.describe(),
    })
}
