//! `check --online`, the scopes part: what the chosen sink needs of the bot's token, and
//! for Helix's app-token path what `/validate` cannot tell (the broadcasters' `channel:bot`)
//! and whether the client-credentials grant gives an app token at all.

use std::io::Write;

use crate::auth::AuthSettings;
use crate::config::Loaded;
use crate::config::schema::{HelixToken, SinkKind};
use crate::secret::SecretStore;

/// The sink the scopes are for, as people say it.
pub(super) fn sink_name(loaded: &Loaded) -> &'static str {
    match (loaded.config.twitch.sink, loaded.config.twitch.helix_token) {
        (SinkKind::Irc, _) => "sink = \"irc\"",
        (SinkKind::Helix, HelixToken::User) => "sink = \"helix\" (user token)",
        (SinkKind::Helix, HelixToken::App) => "sink = \"helix\", helix_token = \"app\"",
    }
}

/// Writes the Helix app path's extra checks; true when nothing refuses it.
pub(super) async fn app_path(
    loaded: &Loaded,
    settings: &AuthSettings,
    store: &dyn SecretStore,
    granted: &[String],
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let twitch = &loaded.config.twitch;
    if twitch.sink != SinkKind::Helix || twitch.helix_token != HelixToken::App {
        return Ok(true);
    }
    let mut usable = true;
    let bot = twitch.bot_login.to_ascii_lowercase();
    let mut channels: Vec<String> = loaded
        .bridges
        .iter()
        .flat_map(|b| b.twitch.channels.iter().cloned())
        .collect();
    channels.sort();
    channels.dedup();
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
            return Ok(false);
        }
    };
    match client.client_credentials().await {
        Ok(_) => writeln!(
            out,
            "    app access token: granted (client-credentials grant at {})",
            twitch.oauth_base_url
        )?,
        Err(e) => {
            usable = false;
            writeln!(out, "    NOT usable: app access token: {e}")?;
        }
    }
    Ok(usable)
}
