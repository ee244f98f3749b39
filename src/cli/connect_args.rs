//! Flags shared by `tail` and `record`: which live, where TikTok and the signer are, and
//! the secrets.
//!
//! Each setting comes from its flag, else from the config file (the bridge mirroring that
//! creator, else `[tiktok]`), else the default. The signer key and session id come from
//! their environment variables when set, else from the configured secret store (the names
//! in `tiktok.signer_api_key` / `tiktok.session_id`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::config_file::{self, ConfigFile};
use crate::config::schema::TiktokConfig;
use crate::config::{Bridge, identifiers};
use crate::daemon::plan;
use crate::secret::{FileStoreMode, open_store};
use crate::source::tiktok::TikTokSettings;

/// How to reach the live.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Take the creator and settings of this `[[bridge]]` of the config.
    #[arg(long)]
    pub bridge: Option<String>,
    /// TikTok's web origin (room lookup). Default: the config's, else https://www.tiktok.com.
    #[arg(long)]
    pub web_base: Option<String>,
    /// TikTok's WebCast API origin. Default: the config's, else https://webcast.tiktok.com.
    #[arg(long)]
    pub webcast_base: Option<String>,
    /// The signer (Euler Stream or a server with the same `/webcast/fetch` contract).
    /// Default: the config's, else https://api.eulerstream.com.
    #[arg(long)]
    pub signer_base: Option<String>,
    /// Environment variable holding the signer API key (default:
    /// TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY, the env store's name for it; when unset, the
    /// config's secret store is asked for `tiktok.signer_api_key`).
    #[arg(long)]
    pub signer_key_env: Option<String>,
    /// Environment variable holding a TikTok `sessionid` (18+ rooms, all comments; when
    /// unset, the config's secret store is asked for `tiktok.session_id`).
    #[arg(long, default_value = "TIKTWITCH_SESSION_ID")]
    pub session_id_env: String,
    /// Proxy for everything (`http://`, `socks5://`, `socks5h://`); default: the config's,
    /// else HTTPS_PROXY / ALL_PROXY.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Stop when the creator is offline or the stream ends, instead of waiting; give up
    /// after 5 failed connection attempts in a row.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds between live checks while waiting (default: the config's, else 60).
    #[arg(long)]
    pub poll_secs: Option<u64>,
}

impl ConnectArgs {
    /// The source settings for `user` (or the config's creator), secrets included: flags,
    /// then the config file at `config_path` (or the default path; none is fine), then the
    /// defaults.
    pub fn resolve(
        &self,
        user: Option<&str>,
        config_path: Option<&Path>,
    ) -> anyhow::Result<TikTokSettings> {
        let file = config_file::read(config_path)?;
        let (user, tiktok) = self.pick(user, file.as_ref())?;
        let mut settings = self.settings(&user, tiktok.as_ref());
        let env = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        settings.signer_api_key = match &self.signer_key_env {
            Some(var) => env(var),
            None => crate::secret::names::signer_key_from_env(),
        };
        settings.session_id = env(&self.session_id_env);
        if let (Some(file), Some(tiktok)) = (&file, &tiktok)
            && (settings.signer_api_key.is_none()
                || (settings.session_id.is_none() && tiktok.session_id.is_some()))
        {
            let store_settings = plan::secret_store_settings(&file.config);
            let read = async {
                let store = open_store(&store_settings, FileStoreMode::ReadOnly).await?;
                let key = match &settings.signer_api_key {
                    Some(_) => None,
                    None => {
                        crate::secret::names::get(store.as_ref(), &tiktok.signer_api_key).await?
                    }
                };
                let session = match (&settings.session_id, &tiktok.session_id) {
                    (None, Some(name)) => store.get(name).await?,
                    _ => None,
                };
                Ok::<_, crate::secret::SecretError>((key, session))
            };
            // An unreadable store is not fatal: the live may not need these secrets.
            let (key, session) = super::auth::runtime()?.block_on(read).unwrap_or_else(|e| {
                stderr_line!("note: the TikTok secrets could not be read from the store: {e}");
                (None, None)
            });
            if let Some(key) = key {
                settings.signer_api_key = Some(key.expose().to_owned());
            }
            if let Some(session) = session {
                settings.session_id = Some(session.expose().to_owned());
            }
        }
        Ok(settings)
    }

