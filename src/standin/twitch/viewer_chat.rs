//! Chat from people other than the bot: tagged PRIVMSG lines as Twitch sends them (IRCv3
//! tags: `badges`, `mod`, `user-id`, `room-id`, and `source-room-id` in a Shared Chat
//! session), written to every connection that joined the channel.

use super::FakeTwitch;

/// Who writes, as the fake announces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatUser {
    /// Login (lowercase).
    pub login: String,
    /// Numeric user id.
    pub user_id: String,
    /// Badges as Twitch writes them (`moderator/1`, `broadcaster/1`, `subscriber/12`).
    pub badges: Vec<String>,
}

impl ChatUser {
    /// A viewer without badges.
    pub fn viewer(login: &str, user_id: &str) -> Self {
        Self {
            login: login.to_owned(),
            user_id: user_id.to_owned(),
            badges: Vec::new(),
        }
    }

    /// A moderator (`moderator/1`, `mod=1`).
    pub fn moderator(login: &str, user_id: &str) -> Self {
        Self {
            badges: vec!["moderator/1".into()],
            ..Self::viewer(login, user_id)
        }
    }

    /// The channel's owner (`broadcaster/1`); Twitch gives them the room's id.
    pub fn broadcaster(login: &str, room_id: &str) -> Self {
        Self {
            badges: vec!["broadcaster/1".into()],
            ..Self::viewer(login, room_id)
        }
    }

    fn is_moderator(&self) -> bool {
        self.badges.iter().any(|b| b.starts_with("moderator/"))
    }
}

/// The room id the fake gives every channel (its ROOMSTATE says `room-id=1`).
pub const FAKE_ROOM_ID: &str = "1";

impl FakeTwitch {
    /// `user` writes `text` in `channel` (room [`FAKE_ROOM_ID`]).
    pub fn chat_from(&self, channel: &str, user: &ChatUser, text: &str) {
        self.send_to_joined(channel, &privmsg_line(channel, FAKE_ROOM_ID, None, user, text));
    }

    /// `user` writes `text` in the room `source_room_id` of a Shared Chat session, and
    /// Twitch mirrors it into `channel`: the line carries `source-room-id` (and the
    /// `source-*` tags) differing from `room-id`.
    pub fn shared_chat_from(
        &self,
        channel: &str,
        source_room_id: &str,
        user: &ChatUser,
        text: &str,
    ) {
        self.send_to_joined(
            channel,
            &privmsg_line(channel, FAKE_ROOM_ID, Some(source_room_id), user, text),
        );
    }
}

/// One PRIVMSG line with the tags Twitch sends (order as Twitch writes them).
pub fn privmsg_line(
    channel: &str,
    room_id: &str,
    source_room_id: Option<&str>,
    user: &ChatUser,
    text: &str,
) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let badges = user.badges.join(",");
    let moderator = u8::from(user.is_moderator());
    let user_type = if user.is_moderator() { "mod" } else { "" };
    let source = source_room_id.map_or(String::new(), |room| {
        format!("source-badge-info=;source-badges={badges};source-id=src-{id};source-room-id={room};")
    });
    let login = &user.login;
    format!(
        "@badge-info=;badges={badges};color=#1E90FF;display-name={login};emotes=;first-msg=0;flags=;\
         id=00000000-0000-4000-8000-{id:012};mod={moderator};returning-chatter=0;room-id={room_id};\
         {source}subscriber=0;tmi-sent-ts=1700000000000;turbo=0;user-id={};user-type={user_type} \
         :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}",
        user.user_id
    )
}
