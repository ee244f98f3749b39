//! `tiktwitch auth twitch | status | logout`: thin wrappers over [`crate::auth::account`].
//!
//! Settings come from the config file's `[twitch]` section and `secret_store`/`state_dir`
//! when there is one; every flag overrides it, and without a file the flags alone work.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::secret::StoreOptions;
use crate::auth::{AuthSettings, DeviceCode, SystemClock, TWITCH_OAUTH_URL, account};
use crate::config::schema::Config;
use crate::daemon::plan;
use crate::secret::{FileStoreMode, SecretStoreSettings, open_store};

/// Arguments of `tiktwitch auth`.
#[derive(Debug, clap::Args)]
pub struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuthCommand,
    /// The Twitch app's client id (dev.twitch.tv/console; a Public client needs no secret).
    /// Default: the config's `twitch.client_id`.
    #[arg(long, global = true, env = "TIKTWITCH_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Name of the client secret in the secret store (confidential clients only).
    /// Default: the config's `twitch.client_secret`.
    #[arg(long, global = true, env = "TIKTWITCH_CLIENT_SECRET_NAME")]
    pub client_secret_name: Option<String>,
    /// Twitch's OAuth base URL (default: the config's `twitch.oauth_base_url`, else
    /// https://id.twitch.tv/oauth2).
    #[arg(long, global = true, env = "TIKTWITCH_OAUTH_URL")]
    pub oauth_url: Option<String>,
    /// Name of the token secret (default: the config's `twitch.token`, else twitch-token).
    #[arg(long, global = true)]
    pub token_name: Option<String>,
    /// Require the Helix chat sink's scope (user:write:chat) instead of IRC's; implied by
    /// the config's `twitch.sink = "helix"` (with `helix_token = "app"`, user:bot too).
    #[arg(long, global = true)]
    pub helix: bool,
    /// Where secrets live.
    #[command(flatten)]
    pub store: StoreOptions,
}

/// `tiktwitch auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log the bot account in to Twitch (device code: open the URL on any device).
    Twitch {
        /// Store an access token you already have (read from stdin or a hidden prompt)
        /// instead of logging in. It cannot be renewed.
        #[arg(long)]
        token: bool,
        /// Do not draw the QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// Show who is logged in, the scopes and the expiry (never the token).
    Status,
    /// Revoke the token at Twitch and delete it.
    Logout,
}

impl AuthArgs {
    /// The auth and store settings: these flags over the config file `file` (if any) over
    /// the defaults.
    pub fn settings(&self, file: Option<&Config>) -> (AuthSettings, SecretStoreSettings) {
        let store = self.store.settings(file);
        let mut auth = match file {
            Some(config) => plan::twitch_auth_settings(config, &store),
            None => AuthSettings {
                oauth_url: TWITCH_OAUTH_URL.to_string(),
                secret_store: store.kind,
                keyring_backend: store.keyring_backend,
                state_dir: store.state_dir.clone(),
                ..AuthSettings::default()
            },
        };
        if let Some(id) = &self.client_id {
            auth.client_id = id.clone();
        }
        if let Some(name) = &self.client_secret_name {
            auth.client_secret_name = Some(name.clone());
        }
        if let Some(url) = &self.oauth_url {
            auth.oauth_url = url.clone();
        }
        if let Some(name) = &self.token_name {
            auth.token_secret_name = name.clone();
        }
        auth.helix_scopes |= self.helix;
        (auth, store)
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Runs `tiktwitch auth ...` with the config file at `config_path` (or the default path;
/// none is fine: the flags alone work).
pub fn run(args: &AuthArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let file = super::config_file::read(config_path)?;
    let (settings, store_settings) = args.settings(file.as_ref().map(|f| &f.config));
    runtime()?.block_on(async {
        let clock = SystemClock;
        match &args.command {
            AuthCommand::Twitch { token, no_qr } => {
                anyhow::ensure!(
                    !settings.client_id.is_empty(),
                    "no Twitch client id: set `twitch.client_id` in the config or pass --client-id \
                     (register an app at dev.twitch.tv/console)"
                );
                let store = open_store(&store_settings, FileStoreMode::Exclusive).await?;
                let info = if *token {
                    let access = super::secret::read_secret("access token: ")?;
                    account::login_with_token(&settings, store.as_ref(), &clock, access, None)
                        .await?
                } else {
                    let show_qr = !no_qr && std::io::stdout().is_terminal();
                    account::login_device(&settings, store.as_ref(), &clock, |code| {
                        print_code(code, show_qr)
                    })
                    .await?
                };
                stdout_line!(
                    "logged in as {} with scopes: {}",
                    info.login.as_deref().unwrap_or("(unknown)"),
                    info.scopes.join(" ")
                );
                stdout_line!("token stored in {}", store.describe());
            }
            AuthCommand::Status => {
                let store = open_store(&store_settings, FileStoreMode::ReadOnly).await?;
                let status = account::status(&settings, store.as_ref(), &clock).await?;
                stdout_line!("{status}");
            }
            AuthCommand::Logout => {
                let store = open_store(&store_settings, FileStoreMode::Exclusive).await?;
                let out = account::logout(&settings, store.as_ref()).await?;
                if !out.had_token {
                    stdout_line!("no Twitch login was stored in {}", store.describe());
                } else {
                    match out.revoked {
                        Ok(()) => stdout_line!("revoked at Twitch and deleted"),
                        Err(e) => stdout_line!(
                            "deleted locally, but Twitch could not be told ({e}); disconnect the app at twitch.tv/settings/connections"
                        ),
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub(super) fn print_code(code: &DeviceCode, show_qr: bool) {
    stdout_line!("To log the bot in, open this page on any device and sign in AS THE BOT ACCOUNT:");
    stdout_line!();
    stdout_line!("    {}", code.verification_uri);
    stdout_line!();
    stdout_line!("and check that it shows the code  {}", code.user_code);
    if show_qr && let Some(qr) = render_qr(&code.verification_uri) {
        stdout_line!();
        stdout_line!("{qr}");
    }
    stdout_line!(
        "waiting for approval (the code is good for {} minutes)...",
        code.expires_in.as_secs() / 60
    );
}

/// The URL as a QR code in half-block characters, if it fits the terminal's width.
fn render_qr(text: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let rendered = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    let width = rendered
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(80);
    (width <= columns).then_some(rendered)
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_code_of_a_twitch_url_fits_80_columns() {
        let qr =
            super::render_qr("https://www.twitch.tv/activate?public=true&device-code=ABCDEFGH")
                .expect("fits");
        assert!(qr.lines().count() > 10);
        assert!(qr.lines().all(|l| l.chars().count() <= 80));
    }
}
