//! `tiktwitch init`: a first config for people who installed the binary and have nothing
//! else. It asks for the TikTok creator and the Twitch channel, signs the bot in with the
//! device flow, stores the token (and the signer key, if given) in the secret store,
//! writes a commented config (mode 0600) to the OS's config folder, and ends with
//! `check --online`.
//!
//! Answers come from the flags first; whatever is missing is asked on standard input (one
//! line each, so a script can pipe them in), or is an error with `--non-interactive`. An
//! existing config is never replaced without `--force`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::CheckArgs;
use super::secret::StoreOptions;
use crate::auth::{AuthSettings, SystemClock, TWITCH_OAUTH_URL, account};
use crate::config::load::default_path;
use crate::config::schema::{SIGNER_API_KEY_SECRET, SecretStoreKind};
use crate::secret::{FileStoreMode, Secret, open_store};

/// Arguments of `tiktwitch init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The TikTok creator whose LIVE to mirror (`@name` or a profile URL).
    #[arg(long, value_name = "USER")]
    pub tiktok: Option<String>,
    /// The Twitch channel to post into (its login name).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// The Twitch app's client id (register one at dev.twitch.tv/console: category
    /// "Chat Bot", client type "Public").
    #[arg(long, env = "TIKTWITCH_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The bot's Twitch login; by default the account that signs in.
    #[arg(long)]
    pub bot_login: Option<String>,
    /// Twitch's OAuth base URL (default https://id.twitch.tv/oauth2); written to the
    /// config when set.
    #[arg(long, env = "TIKTWITCH_OAUTH_URL")]
    pub oauth_url: Option<String>,
    /// Do not ask anything: every value must come from a flag.
    #[arg(long)]
    pub non_interactive: bool,
    /// Replace an existing config file.
    #[arg(long)]
    pub force: bool,
    /// Do not sign in now (later: `tiktwitch auth twitch`); `--bot-login` is then needed.
    #[arg(long)]
    pub no_login: bool,
    /// Do not ask for the signer API key (later: `tiktwitch secret set tiktok-signer-api-key`).
    #[arg(long)]
    pub no_signer_key: bool,
    /// Do not run `check --online` at the end.
    #[arg(long)]
    pub no_check: bool,
    /// Where secrets live.
    #[command(flatten)]
    pub store: StoreOptions,
}

/// The answers a config is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// `[tiktok] username`.
    pub tiktok: String,
    /// `[twitch] channels`, one.
    pub channel: String,
    /// `[twitch] bot_login`.
    pub bot_login: String,
    /// `[twitch] client_id`.
    pub client_id: String,
    /// `[twitch] oauth_base_url`, when not Twitch's.
    pub oauth_url: Option<String>,
    /// `secret_store`, when not the default.
    pub secret_store: Option<SecretStoreKind>,
    /// `state_dir`, when given.
    pub state_dir: Option<PathBuf>,
}

