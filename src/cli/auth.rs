//! `tiktwitch auth twitch | status | logout`: thin wrappers over [`crate::auth::account`].

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Subcommand;

use super::secret::StoreOptions;
use crate::auth::{AuthSettings, DeviceCode, SystemClock, TWITCH_OAUTH_URL, account};
use crate::secret::{FileStoreMode, open_store};

/// Arguments of `tiktwitch auth`.
#[derive(Debug, clap::Args)]
pub struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuthCommand,
    /// The Twitch app's client id (dev.twitch.tv/console; a Public client needs no secret).
    #[arg(long, global = true, env = "TIKTWITCH_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Name of the client secret in the secret store (confidential clients only).
    #[arg(long, global = true, env = "TIKTWITCH_CLIENT_SECRET_NAME")]
    pub client_secret_name: Option<String>,
    /// Twitch's OAuth base URL.
    #[arg(long, global = true, env = "TIKTWITCH_OAUTH_URL", default_value = TWITCH_OAUTH_URL)]
    pub oauth_url: String,
    /// Also require the Helix chat scopes (user:write:chat user:bot).
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
    /// The auth settings these flags give.
    pub fn settings(&self) -> AuthSettings {
        let store = self.store.settings();
        AuthSettings {
            client_id: self.client_id.clone().unwrap_or_default(),
            client_secret_name: self.client_secret_name.clone(),
            oauth_url: self.oauth_url.clone(),
            helix_scopes: self.helix,
            secret_store: store.kind,
            keyring_backend: store.keyring_backend,
            state_dir: store.state_dir,
            ..AuthSettings::default()
        }
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Runs `tiktwitch auth ...`.
pub fn run(args: &AuthArgs) -> anyhow::Result<ExitCode> {
    let settings = args.settings();
    let store_settings = args.store.settings();
    runtime()?.block_on(async {
        let clock = SystemClock;
        match &args.command {
            AuthCommand::Twitch { token, no_qr } => {
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
                println!(
                    "logged in as {} with scopes: {}",
                    info.login.as_deref().unwrap_or("(unknown)"),
                    info.scopes.join(" ")
                );
                println!("token stored in {}", store.describe());
            }
            AuthCommand::Status => {
                let store = open_store(&store_settings, FileStoreMode::ReadOnly).await?;
                let status = account::status(&settings, store.as_ref(), &clock).await?;
                println!("{status}");
            }
            AuthCommand::Logout => {
                let store = open_store(&store_settings, FileStoreMode::Exclusive).await?;
                let out = account::logout(&settings, store.as_ref()).await?;
                if !out.had_token {
                    println!("no Twitch login was stored in {}", store.describe());
                } else {
                    match out.revoked {
                        Ok(()) => println!("revoked at Twitch and deleted"),
                        Err(e) => println!(
                            "deleted locally, but Twitch could not be told ({e}); disconnect the app at twitch.tv/settings/connections"
                        ),
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_code(code: &DeviceCode, show_qr: bool) {
    println!("To log the bot in, open this page on any device and sign in AS THE BOT ACCOUNT:");
    println!();
    println!("    {}", code.verification_uri);
    println!();
    println!("and check that it shows the code  {}", code.user_code);
    if show_qr && let Some(qr) = render_qr(&code.verification_uri) {
        println!();
        println!("{qr}");
    }
    println!(
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
