//! `check --online`: asks Twitch whether the stored token is good (`/validate`: who, which
//! scopes, until when, and whether the configured store can keep it renewed) and TikTok whether each bridge's creator resolves to a room (the
//! unsigned lookup: no signer budget is spent), printing the creator's profile from the same
//! answer. Reads only: nothing is refreshed or stored.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::account::{self, Validation};
use crate::auth::{AuthError, SystemClock, describe_left};
use crate::config::Loaded;
use crate::config::schema::SecretStoreKind;
use crate::daemon::plan;
use crate::limits::TOKEN_REFRESH_MARGIN;
use crate::secret::SecretStore;
use crate::source::tiktok::SourceError;
use crate::source::tiktok::TikTokSettings;
use crate::source::tiktok::preset;
use crate::source::tiktok::proxy::ProxyConfig;
use crate::source::tiktok::room::{RoomInfo, RoomLookup};
use crate::source::tiktok::transport::build_client;

/// Writes the online section; true when the token and every room are usable.
pub(super) async fn report(
    loaded: &Loaded,
    store: Option<Arc<dyn SecretStore>>,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    writeln!(out, "\nonline:")?;
    let mut usable = match store {
        Some(store) => twitch(loaded, store.as_ref(), out).await?,
        None => {
            writeln!(
                out,
                "  Twitch: NOT checked (the secret store cannot be opened)"
            )?;
            false
        }
    };
    for bridge in &loaded.bridges {
        let source = plan::bridge_plan(bridge, "").source;
        let looked_up = room(&source).await;
        let verdict = match &looked_up {
            Ok(info) if info.is_live() => {
                let viewers = info
                    .viewers
                    .map(|v| format!(", {v} viewers"))
                    .unwrap_or_default();
                format!("live (room {}{viewers})", info.room_id)
            }
            Ok(info) => format!(
                "not live now (status {}){}",
                info.status,
                if source.wait_for_live {
                    "; `run` waits for the live"
                } else {
                    "; `run` stops until it is (tiktok.wait_for_live = false)"
                }
            ),
            Err(e) => {
                usable = false;
                format!("NOT usable: {e}")
            }
        };
        writeln!(
            out,
            "  bridge `{}`: TikTok @{}: {verdict}",
            bridge.name, source.username
        )?;
        if let Ok(info) = &looked_up {
            writeln!(out, "    profile: {}", info.profile.summary())?;
        }
    }
    Ok(usable)
}

