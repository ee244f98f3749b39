//! [`KeyringStore`]: the OS keyring through keyring-core, with the backend chosen explicitly.
//!
//! - `secret-service` (Linux default): the freedesktop Secret Service over D-Bus (GNOME
//!   Keyring, KWallet, KeePassXC) through the pure-Rust zbus store (cargo feature
//!   `secret-service`). Needs a session bus and an unlocked provider: a Linux desktop, or
//!   `dbus-run-session` + `gnome-keyring-daemon --unlock` on a server.
//! - `keyutils` (Linux): the kernel keyring. Works without D-Bus, but it is memory: cleared at
//!   reboot and after 3 idle days (`persistent_keyring_expiry`). A cache, not a home for a
//!   rotating refresh token; it is offered because desktops without a Secret Service have it.
//! - `keychain` (macOS default): the user's login keychain.
//! - `credential-manager` (Windows default): Windows Credential Manager (generic credentials,
//!   target `<secret name>.tiktwitch`, e.g. `twitch-token.tiktwitch`, as keyring-rs files them).
//!
//! Entry calls block (D-Bus round trips, syscalls), so they run on the store's own thread.
//! keyring-core's in-memory mock is never used here; if the chosen backend is unavailable,
//! opening fails and says so.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use keyring_core::api::CredentialStore;

use super::{InstanceLock, Secret, SecretError, SecretStore, validate_name};

/// Which OS keyring `secret_store = "keyring"` uses. The default is the one the OS has:
/// [`KeyringBackend::for_this_os`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyringBackend {
    /// The freedesktop Secret Service over D-Bus (Linux desktops).
    SecretService,
    /// The Linux kernel keyutils keyring (cleared at reboot).
    Keyutils,
    /// The macOS login keychain.
    Keychain,
    /// Windows Credential Manager.
    CredentialManager,
}

impl Default for KeyringBackend {
    fn default() -> Self {
        Self::for_this_os()
    }
}

impl KeyringBackend {
    /// Every backend, in the order `check` and the docs list them.
    pub const ALL: [Self; 4] = [
        Self::SecretService,
        Self::Keyutils,
        Self::Keychain,
        Self::CredentialManager,
    ];

    /// The OS's own keyring: the Keychain on macOS, Credential Manager on Windows, the
    /// Secret Service elsewhere.
    pub const fn for_this_os() -> Self {
        if cfg!(target_os = "macos") {
            Self::Keychain
        } else if cfg!(target_os = "windows") {
            Self::CredentialManager
        } else {
            Self::SecretService
        }
    }

    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretService => "secret-service",
            Self::Keyutils => "keyutils",
            Self::Keychain => "keychain",
            Self::CredentialManager => "credential-manager",
        }
    }

    /// Whether this build can open the backend at all (it exists on this OS, and the cargo
    /// feature that brings it is on). `check` refuses a backend this says no to.
    pub const fn is_built_in(self) -> bool {
        match self {
            Self::SecretService => cfg!(all(target_os = "linux", feature = "secret-service")),
            Self::Keyutils => cfg!(target_os = "linux"),
            Self::Keychain => cfg!(target_os = "macos"),
            Self::CredentialManager => cfg!(target_os = "windows"),
        }
    }
}

impl fmt::Display for KeyringBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyringBackend {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| SecretError::UnknownKeyringBackend(s.to_string()))
    }
}

/// Secrets in the OS keyring, each an entry with service = the configured service name
/// (`tiktwitch`) and user = the secret's name.
///
/// Every keyring call runs on one dedicated thread per store: the keyutils session-keyring
/// fix lives in that thread's credentials (Linux credentials are per thread, so a
/// `spawn_blocking` pool thread without the fix gets `AccessDenied`), and keyring-core warns
/// that concurrent calls (D-Bus especially) can fail.
#[derive(Clone)]
pub struct KeyringStore {
    backend: KeyringBackend,
    service: String,
    jobs: std::sync::mpsc::Sender<Job>,
    lock: Option<Arc<InstanceLock>>,
}

type Job = Box<dyn FnOnce(&CredentialStore) + Send>;

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("backend", &self.backend)
            .field("service", &self.service)
            .field("lock", &self.lock.as_ref().map(|l| l.path().to_path_buf()))
            .finish()
    }
}

