//! Where secrets live: one small [`SecretStore`] trait and the stores behind it.
//!
//! The config file never holds a secret; it names the store (`secret_store = "keyring" |
//! "file" | "env"`) and the secrets are looked up there by name (`twitch-token`,
//! `twitch-client-secret`, `tiktok-signer-api-key` ...; one name each: [`names`]):
//!
//! - [`FileStore`]: the default on headless Linux. One JSON file, mode 0600, under the state
//!   directory (created 0700); refused, like ssh does, if group or others can read or write
//!   the file or write the directory (Unix only: on Windows the profile folder's ACL protects
//!   it); written atomically; locked against a second instance.
//! - [`KeyringStore`]: the OS store through keyring-core (Secret Service on Linux desktops, or
//!   the kernel keyutils keyring when asked for; the Keychain on macOS; Credential Manager on
//!   Windows). If chosen and unavailable it fails with a clear message.
//! - `auto` (the default setting): the file store if it already holds secrets, else the OS
//!   keyring where it answers, else the file store; it says which. The only place one store
//!   stands in for another.
//! - [`EnvStore`]: read-only, from environment variables or systemd's
//!   `$CREDENTIALS_DIRECTORY`.
//! - [`MemoryStore`]: process memory only, for tests and `tiktwitch demo`; not selectable
//!   by `secret_store`.

mod env;
mod error;
mod file;
pub(crate) mod json;
mod keyring;
mod lock;
mod memory;
pub mod names;
pub mod redact;
mod value;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

pub use env::EnvStore;
pub use error::SecretError;
pub use file::{FileStore, FileStoreMode};
pub use keyring::{KeyringBackend, KeyringStore};
pub use lock::{InstanceLock, LOCK_FILE};
pub use memory::MemoryStore;
pub use value::Secret;

/// A place secrets are kept, looked up by name.
///
/// Names are 1 to 64 characters of `A-Z a-z 0-9 . _ -` (see [`validate_name`]), so every
/// store can map them to a file name, an environment variable or a keyring entry.
#[async_trait]
pub trait SecretStore: fmt::Debug + Send + Sync {
    /// The secret called `name`, or `None` if the store has none by that name.
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError>;

    /// Stores `value` under `name`, replacing any previous value. When this returns `Ok`
    /// the value is durable (as durable as the store is: see each store).
    async fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError>;

    /// Deletes `name`; returns whether it existed.
    async fn delete(&self, name: &str) -> Result<bool, SecretError>;

    /// Where the secrets live, for people: `file /var/lib/tiktwitch/secrets.json`.
    fn describe(&self) -> String;

    /// Whether [`SecretStore::set`] can work at all (the env store is read-only).
    fn is_writable(&self) -> bool {
        true
    }
}

pub use crate::config::schema::SecretStoreKind;

/// Everything needed to open a secret store.
#[derive(Debug, Clone)]
pub struct SecretStoreSettings {
    /// Which store.
    pub kind: SecretStoreKind,
    /// The state directory; the file store keeps `secrets.json` and its lock here.
    pub state_dir: PathBuf,
    /// Which OS keyring `kind = keyring` means.
    pub keyring_backend: KeyringBackend,
    /// The keyring "service" every entry is filed under (the secret name is the "user").
    pub keyring_service: String,
    /// Prefix of the env store's variables: `TIKTWITCH_SECRET_` + `TWITCH_CLIENT_SECRET`.
    pub env_prefix: String,
    /// systemd's `$CREDENTIALS_DIRECTORY`, read by the env store.
    pub credentials_dir: Option<PathBuf>,
}

impl Default for SecretStoreSettings {
    fn default() -> Self {
        Self {
            kind: SecretStoreKind::default(),
            state_dir: default_state_dir(),
            keyring_backend: KeyringBackend::default(),
            keyring_service: "tiktwitch".to_string(),
            env_prefix: env::DEFAULT_PREFIX.to_string(),
            credentials_dir: std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
        }
    }
}

/// Opens the store `settings` names. `mode` is [`FileStoreMode::Exclusive`] for anything
/// that writes or runs the bridge (the file and keyring stores then hold the state
/// directory's [`InstanceLock`]), [`FileStoreMode::ReadOnly`] for `auth status`.
///
/// Never falls back on its own: `keyring` that cannot be reached is an error that says what
/// to do. Only `auto` chooses, and says which it chose (a log line here; `check` and
/// [`SecretStore::describe`] name the store).
pub async fn open_store(
    settings: &SecretStoreSettings,
    mode: FileStoreMode,
) -> Result<Arc<dyn SecretStore>, SecretError> {
    Ok(match settings.kind {
        SecretStoreKind::File => Arc::new(FileStore::open(&settings.state_dir, mode).await?),
        SecretStoreKind::Env => Arc::new(EnvStore::from_process_env(
            &settings.env_prefix,
            settings.credentials_dir.clone(),
        )),
        SecretStoreKind::Keyring => Arc::new(open_keyring(settings, mode).await?),
        // A file store that already holds secrets stays the choice, so a keyring that
        // becomes reachable later (a desktop session, an unlocked provider) does not hide
        // the secrets stored while it was not.
        SecretStoreKind::Auto if settings.state_dir.join(file::SECRETS_FILE).is_file() => {
            Arc::new(FileStore::open(&settings.state_dir, mode).await?)
        }
        SecretStoreKind::Auto => match open_keyring(settings, mode).await {
            Ok(store) => {
                tracing::info!(store = %store.describe(), "secret store (auto): the OS keyring");
                Arc::new(store)
            }
            Err(e @ SecretError::Locked { .. }) => return Err(e),
            Err(e) => {
                let file = FileStore::open(&settings.state_dir, mode).await?;
                tracing::warn!(
                    store = %file.describe(),
                    "secret store (auto): the OS keyring is not reachable ({e}); using the file store"
                );
                Arc::new(file)
            }
        },
    })
}