/// The Twitch token: present, valid, with the scopes and login the config needs.
async fn twitch(
    loaded: &Loaded,
    store: &dyn SecretStore,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let store_settings = plan::secret_store_settings(&loaded.config);
    let settings = plan::twitch_auth_settings(&loaded.config, &store_settings);
    let status = match account::status(&settings, store, &SystemClock).await {
        Ok(status) => status,
        Err(AuthError::NotLoggedIn { .. }) => {
            writeln!(out, "  Twitch: NOT logged in (run `tiktwitch auth twitch`)")?;
            return Ok(false);
        }
        Err(e) => {
            writeln!(out, "  Twitch: NOT usable: {e}")?;
            return Ok(false);
        }
    };
    // What `run` will open: only the env store cannot keep a refreshed token (`check`
    // itself opens every store read-only, so the opened store cannot tell).
    let store_can_refresh = store_settings.kind != SecretStoreKind::Env;
    let login = status.login.as_deref().unwrap_or("(unknown)");
    let expiry = match status.expires_at {
        Some(at) if at > status.now => {
            let left = at - status.now;
            format!("expires in {}h {:02}m", left / 3600, (left % 3600) / 60)
        }
        Some(_) => "expired".to_string(),
        None => "expiry unknown".to_string(),
    };
    writeln!(
        out,
        "  Twitch: logged in as {login}{}; scopes: {}; {expiry}; {}",
        status
            .user_id
            .as_deref()
            .map(|id| format!(" (user id {id})"))
            .unwrap_or_default(),
        status.scopes.join(" "),
        if status.bare {
            "a bare token (not renewable)".to_string()
        } else if status.has_refresh_token && store_can_refresh {
            format!("renewable ({} keeps the refreshed token)", status.store)
        } else if status.has_refresh_token {
            format!(
                "NOT renewable here: {} is read-only and cannot keep a refreshed token",
                status.store
            )
        } else {
            "not renewable".to_string()
        }
    )?;
    let renewable = status.has_refresh_token && !status.bare;
    let left = status
        .expires_at
        .map(|at| Duration::from_secs(at.saturating_sub(status.now)));
    let mut usable = match &status.validation {
        // `run` would refresh it right away, and this store cannot keep the result: `run`
        // refuses to start, so `check` says so first.
        Validation::Valid
            if renewable
                && !store_can_refresh
                && left.is_some_and(|l| l <= TOKEN_REFRESH_MARGIN) =>
        {
            writeln!(
                out,
                "    NOT usable: it must be refreshed now and this store is read-only; use secret_store = \"file\" or \"keyring\" and run `tiktwitch auth twitch`"
            )?;
            false
        }
        Validation::Valid if renewable && !store_can_refresh => {
            if let Some(left) = left {
                writeln!(
                    out,
                    "    warning: `run` stops in {} ({} before expiry), when the token needs refreshing; use secret_store = \"file\" or \"keyring\" to keep it running",
                    describe_left(left.saturating_sub(TOKEN_REFRESH_MARGIN)),
                    describe_left(TOKEN_REFRESH_MARGIN)
                )?;
            }
            true
        }
        Validation::Valid => true,
        Validation::Refused if renewable && !store_can_refresh => {
            writeln!(
                out,
                "    NOT usable: refused by Twitch (expired?) and this store is read-only, so `run` cannot renew it; use secret_store = \"file\" or \"keyring\" and run `tiktwitch auth twitch`"
            )?;
            false
        }
        Validation::Refused if renewable => {
            writeln!(
                out,
                "    refused by Twitch (expired?); `run` renews it with the stored refresh token"
            )?;
            true
        }
        Validation::Refused => {
            writeln!(
                out,
                "    NOT usable: Twitch refused the token (run `tiktwitch auth twitch`)"
            )?;
            false
        }
        Validation::Unreachable(e) => {
            writeln!(out, "    NOT usable: Twitch could not be asked: {e}")?;
            false
        }
        Validation::Skipped => {
            writeln!(out, "    NOT checked: no twitch.client_id")?;
            false
        }
    };
    writeln!(
        out,
        "    {} needs: {}",
        super::helix_online::sink_name(loaded),
        settings.required_scopes().join(" ")
    )?;
    if !status.missing_scopes.is_empty() {
        usable = false;
        writeln!(
            out,
            "    NOT usable: missing scopes {} for {} (run `tiktwitch auth twitch`)",
            status.missing_scopes.join(" "),
            super::helix_online::sink_name(loaded)
        )?;
    }
    usable &= super::helix_online::report(loaded, &settings, store, &status.scopes, out).await?;
    if let (Some(expected), Some(actual)) = (&settings.expected_login, &status.login)
        && !expected.eq_ignore_ascii_case(actual)
    {
        usable = false;
        writeln!(
            out,
            "    NOT usable: the token belongs to {actual}, but twitch.bot_login is {expected}"
        )?;
    }
    Ok(usable)
}

/// Resolves the creator's room over plain HTTP, through the bridge's proxy.
async fn room(source: &TikTokSettings) -> Result<RoomInfo, SourceError> {
    let proxy = ProxyConfig::resolve(source.proxy.as_deref(), source.proxy_from_env)?;
    let http = build_client(proxy.as_ref(), source.request_timeout)?;
    let lookup = RoomLookup::new(
        http,
        &source.web_base_url,
        preset::pick(source.preset.as_deref()),
    );
    Ok(lookup.resolve(&source.username).await?)
}