/// Runs `tiktwitch init`, writing to `config_path` (or the default path).
pub fn run(args: &InitArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let path = match config_path {
        Some(p) => p.to_path_buf(),
        None => default_path().context(
            "no config folder is known for this user (no home directory); pass --config FILE",
        )?,
    };
    if path.exists() && !args.force {
        bail!(
            "{} already exists; `tiktwitch check` it, or pass --force to replace it",
            path.display()
        );
    }
    let mut prompt = Prompt::new(args.non_interactive);
    let tiktok = prompt.value(
        &args.tiktok,
        "--tiktok",
        "TikTok creator whose LIVE to mirror (@name)",
    )?;
    let channel = prompt.value(
        &args.channel,
        "--channel",
        "Twitch channel to post into (its login name)",
    )?;
    let client_id = prompt.value(
        &args.client_id,
        "--client-id",
        "Twitch app client id (dev.twitch.tv/console -> Register: category Chat Bot, client type Public)",
    )?;
    let channel = channel.trim_start_matches('#').to_ascii_lowercase();

    let store_settings = args.store.settings(None);
    let auth = AuthSettings {
        client_id: client_id.clone(),
        oauth_url: args
            .oauth_url
            .clone()
            .unwrap_or_else(|| TWITCH_OAUTH_URL.to_string()),
        secret_store: store_settings.kind,
        keyring_backend: store_settings.keyring_backend,
        state_dir: store_settings.state_dir.clone(),
        expected_login: args.bot_login.as_ref().map(|l| l.to_ascii_lowercase()),
        ..AuthSettings::default()
    };
    let runtime = super::auth::runtime()?;
    let bot_login = runtime.block_on(async {
        let store = open_store(&store_settings, FileStoreMode::Exclusive)
            .await
            .context("opening the secret store")?;
        say(&format!("secrets go to: {}", store.describe()));
        if store_settings.kind == SecretStoreKind::Auto && store.describe().starts_with("file") {
            say("  (no OS keyring answered, so the 0600 file store is used)");
        }
        let bot_login = if args.no_login {
            match &args.bot_login {
                Some(login) => login.to_ascii_lowercase(),
                None => prompt.line("Twitch login of the bot account")?,
            }
        } else {
            let show_qr = std::io::stdout().is_terminal();
            let info = account::login_device(&auth, store.as_ref(), &SystemClock, |code| {
                super::auth::print_code(code, show_qr)
            })
            .await
            .context("signing the bot in to Twitch")?;
            let login = info
                .login
                .context("Twitch did not say which account signed in")?;
            say(&format!("signed in as {login}; token stored"));
            login
        };
        if !args.no_signer_key {
            let key = prompt.secret(
                "TikTok signer API key (eulerstream.com; Enter to skip, later: tiktwitch secret set tiktok-signer-api-key)",
            )?;
            if let Some(key) = key {
                store.set(SIGNER_API_KEY_SECRET, &key).await?;
                say(&format!("stored {SIGNER_API_KEY_SECRET}"));
            }
        }
        anyhow::Ok(bot_login)
    })?;
    let answers = Answers {
        tiktok,
        channel,
        bot_login,
        client_id,
        oauth_url: args.oauth_url.clone(),
        secret_store: args.store.secret_store,
        state_dir: args.store.state_dir.clone(),
    };
    write_config(&path, &config_text(&answers))?;
    say(&format!("wrote {} (mode 0600)", path.display()));
    if args.no_check {
        say(&format!(
            "next: tiktwitch --config {} check --online",
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    say("\nchecking it (tiktwitch check --online):");
    super::check::run(Some(&path), &CheckArgs { online: true })
}

/// The config `init` writes: the answers, with a comment on each, and pointers to the rest.
pub fn config_text(a: &Answers) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut text = String::from(
        "# tiktwitch config, written by `tiktwitch init`. Every option, with its default and\n\
         # what it does: config.example.toml in the repository. Check it with\n\
         #     tiktwitch check --online\n\
         # This file holds no secret: only their names; the values are in the secret store.\n\n",
    );
    if let Some(kind) = a.secret_store {
        text.push_str(&format!(
            "# Where secret values live (auto, keyring, file, env).\nsecret_store = {}\n\n",
            quote(kind.name())
        ));
    }
    if let Some(dir) = &a.state_dir {
        text.push_str(&format!(
            "# State (the file secret store, caches).\nstate_dir = {}\n\n",
            quote(&dir.to_string_lossy())
        ));
    }
    text.push_str(&format!(
        "[tiktok]\n\
         # Whose TikTok LIVE to mirror.\n\
         username = {}\n\
         # The signer's API key is the secret named here (tiktwitch secret set tiktok-signer-api-key).\n\
         signer_api_key = {}\n\n\
         [twitch]\n\
         # Where the lines go, and who posts them.\n\
         channels = [{}]\n\
         bot_login = {}\n\
         # The Twitch app (public client: no secret).\n\
         client_id = {}\n",
        quote(&a.tiktok),
        quote(SIGNER_API_KEY_SECRET),
        quote(&a.channel),
        quote(&a.bot_login),
        quote(&a.client_id),
    ));
    if let Some(url) = &a.oauth_url {
        text.push_str(&format!("oauth_base_url = {}\n", quote(url)));
    }
    text.push_str(
        "\n# Make the bot a moderator of the channel for 5x the line budget.\n\
         # How lines look: [routes.chat] template = \"[TT] {{ user.nickname }}: {{ text }}\" ...\n",
    );
    text
}

/// Writes `text` to `path` with mode 0600 (created in its folder, then renamed over the
/// target, so a half-written config never exists).
fn write_config(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn say(text: &str) {
    stdout_line!("{text}");
}

/// Questions on standard input, one answer a line.
struct Prompt {
    non_interactive: bool,
    input: std::io::StdinLock<'static>,
}

impl Prompt {
    fn new(non_interactive: bool) -> Self {
        Self {
            non_interactive,
            input: std::io::stdin().lock(),
        }
    }

    /// `given`, else the answer to `question`; with `--non-interactive` a missing value is
    /// an error naming `flag`.
    fn value(
        &mut self,
        given: &Option<String>,
        flag: &str,
        question: &str,
    ) -> anyhow::Result<String> {
        match given.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Ok(v.to_string()),
            None if self.non_interactive => bail!("{flag} is required with --non-interactive"),
            None => self.line(question),
        }
    }

    /// One non-empty line.
    fn line(&mut self, question: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            !self.non_interactive,
            "{question}: no answer (--non-interactive)"
        );
        loop {
            let answer = self.read(question)?;
            if !answer.is_empty() {
                return Ok(answer);
            }
        }
    }

    /// A secret: hidden on a terminal, else one line; empty means none.
    fn secret(&mut self, question: &str) -> anyhow::Result<Option<Secret>> {
        if self.non_interactive {
            return Ok(None);
        }
        let value = if std::io::stdin().is_terminal() {
            rpassword::prompt_password(format!("{question}: "))
                .context("reading the secret from the terminal")?
        } else {
            self.read(question)?
        };
        Ok((!value.is_empty()).then(|| Secret::new(value)))
    }

    fn read(&mut self, question: &str) -> anyhow::Result<String> {
        {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{question}: ");
            let _ = out.flush();
        }
        let mut answer = String::new();
        let n = std::io::Read::take(&mut self.input, crate::limits::MAX_PROMPT_ANSWER_BYTES)
            .read_line(&mut answer)
            .context("reading standard input")?;
        if n == 0 {
            bail!("{question}: no answer (standard input ended)");
        }
        if !std::io::stdin().is_terminal() {
            // Piped answers are not echoed by a terminal: end the prompt's line.
            let _ = writeln!(std::io::stdout());
        }
        Ok(answer.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_config_loads_with_the_answers() {
        let answers = Answers {
            tiktok: "@alice \"quoted\"".into(),
            channel: "chan_a".into(),
            bot_login: "my_bot".into(),
            client_id: "abc123".into(),
            oauth_url: Some("http://127.0.0.1:9/oauth2".into()),
            secret_store: Some(SecretStoreKind::File),
            state_dir: Some(PathBuf::from("C:\\Users\\me\\state")),
        };
        let text = config_text(&answers);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        write_config(&path, &text).unwrap();
        let tree = crate::config::load::read_tree(&path, Some(Default::default())).unwrap();
        let mut problems = Vec::new();
        let (config, _) = crate::config::load::deserialize_collecting::<
            crate::config::schema::Config,
        >(tree, "", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let config = config.unwrap();
        assert_eq!(config.tiktok.username, "@alice \"quoted\"");
        assert_eq!(config.twitch.channels, ["chan_a"]);
        assert_eq!(config.twitch.bot_login, "my_bot");
        assert_eq!(config.twitch.client_id, "abc123");
        assert_eq!(config.twitch.oauth_base_url, "http://127.0.0.1:9/oauth2");
        assert_eq!(config.secret_store, SecretStoreKind::File);
        assert_eq!(
            config.state_dir,
            Some(PathBuf::from("C:\\Users\\me\\state"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
