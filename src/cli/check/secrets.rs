//! The secrets part of `check`: each secret the config names (Twitch, TikTok, and the
//! feed's, API's and webhooks' tokens), the store that answers for it, and whether it is
//! there. Never the value: a secret is fetched only to learn that it
//! exists, and dropped.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use crate::auth::BARE_TOKEN_SECRET;
use crate::config::Loaded;
use crate::daemon::plan;
use crate::secret::{FileStoreMode, SecretStore, open_store};

/// What the secrets check found.
pub(super) struct SecretsReport {
    /// False when a required secret is missing or the store cannot be opened.
    pub usable: bool,
    /// The opened store (read-only), for the online checks.
    pub store: Option<Arc<dyn SecretStore>>,
}

/// How much a missing secret matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// `run` cannot work without it.
    Required,
    /// `run` may work without it (a signer that needs no key, a room that needs no login).
    Optional(&'static str),
}

/// Writes the secrets section.
pub(super) async fn report(loaded: &Loaded, out: &mut impl Write) -> anyhow::Result<SecretsReport> {
    let config = &loaded.config;
    let settings = plan::secret_store_settings(config);
    let store = match open_store(&settings, FileStoreMode::ReadOnly).await {
        Ok(store) => store,
        Err(e) => {
            writeln!(
                out,
                "\nsecrets (store: {}): NOT usable, the store cannot be opened: {e}",
                settings.kind
            )?;
            return Ok(SecretsReport {
                usable: false,
                store: None,
            });
        }
    };
    let auto = match settings.kind {
        crate::secret::SecretStoreKind::Auto => "auto, chose ",
        _ => "",
    };
    writeln!(out, "\nsecrets (store: {auto}{}):", store.describe())?;
    let mut usable = true;

    // The Twitch token: the token pair `auth twitch` stores, else a bare access token.
    let token_name = &config.twitch.token;
    if store.get(token_name).await?.is_some() {
        writeln!(out, "  {:<24} `{token_name}`: present", "twitch.token")?;
    } else if store.get(BARE_TOKEN_SECRET).await?.is_some() {
        writeln!(
            out,
            "  {:<24} `{BARE_TOKEN_SECRET}`: present (a bare access token: it cannot be renewed)",
            "twitch.token"
        )?;
    } else {
        usable = false;
        writeln!(
            out,
            "  {:<24} `{token_name}`: MISSING (run `tiktwitch auth twitch`)",
            "twitch.token"
        )?;
    }
    if let Some(name) = &config.twitch.client_secret {
        usable &= line(
            store.as_ref(),
            "twitch.client_secret",
            name,
            &[],
            Need::Required,
            out,
        )
        .await?;
    }

    // TikTok secrets may differ per bridge (a `[bridge.tiktok]` override).
    let mut signer: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut session: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for bridge in &loaded.bridges {
        signer
            .entry(&bridge.tiktok.signer_api_key)
            .or_default()
            .push(&bridge.name);
        if let Some(name) = &bridge.tiktok.session_id {
            session.entry(name).or_default().push(&bridge.name);
        }
    }
    let all = loaded.bridges.len();
    for (key, names, need) in [
        (
            "tiktok.signer_api_key",
            &signer,
            Need::Optional("the Euler signer needs a key; a self-hosted one may not"),
        ),
        (
            "tiktok.session_id",
            &session,
            Need::Optional("only 18+ rooms need a TikTok login"),
        ),
    ] {
        for (name, bridges) in names {
            let bridges: &[&str] = if bridges.len() == all && names.len() == 1 {
                &[]
            } else {
                bridges
            };
            usable &= line(store.as_ref(), key, name, bridges, need, out).await?;
        }
    }
    usable &= feed(loaded, store.as_ref(), out).await?;
    Ok(SecretsReport {
        usable,
        store: Some(store),
    })
}

/// `[feed] token`, `[api] token` and each `[[webhook]] secret`, as `run` needs them: the
/// feed's token when the feed is on, every webhook's key; the API's token may be missing
/// (pause/resume are then refused).
async fn feed(
    loaded: &Loaded,
    store: &dyn SecretStore,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let config = &loaded.config;
    let mut usable = true;
    if let Some(name) = &config.feed.token {
        let need = if config.feed.enabled {
            Need::Required
        } else {
            Need::Optional("[feed] is off")
        };
        usable &= line(store, "feed.token", name, &[], need, out).await?;
    }
    if crate::config::feed::api_token_required(&config.http, &config.api) {
        // What `run` refuses (plan::API_TOKEN_REQUIRED): an API open to the network.
        let present = line(
            store,
            "api.token",
            &config.api.token,
            &[],
            Need::Required,
            out,
        )
        .await?;
        if !present {
            writeln!(
                out,
                "  {:<24} required: [http] bind `{}` is not loopback (store the token, bind to 127.0.0.1, or set [http] public = true)",
                "", config.http.bind
            )?;
        }
        usable &= present;
    } else if config.api.enabled {
        let need = Need::Optional("without it pause/resume are refused and reads are open");
        usable &= line(store, "api.token", &config.api.token, &[], need, out).await?;
    }
    for (i, hook) in config.webhook.iter().enumerate() {
        let key = format!("webhook[{i}].secret");
        usable &= line(store, &key, &hook.secret, &[], Need::Required, out).await?;
    }
    Ok(usable)
}

/// One secret's line; false when it is required and missing.
async fn line(
    store: &dyn SecretStore,
    key: &str,
    name: &str,
    bridges: &[&str],
    need: Need,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let used_by = if bridges.is_empty() {
        String::new()
    } else {
        format!(" (bridge {})", bridges.join(", "))
    };
    let present = store.get(name).await?.is_some();
    let deprecated = match present {
        true => None,
        false => crate::secret::names::deprecated_entry(store, name).await?,
    };
    if let Some((old, _)) = &deprecated {
        writeln!(
            out,
            "  {key:<24} `{name}`{used_by}: present under the deprecated name `{old}` (store it as `{name}` with `tiktwitch secret set {name}`, then `tiktwitch secret delete {old}`)"
        )?;
        return Ok(true);
    }
    let verdict = match (present, need) {
        (true, _) => "present".to_string(),
        (false, Need::Required) => format!("MISSING (run `tiktwitch secret set {name}`)"),
        (false, Need::Optional(why)) => {
            format!("missing ({why}; `tiktwitch secret set {name}` to add it)")
        }
    };
    writeln!(out, "  {key:<24} `{name}`{used_by}: {verdict}")?;
    Ok(present || need != Need::Required)
}
