//! [`EnvStore`]: read-only secrets from environment variables and systemd credentials.
//!
//! `get("twitch-client-secret")` reads `$TIKTWITCH_SECRET_TWITCH_CLIENT_SECRET` first, then
//! the file `$CREDENTIALS_DIRECTORY/twitch-client-secret` (systemd `LoadCredential=` /
//! `LoadCredentialEncrypted=`). Both are read-only, which suits static secrets; a rotating
//! refresh token needs a writable store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;

use super::{Secret, SecretError, SecretStore, validate_name};
use crate::limits::MAX_SECRETS_FILE_BYTES;

/// The default variable prefix.
pub const DEFAULT_PREFIX: &str = "TIKTWITCH_SECRET_";

/// Read-only secrets from environment variables, then `$CREDENTIALS_DIRECTORY`.
pub struct EnvStore {
    prefix: String,
    credentials_dir: Option<PathBuf>,
    /// `None`: the process environment. `Some`: a fixed set (tests; the process environment
    /// cannot be changed safely from a threaded test).
    vars: Option<BTreeMap<String, Secret>>,
}

impl std::fmt::Debug for EnvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvStore")
            .field("prefix", &self.prefix)
            .field("credentials_dir", &self.credentials_dir)
            .field(
                "vars",
                &self.vars.as_ref().map(|v| v.keys().collect::<Vec<_>>()),
            )
            .finish()
    }
}

impl EnvStore {
    /// Reads the process environment, with variables named `prefix` + the secret's name in
    /// upper case with `-` and `.` turned into `_`.
    pub fn from_process_env(prefix: &str, credentials_dir: Option<PathBuf>) -> Self {
        Self {
            prefix: prefix.to_string(),
            credentials_dir,
            vars: None,
        }
    }

    /// Reads the given variables instead of the process environment.
    pub fn from_vars(
        prefix: &str,
        vars: impl IntoIterator<Item = (String, Secret)>,
        credentials_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            prefix: prefix.to_string(),
            credentials_dir,
            vars: Some(vars.into_iter().collect()),
        }
    }

    /// The variable a secret is read from: `twitch-client-secret` ->
    /// `TIKTWITCH_SECRET_TWITCH_CLIENT_SECRET`.
    pub fn var_name(&self, name: &str) -> String {
        let suffix: String = name
            .chars()
            .map(|c| match c {
                '-' | '.' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        format!("{}{suffix}", self.prefix)
    }

    fn lookup_var(&self, var: &str) -> Option<Secret> {
        match &self.vars {
            Some(vars) => vars.get(var).cloned(),
            None => std::env::var(var).ok().map(Secret::new),
        }
        .filter(|s| !s.is_empty())
    }
}

#[async_trait]
impl SecretStore for EnvStore {
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        validate_name(name)?;
        if let Some(value) = self.lookup_var(&self.var_name(name)) {
            return Ok(Some(value));
        }
        let Some(dir) = &self.credentials_dir else {
            return Ok(None);
        };
        let path = dir.join(name);
        let read = tokio::task::spawn_blocking({
            let path = path.clone();
            move || -> std::io::Result<Option<Vec<u8>>> {
                use std::io::Read;
                let file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let mut bytes = Vec::new();
                file.take(MAX_SECRETS_FILE_BYTES).read_to_end(&mut bytes)?;
                Ok(Some(bytes))
            }
        })
        .await
        .map_err(|e| SecretError::Task(e.to_string()))?;
        let bytes = read.map_err(|source| SecretError::Io {
            op: "reading credential",
            path: path.clone(),
            source,
        })?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes).map_err(|_| SecretError::Corrupt {
            path: path.clone(),
            reason: "the credential is not UTF-8".to_string(),
        })?;
        // `echo secret > file` and `systemd-creds encrypt` leave a trailing newline.
        let value = text.strip_suffix('\n').unwrap_or(&text);
        let value = value.strip_suffix('\r').unwrap_or(value);
        Ok(Some(Secret::new(value)).filter(|s| !s.is_empty()))
    }

    async fn set(&self, name: &str, _value: &Secret) -> Result<(), SecretError> {
        validate_name(name)?;
        Err(SecretError::ReadOnly {
            store: "env",
            op: "set",
            name: name.to_string(),
        })
    }

    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        validate_name(name)?;
        Err(SecretError::ReadOnly {
            store: "env",
            op: "delete",
            name: name.to_string(),
        })
    }

    fn describe(&self) -> String {
        match &self.credentials_dir {
            Some(dir) => format!("env (${}<NAME>, then {})", self.prefix, dir.display()),
            None => format!("env (${}<NAME>)", self.prefix),
        }
    }

    fn is_writable(&self) -> bool {
        false
    }
}
