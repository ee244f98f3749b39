//! In-process stand-ins for TikTok and Twitch on 127.0.0.1, used by tests, benchmarks and
//! `tiktwitch demo`.

pub mod oauth;
pub mod tiktok;
pub mod twitch;

use oauth::{FakeOAuth, FakeOAuthConfig};
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
        })
    }
}
