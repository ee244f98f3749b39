//! [`FileStore`]: secrets in one 0600 JSON file under the state directory.
//!
//! Like ssh with a private key, the store refuses a file that group or others can access.
//! Every write goes to a temp file that is fsynced and renamed over the old one, and then the
//! directory is fsynced, so a crash leaves either the old file or the new one, never half
//! of one. An [`InstanceLock`] on the directory, held for the store's lifetime, keeps a
//! second tiktwitch from writing (or refreshing tokens) at the same time.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::lock::InstanceLock;
use super::{Secret, SecretError, SecretStore, validate_name};
use crate::limits::MAX_SECRETS_FILE_BYTES;

/// The secrets file's name inside the state directory.
pub const SECRETS_FILE: &str = "secrets.json";

/// How a [`FileStore`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStoreMode {
    /// Takes the lock (fails if another process holds it); reads and writes.
    Exclusive,
    /// No lock; reads only. For `auth status` and `check` next to a running bridge (writes
    /// are atomic renames, so a reader never sees half a file).
    ReadOnly,
}

/// Secrets in `<state_dir>/secrets.json` (mode 0600).
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The names, never the values.
        let names: Vec<String> = self
            .inner
            .secrets
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("FileStore")
            .field("path", &self.inner.path)
            .field("mode", &self.inner.mode)
            .field("names", &names)
            .finish()
    }
}

struct Inner {
    dir: PathBuf,
    path: PathBuf,
    mode: FileStoreMode,
    /// The file's content as last written by us; the lock guarantees nobody else writes.
    secrets: Mutex<BTreeMap<String, String>>,
    /// Held for the store's lifetime (exclusive mode only).
    _lock: Option<InstanceLock>,
}

/// The file's JSON form.
#[derive(Serialize, Deserialize)]
struct SecretsFile {
    version: u32,
    secrets: BTreeMap<String, String>,
}

impl FileStore {
    /// Opens (creating the directory, mode 0700, if missing) the store in `dir`.
    ///
    /// Fails if the directory or the secrets file is accessible by group or others (Unix), if it cannot be parsed,
    /// or (in [`FileStoreMode::Exclusive`]) if another process holds the lock.
    pub async fn open(dir: &Path, mode: FileStoreMode) -> Result<Self, SecretError> {
        let dir = dir.to_path_buf();
        blocking(move || Self::open_blocking(dir, mode)).await
    }

    fn open_blocking(dir: PathBuf, mode: FileStoreMode) -> Result<Self, SecretError> {
        // Before the lock (which creates a missing directory 0700): an existing directory
        // others can write could have its files swapped under us, so it is not trusted.
        check_private_dir(&dir)?;
        let lock = match mode {
            FileStoreMode::Exclusive => Some(InstanceLock::acquire(&dir)?),
            FileStoreMode::ReadOnly => None,
        };
        let path = dir.join(SECRETS_FILE);
        let secrets = read_secrets(&path)?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                path,
                mode,
                secrets: Mutex::new(secrets),
                _lock: lock,
            }),
        })
    }

    /// The secrets file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn check_writable(&self, op: &'static str, name: &str) -> Result<(), SecretError> {
        match self.inner.mode {
            FileStoreMode::Exclusive => Ok(()),
            FileStoreMode::ReadOnly => Err(SecretError::ReadOnly {
                store: "file (opened read-only)",
                op,
                name: name.to_string(),
            }),
        }
    }

    /// Applies `change` to the map and writes the file; the map changes only if the write
    /// succeeded.
    async fn update<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> T + Send + 'static,
    ) -> Result<T, SecretError> {
        let inner = self.inner.clone();
        blocking(move || {
            let mut secrets = inner.secrets.lock().unwrap_or_else(|p| p.into_inner());
            let mut next = secrets.clone();
            let out = change(&mut next);
            write_atomically(&inner.dir, &inner.path, &next)?;
            *secrets = next;
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl SecretStore for FileStore {
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        validate_name(name)?;
        if self.inner.mode == FileStoreMode::ReadOnly {
            // No lock: someone else may have written since we opened; read afresh.
            let path = self.inner.path.clone();
            let fresh = blocking(move || read_secrets(&path)).await?;
            return Ok(fresh.get(name).cloned().map(Secret::new));
        }
        let secrets = self.inner.secrets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(secrets.get(name).cloned().map(Secret::new))
    }

    async fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        validate_name(name)?;
        self.check_writable("set", name)?;
        let (name, value) = (name.to_string(), value.expose().to_string());
        self.update(move |m| {
            m.insert(name, value);
        })
        .await
    }

    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        validate_name(name)?;
        self.check_writable("delete", name)?;
        let present = self
            .inner
            .secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(name);
        if !present {
            return Ok(false);
        }
        let name = name.to_string();
        self.update(move |m| m.remove(&name).is_some()).await
    }

    fn describe(&self) -> String {
        format!("file {}", self.inner.path.display())
    }

    fn is_writable(&self) -> bool {
        self.inner.mode == FileStoreMode::Exclusive
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SecretError::Task(e.to_string()))?
}