    /// The creator and the `[tiktok]` settings that apply to them (a bridge's merged
    /// section when one mirrors them, else the global one).
    fn pick(
        &self,
        user: Option<&str>,
        file: Option<&ConfigFile>,
    ) -> anyhow::Result<(String, Option<TiktokConfig>)> {
        let normalized =
            user.map(|u| identifiers::normalize_tiktok_username(u).unwrap_or_default());
        let Some(file) = file else {
            anyhow::ensure!(
                self.bridge.is_none(),
                "--bridge needs a config file (--config FILE)"
            );
            let user = user.context("which creator? pass @user (there is no config file)")?;
            return Ok((user.to_string(), None));
        };
        if let Some(bridge) = file.bridge(self.bridge.as_deref(), normalized.as_deref()) {
            let Bridge { tiktok, .. } = bridge;
            let user = user.map_or_else(|| tiktok.username.clone(), str::to_string);
            return Ok((user, Some(tiktok.clone())));
        }
        if let Some(name) = &self.bridge {
            anyhow::bail!(
                "{}: no valid [[bridge]] named {name:?}",
                file.path.display()
            );
        }
        let global = file.config.tiktok.clone();
        let user = match user {
            Some(u) => u.to_string(),
            None if !global.username.is_empty() => global.username.clone(),
            None => anyhow::bail!("which creator? pass @user or set tiktok.username"),
        };
        Ok((user, Some(global)))
    }

    /// The source settings for `user` from the flags over `tiktok` (without secrets).
    fn settings(&self, user: &str, tiktok: Option<&TiktokConfig>) -> TikTokSettings {
        let base = match tiktok {
            Some(t) => {
                let bridge = Bridge {
                    name: String::new(),
                    tiktok: t.clone(),
                    twitch: Default::default(),
                    pipeline: Default::default(),
                };
                plan::bridge_plan(&bridge, "").source
            }
            None => TikTokSettings::default(),
        };
        TikTokSettings {
            username: user.to_string(),
            web_base_url: self.web_base.clone().unwrap_or(base.web_base_url.clone()),
            webcast_base_url: self
                .webcast_base
                .clone()
                .unwrap_or(base.webcast_base_url.clone()),
            signer_base_url: self
                .signer_base
                .clone()
                .unwrap_or(base.signer_base_url.clone()),
            proxy: self.proxy.clone().or(base.proxy.clone()),
            wait_for_live: !self.no_wait && base.wait_for_live,
            max_attempts: match self.no_wait {
                true => Some(crate::limits::NO_WAIT_MAX_ATTEMPTS),
                false => base.max_attempts,
            },
            poll_interval: self
                .poll_secs
                .map_or(base.poll_interval, |s| Duration::from_secs(s.max(5))),
            ..base
        }
    }
}

/// Arguments of `tiktwitch tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// The creator: `@user` or a profile / live URL (default: the config's).
    pub user: Option<String>,
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
    /// The creator: `@user` or a profile / live URL (default: the config's).
    pub user: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        connect: ConnectArgs,
    }

    #[test]
    fn no_wait_bounds_the_retries_and_waiting_keeps_them_unbounded() {
        let waiting = Probe::parse_from(["x"]).connect.settings("alice", None);
        assert!(waiting.wait_for_live);
        assert_eq!(waiting.max_attempts, None);
        let once = Probe::parse_from(["x", "--no-wait"])
            .connect
            .settings("alice", None);
        assert!(!once.wait_for_live);
        assert_eq!(once.max_attempts, Some(crate::limits::NO_WAIT_MAX_ATTEMPTS));
    }
}