impl KeyringStore {
    /// Connects to `backend`. Fails with [`SecretError::KeyringUnavailable`] (saying what to
    /// do) if it cannot be reached; never falls back to anything else.
    pub async fn open(backend: KeyringBackend, service: &str) -> Result<Self, SecretError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("keyring-{backend}"))
            .spawn(move || {
                let store = match connect(backend) {
                    Ok(store) => {
                        let _ = ready_tx.send(Ok(()));
                        store
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // Ends when every KeyringStore clone (every Sender) is dropped.
                while let Ok(job) = queue.recv() {
                    job(store.as_ref());
                }
            })
            .map_err(|e| SecretError::Task(format!("starting the keyring thread: {e}")))?;
        ready_rx
            .await
            .map_err(|_| SecretError::Task("the keyring thread died".to_string()))??;
        let this = Self {
            backend,
            service: service.to_string(),
            jobs,
            lock: None,
        };
        // Connecting proves little (a Secret Service may be locked, a keyring may refuse
        // access): one read of an entry that need not exist proves the store answers.
        this.get("tiktwitch-probe").await.map_err(|e| match e {
            SecretError::Keyring { reason, .. } => unavailable(backend, reason),
            other => other,
        })?;
        Ok(this)
    }

    /// Holds `lock` (the state directory's) for the store's lifetime.
    pub fn with_lock(mut self, lock: Option<InstanceLock>) -> Self {
        self.lock = lock.map(Arc::new);
        self
    }

    /// The backend in use.
    pub fn backend(&self) -> KeyringBackend {
        self.backend
    }

    async fn with_entry<T: Send + 'static>(
        &self,
        op: &'static str,
        name: &str,
        f: impl FnOnce(&keyring_core::Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, SecretError> {
        validate_name(name)?;
        let (service, user) = (self.service.clone(), name.to_string());
        let backend = self.backend;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store: &CredentialStore| {
            let result = store
                .build(&service, &user, None)
                .and_then(|entry| f(&entry))
                .map_err(|e| map_error(backend, op, &user, e));
            let _ = tx.send(result);
        });
        let died = || SecretError::Task("the keyring thread died".to_string());
        self.jobs.send(job).map_err(|_| died())?;
        rx.await.map_err(|_| died())?
    }
}

#[async_trait]
impl SecretStore for KeyringStore {
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        self.with_entry("get", name, |entry| match entry.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        let value = value.clone();
        // One call: Item.SetSecret on the existing item (or CreateItem) over D-Bus, one
        // add_key/update for keyutils. Either the old value or the new one is stored, never
        // a mix; the provider makes it durable (gnome-keyring rewrites its file atomically).
        self.with_entry("set", name, move |entry| entry.set_password(value.expose()))
            .await
    }

    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        self.with_entry("delete", name, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }

    fn describe(&self) -> String {
        format!("keyring {} (service {:?})", self.backend, self.service)
    }
}

fn unavailable(backend: KeyringBackend, reason: String) -> SecretError {
    let hint = match backend {
        KeyringBackend::SecretService => {
            "A Secret Service needs a D-Bus session bus and an unlocked provider (GNOME Keyring, KWallet, KeePassXC); on a server run tiktwitch under `dbus-run-session` with `gnome-keyring-daemon --unlock`."
        }
        KeyringBackend::Keyutils => {
            "The kernel keyring may be blocked (containers' seccomp profiles block keyctl)."
        }
        KeyringBackend::Keychain => {
            "The login keychain must be unlocked (a launchd agent runs in the user's session; a LaunchDaemon has no login keychain)."
        }
        KeyringBackend::CredentialManager => {
            "Credential Manager belongs to a logged-in user: a service running as LocalSystem sees its own, empty vault."
        }
    };
    SecretError::KeyringUnavailable {
        backend: backend.as_str(),
        reason,
        hint,
    }
}

/// keyring-core errors, turned into text that never holds a value: `BadEncoding` and
/// `BadDataFormat` carry the stored bytes, so only their kind is kept.
fn map_error(
    backend: KeyringBackend,
    op: &'static str,
    name: &str,
    e: keyring_core::Error,
) -> SecretError {
    use keyring_core::Error as E;
    let reason = match e {
        E::NoStorageAccess(inner) => {
            return unavailable(backend, format!("no access to the store: {inner}"));
        }
        E::NoDefaultStore => return unavailable(backend, "no store".to_string()),
        E::PlatformFailure(inner) => format!("platform failure: {inner}"),
        E::NoEntry => "no such entry".to_string(),
        E::BadEncoding(_) => "the stored value is not UTF-8".to_string(),
        E::BadDataFormat(_, inner) => format!("the stored value has a bad format: {inner}"),
        E::BadStoreFormat(what) => format!("bad store format: {what}"),
        E::TooLong(attr, limit) => format!("{attr} is longer than {limit}"),
        E::Invalid(attr, why) => format!("invalid {attr}: {why}"),
        E::Ambiguous(entries) => format!("{} entries match", entries.len()),
        E::NotSupportedByStore(why) => format!("not supported: {why}"),
        _ => "unknown keyring error".to_string(),
    };
    SecretError::Keyring {
        backend: backend.as_str(),
        op,
        name: name.to_string(),
        reason,
    }
}

