//! The Helix calls the watch makes, under `[twitch] helix_base_url`: `GET /users` (the
//! channels' numeric ids, which EventSub conditions name), `GET /streams` (who is live now)
//! and `POST /eventsub/subscriptions` (one WebSocket subscription). Every request carries
//! the app's `Client-Id` and the bot's bearer token.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Report, StateSource, TokenSource, TwitchLiveError};

/// How long one Helix request may take (the same bound as the sink's id lookup).
pub const HELIX_REQUEST_TIMEOUT: Duration = crate::limits::HELIX_LOOKUP_TIMEOUT;

/// Helix takes at most this many `login`/`user_login` parameters in one request.
pub const HELIX_MAX_LOGINS: usize = crate::limits::HELIX_USERS_PER_REQUEST;

/// The longest part of an error body kept in an error.
const ERROR_BODY_MAX: usize = crate::limits::HELIX_ERROR_TEXT_MAX;

/// A Helix client for the watch.
#[derive(Clone)]
pub struct HelixApi {
    http: reqwest::Client,
    base: String,
    client_id: String,
    token: Arc<dyn TokenSource>,
}

impl std::fmt::Debug for HelixApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelixApi")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Data<T> {
    data: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    login: String,
}

#[derive(Debug, Deserialize)]
struct Stream {
    user_login: String,
    #[serde(default, rename = "type")]
    kind: String,
    title: Option<String>,
    game_name: Option<String>,
    started_at: Option<String>,
}

impl HelixApi {
    /// A client of the Helix API at `base` (e.g. `https://api.twitch.tv/helix`).
    pub fn new(base: &str, client_id: &str, token: Arc<dyn TokenSource>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(HELIX_REQUEST_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            token,
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<T, TwitchLiveError> {
        let token = self.token.user_token().await.ok_or(TwitchLiveError::NoToken)?;
        let http = |e: reqwest::Error| TwitchLiveError::Http {
            url: url.to_owned(),
            reason: e.without_url().to_string(),
        };
        let response = request
            .bearer_auth(token)
            .header("Client-Id", &self.client_id)
            .send()
            .await
            .map_err(http)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(TwitchLiveError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                message: body.chars().take(ERROR_BODY_MAX).collect(),
            });
        }
        let bytes = response.bytes().await.map_err(http)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| TwitchLiveError::Protocol(format!("{url}: unexpected answer: {e}")))
    }

    fn logins_query(key: &str, logins: &[String]) -> Vec<(String, String)> {
        logins.iter().map(|l| (key.to_owned(), l.clone())).collect()
    }

    /// Login -> numeric user id for `logins` (a login Twitch does not know is left out).
    pub async fn user_ids(
        &self,
        logins: &[String],
    ) -> Result<BTreeMap<String, String>, TwitchLiveError> {
        let url = format!("{}/users", self.base);
        let mut ids = BTreeMap::new();
        for chunk in logins.chunks(HELIX_MAX_LOGINS) {
            let request = self.http.get(&url).query(&Self::logins_query("login", chunk));
            let users: Data<User> = self.send(request, &url).await?;
            ids.extend(users.data.into_iter().map(|u| (u.login.to_ascii_lowercase(), u.id)));
        }
        Ok(ids)
    }

    /// The state of every channel in `logins` now: live (with title, category and start) or
    /// offline (Twitch lists only live streams).
    pub async fn streams(
        &self,
        logins: &[String],
        source: StateSource,
    ) -> Result<Vec<Report>, TwitchLiveError> {
        let url = format!("{}/streams", self.base);
        let mut live: BTreeMap<String, Stream> = BTreeMap::new();
        for chunk in logins.chunks(HELIX_MAX_LOGINS) {
            let mut query = Self::logins_query("user_login", chunk);
            query.push(("first".into(), HELIX_MAX_LOGINS.to_string()));
            let request = self.http.get(&url).query(&query);
            let streams: Data<Stream> = self.send(request, &url).await?;
            live.extend(
                streams
                    .data
                    .into_iter()
                    .filter(|s| s.kind == "live")
                    .map(|s| (s.user_login.to_ascii_lowercase(), s)),
            );
        }
        Ok(logins
            .iter()
            .map(|login| match live.remove(login) {
                Some(s) => Report {
                    channel: login.clone(),
                    live: Some(true),
                    title: s.title,
                    category: s.game_name,
                    since: s.started_at,
                    source,
                },
                None => Report {
                    channel: login.clone(),
                    live: Some(false),
                    title: None,
                    category: None,
                    since: None,
                    source,
                },
            })
            .collect())
    }

    /// Subscribes the WebSocket session `session_id` to `kind` (version `version`) for the
    /// channel with id `broadcaster_id`. Twitch answers 202; 409 (it exists already) is
    /// fine too.
    pub async fn subscribe(
        &self,
        kind: &str,
        version: &str,
        broadcaster_id: &str,
        session_id: &str,
    ) -> Result<(), TwitchLiveError> {
        let url = format!("{}/eventsub/subscriptions", self.base);
        let body = serde_json::json!({
            "type": kind,
            "version": version,
            "condition": { "broadcaster_user_id": broadcaster_id },
            "transport": { "method": "websocket", "session_id": session_id },
        });
        let request = self.http.post(&url).json(&body);
        match self.send::<serde_json::Value>(request, &url).await {
            Ok(_) => Ok(()),
            Err(TwitchLiveError::Status { status: 409, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
