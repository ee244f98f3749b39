//! [`SecretError`]: what can go wrong in a secret store. No variant carries a secret value.

use std::path::PathBuf;

/// An error from a secret store. Messages name the store, the secret's name and the path,
/// never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `keyring_backend` named no known backend.
    #[error(
        "unknown keyring backend {0:?}: choose \"secret-service\", \"keyutils\" (Linux), \"keychain\" (macOS) or \"credential-manager\" (Windows)"
    )]
    UnknownKeyringBackend(String),
    /// A secret name that no store could hold.
    #[error("invalid secret name {name:?}: {reason}")]
    InvalidName {
        /// The name (cut to 80 characters).
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The store cannot be written.
    #[error(
        "the {store} secret store is read-only; cannot {op} {name:?} (use secret_store = \"file\" or \"keyring\" for secrets tiktwitch must write)"
    )]
    ReadOnly {
        /// The store kind.
        store: &'static str,
        /// What was tried: "set" or "delete".
        op: &'static str,
        /// The secret's name.
        name: String,
    },
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The secrets file is readable or writable by group or others.
    #[error(
        "{path} is accessible by group or others (mode {mode:04o}); refusing to use it. Run `chmod 600 {path}` if you trust its content, or delete it"
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The state directory is writable by group or others.
    #[error(
        "state directory {path} is writable by group or others (mode {mode:04o}); refusing to keep secrets there. Run `chmod 700 {path}` if only this user should use it, or set state_dir to a private directory"
    )]
    InsecureDirectory {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Another process holds the store's lock.
    #[error(
        "{path} is locked by another tiktwitch process (a running bridge?); stop it first, only one instance may use this state directory"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The secrets file cannot be parsed.
    #[error("{path} is not a valid tiktwitch secrets file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the content).
        reason: String,
    },
    /// `secret_store = "keyring"` was chosen and the keyring cannot be reached.
    #[error(
        "secret_store = \"keyring\" ({backend}) is not available: {reason}. {hint} Or choose secret_store = \"file\"; tiktwitch never falls back to another store by itself"
    )]
    KeyringUnavailable {
        /// The backend.
        backend: &'static str,
        /// The platform's error.
        reason: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// A keyring operation failed.
    #[error("keyring ({backend}): {op} {name:?} failed: {reason}")]
    Keyring {
        /// The backend.
        backend: &'static str,
        /// "get", "set" or "delete".
        op: &'static str,
        /// The secret's name.
        name: String,
        /// The platform's error (never the value).
        reason: String,
    },
    /// A blocking store task died.
    #[error("secret store task failed: {0}")]
    Task(String),
}
