//! `tiktwitch secret set|delete NAME`: put a secret into (or take it out of) the chosen
//! store. The value comes from standard input when it is not a terminal, else from a
//! hidden prompt; it is never a command-line argument (those end up in shell history and
//! `ps`).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::schema::Config;
use crate::daemon::plan;
use crate::secret::{
    FileStoreMode, KeyringBackend, Secret, SecretStoreKind, SecretStoreSettings, open_store,
    validate_name,
};

/// Where secrets live: flags shared by `auth` and `secret`. Each flag overrides the config
/// file (`secret_store`, `state_dir`); with neither, the defaults apply (`auto`).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreOptions {
    /// Where secrets are kept: auto, keyring, file or env (default: the config's
    /// `secret_store`, else auto: the OS keyring if it answers, else file).
    #[arg(long, global = true, env = "TIKTWITCH_SECRET_STORE", value_parser = parse_kind)]
    pub secret_store: Option<SecretStoreKind>,
    /// Which OS keyring `keyring` (and `auto`) use: secret-service or keyutils (Linux),
    /// keychain (macOS), credential-manager (Windows); default: this OS's own.
    #[arg(long, global = true, env = "TIKTWITCH_KEYRING_BACKEND", value_parser = parse_backend)]
    pub keyring_backend: Option<KeyringBackend>,
    /// The state directory (default: the config's `state_dir`, else $STATE_DIRECTORY,
    /// $XDG_STATE_HOME/tiktwitch, or the OS's place: ~/.local/state/tiktwitch,
    /// ~/Library/Application Support/tiktwitch, %LOCALAPPDATA%\tiktwitch).
    #[arg(long, global = true, env = "TIKTWITCH_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

fn parse_kind(s: &str) -> Result<SecretStoreKind, String> {
    s.parse()
}

fn parse_backend(s: &str) -> Result<KeyringBackend, String> {
    s.parse()
        .map_err(|e: crate::secret::SecretError| e.to_string())
}

impl StoreOptions {
    /// The store settings: these flags over the config file `file` (if any) over the
    /// defaults.
    pub fn settings(&self, file: Option<&Config>) -> SecretStoreSettings {
        let mut settings = file.map(plan::secret_store_settings).unwrap_or_default();
        if let Some(backend) = self.keyring_backend {
            settings.keyring_backend = backend;
        }
        if let Some(kind) = self.secret_store {
            settings.kind = kind;
        }
        if let Some(dir) = &self.state_dir {
            settings.state_dir = dir.clone();
        }
        settings
    }
}

/// Arguments of `tiktwitch secret`.
#[derive(Debug, clap::Args)]
pub struct SecretArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SecretCommand,
    /// Where secrets live.
    #[command(flatten)]
    pub store: StoreOptions,
}

/// `tiktwitch secret` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret (read from stdin, or a hidden prompt on a terminal).
    Set {
        /// The secret's name, e.g. tiktok-signer-api-key, twitch-client-secret,
        /// tiktok-session-id.
        name: String,
    },
    /// Delete a secret.
    Delete {
        /// The secret's name.
        name: String,
    },
}

/// Runs `tiktwitch secret ...` with the config file at `config_path` (or the default path;
/// none is fine).
pub fn run(args: &SecretArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let file = super::config_file::read(config_path)?;
    let settings = args.store.settings(file.as_ref().map(|f| &f.config));
    let runtime = super::auth::runtime()?;
    runtime.block_on(async {
        match &args.command {
            SecretCommand::Set { name } => {
                let name = crate::secret::names::canonical(name);
                validate_name(name)?;
                let value = read_secret(&format!("value for {name}: "))?;
                let store = open_store(&settings, FileStoreMode::Exclusive).await?;
                store.set(name, &value).await?;
                stderr_line!("stored {name} in {}", store.describe());
            }
            SecretCommand::Delete { name } => {
                // Delete takes the name as given: it is how an old spelling is removed.
                validate_name(name)?;
                let store = open_store(&settings, FileStoreMode::Exclusive).await?;
                if store.delete(name).await? {
                    stderr_line!("deleted {name} from {}", store.describe());
                } else {
                    stderr_line!("{name} was not in {}", store.describe());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Reads one secret: all of stdin when it is not a terminal (one trailing newline
/// dropped), else a hidden prompt.
pub(crate) fn read_secret(prompt: &str) -> anyhow::Result<Secret> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading the secret from the terminal")?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(crate::limits::MAX_SECRETS_FILE_BYTES)
            .read_to_string(&mut text)
            .context("reading the secret from standard input")?;
        let trimmed = text.strip_suffix('\n').unwrap_or(&text);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    };
    anyhow::ensure!(!value.is_empty(), "the secret is empty; nothing stored");
    Ok(Secret::new(value))
}
