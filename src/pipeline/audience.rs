//! What the pipeline remembers about the live's viewers for the sink's selection policy
//! ([`crate::line::LineMeta`]): who has commented this session (a first comment goes
//! first) and who gave the most diamonds (the top gifters' comments go first). Memory is
//! bounded: the oldest commenters and the smallest gifters are forgotten first.

use std::collections::HashMap;

use crate::dedupe::RecentIds;
use crate::event::{Event, EventKind};
use crate::limits::{
    PIPELINE_COMMENTERS_CAPACITY, PIPELINE_GIFTERS_CAPACITY, PIPELINE_TOP_GIFTERS,
};
use crate::line::{LineMeta, text_key};

/// The session's commenters and gifters.
#[derive(Debug)]
pub struct Audience {
    commenters: RecentIds,
    diamonds: HashMap<u64, u64>,
}

impl Default for Audience {
    fn default() -> Self {
        Self {
            commenters: RecentIds::new(PIPELINE_COMMENTERS_CAPACITY),
            diamonds: HashMap::new(),
        }
    }
}

impl Audience {
    /// Counts a final gift of `diamonds` from `user_id` towards the session's gifter ranking.
    pub fn gave(&mut self, user_id: u64, diamonds: u64) {
        if user_id == 0 || diamonds == 0 {
            return;
        }
        let total = self.diamonds.entry(user_id).or_default();
        *total = total.saturating_add(diamonds);
        if self.diamonds.len() > PIPELINE_GIFTERS_CAPACITY
            && let Some((&smallest, _)) = self
                .diamonds
                .iter()
                .filter(|(id, _)| **id != user_id)
                .min_by_key(|(id, d)| (**d, **id))
        {
            self.diamonds.remove(&smallest);
        }
    }

    /// True when `user_id` is among the [`PIPELINE_TOP_GIFTERS`] biggest gifters so far.
    pub fn is_top_gifter(&self, user_id: u64) -> bool {
        let Some(&mine) = self.diamonds.get(&user_id) else {
            return false;
        };
        let above = self
            .diamonds
            .iter()
            .filter(|(id, d)| **d > mine || (**d == mine && **id < user_id))
            .count();
        above < PIPELINE_TOP_GIFTERS
    }

    /// The metadata of the line `event` becomes, with `diamonds` its gift value (0 when
    /// not a gift). A comment or question also marks its author as having commented.
    pub fn meta(&mut self, event: &Event, diamonds: u64) -> LineMeta {
        let (text, question) = match &event.kind {
            EventKind::Chat { text, .. } => (Some(text), false),
            EventKind::Question { text, .. } => (Some(text), true),
            _ => (None, false),
        };
        let user = event.kind.user();
        let Some(user) = user else {
            return LineMeta {
                diamonds,
                question,
                text_key: text.map(|t| text_key(t)).unwrap_or_default(),
                ..LineMeta::default()
            };
        };
        let first_comment = text.is_some() && user.id != 0 && self.commenters.first_sight(user.id);
        LineMeta {
            user_id: user.id,
            user_name: user.display_name().to_owned(),
            question: question || text.is_some_and(|t| t.trim_end().ends_with('?')),
            first_comment,
            moderator: user.roles.moderator || user.roles.creator,
            top_gifter: self.is_top_gifter(user.id),
            fan_club: user.roles.subscriber || user.profile.fan_club_level > 0,
            diamonds,
            text_key: text.map(|t| text_key(t)).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Meta, Roles, User};

    fn chat(id: u64, text: &str, roles: Roles) -> Event {
        Event {
            meta: Meta::default(),
            kind: EventKind::Chat {
                user: User {
                    id,
                    username: format!("u{id}"),
                    nickname: format!("U{id}"),
                    roles,
                    profile: Default::default(),
                },
                text: text.into(),
                language: String::new(),
            },
        }
    }

    #[test]
    fn first_comments_questions_roles_and_keys() {
        let mut a = Audience::default();
        let m = a.meta(&chat(1, "hi there", Roles::default()), 0);
        assert!(m.first_comment && !m.question && m.user_id == 1 && m.user_name == "U1");
        let m = a.meta(&chat(1, "how are you?", Roles::default()), 0);
        assert!(!m.first_comment && m.question && m.is_notable());
        let m = a.meta(&chat(1, "888", Roles::default()), 0);
        assert!(!m.is_notable());
        assert_eq!(m.text_key, "8");
        let moderator = Roles {
            moderator: true,
            ..Roles::default()
        };
        assert!(a.meta(&chat(1, "x", moderator), 0).moderator);
        let fan = Roles {
            subscriber: true,
            ..Roles::default()
        };
        assert!(a.meta(&chat(1, "x", fan), 0).fan_club);
        // A fan-club member by badge (the captures' `fan_club` badge level), not subscribed.
        let mut member = chat(2, "y", Roles::default());
        if let EventKind::Chat { user, .. } = &mut member.kind {
            user.profile.fan_club_level = 3;
        }
        assert!(a.meta(&member, 0).fan_club);
        assert!(!a.meta(&chat(3, "z", Roles::default()), 0).fan_club);
    }

    #[test]
    fn the_top_gifters_are_the_biggest_few() {
        let mut a = Audience::default();
        for (user, d) in [(1, 10), (2, 500), (3, 50), (4, 40), (5, 1)] {
            a.gave(user, d);
        }
        a.gave(5, 1_000);
        let tops: Vec<u64> = (1..=5).filter(|u| a.is_top_gifter(*u)).collect();
        assert_eq!(tops, [2, 3, 5]);
        assert!(!a.is_top_gifter(99));
    }
}
