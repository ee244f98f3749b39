//! Flags shared by `tail` and `record`: where TikTok and the signer are, and the secrets'
//! environment variables (the config file is wired in later).

use std::path::PathBuf;
use std::time::Duration;

use crate::source::tiktok::TikTokSettings;

/// How to reach the live.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// TikTok's web origin (room lookup).
    #[arg(long, default_value = "https://www.tiktok.com")]
    pub web_base: String,
    /// TikTok's WebCast API origin.
    #[arg(long, default_value = "https://webcast.tiktok.com")]
    pub webcast_base: String,
    /// The signer (Euler Stream or a server with the same `/webcast/fetch` contract).
    #[arg(long, default_value = "https://api.eulerstream.com")]
    pub signer_base: String,
    /// Environment variable holding the signer API key.
    #[arg(long, default_value = "TIKTWITCH_SIGNER_KEY")]
    pub signer_key_env: String,
    /// Environment variable holding a TikTok `sessionid` (18+ rooms, all comments).
    #[arg(long, default_value = "TIKTWITCH_SESSION_ID")]
    pub session_id_env: String,
    /// Proxy for everything (`http://`, `socks5://`, `socks5h://`); default: HTTPS_PROXY /
    /// ALL_PROXY.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Stop when the creator is offline or the stream ends, instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds between live checks while waiting.
    #[arg(long, default_value_t = 60)]
    pub poll_secs: u64,
}

impl ConnectArgs {
    /// The source settings for `user`.
    pub fn settings(&self, user: &str) -> TikTokSettings {
        let secret = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        TikTokSettings {
            web_base_url: self.web_base.clone(),
            webcast_base_url: self.webcast_base.clone(),
            signer_base_url: self.signer_base.clone(),
            signer_api_key: secret(&self.signer_key_env),
            session_id: secret(&self.session_id_env),
            proxy: self.proxy.clone(),
            wait_for_live: !self.no_wait,
            poll_interval: Duration::from_secs(self.poll_secs.max(5)),
            ..TikTokSettings::for_user(user)
        }
    }
}

/// Arguments of `tiktwitch tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// The creator: `@user` or a profile / live URL.
    pub user: String,
    /// Print the JSON event schema (one object a line) instead of readable lines.
    #[arg(long)]
    pub json: bool,
    /// Also print the history replayed on connect.
    #[arg(long)]
    pub history: bool,
    /// Where and how to connect.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `tiktwitch record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The creator: `@user` or a profile / live URL.
    pub user: String,
    /// The capture file to write (`[u32 LE length][frame]` records).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Where and how to connect.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Runs `fut` on a fresh runtime, cancelling `token` on Ctrl-C.
pub fn block_on_with_ctrl_c<F, T>(
    token: tokio_util::sync::CancellationToken,
    fut: F,
) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let ctrl_c = token.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.cancel();
            }
        });
        fut.await
    })
}
