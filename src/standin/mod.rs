//! In-process stand-ins for TikTok and Twitch on 127.0.0.1, used by tests, benchmarks and
//! `tiktwitch demo`.

pub mod helix_chat;
pub mod oauth;
pub mod tiktok;
pub mod twitch;
pub mod twitch_eventsub;

use oauth::{FakeOAuth, FakeOAuthConfig};
use tokio_util::sync::CancellationToken;
use twitch::{FakeTwitch, FakeTwitchConfig};

/// The whole Twitch side a bridge talks to: an OAuth stand-in holding one issued token pair
/// (`chat:read chat:edit`) for the bot, and a chat stand-in enforcing Twitch's rules.
pub struct TwitchSide {
    /// The OAuth stand-in (its base URL goes in `[twitch] oauth_base_url`).
    pub oauth: FakeOAuth,
    /// The chat stand-in (its address goes in `[twitch] server`, with `tls = false`).
    pub twitch: FakeTwitch,
    /// An access token the OAuth stand-in issued for the bot.
    pub access_token: String,
    /// The refresh token issued with it.
    pub refresh_token: String,
    /// The app's client id.
    pub client_id: String,
    /// A fresh `state_dir` for the bot (the pacing journal), removed when dropped; the config
    /// head names it, so runs of different tests never share a journal.
    pub state_dir: StateDir,
}

/// A temporary state directory, removed (with what is in it) when dropped.
#[derive(Debug)]
pub struct StateDir(std::path::PathBuf);

impl StateDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new() -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "tiktwitch-standin-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TwitchSide {
    /// Starts both stand-ins for an app with this client id, with Twitch's default rules.
    pub async fn start(client_id: &str) -> std::io::Result<Self> {
        let oauth = FakeOAuth::start(FakeOAuthConfig {
            client_id: client_id.into(),
            ..FakeOAuthConfig::default()
        })
        .await?;
        let (access_token, refresh_token) = oauth.mint(&["chat:read", "chat:edit"]);
        let twitch = FakeTwitch::start(FakeTwitchConfig::default()).await?;
        Ok(Self {
            oauth,
            twitch,
            access_token,
            refresh_token,
            client_id: client_id.into(),
            state_dir: StateDir::new()?,
        })
    }

    /// The top of a config file pointing the bot at these stand-ins (`secret_store = "env"`,
    /// this side's own `state_dir`, and `[twitch]`); a test appends its own sections and
    /// [`tiktok::FakeTikTok::bridge_toml`] entries.
    pub fn config_head(&self) -> String {
        format!(
            r#"secret_store = "env"
state_dir = {state_dir:?}

[twitch]
bot_login = "tiktwitch_bot"
server = "{server}"
tls = false
client_id = "{client_id}"
oauth_base_url = "{oauth}"
"#,
            server = self.twitch.addr(),
            client_id = self.client_id,
            oauth = self.oauth.base_url(),
            state_dir = self.state_dir.path().display().to_string(),
        )
    }

    /// A secret store holding the bot's access token (as `run` reads a bare token) and
    /// `extra` secrets by name.
    pub async fn secrets(
        &self,
        extra: &[(&str, &str)],
    ) -> Result<crate::secret::MemoryStore, crate::secret::SecretError> {
        use crate::secret::{MemoryStore, Secret, SecretStore};
        let store = MemoryStore::new();
        store
            .set(
                crate::auth::BARE_TOKEN_SECRET,
                &Secret::new(self.access_token.as_str()),
            )
            .await?;
        for (name, value) in extra {
            store.set(name, &Secret::new(*value)).await?;
        }
        Ok(store)
    }
}

/// Serves `app` on `listener` in its own task until the returned token is cancelled: how
/// every HTTP stand-in (OAuth, Helix, EventSub) runs.
pub(crate) fn serve_http(listener: tokio::net::TcpListener, app: axum::Router) -> CancellationToken {
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    shutdown
}
