//! What the bot reads in its channels: every PRIVMSG on the sink's one IRC connection, with
//! the IRCv3 tags that say who wrote it (`badges`, `mod`, `user-id`, `room-id`,
//! `source-room-id`). The sink only passes them on, to whoever subscribed
//! ([`super::SinkHandle::subscribe_chat`]): the moderator commands and the feed's
//! `twitch_chat` events. The bot's own lines never come back here.

use twitch_irc::message::PrivmsgMessage;

/// One chat message read from a Twitch channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Channel login (without `#`).
    pub channel: String,
    /// The channel's room id (`room-id`).
    pub room_id: String,
    /// The room the message was written in (`source-room-id`), during a Shared Chat
    /// session; `None` outside one.
    pub source_room_id: Option<String>,
    /// The sender's user id (`user-id`).
    pub user_id: String,
    /// The sender's login.
    pub login: String,
    /// The sender's display name.
    pub display_name: String,
    /// Badge names (`broadcaster`, `moderator`, `vip`, `subscriber` ...).
    pub badges: Vec<String>,
    /// A moderator of the channel (the `mod` tag or the badge).
    pub moderator: bool,
    /// The channel's owner (the badge, or the user id being the room id).
    pub broadcaster: bool,
    /// The text.
    pub text: String,
    /// Twitch's message id (`id`).
    pub message_id: String,
}

impl ChatMessage {
    /// Reads a parsed PRIVMSG.
    pub fn from_privmsg(p: &PrivmsgMessage) -> Self {
        let tags = &p.source.tags.0;
        let badges: Vec<String> = p.badges.iter().map(|b| b.name.clone()).collect();
        let has = |name: &str| badges.iter().any(|b| b == name);
        let moderator = tags.get("mod").is_some_and(|v| v == "1") || has("moderator");
        let broadcaster = has("broadcaster") || (!p.sender.id.is_empty() && p.sender.id == p.channel_id);
        let source_room_id = tags
            .get("source-room-id")
            .filter(|v| !v.is_empty())
            .cloned();
        Self {
            channel: p.channel_login.clone(),
            room_id: p.channel_id.clone(),
            source_room_id,
            user_id: p.sender.id.clone(),
            login: p.sender.login.clone(),
            display_name: p.sender.name.clone(),
            moderator,
            broadcaster,
            badges,
            text: p.message_text.clone(),
            message_id: p.message_id.clone(),
        }
    }

    /// True when the message was written in another channel of a Shared Chat session and
    /// mirrored into this one (so our lines are mirrored into that channel too).
    pub fn is_from_partner_channel(&self) -> bool {
        self.source_room_id
            .as_deref()
            .is_some_and(|source| source != self.room_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitch_irc::message::{IRCMessage, ServerMessage};

    fn parse(raw: &str) -> ChatMessage {
        let irc = IRCMessage::parse(raw).expect("IRC line");
        match ServerMessage::try_from(irc).expect("server message") {
            ServerMessage::Privmsg(p) => ChatMessage::from_privmsg(&p),
            other => panic!("not a PRIVMSG: {other:?}"),
        }
    }

    #[test]
    fn a_moderators_line_as_twitch_sends_it() {
        let m = parse(
            "@badge-info=;badges=moderator/1,partner/1;color=#5B99FF;display-name=ModLady;emotes=;first-msg=0;flags=;id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;mod=1;returning-chatter=0;room-id=11148817;subscriber=0;tmi-sent-ts=1700000000000;turbo=0;user-id=222;user-type=mod :modlady!modlady@modlady.tmi.twitch.tv PRIVMSG #pajlada :!tt status",
        );
        assert_eq!(m.channel, "pajlada");
        assert_eq!(m.login, "modlady");
        assert_eq!(m.display_name, "ModLady");
        assert!(m.moderator && !m.broadcaster);
        assert_eq!(m.text, "!tt status");
        assert_eq!(m.room_id, "11148817");
        assert!(!m.is_from_partner_channel());
    }

    #[test]
    fn the_broadcaster_and_a_shared_chat_line() {
        let b = parse(
            "@badge-info=;badges=broadcaster/1;color=;display-name=Pajlada;emotes=;id=1;mod=0;room-id=11148817;tmi-sent-ts=1700000000000;user-id=11148817 :pajlada!pajlada@pajlada.tmi.twitch.tv PRIVMSG #pajlada :hi",
        );
        assert!(b.broadcaster && !b.moderator);
        let shared = parse(
            "@badge-info=;badges=;color=;display-name=Guest;emotes=;id=2;mod=0;room-id=11148817;source-badges=;source-id=3;source-room-id=999;tmi-sent-ts=1700000000000;user-id=5 :guest!guest@guest.tmi.twitch.tv PRIVMSG #pajlada :hello from the other side",
        );
        assert_eq!(shared.source_room_id.as_deref(), Some("999"));
        assert!(shared.is_from_partner_channel());
        assert!(!shared.moderator && !shared.broadcaster);
    }
}
