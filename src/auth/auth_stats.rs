//! [`AuthStats`]: the token manager's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a [`TokenManager`](super::TokenManager).
#[derive(Debug, Default)]
pub struct AuthStats {
    pub(crate) validations: AtomicU64,
    pub(crate) validation_rejections: AtomicU64,
    pub(crate) validation_errors: AtomicU64,
    pub(crate) refreshes: AtomicU64,
    pub(crate) refresh_errors: AtomicU64,
    pub(crate) persist_errors: AtomicU64,
    pub(crate) credential_fetches: AtomicU64,
}

/// A plain copy of [`AuthStats`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuthStatsSnapshot {
    /// Successful `/validate` calls.
    pub validations: u64,
    /// `/validate` answered 401.
    pub validation_rejections: u64,
    /// `/validate` failed for network/server reasons.
    pub validation_errors: u64,
    /// Successful refreshes.
    pub refreshes: u64,
    /// Refreshes that failed for network/server reasons (a refused refresh token ends the
    /// login instead).
    pub refresh_errors: u64,
    /// Failed saves of a refreshed token.
    pub persist_errors: u64,
    /// Tokens handed out (IRC logins, Helix calls).
    pub credential_fetches: u64,
}

impl AuthStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> AuthStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AuthStatsSnapshot {
            validations: get(&self.validations),
            validation_rejections: get(&self.validation_rejections),
            validation_errors: get(&self.validation_errors),
            refreshes: get(&self.refreshes),
            refresh_errors: get(&self.refresh_errors),
            persist_errors: get(&self.persist_errors),
            credential_fetches: get(&self.credential_fetches),
        }
    }
}