async fn open_keyring(
    settings: &SecretStoreSettings,
    mode: FileStoreMode,
) -> Result<KeyringStore, SecretError> {
    // The keyring has no lock of its own; the state directory's keeps two bridges from
    // refreshing (and so spending) the same refresh token.
    let lock = match mode {
        FileStoreMode::Exclusive => {
            let dir = settings.state_dir.clone();
            let lock = tokio::task::spawn_blocking(move || InstanceLock::acquire(&dir))
                .await
                .map_err(|e| SecretError::Task(e.to_string()))??;
            Some(lock)
        }
        FileStoreMode::ReadOnly => None,
    };
    let store = KeyringStore::open(settings.keyring_backend, &settings.keyring_service).await?;
    Ok(store.with_lock(lock))
}

/// The state directory: `$STATE_DIRECTORY` (systemd `StateDirectory=`; its first entry),
/// else `$XDG_STATE_HOME/tiktwitch`, else the OS's own place (see [`os_state_dir`]), else
/// `./tiktwitch-state`.
pub fn default_state_dir() -> PathBuf {
    state_dir_from(|k| std::env::var_os(k), os_state_dir())
}

/// The OS's convention for per-user application state: `~/.local/state/tiktwitch` on
/// Linux, `~/Library/Application Support/tiktwitch` on macOS,
/// `%LOCALAPPDATA%\tiktwitch` on Windows.
pub fn os_state_dir() -> Option<PathBuf> {
    let base = directories::BaseDirs::new()?;
    let root = base.state_dir().unwrap_or(base.data_local_dir());
    Some(root.join("tiktwitch"))
}

fn state_dir_from(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
    os_default: Option<PathBuf>,
) -> PathBuf {
    let non_empty = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(dirs) = non_empty("STATE_DIRECTORY") {
        // systemd joins several StateDirectory= entries with ':'.
        let dirs = dirs.to_string_lossy().into_owned();
        if let Some(first) = dirs.split(':').find(|d| !d.is_empty()) {
            return PathBuf::from(first);
        }
    }
    if let Some(xdg) = non_empty("XDG_STATE_HOME") {
        return PathBuf::from(xdg).join("tiktwitch");
    }
    os_default.unwrap_or_else(|| PathBuf::from("tiktwitch-state"))
}

/// Checks a secret's name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, not starting with
/// `.` (so it is always a plain file name, an env-var suffix and a keyring user).
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 64 {
        Some("it is longer than 64 characters")
    } else if name.starts_with('.') {
        Some("it starts with '.'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("only A-Z a-z 0-9 . _ - are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SecretError::InvalidName {
            name: name.chars().take(80).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn state_dir_prefers_systemd_then_xdg_then_the_os() {
        let all = [
            ("STATE_DIRECTORY", "/var/lib/tiktwitch:/var/lib/other"),
            ("XDG_STATE_HOME", "/x"),
        ];
        let os = || Some(PathBuf::from("/os/tiktwitch"));
        assert_eq!(
            state_dir_from(vars(&all), os()),
            PathBuf::from("/var/lib/tiktwitch")
        );
        assert_eq!(
            state_dir_from(vars(&all[1..]), os()),
            PathBuf::from("/x/tiktwitch")
        );
        assert_eq!(
            state_dir_from(vars(&[("STATE_DIRECTORY", "")]), os()),
            PathBuf::from("/os/tiktwitch")
        );
        assert_eq!(
            state_dir_from(vars(&[]), None),
            PathBuf::from("tiktwitch-state")
        );
    }

    #[test]
    fn the_os_state_dir_follows_the_os_convention() {
        let Some(dir) = os_state_dir() else {
            return; // no home directory at all: the relative fallback applies
        };
        assert!(dir.ends_with("tiktwitch"), "{}", dir.display());
        let text = dir.to_string_lossy().replace('\\', "/");
        #[cfg(target_os = "linux")]
        assert!(
            text.contains(".local/state") || std::env::var_os("XDG_STATE_HOME").is_some(),
            "{text}"
        );
        #[cfg(target_os = "macos")]
        assert!(text.contains("Library/Application Support"), "{text}");
        #[cfg(target_os = "windows")]
        assert!(text.contains("AppData/Local"), "{text}");
    }

    #[test]
    fn names_are_checked() {
        for ok in ["twitch-token", "signer.api_key", "A1"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "a b", "ü", &"x".repeat(65)] {
            let err = validate_name(bad).unwrap_err();
            assert!(
                matches!(err, SecretError::InvalidName { .. }),
                "{bad:?}: {err}"
            );
        }
    }
}
