//! A webhook as the API takes it and `<state_dir>/webhooks.json` keeps it (the secret's
//! value itself: the file is the owner's only; the same keys and ranges as `[[webhook]]`),
//! and as the API shows it ([`WebhookView`]: never the secret).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{WebhookSettings, WebhookStatsSnapshot};
use crate::config::Problem;
use crate::config::feed::{EVENT_TYPES, WebhookConfig};
use crate::limits::{
    WEBHOOK_RATE_BURST, WEBHOOK_RATE_PER_SEC, WEBHOOK_RETRY_MIN_DELAY,
    WEBHOOK_SECRET_MAX_CHARS, WEBHOOK_SECRET_MIN_CHARS,
};
use crate::secret::Secret;

/// One webhook added through the API. `Debug` hides the secret and the URL's credentials.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Where to POST (`http://` or `https://`).
    pub url: String,
    /// Event types sent; empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Bridges whose events are sent; empty: all.
    #[serde(default)]
    pub bridges: Vec<String>,
    /// The HMAC key's value.
    pub secret: String,
    /// Events per POST at most.
    pub batch_max: usize,
    /// Seconds a partial batch waits.
    pub batch_wait_secs: u64,
    /// Seconds one POST may take.
    pub timeout_secs: u64,
    /// Attempts per delivery before it is dead-lettered.
    pub max_attempts: u32,
    /// Longest retry back-off, seconds.
    pub max_backoff_secs: u64,
    /// Events waiting at most.
    pub queue_capacity: usize,
    /// POSTs per second at most.
    pub rate_per_sec: u32,
    /// POSTs at once after a quiet spell.
    pub rate_burst: u32,
}

impl std::fmt::Debug for WebhookSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("url", &super::redacted_url(&self.url))
            .field("events", &self.events)
            .field("bridges", &self.bridges)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Default for WebhookSpec {
    /// `[[webhook]]`'s defaults (one source of truth), no URL, no secret.
    fn default() -> Self {
        let config = WebhookConfig::default();
        Self {
            url: String::new(),
            events: Vec::new(),
            bridges: Vec::new(),
            secret: String::new(),
            batch_max: config.batch_max,
            batch_wait_secs: config.batch_wait_secs,
            timeout_secs: config.timeout_secs,
            max_attempts: config.max_attempts,
            max_backoff_secs: config.max_backoff_secs,
            queue_capacity: config.queue_capacity,
            rate_per_sec: WEBHOOK_RATE_PER_SEC,
            rate_burst: WEBHOOK_RATE_BURST,
        }
    }
}

/// A request body: `POST` and `PUT` start from the defaults, `PATCH` from the webhook as it
/// is; a field given replaces that field. `PUT`/`PATCH` without `secret` keep the secret.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    events: Option<Vec<String>>,
    bridges: Option<Vec<String>>,
    secret: Option<String>,
    batch_max: Option<usize>,
    batch_wait_secs: Option<u64>,
    timeout_secs: Option<u64>,
    max_attempts: Option<u32>,
    max_backoff_secs: Option<u64>,
    queue_capacity: Option<usize>,
    rate_per_sec: Option<u32>,
    rate_burst: Option<u32>,
}

impl WebhookPatch {
    /// True when the body names a secret.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// `base` with every field given here replaced.
    pub fn apply(self, base: WebhookSpec) -> WebhookSpec {
        WebhookSpec {
            url: self.url.unwrap_or(base.url),
            events: self.events.unwrap_or(base.events),
            bridges: self.bridges.unwrap_or(base.bridges),
            secret: self.secret.unwrap_or(base.secret),
            batch_max: self.batch_max.unwrap_or(base.batch_max),
            batch_wait_secs: self.batch_wait_secs.unwrap_or(base.batch_wait_secs),
            timeout_secs: self.timeout_secs.unwrap_or(base.timeout_secs),
            max_attempts: self.max_attempts.unwrap_or(base.max_attempts),
            max_backoff_secs: self.max_backoff_secs.unwrap_or(base.max_backoff_secs),
            queue_capacity: self.queue_capacity.unwrap_or(base.queue_capacity),
            rate_per_sec: self.rate_per_sec.unwrap_or(base.rate_per_sec),
            rate_burst: self.rate_burst.unwrap_or(base.rate_burst),
        }
    }
}

/// One thing wrong with a webhook given through the API, at its field path (`url`,
/// `events[1]`, `timeout_secs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field path in the request body.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<Problem> for FieldProblem {
    fn from(p: Problem) -> Self {
        Self {
            path: p.path,
            message: p.message,
            hint: p.hint,
        }
    }
}

