//! The tokens the Helix backend sends with, over the auth module: the bot's user token
//! from the [`TokenManager`] (refreshed through it on a 401), or an app access token
//! ([`AppToken`], asked for again on a 401). Each comes with the
//! [`LoginFailureHandler`] that renews it once when Helix refuses it.

use std::sync::Arc;

use async_trait::async_trait;

use super::LoginFailureHandler;
use super::helix::AccessTokenSource;
use crate::auth::{AppToken, TokenManager};

/// The bot's user token (`user:write:chat`), fresh from the manager on every request.
#[derive(Debug, Clone)]
pub struct UserToken(pub Arc<TokenManager>);

#[async_trait]
impl AccessTokenSource for UserToken {
    async fn access_token(&self) -> Result<String, String> {
        self.0
            .fresh_token()
            .await
            .map(|t| t.access_token.expose().to_owned())
            .map_err(|e| e.to_string())
    }
}

/// An app access token (client-credentials grant), for the Chat Bot badge path.
#[derive(Debug, Clone)]
pub struct AppTokenSource(pub Arc<AppToken>);

#[async_trait]
impl AccessTokenSource for AppTokenSource {
    async fn access_token(&self) -> Result<String, String> {
        self.0
            .token()
            .await
            .map(|t| t.expose().to_owned())
            .map_err(|e| e.to_string())
    }
}

/// After a Helix 401 on the app path: forget the app token and get a new one (once; the
/// engine does not ask again before a line got through).
#[derive(Debug, Clone)]
pub struct RenewAppToken(pub Arc<AppToken>);

#[async_trait]
impl LoginFailureHandler for RenewAppToken {
    async fn on_login_failed(&self) -> bool {
        self.0.invalidate().await;
        match self.0.token().await {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, "getting a new app access token after a Helix 401 failed");
                false
            }
        }
    }
}