fn io_err<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> SecretError + 'p {
    move |source| SecretError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the secrets file; a missing file is an empty store.
fn read_secrets(path: &Path) -> Result<BTreeMap<String, String>, SecretError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_err("opening", path)(e)),
    };
    let meta = file
        .metadata()
        .map_err(io_err("reading metadata of", path))?;
    check_private(path, &meta)?;
    if meta.len() > MAX_SECRETS_FILE_BYTES {
        return Err(SecretError::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "it is {} bytes, more than the {MAX_SECRETS_FILE_BYTES} allowed",
                meta.len()
            ),
        });
    }
    let mut text = String::new();
    file.take(MAX_SECRETS_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io_err("reading", path))?;
    // Never serde's own message: it quotes the value it did not expect (a secret).
    let parsed: SecretsFile =
        super::json::parse(&text).map_err(|reason| SecretError::Corrupt {
            path: path.to_path_buf(),
            reason,
        })?;
    if parsed.version != 1 {
        return Err(SecretError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("unknown version {}", parsed.version),
        });
    }
    Ok(parsed.secrets)
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &fs::Metadata) -> Result<(), SecretError> {
    Ok(())
}

/// The state directory, if it exists, must not be writable by group or others, as ssh
/// wants of `~/.ssh`: whoever can write the directory can replace `secrets.json` (or plant
/// the temp file or the lock) even though the file itself is 0600. Read and search bits are
/// allowed, as ssh allows them: they show that the file exists, not what it holds (the
/// file's own 0600 is checked separately). A sticky bit does not make a shared directory
/// (`/tmp`, mode 1777) trusted.
#[cfg(unix)]
fn check_private_dir(dir: &Path) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("reading metadata of", dir)(e)),
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(SecretError::InsecureDirectory {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// On Windows the directory lives in the user's profile, whose ACL is the protection; mode
/// bits do not exist there.
#[cfg(not(unix))]
fn check_private_dir(_dir: &Path) -> Result<(), SecretError> {
    Ok(())
}

/// Temp file (0600) + write + fsync + rename + fsync of the directory.
fn write_atomically(
    dir: &Path,
    path: &Path,
    secrets: &BTreeMap<String, String>,
) -> Result<(), SecretError> {
    let body = serde_json::to_vec_pretty(&SecretsFile {
        version: 1,
        secrets: secrets.clone(),
    })
    .map_err(|e| SecretError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let tmp = dir.join(format!("{SECRETS_FILE}.tmp"));
    // A temp file left by a crash may exist with any mode: remove it so ours is created 0600.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("removing stale temp file", &tmp)(e)),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io_err("creating", &tmp))?;
    file.write_all(&body).map_err(io_err("writing", &tmp))?;
    file.sync_all().map_err(io_err("fsyncing", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err("renaming temp file over", path))?;
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsyncing directory", dir))?;
    Ok(())
}
