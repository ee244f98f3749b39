//! [`InstanceLock`]: one tiktwitch per state directory.
//!
//! A refresh token is single-use: two processes refreshing the same login would each spend
//! the other's token. Every store tiktwitch writes tokens to is therefore opened under an
//! exclusive `flock` on `<state_dir>/secrets.lock`, held for the store's lifetime. The
//! kernel drops it when the process dies, so a crash never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::SecretError;

/// The lock file's name inside the state directory.
pub const LOCK_FILE: &str = "secrets.lock";

/// An exclusive lock on a state directory, held until dropped.
#[derive(Debug)]
pub struct InstanceLock {
    path: PathBuf,
    /// The flock lives as long as this handle.
    _file: File,
}

impl InstanceLock {
    /// Takes the lock on `state_dir` (creating the directory, mode 0700, if missing), or
    /// fails with [`SecretError::Locked`] if another process holds it. Blocking.
    pub fn acquire(state_dir: &Path) -> Result<Self, SecretError> {
        if !state_dir.exists() {
            create_private_dir(state_dir)?;
        }
        let path = state_dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|source| SecretError::Io {
            op: "opening lock file",
            path: path.clone(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Self { path, _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(SecretError::Locked { path }),
            Err(std::fs::TryLockError::Error(source)) => Err(SecretError::Io {
                op: "locking",
                path,
                source,
            }),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates `dir` (and parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), SecretError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| SecretError::Io {
        op: "creating state directory",
        path: dir.to_path_buf(),
        source,
    })
}
