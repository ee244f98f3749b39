//! What moderators set, per bridge: muted TikTok users, the `only` scope, a pause (with its
//! end, if timed). Kept in `<state_dir>/control.json` so a restart keeps it: written whole
//! to a temp file, fsynced and renamed over the old one, so the file is never half-written.
//! A file that cannot be read is moved aside (`control.json.unreadable`), not overwritten:
//! nothing a moderator set is lost to a bad write or a hand edit.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::command::Scope;
use crate::event::{Event, EventKind};
use crate::pipeline::moderation::Moderation;

/// The state file's name under `state_dir`.
pub const CONTROL_FILE: &str = "control.json";

/// Larger files are not read (the file holds at most a few thousand handles).
const MAX_CONTROL_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A pause set from chat or the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRecord {
    /// When it ends (milliseconds since the Unix epoch); `None`: until `resume`.
    pub until_unix_ms: Option<u64>,
    /// Who paused (a Twitch login, or `api`).
    pub by: String,
}

/// One bridge's moderator settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeSettings {
    /// Muted TikTok handles (lowercase, without `@`).
    pub muted: BTreeSet<String>,
    /// Which kinds are relayed.
    pub only: Scope,
    /// The pause in force, if any.
    pub paused: Option<PauseRecord>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFile {
    /// Format version (1).
    pub version: u32,
    /// Per bridge name.
    pub bridges: BTreeMap<String, BridgeSettings>,
}

/// Where the file is, or nowhere (no `state_dir`: settings last as long as the process).
#[derive(Debug, Clone)]
pub struct ControlStore {
    path: Option<PathBuf>,
}

/// Writing the state file failed (the shared state-file writer's error, naming the file).
pub type StoreError = crate::feed::persist::state_file::StateFileError;

impl ControlStore {
    /// The file `control.json` in `dir`.
    pub fn in_dir(dir: Option<&Path>) -> Self {
        Self {
            path: dir.map(|d| d.join(CONTROL_FILE)),
        }
    }

    /// The file's path, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What the file holds; empty when it does not exist. A file that cannot be read is
    /// moved aside and reported (the bridge starts with nothing muted, unpaused).
    pub fn load(&self) -> ControlFile {
        let Some(path) = &self.path else {
            return ControlFile::default();
        };
        match read(path) {
            Ok(Some(file)) => file,
            Ok(None) => ControlFile::default(),
            Err(reason) => {
                let aside = crate::feed::persist::state_file::set_aside(path);
                tracing::error!(
                    path = %path.display(),
                    %reason,
                    moved_to = %aside.map_or_else(|| "(left in place)".into(), |a| a.display().to_string()),
                    "the moderator control file cannot be read; starting with no mutes and no pause"
                );
                ControlFile::default()
            }
        }
    }

    /// Writes `file` atomically (temp file, fsync, rename, fsync of the directory:
    /// [`crate::feed::persist::state_file::write_json`]).
    pub fn save(&self, file: &ControlFile) -> Result<(), StoreError> {
        match &self.path {
            Some(path) => crate::feed::persist::state_file::write_json(path, file),
            None => Ok(()),
        }
    }
}

fn read(path: &Path) -> Result<Option<ControlFile>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONTROL_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CONTROL_FILE_BYTES {
        return Err(format!("larger than {MAX_CONTROL_FILE_BYTES} bytes"));
    }
    let file: ControlFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if file.version != 1 {
        return Err(format!("version {} (this build reads version 1)", file.version));
    }
    Ok(Some(file))
}

/// The rules one bridge's pipeline asks about each event: its mutes and scope, shared with
/// the controller that changes them.
#[derive(Debug, Clone, Default)]
pub struct BridgeRules {
    inner: Arc<RwLock<(BTreeSet<String>, Scope)>>,
}

impl BridgeRules {
    /// Replaces the mutes and scope.
    pub fn set(&self, muted: &BTreeSet<String>, only: Scope) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = (muted.clone(), only);
    }
}

/// Whether `only` lets an event of this kind through. The stream's lifecycle (paused,
/// resumed, ended) always passes: "the live has ended" is never restricted away.
fn in_scope(only: Scope, kind: &EventKind) -> bool {
    match only {
        Scope::All => true,
        Scope::Chat => matches!(
            kind,
            EventKind::Chat { .. } | EventKind::Emote { .. } | EventKind::Question { .. } | EventKind::Control { .. }
        ),
        Scope::Gifts => matches!(kind, EventKind::Gift { .. } | EventKind::Control { .. }),
    }
}

impl Moderation for BridgeRules {
    fn refuses(&self, event: &Event) -> Option<&'static str> {
        let rules = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let (muted, only) = &*rules;
        if let Some(user) = event.kind.user()
            && !muted.is_empty()
            && muted.contains(&user.username.to_ascii_lowercase())
        {
            return Some("muted");
        }
        (!in_scope(*only, &event.kind)).then_some("only")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Gift, Meta, User};

    fn chat(username: &str) -> Event {
        Event {
            meta: Meta::default(),
            kind: EventKind::Chat {
                user: User {
                    username: username.into(),
                    ..User::default()
                },
                text: "hi".into(),
                language: String::new(),
            },
        }
    }

    #[test]
    fn mutes_and_scope_name_their_rule() {
        let rules = BridgeRules::default();
        assert_eq!(rules.refuses(&chat("Alice")), None);
        rules.set(&BTreeSet::from(["alice".to_owned()]), Scope::All);
        assert_eq!(rules.refuses(&chat("Alice")), Some("muted"));
        assert_eq!(rules.refuses(&chat("bob")), None);
        rules.set(&BTreeSet::new(), Scope::Gifts);
        assert_eq!(rules.refuses(&chat("bob")), Some("only"));
        let gift = Event {
            meta: Meta::default(),
            kind: EventKind::Gift {
                user: User::default(),
                gift: Gift::default(),
                count: 1,
                streak_end: true,
                complete: true,
                streak_id: 0,
                to_user: None,
            },
        };
        assert_eq!(rules.refuses(&gift), None);
    }

    #[test]
    fn the_file_round_trips_and_a_bad_one_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = ControlStore::in_dir(Some(dir.path()));
        assert_eq!(store.load(), ControlFile::default());
        let mut file = ControlFile {
            version: 1,
            ..ControlFile::default()
        };
        file.bridges.entry("a".into()).or_default().muted.insert("alice".into());
        store.save(&file).unwrap();
        assert_eq!(store.load(), file);
        std::fs::write(dir.path().join(CONTROL_FILE), b"{not json").unwrap();
        assert_eq!(store.load(), ControlFile::default());
        assert!(dir.path().join("control.json.unreadable").exists(), "kept for a human");
    }
}
