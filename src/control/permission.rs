//! Who may command the bridge from chat: the channel's broadcaster and moderators (by badge
//! or `mod` tag) unless turned off, and the logins on the allow-list. Everyone else is
//! ignored without a reply (no reply spam). A line mirrored from a partner channel of a
//! Shared Chat session never commands: that channel's moderators are not ours.

use std::collections::HashSet;

use crate::sink::incoming::ChatMessage;

/// The rule of `[twitch.commands]`.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    /// Broadcaster and moderators may.
    pub moderators: bool,
    /// These logins may (lowercase).
    pub allow: HashSet<String>,
}

impl Permissions {
    /// True when `message`'s sender may command the bridge.
    pub fn may_command(&self, message: &ChatMessage) -> bool {
        if message.is_from_partner_channel() {
            return false;
        }
        (self.moderators && (message.moderator || message.broadcaster))
            || self.allow.contains(&message.login.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(login: &str, moderator: bool, broadcaster: bool) -> ChatMessage {
        ChatMessage {
            channel: "chan".into(),
            room_id: "1".into(),
            source_room_id: None,
            user_id: "9".into(),
            login: login.into(),
            display_name: login.into(),
            badges: Vec::new(),
            moderator,
            broadcaster,
            text: "!tt status".into(),
            message_id: "x".into(),
        }
    }

    #[test]
    fn moderators_broadcaster_and_the_allow_list() {
        let rule = Permissions {
            moderators: true,
            allow: HashSet::from(["friend".to_owned()]),
        };
        assert!(rule.may_command(&message("m", true, false)));
        assert!(rule.may_command(&message("b", false, true)));
        assert!(rule.may_command(&message("Friend", false, false)));
        assert!(!rule.may_command(&message("viewer", false, false)));
        let mut partner = message("m", true, false);
        partner.source_room_id = Some("2".into());
        assert!(!rule.may_command(&partner), "a partner channel's moderator");
        let allow_only = Permissions {
            moderators: false,
            ..rule
        };
        assert!(!allow_only.may_command(&message("m", true, false)));
        assert!(allow_only.may_command(&message("friend", false, false)));
    }
}
