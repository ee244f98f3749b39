//! The Helix backend: `POST {base}/chat/messages` (Twitch's preferred way to send chat; with
//! an app access token and `channel:bot` it shows the Chat Bot badge). It plugs into the same
//! engine as IRC, so queueing, pacing, the duplicate guard and the msg-id reactions are shared:
//! Helix answers each line synchronously with `is_sent` and a `drop_reason.code` that uses
//! the IRC msg-ids.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backend::{BackendEvent, ChatBackend};
use super::sanitize::SafeText;
use crate::auth::Clock;
use crate::limits::{
    HELIX_ERROR_TEXT_MAX, HELIX_RATELIMIT_DEFAULT_WAIT, HELIX_RATELIMIT_MAX_WAIT,
    HELIX_RATELIMIT_MIN_WAIT,
};

/// Where the Helix backend gets its bearer token (a user token with `user:write:chat`, or an
/// app token with `user:bot` + `channel:bot`). Called for every request, so a refreshed token
/// is used at once.
#[async_trait]
pub trait AccessTokenSource: Send + Sync + 'static {
    /// The current access token, without the `Bearer ` prefix; an error (the login is gone,
    /// the OAuth server is down) says why, without any secret.
    async fn access_token(&self) -> Result<String, String>;
}

/// A fixed token (tests, or a token managed elsewhere and restarted on change).
pub struct StaticToken(pub String);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait]
impl AccessTokenSource for StaticToken {
    async fn access_token(&self) -> Result<String, String> {
        Ok(self.0.clone())
    }
}

/// Who sends, where, with which token.
#[derive(Clone)]
pub struct HelixAuth {
    /// The application's Client-Id.
    pub client_id: String,
    /// The bot's numeric user id (`sender_id`).
    pub sender_id: String,
    /// Channel login -> numeric broadcaster id, for every configured channel.
    pub broadcaster_ids: BTreeMap<String, String>,
    /// The token source.
    pub token: Arc<dyn AccessTokenSource>,
}

impl std::fmt::Debug for HelixAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelixAuth")
            .field("client_id", &self.client_id)
            .field("sender_id", &self.sender_id)
            .field("broadcaster_ids", &self.broadcaster_ids)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct SendResponse {
    data: Vec<SendResult>,
}

#[derive(Debug, Deserialize)]
struct SendResult {
    is_sent: bool,
    drop_reason: Option<DropReason>,
}

