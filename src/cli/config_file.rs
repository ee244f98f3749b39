//! The config file as the helper commands (`auth`, `secret`, `tail`, `record`) read it:
//! optional, and forgiving.
//!
//! `run`, `check` and `replay` need a whole, valid config. The helpers do not: a user's
//! first step may be `tiktwitch auth twitch` before any config exists, or with one still
//! half written. So a missing file means "flags and defaults only", and a file with
//! problems is used for the parts that read cleanly, with a note on stderr.

use std::path::{Path, PathBuf};

use crate::config::schema::Config;
use crate::config::{self, Bridge, LoadError, Loaded, load};

/// A config file that was found and read.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    /// Where it is.
    pub path: PathBuf,
    /// The typed file (keys with problems left at their defaults).
    pub config: Config,
    /// The bridges, when the whole file is valid.
    pub loaded: Option<Loaded>,
}

impl ConfigFile {
    /// The bridge called `name`, or the one mirroring `user` (a normalized handle), or the
    /// first; `None` when the file did not validate (then only the global sections apply).
    pub fn bridge(&self, name: Option<&str>, user: Option<&str>) -> Option<&Bridge> {
        let bridges = &self.loaded.as_ref()?.bridges;
        match (name, user) {
            (Some(name), _) => bridges.iter().find(|b| b.name == name),
            (None, Some(user)) => bridges.iter().find(|b| b.tiktok.username == user),
            (None, None) => bridges.first(),
        }
    }
}

/// Reads the config at `path` (or the default path). `Ok(None)` when there is no file;
/// an error only when the file is not TOML or not even its types can be read.
pub(crate) fn read(path: Option<&Path>) -> anyhow::Result<Option<ConfigFile>> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => match load::default_path() {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    match config::load(Some(&path), crate::pipeline::Pipeline::check) {
        Ok(loaded) => Ok(Some(ConfigFile {
            path,
            config: loaded.config.clone(),
            loaded: Some(loaded),
        })),
        Err(LoadError::NotFound { .. }) => Ok(None),
        Err(LoadError::Invalid { errors, .. }) => {
            let tree = load::read_tree(&path, None)?;
            let mut found = Vec::new();
            let (config, _) = load::deserialize_collecting::<Config>(tree, "", &mut found);
            let Some(config) = config else {
                anyhow::bail!("{}: {errors}", path.display());
            };
            let n = errors.problems.len();
            stderr_line!(
                "note: {} has {n} problem{} (see `tiktwitch check`); using what reads cleanly",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            Ok(Some(ConfigFile {
                path,
                config,
                loaded: None,
            }))
        }
        Err(other) => Err(other.into()),
    }
}
