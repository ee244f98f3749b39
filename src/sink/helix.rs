//! The Helix backend: `POST {base}/chat/messages` (Twitch's preferred way to send chat; with
//! an app access token and `channel:bot` it shows the Chat Bot badge). It plugs into the same
//! engine as IRC, so queueing, pacing, the duplicate guard and the msg-id reactions are shared:
//! Helix answers each line synchronously with `is_sent` and a `drop_reason.code` that uses
//! the IRC msg-ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backend::{BackendEvent, ChatBackend};
use super::sanitize::SafeText;

/// Where the Helix backend gets its bearer token (a user token with `user:write:chat`, or an
/// app token with `user:bot` + `channel:bot`). Called for every request, so a refreshed token
/// is used at once.
#[async_trait]
pub trait AccessTokenSource: Send + Sync + 'static {
    /// The current access token, without the `Bearer ` prefix.
    async fn access_token(&self) -> String;
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
    async fn access_token(&self) -> String {
        self.0.clone()
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
    code: String,
    #[serde(default)]
    message: String,
}

/// The Helix backend.
pub struct HelixBackend {
    http: reqwest::Client,
    url: String,
    auth: HelixAuth,
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
    /// A backend posting to `{base_url}/chat/messages`.
    pub fn new(base_url: &str, auth: HelixAuth, timeout: std::time::Duration) -> Self {
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
            tx,
            rx,
            task: None,
        }
    }
}

async fn post(
    http: reqwest::Client,
    url: String,
    auth: HelixAuth,
    seq: u64,
    channel: String,
    text: String,
) -> Vec<BackendEvent> {
    let Some(broadcaster_id) = auth.broadcaster_ids.get(&channel).cloned() else {
        return vec![BackendEvent::WriteFailed {
            seq,
            error: format!("no broadcaster id for channel {channel:?}"),
        }];
    };
    let token = auth.token.access_token().await;
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
                Some(SendResult {
                    drop_reason: Some(d),
                    ..
                }) => vec![written, notice(&d.code, d.message)],
                _ => vec![
                    written,
                    notice("msg_rejected", "not sent, no reason".into()),
                ],
            },
            Err(e) => vec![BackendEvent::WriteFailed {
                seq,
                error: format!("bad Helix response: {e}"),
            }],
        },
        401 => vec![BackendEvent::LoginFailed {
            text: format!("Helix 401: {}", response.text().await.unwrap_or_default()),
        }],
        429 => vec![written, notice("msg_ratelimit", "Helix 429".into())],
        400..=499 => vec![
            written,
            notice(
                "msg_rejected",
                format!(
                    "Helix {status}: {}",
                    response.text().await.unwrap_or_default()
                ),
            ),
        ],
        _ => vec![BackendEvent::WriteFailed {
            seq,
            error: format!("Helix {status}"),
        }],
    }
}

#[async_trait]
impl ChatBackend for HelixBackend {
    fn send(&mut self, seq: u64, channel: &str, text: &SafeText) {
        let tx = self.tx.clone();
        let fut = post(
            self.http.clone(),
            self.url.clone(),
            self.auth.clone(),
            seq,
            channel.to_owned(),
            text.as_str().to_owned(),
        );
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