#[derive(Debug, Deserialize)]
struct DropReason {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The Helix backend.
pub struct HelixBackend {
    http: reqwest::Client,
    url: String,
    auth: HelixAuth,
    clock: Arc<dyn Clock>,
    tx: mpsc::UnboundedSender<BackendEvent>,
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HelixBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelixBackend")
            .field("url", &self.url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl HelixBackend {
    /// A backend posting to `{base_url}/chat/messages`; `clock` reads the wall clock a
    /// 429's `Ratelimit-Reset` (Unix seconds) is measured against.
    pub fn new(
        base_url: &str,
        auth: HelixAuth,
        timeout: std::time::Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        // There is no login step: report "logged in" at once so the sink shows Connected.
        let _ = tx.send(BackendEvent::LoggedIn);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            url: format!("{}/chat/messages", base_url.trim_end_matches('/')),
            auth,
            clock,
            tx,
            rx,
            task: None,
        }
    }
}

/// How long a 429 holds the sink: until `Ratelimit-Reset` (Unix seconds, by `clock`),
/// within [`HELIX_RATELIMIT_MIN_WAIT`]..=[`HELIX_RATELIMIT_MAX_WAIT`] so a bad clock or a
/// bad header neither spins nor stalls; [`HELIX_RATELIMIT_DEFAULT_WAIT`] without one.
pub fn ratelimit_wait(reset: Option<&str>, clock: &dyn Clock) -> Duration {
    match reset.and_then(|r| r.trim().parse::<u64>().ok()) {
        Some(reset) => Duration::from_secs(reset.saturating_sub(clock.unix_now()))
            .clamp(HELIX_RATELIMIT_MIN_WAIT, HELIX_RATELIMIT_MAX_WAIT),
        None => HELIX_RATELIMIT_DEFAULT_WAIT,
    }
}

struct Post {
    http: reqwest::Client,
    url: String,
    auth: HelixAuth,
    clock: Arc<dyn Clock>,
    seq: u64,
    channel: String,
    text: String,
}

async fn post(p: Post) -> Vec<BackendEvent> {
    let Post {
        http,
        url,
        auth,
        clock,
        seq,
        channel,
        text,
    } = p;
    let Some(broadcaster_id) = auth.broadcaster_ids.get(&channel).cloned() else {
        return vec![BackendEvent::WriteFailed {
            seq,
            error: format!("no broadcaster id for channel {channel:?}"),
        }];
    };
    let token = match auth.token.access_token().await {
        Ok(token) => token,
        Err(e) => {
            return vec![BackendEvent::LoginFailed {
                text: format!("no Helix token: {e}"),
            }];
        }
    };
    let body = serde_json::json!({
        "broadcaster_id": broadcaster_id,
        "sender_id": auth.sender_id,
        "message": text,
    });
    let at = Instant::now();
    let response = http
        .post(&url)
        .bearer_auth(token)
        .header("Client-Id", &auth.client_id)
        .json(&body)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            return vec![BackendEvent::WriteFailed {
                seq,
                // Without the URL's query or any header: reqwest's error names the URL only.
                error: format!("POST {url}: {e}"),
            }];
        }
    };
    let status = response.status();
    let written = BackendEvent::Written { seq, at };
    let notice = |msg_id: &str, text: String| BackendEvent::Notice {
        channel: Some(channel.clone()),
        msg_id: Some(msg_id.to_owned()),
        text,
    };
    match status.as_u16() {
        200 => match response.json::<SendResponse>().await {
            Ok(r) => match r.data.into_iter().next() {
                Some(SendResult { is_sent: true, .. }) => vec![
                    written,
                    BackendEvent::Delivered {
                        channel: channel.clone(),
                        seq,
                    },
                ],
                Some(SendResult { drop_reason, .. }) => {
                    let (code, message) = drop_reason
                        .filter(|d| !d.code.is_empty())
                        .map_or(("none".to_owned(), "not sent, no reason".to_owned()), |d| {
                            (d.code, d.message)
                        });
                    vec![
                        written,
                        BackendEvent::Dropped {
                            channel: channel.clone(),
                            seq,
                            code,
                            message,
                        },
                    ]
                }
                None => vec![written, notice("msg_rejected", "empty Helix answer".into())],
            },
            Err(e) => vec![BackendEvent::WriteFailed {
                seq,
                error: format!("bad Helix response: {e}"),
            }],
        },
        401 => vec![BackendEvent::LoginFailed {
            text: format!("Helix 401: {}", short_text(response).await),
        }],
        429 => {
            let reset = response
                .headers()
                .get("ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let wait = ratelimit_wait(reset.as_deref(), clock.as_ref());
            vec![BackendEvent::RateLimited {
                seq,
                until: Instant::now() + wait,
            }]
        }
        400..=499 => vec![
            written,
            notice(
                "msg_rejected",
                format!("Helix {status}: {}", short_text(response).await),
            ),
        ],
        _ => vec![BackendEvent::WriteFailed {
            seq,
            error: format!("Helix {status}"),
        }],
    }
}

/// An error body, cut to [`HELIX_ERROR_TEXT_MAX`] characters (it goes into logs and stats).
async fn short_text(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    text.chars().take(HELIX_ERROR_TEXT_MAX).collect()
}

#[async_trait]
impl ChatBackend for HelixBackend {
    fn send(&mut self, seq: u64, channel: &str, text: &SafeText) {
        let tx = self.tx.clone();
        let fut = post(Post {
            http: self.http.clone(),
            url: self.url.clone(),
            auth: self.auth.clone(),
            clock: self.clock.clone(),
            seq,
            channel: channel.to_owned(),
            text: text.as_str().to_owned(),
        });
        self.task = Some(tokio::spawn(async move {
            for ev in fut.await {
                let _ = tx.send(ev);
            }
        }));
    }

    async fn next_event(&mut self) -> Option<BackendEvent> {
        self.rx.recv().await
    }

    async fn restart(&mut self) {
        // The token is read per request; nothing to reopen, but the engine waits for a login.
        let _ = self.tx.send(BackendEvent::LoggedIn);
    }

    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    fn needs_join(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokioClock;

    #[test]
    fn a_429_waits_until_the_reset_within_bounds() {
        let clock = TokioClock::starting_at(std::time::UNIX_EPOCH + Duration::from_secs(1_000));
        let wait = |reset: Option<&str>| ratelimit_wait(reset, &clock);
        assert_eq!(wait(Some("1012")), Duration::from_secs(12));
        // A reset in the past (or a clock ahead of Twitch's) still waits a moment.
        assert_eq!(wait(Some("990")), HELIX_RATELIMIT_MIN_WAIT);
        // A reset far ahead (a bad header, a clock far behind) does not stall the sink.
        assert_eq!(wait(Some("999999")), HELIX_RATELIMIT_MAX_WAIT);
        assert_eq!(wait(None), HELIX_RATELIMIT_DEFAULT_WAIT);
        assert_eq!(wait(Some("soon")), HELIX_RATELIMIT_DEFAULT_WAIT);
    }
}
