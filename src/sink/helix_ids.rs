//! The numeric ids Helix wants: `broadcaster_id` for every channel and `sender_id` for the
//! bot, looked up once per process by login (`GET {helix_base_url}/users?login=...`, up to
//! [`HELIX_USERS_PER_REQUEST`] logins a request). Logins do not change ids, so the daemon
//! looks them up at start and keeps them for as long as it runs.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::limits::{HELIX_ERROR_TEXT_MAX, HELIX_USERS_PER_REQUEST};

/// Why the ids could not be had.
#[derive(Debug, thiserror::Error)]
pub enum HelixIdsError {
    /// The token was refused (`401`): refresh it and try once more.
    #[error("Helix refused the token looking up user ids ({0})")]
    Unauthorized(String),
    /// Helix knows no user of these logins.
    #[error("no Twitch user named {}", .0.join(", "))]
    UnknownLogins(Vec<String>),
    /// Any other answer or a network failure.
    #[error("looking up Twitch user ids at {url}: {reason}")]
    Failed {
        /// The endpoint (no query, no secret).
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// The ids the Helix backend sends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelixIds {
    /// The bot's user id (`sender_id`).
    pub sender_id: String,
    /// Channel login -> broadcaster id.
    pub broadcaster_ids: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Users {
    data: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    login: String,
}

/// Looks up `bot_login` and every channel (logins, lowercase) with `token`.
pub async fn lookup_ids(
    http: &reqwest::Client,
    base_url: &str,
    client_id: &str,
    token: &str,
    bot_login: &str,
    channels: &[String],
) -> Result<HelixIds, HelixIdsError> {
    let url = format!("{}/users", base_url.trim_end_matches('/'));
    let mut logins: Vec<String> = channels
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .chain([bot_login.to_ascii_lowercase()])
        .collect();
    logins.sort();
    logins.dedup();
    let failed = |reason: String| HelixIdsError::Failed {
        url: url.clone(),
        reason,
    };
    let mut ids = BTreeMap::new();
    for chunk in logins.chunks(HELIX_USERS_PER_REQUEST) {
        let query: Vec<(&str, &str)> = chunk.iter().map(|l| ("login", l.as_str())).collect();
        let response = http
            .get(&url)
            .query(&query)
            .bearer_auth(token)
            .header("Client-Id", client_id)
            .send()
            .await
            // Without the URL: it carries the logins, not a secret, but the error is long.
            .map_err(|e| failed(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let text: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(HELIX_ERROR_TEXT_MAX)
                .collect();
            return Err(if status.as_u16() == 401 {
                HelixIdsError::Unauthorized(text)
            } else {
                failed(format!("HTTP {status}: {text}"))
            });
        }
        let users: Users = response
            .json()
            .await
            .map_err(|e| failed(format!("bad answer: {}", e.without_url())))?;
        for u in users.data {
            ids.insert(u.login.to_ascii_lowercase(), u.id);
        }
    }
    let unknown: Vec<String> = logins
        .iter()
        .filter(|l| !ids.contains_key(*l))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(HelixIdsError::UnknownLogins(unknown));
    }
    let sender_id = ids
        .get(&bot_login.to_ascii_lowercase())
        .cloned()
        .unwrap_or_default();
    let broadcaster_ids = channels
        .iter()
        .filter_map(|c| {
            let c = c.to_ascii_lowercase();
            ids.get(&c).map(|id| (c, id.clone()))
        })
        .collect();
    Ok(HelixIds {
        sender_id,
        broadcaster_ids,
    })
}
