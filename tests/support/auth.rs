//! The Twitch login tests' common ground: the OAuth stand-in, the manager's settings
//! pointing at it, the paused-time clock, and a stored token as a previous login left it.

use std::sync::Arc;

use tiktwitch::auth::{AuthSettings, Clock, StoredToken, TokioClock};
use tiktwitch::secret::{Secret, SecretStore};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};

pub fn settings(fake: &FakeOAuth) -> AuthSettings {
    AuthSettings {
        client_id: fake.config().client_id.clone(),
        oauth_url: fake.base_url(),
        ..AuthSettings::default()
    }
}

pub async fn start_fake() -> FakeOAuth {
    FakeOAuth::start(FakeOAuthConfig::default()).await.unwrap()
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::new())
}

/// Stores a token pair the fake minted, as a previous login would have.
pub async fn seed(
    fake: &FakeOAuth,
    store: &dyn SecretStore,
    clock: &dyn Clock,
) -> (String, String) {
    let (access, refresh) = fake.mint(&["chat:read", "chat:edit"]);
    let mut token = StoredToken::bare(Secret::new(access.clone()), clock.unix_now());
    token.refresh_token = Some(Secret::new(refresh.clone()));
    token.expires_at = Some(clock.unix_now() + fake.config().access_ttl.as_secs());
    token.scopes = vec!["chat:read".into(), "chat:edit".into()];
    store.set("twitch-token", &token.to_secret()).await.unwrap();
    (access, refresh)
}

pub async fn stored(store: &dyn SecretStore) -> StoredToken {
    StoredToken::from_secret(&store.get("twitch-token").await.unwrap().unwrap()).unwrap()
}
