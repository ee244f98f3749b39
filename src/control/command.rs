//! The moderator commands, parsed from a chat line: `<prefix> status`, `pause [minutes]`,
//! `resume`, `mute <tiktok_user>`, `unmute <tiktok_user>`, `only <chat|gifts|all>`, `help`.
//!
//! A line that does not start with the prefix (as a word of its own) is not a command and
//! gets no answer; a line that does but is malformed is a command with a mistake, which the
//! caller may answer (once per cooldown).

use serde::{Deserialize, Serialize};

use crate::config::identifiers::normalize_tiktok_username;
use crate::limits::COMMAND_PAUSE_MAX_MINUTES;

/// Which kinds of TikTok events are relayed (`only ...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every kind the routes enable.
    #[default]
    All,
    /// Comments, emotes and questions only.
    Chat,
    /// Gifts only.
    Gifts,
}

impl Scope {
    /// `chat`, `gifts` or `all`.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Chat => "chat",
            Self::Gifts => "gifts",
        }
    }

    /// Reads `chat`, `gifts` (or `gift`) and `all`.
    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "all" => Some(Self::All),
            "chat" => Some(Self::Chat),
            "gifts" | "gift" => Some(Self::Gifts),
            _ => None,
        }
    }
}

/// A command a moderator gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Live or not, lines sent/shed lately, paused or not.
    Status,
    /// Stop relaying, for that many minutes or until `resume`.
    Pause(Option<u64>),
    /// Relay again.
    Resume,
    /// Drop this TikTok user's events (normalized handle).
    Mute(String),
    /// Relay this TikTok user's events again.
    Unmute(String),
    /// Relay only these kinds.
    Only(Scope),
    /// The list of commands.
    Help,
}

impl Command {
    /// The command's name (the cooldown's key).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Pause(_) => "pause",
            Self::Resume => "resume",
            Self::Mute(_) => "mute",
            Self::Unmute(_) => "unmute",
            Self::Only(_) => "only",
            Self::Help => "help",
        }
    }
}

/// A line that starts with the prefix but is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such command.
    #[error("unknown command {0:?}")]
    Unknown(String),
    /// A command with a missing or bad argument: (command, what is wrong).
    #[error("{1}")]
    BadArgument(&'static str, String),
}

impl CommandError {
    /// The command it concerns (`unknown` for an unknown one): the cooldown's key.
    pub fn command(&self) -> &'static str {
        match self {
            Self::Unknown(_) => "unknown",
            Self::BadArgument(command, _) => command,
        }
    }
}

/// The usage line `help` answers.
pub fn usage(prefix: &str) -> String {
    format!(
        "{prefix} status | pause [minutes] | resume | mute <tiktok_user> | unmute <tiktok_user> | only <chat|gifts|all> | help"
    )
}

/// Characters chat clients append to make a repeated line differ (Twitch drops identical
/// lines within 30 s): U+E0000 (a tag character, sent by 7TV and Chatterino) and the
/// zero-width ones. They are not part of any argument.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{E0000}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Parses `text` as a command with `prefix`: `None` when it is not one (no answer at all).
pub fn parse(prefix: &str, text: &str) -> Option<Result<Command, CommandError>> {
    let cleaned: String = text.chars().filter(|c| !is_invisible(*c)).collect();
    let mut words = cleaned.split_whitespace();
    let first = words.next()?;
    if !first.eq_ignore_ascii_case(prefix.trim()) {
        return None;
    }
    let Some(name) = words.next() else {
        return Some(Ok(Command::Help));
    };
    let args: Vec<&str> = words.collect();
    Some(command(&name.to_ascii_lowercase(), &args))
}

