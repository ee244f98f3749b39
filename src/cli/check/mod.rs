//! `tiktwitch check`: load and validate the config, list every problem, show which secret
//! store answers for each secret (names only, never values), and print what every enabled
//! line will look like, rendered from sample events.
//!
//! `--online` also asks Twitch about the token and TikTok about each bridge's room
//! ([`online`]).
//!
//! Exit code 0 only when everything checked is usable.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, LoadError, Loaded, Slot};
use crate::pipeline::Pipeline;

use super::CheckArgs;

mod helix_online;
mod online;
mod secrets;

pub(super) fn run(config_path: Option<&Path>, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    let Some(loaded) = load(config_path, &mut out)? else {
        return Ok(ExitCode::FAILURE);
    };
    let mut usable = report(&loaded, &mut out)?;
    let runtime = super::auth::runtime()?;
    let store = runtime.block_on(secrets::report(&loaded, &mut out))?;
    usable &= store.usable;
    if args.online {
        usable &= runtime.block_on(online::report(&loaded, store.store, &mut out))?;
    }
    writeln!(
        out,
        "\n{}",
        if usable {
            "usable"
        } else {
            "NOT usable (see above)"
        }
    )?;
    Ok(if usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The line budget `run` paces to, from the same constants the sink uses.
pub(super) fn pacing_summary(lines_per_30s: Option<u32>) -> String {
    use crate::limits::{
        TWITCH_ALLOWED_LINES_PER_WINDOW, TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED,
        TWITCH_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW_ELEVATED,
    };
    match lines_per_30s {
        Some(n) => {
            format!("at most {n} lines per 30 s (twitch.lines_per_30s), whatever the bot's badges")
        }
        None => format!(
            "at most {TWITCH_LINES_PER_WINDOW} lines per 30 s ({TWITCH_LINES_PER_WINDOW} of Twitch's {TWITCH_ALLOWED_LINES_PER_WINDOW}), {TWITCH_LINES_PER_WINDOW_ELEVATED} where the bot is moderator, VIP or broadcaster ({TWITCH_LINES_PER_WINDOW_ELEVATED} of {TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED}; the rest is a safety margin)"
        ),
    }
}

/// Loads the config, or reports why it cannot be.
fn load(config_path: Option<&Path>, out: &mut impl Write) -> io::Result<Option<Loaded>> {
    match config::load(config_path, crate::pipeline::Pipeline::check) {
        Ok(loaded) => Ok(Some(loaded)),
        Err(LoadError::Invalid { path, errors }) => {
            writeln!(out, "{}: NOT usable, {errors}", path.display())?;
            Ok(None)
        }
        Err(other) => {
            writeln!(out, "NOT usable: {other}")?;
            Ok(None)
        }
    }
}

/// Writes the config part of the report; true when the config is usable.
fn report(loaded: &Loaded, out: &mut impl Write) -> anyhow::Result<bool> {
    writeln!(
        out,
        "{}: ok ({} bridge{})",
        loaded.path.display(),
        loaded.bridges.len(),
        if loaded.bridges.len() == 1 { "" } else { "s" }
    )?;
    writeln!(
        out,
        "pacing: {}",
        pacing_summary(loaded.config.twitch.lines_per_30s)
    )?;
    writeln!(
        out,
        "packing: {}",
        crate::sink::pack::summary(&crate::daemon::plan::pack_settings(
            &loaded.config.routes.chat
        ))
    )?;
    let delivery = crate::daemon::plan::delivery_policy(&loaded.config.routes);
    writeln!(out, "choosing: {}", delivery.select.summary())?;
    writeln!(out, "max age: {}", delivery.freshness.summary())?;
    let mut usable = true;
    // The plan `run` builds (pure, no I/O): whatever it refuses, `check` refuses first.
    if let Err(e) = crate::daemon::Plan::from_config(loaded, None) {
        usable = false;
        writeln!(out, "NOT usable: {e}")?;
    }
    // The event ring's file, which `run` opens at start (read here, never changed).
    if let (true, Some(path)) = (loaded.config.api.enabled, &loaded.config.api.ring_path)
        && let Err(e) = crate::feed::RingStore::verify(path)
    {
        usable = false;
        writeln!(
            out,
            "NOT usable: api.ring_path: {}",
            super::error_text(&e.into())
        )?;
    }
    for bridge in &loaded.bridges {
        let channels: Vec<String> = bridge
            .twitch
            .channels
            .iter()
            .map(|c| format!("#{c}"))
            .collect();
        writeln!(
            out,
            "\nbridge `{}`: TikTok @{} -> Twitch {} as {} over {}",
            bridge.name,
            bridge.tiktok.username,
            channels.join(", "),
            bridge.twitch.bot_login,
            match (bridge.twitch.sink, loaded.config.twitch.helix_token) {
                (config::schema::SinkKind::Irc, _) => "IRC",
                (config::schema::SinkKind::Helix, config::schema::HelixToken::User) =>
                    "Helix (user token)",
                (config::schema::SinkKind::Helix, config::schema::HelixToken::App) =>
                    "Helix (app token, Chat Bot badge)",
            }
        )?;
        match Pipeline::new(&bridge.pipeline) {
            Ok(pipeline) => {
                writeln!(out, "  sample lines (enabled routes):")?;
                for sample in pipeline.sample_lines() {
                    writeln!(out, "    {:<30} {}", sample.slot.path(), sample.text)?;
                }
                let routes = &bridge.pipeline.routes;
                let off: Vec<String> = Slot::ALL
                    .into_iter()
                    .filter(|slot| !routes.slot_enabled(*slot))
                    .map(|slot| format!("{}.{}", slot.route(), slot.key()))
                    .collect();
                if !off.is_empty() {
                    writeln!(out, "  off: {}", off.join(", "))?;
                }
            }
            Err(errors) => {
                // load() already compiled every pipeline; this is belt and braces.
                usable = false;
                writeln!(out, "  NOT usable: {errors}")?;
            }
        }
    }
    Ok(usable)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{pacing_summary, report};
    use crate::limits::{TWITCH_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW_ELEVATED};

    /// The report for the example config with `edit` applied to its text.
    fn report_example(edit: impl Fn(&str) -> String) -> (bool, String) {
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, edit(&example)).unwrap();
        let loaded = crate::config::load_with_env(
            &path,
            Some(HashMap::new()),
            crate::pipeline::Pipeline::check,
        )
        .unwrap();
        let mut out = Vec::new();
        let usable = report(&loaded, &mut out).unwrap();
        (usable, String::from_utf8(out).unwrap())
    }

    #[test]
    fn what_run_refuses_check_refuses_with_the_key_path() {
        let (usable, text) = report_example(str::to_owned);
        assert!(usable, "{text}");
        // `run` sends through Helix, so `check` accepts it.
        let (usable, text) = report_example(|t| t.replace("sink = \"irc\"", "sink = \"helix\""));
        assert!(usable, "{text}");
        assert!(text.contains("over Helix (user token)"), "{text}");
    }

    #[test]
    fn check_shows_the_selection_policy_and_the_maximum_ages() {
        let (usable, text) = report_example(str::to_owned);
        assert!(usable, "{text}");
        assert!(
            text.contains("choosing: while comments wait at least 1 line in 3 carries chat"),
            "{text}"
        );
        assert!(text.contains("gifts of 100+ diamonds"), "{text}");
        assert!(
            text.contains("max age: chat 20 s, other lines 120 s, status lines never\n"),
            "{text}"
        );
        let (usable, text) = report_example(|t| {
            t.replace("min_share_one_in = 3", "min_share_one_in = 2")
                .replace("big_diamonds = 100", "big_diamonds = 500")
                .replace("[routes.follow]\n", "[routes.follow]\nmax_age_secs = 30\n")
        });
        assert!(usable, "{text}");
        assert!(text.contains("at least 1 line in 2 carries chat"), "{text}");
        assert!(text.contains("gifts of 500+ diamonds"), "{text}");
        assert!(text.contains("; follow 30 s"), "{text}");
    }

    #[test]
    fn check_says_whether_lines_are_packed() {
        let (usable, text) = report_example(str::to_owned);
        assert!(usable, "{text}");
        assert!(text.contains("packing: on:"), "{text}");
        assert!(text.contains("up to 500 characters"), "{text}");
        let (usable, text) = report_example(|t| {
            t.replace("pack = true", "pack = false")
                .replace("pack_max_chars = 500", "pack_max_chars = 200")
        });
        assert!(usable, "{text}");
        assert!(text.contains("packing: off"), "{text}");
        // Above Twitch's 500 is refused at load, with the key path.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"),
        )
        .unwrap();
        std::fs::write(
            &path,
            example.replace("pack_max_chars = 500", "pack_max_chars = 501"),
        )
        .unwrap();
        let err = crate::config::load_with_env(
            &path,
            Some(HashMap::new()),
            crate::pipeline::Pipeline::check,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("routes.chat.pack_max_chars"),
            "{err}"
        );
    }

    #[test]
    fn the_pacing_summary_is_built_from_the_sinks_constants() {
        let text = pacing_summary(None);
        assert!(
            text.contains(&format!("at most {TWITCH_LINES_PER_WINDOW} lines")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{TWITCH_LINES_PER_WINDOW_ELEVATED} where")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{TWITCH_LINES_PER_WINDOW} of Twitch's {}",
                crate::limits::TWITCH_ALLOWED_LINES_PER_WINDOW
            )),
            "{text}"
        );
        assert_eq!(
            crate::sink::TwitchSinkSettings::default().lines_per_window,
            TWITCH_LINES_PER_WINDOW
        );
        assert!(pacing_summary(Some(7)).contains("at most 7 lines"));
    }
}
