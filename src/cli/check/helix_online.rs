//! `check --online`, the Helix part: what the chosen sink needs of the bot's token; for the
//! app-token path what `/validate` cannot tell (the broadcasters' `channel:bot`) and whether
//! the client-credentials grant gives an app token at all; and the user-id lookup `run`
//! makes at start (every channel and the bot must be known to Helix).

use std::io::Write;

use crate::auth::{AuthSettings, StoredToken};
use crate::config::Loaded;
use crate::config::schema::{HelixToken, SinkKind};
use crate::limits::HELIX_LOOKUP_TIMEOUT;
use crate::secret::SecretStore;
use crate::sink::helix_ids::{HelixIdsError, lookup_ids};

/// The sink the scopes are for, as people say it.
pub(super) fn sink_name(loaded: &Loaded) -> &'static str {
    match (loaded.config.twitch.sink, loaded.config.twitch.helix_token) {
        (SinkKind::Irc, _) => "sink = \"irc\"",
        (SinkKind::Helix, HelixToken::User) => "sink = \"helix\" (user token)",
        (SinkKind::Helix, HelixToken::App) => "sink = \"helix\", helix_token = \"app\"",
    }
}

/// Every channel of every bridge, sorted, once.
fn channels(loaded: &Loaded) -> Vec<String> {
    let mut channels: Vec<String> = loaded
        .bridges
        .iter()
        .flat_map(|b| b.twitch.channels.iter().cloned())
        .collect();
    channels.sort();
    channels.dedup();
    channels
}

/// Writes the Helix checks (nothing for IRC); true when nothing refuses the sink.
pub(super) async fn report(
    loaded: &Loaded,
    settings: &AuthSettings,
    store: &dyn SecretStore,
    granted: &[String],
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let twitch = &loaded.config.twitch;
    if twitch.sink != SinkKind::Helix {
        return Ok(true);
    }
    let (mut usable, bearer) = if twitch.helix_token == HelixToken::App {
        app_path(loaded, settings, store, granted, out).await?
    } else {
        (true, user_token(settings, store).await)
    };
    match bearer {
        Some(bearer) => usable &= ids(loaded, &bearer, out).await?,
        None => writeln!(
            out,
            "    Helix user ids: NOT checked (no token to ask with)"
        )?,
    }
    Ok(usable)
}

/// The stored user token's access token, if one can be read.
async fn user_token(settings: &AuthSettings, store: &dyn SecretStore) -> Option<String> {
    if let Ok(Some(secret)) = store.get(&settings.token_secret_name).await {
        return StoredToken::from_secret(&secret)
            .ok()
            .map(|t| t.access_token.expose().to_owned());
    }
    store
        .get(&settings.bare_token_secret_name)
        .await
        .ok()
        .flatten()
        .map(|s| s.expose().to_owned())
}

/// The lookup `run` makes at start: every channel's broadcaster id and the bot's own.
async fn ids(loaded: &Loaded, bearer: &str, out: &mut impl Write) -> anyhow::Result<bool> {
    let twitch = &loaded.config.twitch;
    let http = reqwest::Client::builder()
        .timeout(HELIX_LOOKUP_TIMEOUT)
        .build()?;
    match lookup_ids(
        &http,
        &twitch.helix_base_url,
        &twitch.client_id,
        bearer,
        &twitch.bot_login,
        &channels(loaded),
    )
    .await
    {
        Ok(ids) => {
            let each: Vec<String> = ids
                .broadcaster_ids
                .iter()
                .map(|(login, id)| format!("#{login} {id}"))
                .collect();
            writeln!(
                out,
                "    Helix user ids: {}; sender {} {}",
                each.join(", "),
                twitch.bot_login.to_ascii_lowercase(),
                ids.sender_id
            )?;
            Ok(true)
        }
        Err(HelixIdsError::Unauthorized(_)) => {
            // The validation above judged the token; `run` renews a refused one first.
            writeln!(
                out,
                "    Helix user ids: NOT checked (Helix refused the token; `run` renews it first)"
            )?;
            Ok(true)
        }
        Err(e) => {
            writeln!(out, "    NOT usable: {e}")?;
            Ok(false)
        }
    }
}

/// The app path's checks; true when nothing refuses it, with the app token it got.
async fn app_path(
    loaded: &Loaded,
    settings: &AuthSettings,
    store: &dyn SecretStore,
    granted: &[String],
    out: &mut impl Write,
) -> anyhow::Result<(bool, Option<String>)> {
    let twitch = &loaded.config.twitch;
    let mut usable = true;
    let bot = twitch.bot_login.to_ascii_lowercase();
    let channels = channels(loaded);
    for channel in &channels {
        if *channel == bot {
            // The bot is this channel's broadcaster: its own token must carry channel:bot.
            if granted.iter().any(|s| s == "channel:bot") {
                writeln!(
                    out,
                    "    #{channel}: channel:bot granted (the bot is its broadcaster)"
                )?;
            } else {
                usable = false;
                writeln!(
                    out,
                    "    NOT usable: #{channel} is the bot's own channel and its token lacks channel:bot (run `tiktwitch auth twitch`)"
                )?;
            }
        } else {
            writeln!(
                out,
                "    #{channel}: channel:bot NOT checked: the broadcaster grants it (or makes the bot a moderator); /validate of the bot's token cannot show it"
            )?;
        }
    }
    let client = match settings.oauth_client(store).await {
        Ok(client) => client,
        Err(e) => {
            writeln!(out, "    NOT usable: app access token: {e}")?;
            return Ok((false, None));
        }
    };
    match client.client_credentials().await {
        Ok(grant) => {
            writeln!(
                out,
                "    app access token: granted (client-credentials grant at {})",
                twitch.oauth_base_url
            )?;
            Ok((usable, Some(grant.access_token.expose().to_owned())))
        }
        Err(e) => {
            writeln!(out, "    NOT usable: app access token: {e}")?;
            Ok((false, None))
        }
    }
}