fn command(name: &str, args: &[&str]) -> Result<Command, CommandError> {
    let bad = |command: &'static str, why: String| Err(CommandError::BadArgument(command, why));
    match name {
        "status" => Ok(Command::Status),
        "help" | "commands" => Ok(Command::Help),
        "resume" | "unpause" => Ok(Command::Resume),
        "pause" => match args.first() {
            None => Ok(Command::Pause(None)),
            Some(minutes) => match minutes.parse::<u64>() {
                Ok(m) if (1..=COMMAND_PAUSE_MAX_MINUTES).contains(&m) => Ok(Command::Pause(Some(m))),
                _ => bad(
                    "pause",
                    format!("pause takes minutes from 1 to {COMMAND_PAUSE_MAX_MINUTES}, not {minutes:?}"),
                ),
            },
        },
        "mute" | "unmute" => {
            let command = if name == "mute" { "mute" } else { "unmute" };
            let Some(user) = args.first() else {
                return bad(command, format!("{command} needs a TikTok user: {command} @someone"));
            };
            match normalize_tiktok_username(user) {
                Ok(handle) if command == "mute" => Ok(Command::Mute(handle)),
                Ok(handle) => Ok(Command::Unmute(handle)),
                Err(_) => bad(command, format!("{user:?} is not a TikTok handle")),
            }
        }
        "only" => match args.first().and_then(|w| Scope::parse(w)) {
            Some(scope) => Ok(Command::Only(scope)),
            None => bad("only", "only takes chat, gifts or all".into()),
        },
        other => Err(CommandError::Unknown(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::incoming::ChatMessage;
    use twitch_irc::message::{IRCMessage, ServerMessage};

    /// The text of a PRIVMSG line exactly as Twitch sends it.
    fn text_of(raw: &str) -> String {
        let irc = IRCMessage::parse(raw).unwrap();
        match ServerMessage::try_from(irc).unwrap() {
            ServerMessage::Privmsg(p) => ChatMessage::from_privmsg(&p).text,
            other => panic!("{other:?}"),
        }
    }

    fn line(text: &str) -> String {
        format!(
            "@badge-info=;badges=moderator/1;color=#FF0000;display-name=Mod;emotes=;first-msg=0;flags=;id=885196de-cb67-427a-baa8-82f9b0fcd05f;mod=1;returning-chatter=0;room-id=40286300;subscriber=0;tmi-sent-ts=1700000000000;turbo=0;user-id=5;user-type=mod :mod!mod@mod.tmi.twitch.tv PRIVMSG #channel :{text}"
        )
    }

    #[test]
    fn commands_from_real_twitch_lines() {
        let cases = [
            ("!tt status", Command::Status),
            ("!TT Status", Command::Status),
            ("!tt pause", Command::Pause(None)),
            ("!tt pause 10", Command::Pause(Some(10))),
            ("!tt resume", Command::Resume),
            ("!tt mute @Some.User", Command::Mute("some.user".into())),
            ("!tt unmute some_user", Command::Unmute("some_user".into())),
            ("!tt only gifts", Command::Only(Scope::Gifts)),
            ("!tt only chat", Command::Only(Scope::Chat)),
            ("!tt only all", Command::Only(Scope::All)),
            ("!tt help", Command::Help),
            ("!tt", Command::Help),
            // Chatterino/7TV append U+E0000 to repeat a line within Twitch's 30 s rule.
            ("!tt status \u{E0000}", Command::Status),
            ("!tt pause 5\u{E0000}", Command::Pause(Some(5))),
        ];
        for (text, expected) in cases {
            let text = text_of(&line(text));
            assert_eq!(parse("!tt", &text), Some(Ok(expected)), "{text:?}");
        }
    }

    #[test]
    fn other_lines_are_not_commands() {
        for text in ["hello", "!ttstatus", "!t status", "status !tt", "", "   ", "!other pause"] {
            assert_eq!(parse("!tt", text), None, "{text:?}");
        }
        assert_eq!(parse("?bridge", "?bridge resume"), Some(Ok(Command::Resume)));
    }

    #[test]
    fn mistakes_name_their_command() {
        let err = |t: &str| parse("!tt", t).unwrap().unwrap_err();
        assert_eq!(err("!tt pause soon").command(), "pause");
        assert_eq!(err("!tt pause 0").command(), "pause");
        assert_eq!(err(&format!("!tt pause {}", COMMAND_PAUSE_MAX_MINUTES + 1)).command(), "pause");
        assert_eq!(err("!tt mute").command(), "mute");
        assert_eq!(err("!tt mute !!bad").command(), "mute");
        assert_eq!(err("!tt only likes").command(), "only");
        assert_eq!(err("!tt dance"), CommandError::Unknown("dance".into()));
    }
}
