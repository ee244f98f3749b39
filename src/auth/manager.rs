//! [`TokenManager`]: owns the Twitch token for a running bridge.
//!
//! Rules it keeps:
//! - A refreshed token is saved to the secret store *before* anyone is handed it. If saving
//!   fails it waits in memory (`unsaved`) and saving is retried before the next hand-out;
//!   a crash at any point after the save loses nothing, and the window before the save is
//!   one store write.
//! - One refresh at a time (one mutex), and a `force_refresh` that finds a refresh already
//!   happened while it waited does not refresh again (a refresh token is single-use).
//! - Validate at start and hourly; a 401 means refresh; a refused refresh token means the
//!   login is gone: the manager goes dead and every call returns
//!   [`AuthError::ReauthRequired`] ("run `tiktwitch auth twitch`").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::clock::until;
use super::auth_stats::AuthStats;
use super::{
    AuthError, AuthSettings, AuthStatsSnapshot, Clock, FreshToken, OAuthClient, RefreshError,
    StoredToken, TokenInfo, TwitchCredentials, ValidateError, missing_scopes,
};
use crate::limits::{
    TOKEN_REFRESH_MARGIN, TOKEN_RETRY_MAX, TOKEN_RETRY_MIN, TOKEN_VALIDATE_INTERVAL,
};
use crate::secret::SecretStore;

/// Keeps a Twitch user token fresh and valid. Share it as `Arc<TokenManager>`.
#[derive(Debug)]
pub struct TokenManager {
    client: OAuthClient,
    store: Arc<dyn SecretStore>,
    token_name: String,
    required_scopes: Vec<String>,
    expected_login: Option<String>,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Bumped on every refresh; readable without the lock so `force_refresh` can tell
    /// whether a refresh happened while it waited.
    generation: AtomicU64,
    stats: AuthStats,
    /// Cancelled when the login dies, wherever that was found (an IRC credential fetch, a
    /// refused login's refresh): [`TokenManager::run`] then ends at once, so the bridge
    /// stops with one error instead of retrying a login that cannot come back.
    dead_signal: CancellationToken,
}

#[derive(Debug)]
struct State {
    token: StoredToken,
    /// The token was refreshed but not saved yet: it must not be handed out.
    unsaved: bool,
    /// Why the login is gone, once it is.
    dead: Option<String>,
}

