//! The stored Twitch token and what `/validate` says about it.

use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::secret::Secret;

/// A Twitch user token as kept in the secret store (one secret, JSON, so the access and
/// refresh token always change together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The access token (sent as the IRC `PASS` and as `Authorization`).
    pub access_token: Secret,
    /// The refresh token; `None` for a bare access token a user brought.
    pub refresh_token: Option<Secret>,
    /// When the access token expires (Unix seconds), if Twitch said.
    pub expires_at: Option<u64>,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// The account's login name (from `/validate`).
    pub login: Option<String>,
    /// The account's user id (from `/validate`).
    pub user_id: Option<String>,
    /// The client id the token belongs to.
    pub client_id: Option<String>,
    /// When this token was obtained (Unix seconds).
    pub obtained_at: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredTokenJson {
    version: u32,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    obtained_at: u64,
}

impl StoredToken {
    /// The token as one secret value (JSON).
    pub fn to_secret(&self) -> Secret {
        let json = StoredTokenJson {
            version: 1,
            access_token: self.access_token.expose().to_string(),
            refresh_token: self.refresh_token.as_ref().map(|s| s.expose().to_string()),
            expires_at: self.expires_at,
            scopes: self.scopes.clone(),
            login: self.login.clone(),
            user_id: self.user_id.clone(),
            client_id: self.client_id.clone(),
            obtained_at: self.obtained_at,
        };
        // Serializing plain strings and numbers cannot fail.
        Secret::new(serde_json::to_string(&json).unwrap_or_default())
    }

    /// Parses a stored token.
    pub fn from_secret(secret: &Secret) -> Result<Self, AuthError> {
        // Never serde's own message: it quotes the value it did not expect (a token).
        let json: StoredTokenJson = crate::secret::json::parse(secret.expose())
            .map_err(|reason| AuthError::CorruptToken { reason })?;
        if json.version != 1 {
            return Err(AuthError::CorruptToken {
                reason: format!("unknown version {}", json.version),
            });
        }
        if json.access_token.is_empty() {
            return Err(AuthError::CorruptToken {
                reason: "the access token is empty".to_string(),
            });
        }
        Ok(Self {
            access_token: Secret::new(json.access_token),
            refresh_token: json
                .refresh_token
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            expires_at: json.expires_at,
            scopes: json.scopes,
            login: json.login,
            user_id: json.user_id,
            client_id: json.client_id,
            obtained_at: json.obtained_at,
        })
    }

    /// A bare access token (no refresh token, nothing known yet).
    pub fn bare(access_token: Secret, now: u64) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: None,
            scopes: Vec::new(),
            login: None,
            user_id: None,
            client_id: None,
            obtained_at: now,
        }
    }

    /// Takes in what `/validate` said: login, user id, scopes, client id and expiry.
    pub fn apply_validation(&mut self, info: &TokenInfo, now: u64) {
        self.login = info.login.clone().or(self.login.take());
        self.user_id = info.user_id.clone().or(self.user_id.take());
        self.scopes = info.scopes.clone();
        self.client_id = Some(info.client_id.clone());
        self.expires_at = info.expires_in.map(|s| now + s);
    }
}

/// What `/oauth2/validate` says about a token. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenInfo {
    /// The client id the token was issued to.
    pub client_id: String,
    /// The account's login (absent for app tokens).
    #[serde(default)]
    pub login: Option<String>,
    /// The account's user id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The scopes granted.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub scopes: Vec<String>,
    /// Seconds left; `None` for a token that does not expire (Twitch says 0).
    #[serde(default, deserialize_with = "zero_as_none")]
    pub expires_in: Option<u64>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

fn zero_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.filter(|s| *s > 0))
}

/// The scopes of `required` that `granted` lacks.
pub fn missing_scopes(required: &[String], granted: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|r| !granted.iter().any(|g| g == *r))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_never_debugs_the_tokens() {
        let t = StoredToken {
            access_token: Secret::new("acc-123"),
            refresh_token: Some(Secret::new("ref-456")),
            expires_at: Some(99),
            scopes: vec!["chat:read".into()],
            login: Some("bot".into()),
            user_id: Some("1".into()),
            client_id: Some("cid".into()),
            obtained_at: 5,
        };
        let back = StoredToken::from_secret(&t.to_secret()).unwrap();
        assert_eq!(back, t);
        let dbg = format!("{t:?} {t:#?}");
        assert!(
            !dbg.contains("acc-123") && !dbg.contains("ref-456"),
            "{dbg}"
        );
    }

    #[test]
    fn corrupt_tokens_are_errors_without_content() {
        let err =
            StoredToken::from_secret(&Secret::new("{\"access_token\": \"zzz-leak")).unwrap_err();
        assert!(matches!(err, AuthError::CorruptToken { .. }));
        assert!(!err.to_string().contains("zzz-leak"), "{err}");
        // A value of the wrong type: serde would quote it.
        for (bad, value) in [
            (r#"{"version":1,"access_token":918273645546372819}"#, "918273645546372819"),
            (r#"{"version":1,"access_token":"a","refresh_token":["rt-leak-7788"]}"#, "rt-leak-7788"),
            (r#""bare-token-in-the-wrong-place-31337""#, "bare-token-in-the-wrong-place-31337"),
            ("424242424242424242", "424242424242424242"),
        ] {
            let err = StoredToken::from_secret(&Secret::new(bad)).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains(value), "{text}");
            assert!(!text.contains(&value[..12]), "{text}");
        }
        let err = StoredToken::from_secret(&Secret::new(
            r#"{"version":1,"access_token":918273645546372819}"#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("`access_token` is a number, expected a string"), "{err}");
    }

    #[test]
    fn validate_json_maps_zero_expiry_and_null_scopes() {
        let info: TokenInfo = serde_json::from_str(
            r#"{"client_id":"c","login":"bot","user_id":"7","scopes":null,"expires_in":0}"#,
        )
        .unwrap();
        assert_eq!(info.expires_in, None);
        assert!(info.scopes.is_empty());
        let req = vec!["chat:read".to_string(), "chat:edit".to_string()];
        assert_eq!(
            missing_scopes(&req, &["chat:read".to_string()]),
            vec!["chat:edit"]
        );
    }
}