impl WebhookSpec {
    /// Every problem, as `[[webhook]]`'s checks and ranges see it. `bridges`: this
    /// process's bridges.
    pub fn problems(&self, bridges: &[String]) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        if self.url.trim().is_empty() {
            problems.push(Problem::new("url", "missing: where should events go?"));
        } else {
            crate::config::validate::check_url("url", &self.url, &["http", "https"], &mut problems);
        }
        for (j, kind) in self.events.iter().enumerate() {
            if !EVENT_TYPES.contains(&kind.as_str()) {
                problems.push(
                    Problem::new(format!("events[{j}]"), format!("`{kind}` is not an event type"))
                        .with_hint(format!("one of: {}", EVENT_TYPES.join(", "))),
                );
            }
        }
        for (j, bridge) in self.bridges.iter().enumerate() {
            if !bridges.contains(bridge) {
                problems.push(
                    Problem::new(format!("bridges[{j}]"), format!("`{bridge}` is not a bridge"))
                        .with_hint(format!("bridges: {}", bridges.join(", "))),
                );
            }
        }
        let chars = self.secret.chars().count();
        if !(WEBHOOK_SECRET_MIN_CHARS..=WEBHOOK_SECRET_MAX_CHARS).contains(&chars) {
            problems.push(Problem::new(
                "secret",
                format!(
                    "must be {WEBHOOK_SECRET_MIN_CHARS} to {WEBHOOK_SECRET_MAX_CHARS} characters (it is the HMAC key; it is never shown back)"
                ),
            ));
        }
        // The numbers have `[[webhook]]`'s ranges (`webhook[].timeout_secs` ...).
        let mut numbers = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = numbers.as_object_mut() {
            map.remove("secret");
        }
        let mut ranged = Vec::new();
        crate::config::ranges::check(&numbers, "webhook[0]", &[], &mut ranged);
        for mut problem in ranged {
            problem.path = problem
                .path
                .trim_start_matches("webhook[0].")
                .to_owned();
            problems.push(problem);
        }
        problems.into_iter().map(FieldProblem::from).collect()
    }

    /// The settings its sender runs with.
    pub fn settings(&self) -> WebhookSettings {
        WebhookSettings {
            url: self.url.clone(),
            events: self.events.clone(),
            bridges: self.bridges.clone(),
            secret: Secret::new(self.secret.clone()),
            batch_max: self.batch_max,
            batch_wait: Duration::from_secs(self.batch_wait_secs),
            timeout: Duration::from_secs(self.timeout_secs),
            max_attempts: self.max_attempts,
            min_backoff: WEBHOOK_RETRY_MIN_DELAY,
            max_backoff: Duration::from_secs(self.max_backoff_secs),
            queue_capacity: self.queue_capacity,
            rate_per_sec: self.rate_per_sec,
            rate_burst: self.rate_burst,
        }
    }
}

/// A webhook as the API shows it: never its secret, its URL without credentials or query.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    /// Its id.
    pub id: String,
    /// `config` (read-only: change the config file) or `api`.
    pub source: &'static str,
    /// The URL without credentials or query.
    pub url: String,
    /// Event types sent; empty: all.
    pub events: Vec<String>,
    /// Bridges whose events are sent; empty: all.
    pub bridges: Vec<String>,
    /// A secret is set (it is write-only).
    pub secret_set: bool,
    /// Events per POST at most.
    pub batch_max: usize,
    /// Seconds one POST may take.
    pub timeout_secs: u64,
    /// Attempts per delivery.
    pub max_attempts: u32,
    /// Events waiting at most.
    pub queue_capacity: usize,
    /// POSTs per second at most.
    pub rate_per_sec: u32,
    /// POSTs at once after a quiet spell.
    pub rate_burst: u32,
    /// Its counters.
    pub stats: WebhookStatsSnapshot,
    /// Dead letters held now.
    pub dead_letters: usize,
    /// Dead letters evicted because the queue was full.
    pub dead_letters_dropped: u64,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Dead letters tried (at most [`crate::limits::WEBHOOK_REPLAY_MAX`], oldest first).
    pub tried: usize,
    /// Delivered, so gone from the queue.
    pub delivered: usize,
    /// Failed again, so still queued.
    pub failed: usize,
    /// Dead letters in the queue now.
    pub remaining: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_by_its_field() {
        let spec = WebhookSpec {
            url: "ftp://x".into(),
            events: vec!["chat".into(), "gfit".into()],
            bridges: vec!["nope".into()],
            secret: "short".into(),
            timeout_secs: 0,
            rate_per_sec: 0,
            ..WebhookSpec::default()
        };
        let paths: Vec<String> = spec
            .problems(&["a".into()])
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            ["url", "events[1]", "bridges[0]", "secret", "rate_per_sec", "timeout_secs"]
        );
        let fine = WebhookSpec {
            url: "http://127.0.0.1:1/hook".into(),
            secret: "a-long-enough-secret".into(),
            ..WebhookSpec::default()
        };
        assert_eq!(fine.problems(&[]), []);
        assert!(!format!("{fine:?}").contains("a-long-enough-secret"));
    }
}
