//! `[twitch.commands]` and `twitch.shared_chat`: what the bridge does with the chat it reads
//! in its Twitch channels. Moderators steer the bridge with `!tt` commands; a Shared Chat
//! session (other channels' chat mirrored into ours, and ours into theirs) is detected and,
//! with `shared_chat = "pause"`, relaying pauses while it lasts.

use serde::{Deserialize, Serialize};

use super::Problem;
use super::identifiers::normalize_twitch_login;

/// The default command prefix.
pub const DEFAULT_COMMAND_PREFIX: &str = "!tt";

/// The longest command prefix (a prefix is typed in every command).
pub const COMMAND_PREFIX_MAX_CHARS: usize = 16;

/// `[twitch.commands]`: moderator control from Twitch chat.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommandsConfig {
    /// Read commands at all (false: the chat is still read for the feed and Shared Chat).
    pub enabled: bool,
    /// What a command starts with (`!tt status`).
    pub prefix: String,
    /// The channel's broadcaster and moderators (by badge / `mod` tag) may command.
    pub moderators: bool,
    /// Twitch logins that may command too, whatever their badges.
    pub allow: Vec<String>,
    /// At most one reply per command and channel this often (seconds); commands still act.
    pub cooldown_secs: u64,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: DEFAULT_COMMAND_PREFIX.into(),
            moderators: true,
            allow: Vec::new(),
            cooldown_secs: crate::limits::COMMAND_REPLY_COOLDOWN.as_secs(),
        }
    }
}

/// `twitch.shared_chat`: what to do while the channel is in a Shared Chat session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedChatPolicy {
    /// Keep relaying (warn once that lines reach the partner channels too).
    #[default]
    Allow,
    /// Pause relaying to that channel while the session lasts.
    Pause,
}

impl CommandsConfig {
    /// Every problem, at `twitch.commands.*`.
    pub fn check(&self, problems: &mut Vec<Problem>) {
        let prefix = self.prefix.trim();
        if prefix.is_empty() || prefix.chars().any(char::is_whitespace) {
            problems.push(
                Problem::new(
                    "twitch.commands.prefix",
                    format!("{:?} is not a prefix: one word without spaces", self.prefix),
                )
                .with_hint(format!("the default is \"{DEFAULT_COMMAND_PREFIX}\"")),
            );
        } else if prefix.chars().count() > COMMAND_PREFIX_MAX_CHARS {
            problems.push(Problem::new(
                "twitch.commands.prefix",
                format!("longer than {COMMAND_PREFIX_MAX_CHARS} characters"),
            ));
        }
        for (i, login) in self.allow.iter().enumerate() {
            if let Err(e) = normalize_twitch_login(login) {
                problems.push(Problem::new(format!("twitch.commands.allow[{i}]"), e));
            }
        }
    }

    /// The allow-list as logins (lowercase, no `@`/`#`); entries that are not logins are
    /// left out (validation refused them already).
    pub fn allowed_logins(&self) -> Vec<String> {
        self.allow
            .iter()
            .filter_map(|l| normalize_twitch_login(l.trim_start_matches('@')).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_prefixes_and_logins_are_reported_with_their_paths() {
        let config = CommandsConfig {
            prefix: "! tt".into(),
            allow: vec!["good_one".into(), "not a login".into()],
            ..CommandsConfig::default()
        };
        let mut problems = Vec::new();
        config.check(&mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["twitch.commands.prefix", "twitch.commands.allow[1]"]
        );
        let mut none = Vec::new();
        CommandsConfig::default().check(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn the_config_check_reports_them_and_the_range() {
        let mut c = super::super::Config::default();
        c.tiktok.username = "@creator".into();
        c.twitch.channels = vec!["mychannel".into()];
        c.twitch.bot_login = "mybot".into();
        c.twitch.client_id = "abc123".into();
        assert!(super::super::validate::validate(&c).is_empty());
        c.twitch.commands.prefix = String::new();
        c.twitch.commands.cooldown_secs = 3601;
        let paths: Vec<String> = super::super::validate::validate(&c)
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            ["twitch.commands.prefix", "twitch.commands.cooldown_secs"],
            "{paths:?}"
        );
    }
}
