//! `run` with `twitch.sink = "helix"`: the token the config names (the bot's user token, or
//! an app access token), the broadcaster and sender ids looked up once for the process, and
//! the sink started over `POST {helix_base_url}/chat/messages` with a renewal on 401.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::plan::{HelixPlan, Plan};
use super::{DaemonError, RefreshOnLoginFailure};
use crate::auth::{AppToken, TokenManager};
use crate::config::schema::HelixToken;
use crate::limits::HELIX_LOOKUP_TIMEOUT;
use crate::secret::SecretStore;
use crate::sink::helix::{AccessTokenSource, HelixAuth};
use crate::sink::helix_ids::{HelixIdsError, lookup_ids};
use crate::sink::helix_token::{AppTokenSource, RenewAppToken, UserToken};
use crate::sink::{LoginFailureHandler, SinkError, Started, TwitchSink};

/// Starts the Helix sink of `plan`.
pub(super) async fn start(
    plan: &Plan,
    helix: HelixPlan,
    manager: &Arc<TokenManager>,
    secrets: &dyn SecretStore,
    shutdown: CancellationToken,
) -> Result<Started, DaemonError> {
    let (token, renew): (Arc<dyn AccessTokenSource>, Arc<dyn LoginFailureHandler>) =
        match helix.token {
            HelixToken::User => (
                Arc::new(UserToken(manager.clone())),
                Arc::new(RefreshOnLoginFailure(manager.clone())),
            ),
            HelixToken::App => {
                let app = AppToken::new(plan.auth.oauth_client(secrets).await?);
                // Asked for now: a client that cannot have one fails before anything runs.
                app.token().await?;
                (
                    Arc::new(AppTokenSource(app.clone())),
                    Arc::new(RenewAppToken(app)),
                )
            }
        };
    let http = reqwest::Client::builder()
        .timeout(HELIX_LOOKUP_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    let lookup = || async {
        let bearer = token
            .access_token()
            .await
            .map_err(HelixIdsError::Unauthorized)?;
        lookup_ids(
            &http,
            &plan.sink.helix_base_url,
            &plan.auth.client_id,
            &bearer,
            &plan.sink.bot_login,
            &plan.sink.channels,
        )
        .await
    };
    let ids = match lookup().await {
        // A refused token is renewed once, as for a line.
        Err(HelixIdsError::Unauthorized(_)) if renew.on_login_failed().await => lookup().await,
        other => other,
    }
    .map_err(SinkError::from)?;
    tracing::info!(
        channels = ids.broadcaster_ids.len(),
        sender_id = %ids.sender_id,
        "Helix user ids looked up"
    );
    let auth = HelixAuth {
        client_id: plan.auth.client_id.clone(),
        sender_id: ids.sender_id,
        broadcaster_ids: ids.broadcaster_ids,
        token,
    };
    Ok(TwitchSink::new(plan.sink.clone())
        .on_login_failed(renew)
        .start_helix(auth, shutdown)?)
}