fn connect(backend: KeyringBackend) -> Result<Arc<CredentialStore>, SecretError> {
    match backend {
        KeyringBackend::SecretService => connect_secret_service(),
        KeyringBackend::Keyutils => connect_keyutils(),
        KeyringBackend::Keychain => connect_keychain(),
        KeyringBackend::CredentialManager => connect_credential_manager(),
    }
}

/// The error for a backend this build does not have.
fn not_built_in(backend: KeyringBackend) -> SecretError {
    let why = match backend {
        KeyringBackend::SecretService if cfg!(target_os = "linux") => {
            "this build has no Secret Service support (the `secret-service` cargo feature is off)"
        }
        KeyringBackend::SecretService | KeyringBackend::Keyutils => "it exists on Linux only",
        KeyringBackend::Keychain => "it exists on macOS only",
        KeyringBackend::CredentialManager => "it exists on Windows only",
    };
    unavailable(
        backend,
        format!(
            "{why}; this OS's keyring is keyring_backend = \"{}\"",
            KeyringBackend::for_this_os()
        ),
    )
}

#[cfg(all(target_os = "linux", feature = "secret-service"))]
fn connect_secret_service() -> Result<Arc<CredentialStore>, SecretError> {
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| unavailable(KeyringBackend::SecretService, e.to_string()))?;
    Ok(store)
}

#[cfg(not(all(target_os = "linux", feature = "secret-service")))]
fn connect_secret_service() -> Result<Arc<CredentialStore>, SecretError> {
    Err(not_built_in(KeyringBackend::SecretService))
}

#[cfg(target_os = "linux")]
fn connect_keyutils() -> Result<Arc<CredentialStore>, SecretError> {
    // A process that only has the shared user-session keyring (cron, ssh, CI, containers)
    // does not "possess" keys reached through it, so keyring-rs cannot link its keys into
    // the persistent keyring (EACCES). Asking for the session keyring with create=true gives
    // such a process a fresh, possessed one (shared/docs/crates.md section 4.2). A process
    // that already has a session keyring keeps it.
    if let Err(e) =
        linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::Session, true)
    {
        return Err(unavailable(
            KeyringBackend::Keyutils,
            format!("cannot get a session keyring: {e:?}"),
        ));
    }
    tracing::warn!(
        "secret store: kernel keyutils keyring; its secrets are cleared at reboot and after 3 idle days"
    );
    let store = linux_keyutils_keyring_store::Store::new()
        .map_err(|e| unavailable(KeyringBackend::Keyutils, e.to_string()))?;
    Ok(store)
}

#[cfg(not(target_os = "linux"))]
fn connect_keyutils() -> Result<Arc<CredentialStore>, SecretError> {
    Err(not_built_in(KeyringBackend::Keyutils))
}

#[cfg(target_os = "macos")]
fn connect_keychain() -> Result<Arc<CredentialStore>, SecretError> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| unavailable(KeyringBackend::Keychain, e.to_string()))?;
    Ok(store)
}

#[cfg(not(target_os = "macos"))]
fn connect_keychain() -> Result<Arc<CredentialStore>, SecretError> {
    Err(not_built_in(KeyringBackend::Keychain))
}

#[cfg(target_os = "windows")]
fn connect_credential_manager() -> Result<Arc<CredentialStore>, SecretError> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|e| unavailable(KeyringBackend::CredentialManager, e.to_string()))?;
    Ok(store)
}

#[cfg(not(target_os = "windows"))]
fn connect_credential_manager() -> Result<Arc<CredentialStore>, SecretError> {
    Err(not_built_in(KeyringBackend::CredentialManager))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_parse_print_and_default_per_os() {
        for b in KeyringBackend::ALL {
            assert_eq!(b.as_str().parse::<KeyringBackend>().unwrap(), b);
        }
        assert!("gnome".parse::<KeyringBackend>().is_err());
        let default = KeyringBackend::default();
        assert!(default.is_built_in() || cfg!(not(feature = "secret-service")));
        #[cfg(target_os = "linux")]
        assert_eq!(default, KeyringBackend::SecretService);
        #[cfg(target_os = "macos")]
        assert_eq!(default, KeyringBackend::Keychain);
        #[cfg(target_os = "windows")]
        assert_eq!(default, KeyringBackend::CredentialManager);
    }

    #[tokio::test]
    async fn a_foreign_backend_is_refused_with_this_oss_name() {
        let foreign = if cfg!(target_os = "macos") {
            KeyringBackend::CredentialManager
        } else {
            KeyringBackend::Keychain
        };
        assert!(!foreign.is_built_in());
        let err = KeyringStore::open(foreign, "tiktwitch-test")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(foreign.as_str()) && err.contains(KeyringBackend::for_this_os().as_str()),
            "{err}"
        );
    }
}
