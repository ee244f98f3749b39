//! [`OAuthClient`]: the five Twitch OAuth calls (device, token, refresh, validate, revoke).
//!
//! Secrets travel only in form bodies and the `Authorization` header, never in a URL, so
//! neither reqwest's errors (which carry the URL) nor any log line can show them.

use std::time::Duration;

use serde::Deserialize;

use super::{AuthError, TokenInfo};
use crate::limits::OAUTH_HTTP_TIMEOUT;
use crate::secret::Secret;

/// The device-code grant type.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A Twitch OAuth client: a client id, and a secret for confidential clients.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: Option<Secret>,
}

/// What `/device` answered: show `verification_uri` and `user_code` to the user.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// The code to poll `/token` with (secret: whoever has it gets the token).
    pub device_code: Secret,
    /// The code the user types at the verification page.
    pub user_code: String,
    /// The page to open (it carries the code).
    pub verification_uri: String,
    /// How long the code is good for.
    pub expires_in: Duration,
    /// How often to poll.
    pub interval: Duration,
}

/// A token grant from `/token` (device code or refresh).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The new access token.
    pub access_token: Secret,
    /// The new refresh token (rotated: the old one is spent).
    pub refresh_token: Option<Secret>,
    /// The access token's lifetime, if Twitch said.
    pub expires_in: Option<Duration>,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

/// Why a device-code poll did not give a token.
#[derive(Debug)]
pub enum PollError {
    /// The user has not approved yet: poll again after the interval.
    Pending,
    /// Polling too fast: add 5 s to the interval.
    SlowDown,
    /// The user said no.
    Denied,
    /// The device code expired (or is unknown): start over.
    Expired,
    /// Anything else.
    Other(AuthError),
}

/// Why a refresh failed.
#[derive(Debug)]
pub enum RefreshError {
    /// Twitch refused the refresh token (revoked, expired, already used): log in again.
    Rejected(String),
    /// A network or server problem: try again later.
    Transient(AuthError),
}

/// Why a validation failed.
#[derive(Debug)]
pub enum ValidateError {
    /// 401: the token is invalid (expired or revoked).
    Unauthorized,
    /// A network or server problem.
    Transient(AuthError),
}

#[derive(Deserialize)]
struct DeviceJson {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    interval: u64,
}