impl TokenManager {
    /// Loads the token from `store` (`twitch-token`, else a bare `twitch-access-token`) and
    /// builds the OAuth client (reading the client secret from `store` if one is named).
    /// Call [`TokenManager::start`] next.
    pub async fn load(
        settings: &AuthSettings,
        store: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, AuthError> {
        let client = settings.oauth_client(store.as_ref()).await?;
        let token = match store.get(&settings.token_secret_name).await? {
            Some(secret) => StoredToken::from_secret(&secret)?,
            None => match store.get(&settings.bare_token_secret_name).await? {
                Some(bare) => StoredToken::bare(bare, clock.unix_now()),
                None => {
                    return Err(AuthError::NotLoggedIn {
                        store: store.describe(),
                    });
                }
            },
        };
        Ok(Arc::new(Self {
            client,
            store,
            token_name: settings.token_secret_name.clone(),
            required_scopes: settings.required_scopes(),
            expected_login: settings.expected_login.clone(),
            clock,
            state: Mutex::new(State {
                token,
                unsaved: false,
                dead: None,
            }),
            generation: AtomicU64::new(0),
            stats: AuthStats::default(),
            dead_signal: CancellationToken::new(),
        }))
    }

    /// Validates the token (refreshing it first if it is about to expire, and on a 401),
    /// and checks its scopes and login. Call once before connecting.
    ///
    /// Only `/validate` may tell the expiry: if it leaves less than the refresh margin the
    /// token is refreshed now, and a store that cannot keep a refreshed token fails here,
    /// before anything connects. A token that will need a refresh this store cannot keep
    /// later is said once, with when.
    pub async fn start(&self) -> Result<TokenInfo, AuthError> {
        let mut state = self.state.lock().await;
        self.ready(&mut state).await?;
        if self.refresh_due(&state) {
            self.refresh_locked(&mut state).await?;
        }
        let info = self.validate_locked(&mut state).await?;
        if self.refresh_due(&state) {
            self.refresh_locked(&mut state).await?;
        }
        if let Some(at) = state.token.expires_at
            && state.token.refresh_token.is_some()
            && !self.store.is_writable()
        {
            let left = until(self.clock.unix_now(), at);
            tracing::warn!(
                expires_in = %describe_left(left),
                store = %self.store.describe(),
                "the Twitch token cannot be refreshed in this read-only store: the bridge stops when it needs refreshing ({} before it expires); use secret_store = \"file\" or \"keyring\" to keep it running",
                describe_left(TOKEN_REFRESH_MARGIN)
            );
        }
        Ok(info)
    }

    /// A token good for at least [`TOKEN_REFRESH_MARGIN`] (refreshing first if needed),
    /// with the login it belongs to. For IRC logins and Helix calls.
    pub async fn fresh_token(&self) -> Result<FreshToken, AuthError> {
        let mut state = self.state.lock().await;
        self.ready(&mut state).await?;
        if self.refresh_due(&state) {
            self.refresh_locked(&mut state).await?;
        }
        if state.token.login.is_none() {
            // A bare token before `start`: only /validate knows whose it is.
            self.validate_locked(&mut state).await?;
        }
        AuthStats::bump(&self.stats.credential_fetches);
        let token = &state.token;
        Ok(FreshToken {
            login: token.login.clone().unwrap_or_default(),
            user_id: token.user_id.clone(),
            access_token: token.access_token.clone(),
        })
    }

    /// Refreshes now, whatever the expiry says: call it once after Twitch refused the
    /// token (`Login authentication failed`, a Helix 401). If another refresh finished
    /// while this call waited for it, that one counts and no second refresh is made.
    pub async fn force_refresh(&self) -> Result<(), AuthError> {
        let seen = self.generation.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        self.ready(&mut state).await?;
        if self.generation.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        self.refresh_locked(&mut state).await
    }

    /// Validates now (a 401 leads to a refresh and a second validation).
    pub async fn validate(&self) -> Result<TokenInfo, AuthError> {
        let mut state = self.state.lock().await;
        self.ready(&mut state).await?;
        self.validate_locked(&mut state).await
    }

    /// Keeps the token alive until `shutdown`: validates every hour and refreshes
    /// [`TOKEN_REFRESH_MARGIN`] before expiry, retrying network/server failures with
    /// backoff. Returns an error only when the login is gone (or misconfigured): the bridge
    /// must then stop and show the error.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> Result<(), AuthError> {
        let mut next_validate = Instant::now() + TOKEN_VALIDATE_INTERVAL;
        let mut refresh_not_before = Instant::now();
        let mut backoff = TOKEN_RETRY_MIN;
        loop {
            let refresh_at = self
                .time_until_refresh()
                .await
                .map(|d| (Instant::now() + d).max(refresh_not_before));
            let wake = refresh_at.map_or(next_validate, |r| r.min(next_validate));
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.dead_signal.cancelled() => {
                    // Found dead elsewhere (an IRC credential fetch): whoever found it got
                    // the error; this is the bridge's signal to stop.
                    let mut state = self.state.lock().await;
                    return self.ready(&mut state).await;
                }
                () = tokio::time::sleep_until(wake) => {}
            }
            let validating = Instant::now() >= next_validate;
            let outcome = if validating {
                self.validate().await.map(|_| ())
            } else {
                self.refresh_if_due().await
            };
            match outcome {
                Ok(()) => {
                    backoff = TOKEN_RETRY_MIN;
                    if validating {
                        next_validate = Instant::now() + TOKEN_VALIDATE_INTERVAL;
                    }
                }
                // Reported by whoever shows the returned error (the bridge's exit), once.
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = backoff.as_secs(), "twitch token upkeep failed; will retry");
                    let retry = Instant::now() + backoff;
                    if validating {
                        next_validate = retry;
                    } else {
                        refresh_not_before = retry;
                    }
                    backoff = (backoff * 2).min(TOKEN_RETRY_MAX);
                }
            }
        }
    }

    /// A `twitch_irc::login::LoginCredentials` over this manager.
    pub fn credentials(self: &Arc<Self>) -> TwitchCredentials {
        TwitchCredentials::new(self.clone())
    }

    /// Whether the login is gone (see [`AuthError::ReauthRequired`]).
    pub async fn is_dead(&self) -> bool {
        self.state.lock().await.dead.is_some()
    }

    /// The counters.
    pub fn stats(&self) -> AuthStatsSnapshot {
        self.stats.snapshot()
    }

    async fn refresh_if_due(&self) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        self.ready(&mut state).await?;
        if self.refresh_due(&state) {
            self.refresh_locked(&mut state).await?;
        }
        Ok(())
    }

    /// How long until the token should be refreshed; `None` if it never needs to be
    /// (no expiry, or no refresh token to do it with).
    async fn time_until_refresh(&self) -> Option<Duration> {
        let state = self.state.lock().await;
        let token = &state.token;
        let expires_at = token.expires_at?;
        token.refresh_token.as_ref()?;
        let due = expires_at.saturating_sub(TOKEN_REFRESH_MARGIN.as_secs());
        Some(until(self.clock.unix_now(), due))
    }

    fn refresh_due(&self, state: &State) -> bool {
        let token = &state.token;
        token.refresh_token.is_some()
            && token
                .expires_at
                .is_some_and(|at| at <= self.clock.unix_now() + TOKEN_REFRESH_MARGIN.as_secs())
    }

    /// Fails if the login is dead; saves a refreshed token that is not saved yet.
    async fn ready(&self, state: &mut State) -> Result<(), AuthError> {
        if let Some(reason) = &state.dead {
            return Err(AuthError::ReauthRequired {
                reason: reason.clone(),
            });
        }
        if state.unsaved {
            self.persist(state).await?;
        }
        Ok(())
    }

    async fn persist(&self, state: &mut State) -> Result<(), AuthError> {
        match self
            .store
            .set(&self.token_name, &state.token.to_secret())
            .await
        {
            Ok(()) => {
                state.unsaved = false;
                Ok(())
            }
            Err(e) => {
                AuthStats::bump(&self.stats.persist_errors);
                Err(AuthError::Persist(e))
            }
        }
    }

    fn die(&self, state: &mut State, reason: String) -> AuthError {
        self.mark_dead(state, reason.clone());
        AuthError::ReauthRequired { reason }
    }

    /// From now on every call fails with `reason`, and [`TokenManager::run`] ends. Not
    /// logged here: the error goes back to the caller, who reports it once.
    fn mark_dead(&self, state: &mut State, reason: String) {
        tracing::debug!("twitch login marked dead");
        state.dead = Some(reason);
        self.dead_signal.cancel();
    }

    async fn refresh_locked(&self, state: &mut State) -> Result<(), AuthError> {
        let Some(refresh_token) = state.token.refresh_token.clone() else {
            return Err(self.die(
                state,
                "the access token expired or was refused, and it has no refresh token (a bare token cannot be renewed)".to_string(),
            ));
        };
        if !self.store.is_writable() {
            // Refreshing spends the refresh token; without a place to keep the new one the
            // next start would have nothing. Refuse before spending it.
            let e = AuthError::StoreCannotRefresh {
                store: self.store.describe(),
                expiry: match state.token.expires_at {
                    Some(at) if at > self.clock.unix_now() => format!(
                        "expires in {}",
                        describe_left(until(self.clock.unix_now(), at))
                    ),
                    Some(_) => "has expired".to_string(),
                    None => "was refused by Twitch".to_string(),
                },
            };
            self.mark_dead(state, e.to_string());
            return Err(e);
        }
        tracing::debug!("refreshing twitch token");
        let grant = match self.client.refresh(&refresh_token).await {
            Ok(grant) => grant,
            Err(RefreshError::Rejected(message)) => {
                return Err(self.die(
                    state,
                    format!("Twitch refused the refresh token: {message}"),
                ));
            }
            Err(RefreshError::Transient(e)) => {
                AuthStats::bump(&self.stats.refresh_errors);
                return Err(e);
            }
        };
        let now = self.clock.unix_now();
        let old = &state.token;
        let token = StoredToken {
            access_token: grant.access_token,
            // Public clients get a new refresh token every time (the old one is spent).
            refresh_token: grant.refresh_token.or(Some(refresh_token)),
            expires_at: grant.expires_in.map(|d| now + d.as_secs()),
            scopes: if grant.scopes.is_empty() {
                old.scopes.clone()
            } else {
                grant.scopes
            },
            login: old.login.clone(),
            user_id: old.user_id.clone(),
            client_id: old.client_id.clone(),
            obtained_at: now,
        };
        // From here the old refresh token is spent: the new pair goes to memory marked
        // unsaved, then to the store; only a saved token is ever handed out.
        state.token = token;
        state.unsaved = true;
        self.generation.fetch_add(1, Ordering::AcqRel);
        AuthStats::bump(&self.stats.refreshes);
        self.persist(state).await?;
        tracing::info!(expires_at = ?state.token.expires_at, "twitch token refreshed and saved");
        Ok(())
    }

    async fn validate_locked(&self, state: &mut State) -> Result<TokenInfo, AuthError> {
        let info = match self.client.validate(&state.token.access_token).await {
            Ok(info) => info,
            Err(ValidateError::Unauthorized) => {
                AuthStats::bump(&self.stats.validation_rejections);
                tracing::info!("twitch token refused by /validate; refreshing");
                self.refresh_locked(state).await?;
                match self.client.validate(&state.token.access_token).await {
                    Ok(info) => info,
                    Err(ValidateError::Unauthorized) => {
                        AuthStats::bump(&self.stats.validation_rejections);
                        return Err(self.die(
                            state,
                            "Twitch refused even the freshly refreshed token".to_string(),
                        ));
                    }
                    Err(ValidateError::Transient(e)) => {
                        AuthStats::bump(&self.stats.validation_errors);
                        return Err(e);
                    }
                }
            }
            Err(ValidateError::Transient(e)) => {
                AuthStats::bump(&self.stats.validation_errors);
                return Err(e);
            }
        };
        AuthStats::bump(&self.stats.validations);
        state.token.apply_validation(&info, self.clock.unix_now());
        let missing = missing_scopes(&self.required_scopes, &info.scopes);
        if !missing.is_empty() {
            let e = AuthError::MissingScopes {
                missing,
                granted: info.scopes.clone(),
            };
            self.mark_dead(state, e.to_string());
            return Err(e);
        }
        if let (Some(expected), Some(actual)) = (&self.expected_login, &info.login)
            && !expected.eq_ignore_ascii_case(actual)
        {
            let e = AuthError::WrongLogin {
                expected: expected.clone(),
                actual: actual.clone(),
            };
            self.mark_dead(state, e.to_string());
            return Err(e);
        }
        tracing::debug!(login = ?info.login, expires_in_s = ?info.expires_in, "twitch token valid");
        Ok(info)
    }
}

/// `1h 05m`, `14m`, `40s`: a time left, for people.
pub fn describe_left(left: Duration) -> String {
    let s = left.as_secs();
    match (s / 3600, (s % 3600) / 60) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h {m:02}m"),
    }
}