#[derive(Deserialize)]
struct TokenJson {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ErrorJson {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl From<TokenJson> for TokenGrant {
    fn from(t: TokenJson) -> Self {
        Self {
            access_token: Secret::new(t.access_token),
            refresh_token: t.refresh_token.filter(|s| !s.is_empty()).map(Secret::new),
            expires_in: t.expires_in.filter(|s| *s > 0).map(Duration::from_secs),
            scopes: t.scope.unwrap_or_default(),
        }
    }
}

/// A response's status and body.
struct Answer {
    status: reqwest::StatusCode,
    body: String,
}

impl Answer {
    /// Twitch's error message (`{"status":400,"message":"authorization_pending"}`), cut to
    /// 200 characters.
    fn message(&self) -> String {
        let parsed: Option<ErrorJson> = serde_json::from_str(&self.body).ok();
        let msg = parsed
            .and_then(|e| e.message.or(e.error))
            .unwrap_or_else(|| format!("HTTP {}", self.status.as_u16()));
        msg.chars().take(200).collect()
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, op: &'static str) -> Result<T, AuthError> {
        serde_json::from_str(&self.body).map_err(|e| AuthError::Decode {
            op,
            reason: e.to_string(),
        })
    }
}

impl OAuthClient {
    /// A client for the OAuth server at `base` (`https://id.twitch.tv/oauth2`).
    pub fn new(
        base: &str,
        client_id: &str,
        client_secret: Option<Secret>,
    ) -> Result<Self, AuthError> {
        if client_id.is_empty() {
            return Err(AuthError::NoClientId);
        }
        let parsed = url::Url::parse(base).map_err(|e| AuthError::InvalidUrl {
            url: base.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(AuthError::InvalidUrl {
                url: base.to_string(),
                reason: "not http(s)".to_string(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(OAUTH_HTTP_TIMEOUT)
            .user_agent(concat!("tiktwitch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AuthError::Http {
                op: "building the HTTP client",
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret,
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether this is a confidential client (has a secret).
    pub fn is_confidential(&self) -> bool {
        self.client_secret.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    async fn post_form(
        &self,
        op: &'static str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Answer, AuthError> {
        let response = self
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .map_err(|e| AuthError::Http {
                op,
                reason: e.to_string(),
            })?;
        read(op, response).await
    }

    /// `POST /device`: starts a device-code login for `scopes`.
    pub async fn request_device_code(&self, scopes: &[String]) -> Result<DeviceCode, AuthError> {
        let op = "requesting a device code";
        let scopes = scopes.join(" ");
        let answer = self
            .post_form(
                op,
                "device",
                &[("client_id", &self.client_id), ("scopes", &scopes)],
            )
            .await?;
        if !answer.status.is_success() {
            return Err(AuthError::Rejected {
                op,
                status: answer.status.as_u16(),
                message: answer.message(),
            });
        }
        let d: DeviceJson = answer.json(op)?;
        Ok(DeviceCode {
            device_code: Secret::new(d.device_code),
            user_code: d.user_code,
            verification_uri: d.verification_uri,
            expires_in: Duration::from_secs(d.expires_in.max(1)),
            interval: Duration::from_secs(d.interval),
        })
    }

    /// `POST /token` with the device code: one poll.
    pub async fn poll_device_token(
        &self,
        device_code: &Secret,
        scopes: &[String],
    ) -> Result<TokenGrant, PollError> {
        let op = "polling for the device-code token";
        let scopes = scopes.join(" ");
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("scopes", scopes.as_str()),
            ("device_code", device_code.expose()),
            ("grant_type", DEVICE_GRANT),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let answer = self
            .post_form(op, "token", &form)
            .await
            .map_err(PollError::Other)?;
        if answer.status.is_success() {
            return answer
                .json::<TokenJson>(op)
                .map(TokenGrant::from)
                .map_err(PollError::Other);
        }
        let message = answer.message();
        Err(match message.to_ascii_lowercase().as_str() {
            "authorization_pending" => PollError::Pending,
            "slow_down" => PollError::SlowDown,
            "access_denied" | "authorization_denied" => PollError::Denied,
            "expired_token" | "invalid device code" => PollError::Expired,
            _ => PollError::Other(AuthError::Rejected {
                op,
                status: answer.status.as_u16(),
                message,
            }),
        })
    }

    /// `POST /token` with a refresh token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenGrant, RefreshError> {
        let op = "refreshing the token";
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let answer = self
            .post_form(op, "token", &form)
            .await
            .map_err(RefreshError::Transient)?;
        match answer.status.as_u16() {
            200..=299 => answer
                .json::<TokenJson>(op)
                .map(TokenGrant::from)
                .map_err(RefreshError::Transient),
            // 400 "Invalid refresh token"; 401 a client that no longer matches.
            400 | 401 | 403 => Err(RefreshError::Rejected(answer.message())),
            status => Err(RefreshError::Transient(AuthError::Rejected {
                op,
                status,
                message: answer.message(),
            })),
        }
    }

    /// `POST /token` with the client-credentials grant: an app access token (Helix's Chat
    /// Bot badge path). Only a confidential client (with its secret) can have one.
    pub async fn client_credentials(&self) -> Result<TokenGrant, AuthError> {
        let op = "getting an app access token";
        let Some(secret) = &self.client_secret else {
            return Err(AuthError::NoClientSecret { op });
        };
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", secret.expose()),
            ("grant_type", "client_credentials"),
        ];
        let answer = self.post_form(op, "token", &form).await?;
        match answer.status.as_u16() {
            200..=299 => answer.json::<TokenJson>(op).map(TokenGrant::from),
            status => Err(AuthError::Rejected {
                op,
                status,
                message: answer.message(),
            }),
        }
    }

    /// `GET /validate` (Twitch requires this at start and hourly).
    pub async fn validate(&self, access_token: &Secret) -> Result<TokenInfo, ValidateError> {
        let op = "validating the token";
        let response = self
            .http
            .get(self.url("validate"))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("OAuth {}", access_token.expose()),
            )
            .send()
            .await
            .map_err(|e| {
                ValidateError::Transient(AuthError::Http {
                    op,
                    reason: e.to_string(),
                })
            })?;
        let answer = read(op, response).await.map_err(ValidateError::Transient)?;
        match answer.status.as_u16() {
            200..=299 => answer.json(op).map_err(ValidateError::Transient),
            401 => Err(ValidateError::Unauthorized),
            status => Err(ValidateError::Transient(AuthError::Rejected {
                op,
                status,
                message: answer.message(),
            })),
        }
    }

    /// `POST /revoke`. A token Twitch no longer knows counts as revoked.
    pub async fn revoke(&self, token: &Secret) -> Result<(), AuthError> {
        let op = "revoking the token";
        let answer = self
            .post_form(
                op,
                "revoke",
                &[("client_id", &self.client_id), ("token", token.expose())],
            )
            .await?;
        if answer.status.is_success() {
            return Ok(());
        }
        let message = answer.message();
        if answer.status.as_u16() == 400 && message.to_ascii_lowercase().contains("invalid token") {
            return Ok(());
        }
        Err(AuthError::Rejected {
            op,
            status: answer.status.as_u16(),
            message,
        })
    }
}

async fn read(op: &'static str, response: reqwest::Response) -> Result<Answer, AuthError> {
    let status = response.status();
    let body = response.text().await.map_err(|e| AuthError::Http {
        op,
        reason: e.to_string(),
    })?;
    Ok(Answer { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            body: body.to_string(),
        }
    }

    #[test]
    fn error_messages_come_from_twitchs_json_or_the_status() {
        let pending = answer(400, r#"{"status":400,"message":"authorization_pending"}"#);
        assert_eq!(pending.message(), "authorization_pending");
        let oauth_style = answer(400, r#"{"error":"invalid_grant"}"#);
        assert_eq!(oauth_style.message(), "invalid_grant");
        // A non-JSON body is not echoed (it could be anything).
        assert_eq!(
            answer(502, "<html>bad gateway</html>").message(),
            "HTTP 502"
        );
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(500));
        assert_eq!(answer(400, &long).message().len(), 200);
    }

    #[test]
    fn token_grants_drop_empty_refresh_tokens_and_zero_lifetimes() {
        let json: TokenJson = serde_json::from_str(
            r#"{"access_token":"a","refresh_token":"","expires_in":0,"scope":null,"token_type":"bearer"}"#,
        )
        .unwrap();
        let grant = TokenGrant::from(json);
        assert!(grant.refresh_token.is_none());
        assert!(grant.expires_in.is_none());
        assert!(grant.scopes.is_empty());
    }

    #[test]
    fn client_id_and_url_are_checked() {
        assert!(matches!(
            OAuthClient::new(crate::auth::TWITCH_OAUTH_URL, "", None),
            Err(AuthError::NoClientId)
        ));
        assert!(matches!(
            OAuthClient::new("ftp://x/oauth2", "id", None),
            Err(AuthError::InvalidUrl { .. })
        ));
        let c = OAuthClient::new("http://127.0.0.1:1/oauth2/", "id", None).unwrap();
        assert_eq!(c.url("token"), "http://127.0.0.1:1/oauth2/token");
    }
}
