//! What is dropped or masked: ignored and allowed users, the chat allowlist, required roles,
//! blocked words and patterns, and the gift value floor. Compiled once from
//! [`FiltersConfig`]; every check is a plain function of the event.

use std::collections::HashSet;

use regex::{Regex, RegexBuilder};

use crate::config::Problem;
use crate::config::identifiers::normalize_tiktok_username;
use crate::config::routes::{BlockedAction, FiltersConfig, RoleName};
use crate::event::{Event, EventKind, User};

/// Compiled filters.
#[derive(Debug)]
pub struct Filters {
    min_gift_diamonds: u64,
    blocked: Vec<Regex>,
    action: BlockedAction,
    ignored: HashSet<String>,
    allowed: HashSet<String>,
    chat_allowlist: bool,
    only_roles: Vec<RoleName>,
}

/// What the blocklist did to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocklist {
    /// Nothing matched.
    Clean,
    /// Matches were replaced by `***`.
    Masked,
    /// A match with `blocked_action = "drop"`: drop the event.
    Drop,
}

/// Largest compiled size of one blocked pattern (bytes); a pattern past it is refused at load.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

impl Filters {
    /// Compiles the filters; every bad word, pattern or handle is reported with its path
    /// (`filters.blocked_patterns[2]`).
    pub fn new(config: &FiltersConfig) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut blocked = Vec::new();
        let words: Vec<String> = config
            .blocked_words
            .iter()
            .enumerate()
            .filter_map(|(i, word)| {
                let word = word.trim();
                if word.is_empty() {
                    problems.push(Problem::new(
                        format!("filters.blocked_words[{i}]"),
                        "an empty word would block everything",
                    ));
                    return None;
                }
                Some(whole_word(word))
            })
            .collect();
        if !words.is_empty() {
            let joined = format!("(?i)(?:{})", words.join("|"));
            match RegexBuilder::new(&joined)
                .size_limit(PATTERN_SIZE_LIMIT * 4)
                .build()
            {
                Ok(re) => blocked.push(re),
                Err(e) => problems.push(Problem::new("filters.blocked_words", e.to_string())),
            }
        }
        for (i, pattern) in config.blocked_patterns.iter().enumerate() {
            match RegexBuilder::new(pattern)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
            {
                Ok(re) if re.is_match("") => problems.push(
                    Problem::new(
                        format!("filters.blocked_patterns[{i}]"),
                        format!(
                            "`{pattern}` matches the empty string, so it would match every message"
                        ),
                    )
                    .with_hint("use `+` instead of `*`, or anchor it"),
                ),
                Ok(re) => blocked.push(re),
                Err(e) => problems.push(
                    Problem::new(
                        format!("filters.blocked_patterns[{i}]"),
                        format!("not a regular expression: {e}"),
                    )
                    .with_hint("Rust `regex` syntax; use `blocked_words` for plain words"),
                ),
            }
        }
        let mut handles = |key: &str, list: &[String]| -> HashSet<String> {
            let mut set = HashSet::new();
            for (i, user) in list.iter().enumerate() {
                match normalize_tiktok_username(user) {
                    Ok(handle) => {
                        set.insert(handle);
                    }
                    Err(e) => problems.push(Problem::new(format!("filters.{key}[{i}]"), e)),
                }
            }
            set
        };
        let ignored = handles("ignored_users", &config.ignored_users);
        let allowed = handles("allowed_users", &config.allowed_users);
        if config.chat_allowlist && allowed.is_empty() {
            problems.push(
                Problem::new(
                    "filters.chat_allowlist",
                    "is on but `allowed_users` is empty: no comment would be relayed",
                )
                .with_hint("list the users in filters.allowed_users, or turn chat_allowlist off"),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            min_gift_diamonds: config.min_gift_diamonds,
            blocked,
            action: config.blocked_action,
            ignored,
            allowed,
            chat_allowlist: config.chat_allowlist,
            only_roles: config.only_roles.clone(),
        })
    }

    /// Checks who the event is from. `Err(rule)` names the rule that drops it.
    pub fn check_user(&self, event: &Event) -> Result<(), &'static str> {
        let user = event.kind.user();
        let handle = user.map(|u| u.username.to_lowercase());
        if let Some(handle) = &handle
            && self.ignored.contains(handle)
        {
            return Err("ignored_user");
        }
        let authored = matches!(
            event.kind,
            EventKind::Chat { .. } | EventKind::Emote { .. } | EventKind::Question { .. }
        );
        if !authored || handle.as_ref().is_some_and(|h| self.allowed.contains(h)) {
            return Ok(());
        }
        if self.chat_allowlist {
            return Err("not_allowlisted");
        }
        if !self.only_roles.is_empty() && !user.is_some_and(|u| self.has_role(u)) {
            return Err("role");
        }
        Ok(())
    }

    fn has_role(&self, user: &User) -> bool {
        self.only_roles.iter().any(|role| match role {
            RoleName::Follower => user.roles.follower,
            RoleName::Subscriber => user.roles.subscriber,
            RoleName::Moderator => user.roles.moderator || user.roles.creator,
        })
    }

    /// True when a gift worth `total_diamonds` (diamonds × count) is relayed.
    pub fn gift_worth_relaying(&self, total_diamonds: u64) -> bool {
        total_diamonds >= self.min_gift_diamonds
    }

    /// Applies the blocklist to the TikTok text an event carries (comment, question, the
    /// user's names), masking in place or asking to drop.
    pub fn apply_blocklist(&self, event: &mut Event) -> Blocklist {
        if self.blocked.is_empty() {
            return Blocklist::Clean;
        }
        let mut matched = false;
        let mut visit = |text: &mut String| {
            for re in &self.blocked {
                if re.is_match(text) {
                    matched = true;
                    if self.action == BlockedAction::Mask {
                        *text = re.replace_all(text, "***").into_owned();
                    }
                }
            }
        };
        match &mut event.kind {
            EventKind::Chat { text, .. } | EventKind::Question { text, .. } => visit(text),
            _ => {}
        }
        if let Some(user) = user_mut(&mut event.kind) {
            visit(&mut user.nickname);
            visit(&mut user.username);
        }
        match (matched, self.action) {
            (false, _) => Blocklist::Clean,
            (true, BlockedAction::Mask) => Blocklist::Masked,
            (true, BlockedAction::Drop) => Blocklist::Drop,
        }
    }
}

/// `\b` only where the word starts or ends with a word character (so `c++` still matches).
fn whole_word(word: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let start = if is_word(word.chars().next()) {
        r"\b"
    } else {
        ""
    };
    let end = if is_word(word.chars().last()) {
        r"\b"
    } else {
        ""
    };
    format!("{start}{}{end}", regex::escape(word))
}

fn user_mut(kind: &mut EventKind) -> Option<&mut User> {
    match kind {
        EventKind::Chat { user, .. }
        | EventKind::Emote { user, .. }
        | EventKind::Gift { user, .. }
        | EventKind::Join { user }
        | EventKind::Follow { user }
        | EventKind::Share { user }
        | EventKind::Subscribe { user, .. } => Some(user),
        EventKind::Like { user, .. } | EventKind::Question { user, .. } => user.as_mut(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Meta, Roles};
    use proptest::prelude::*;

    fn chat(username: &str, text: &str) -> Event {
        Event {
            meta: Meta::default(),
            kind: EventKind::Chat {
                user: User {
                    id: 1,
                    username: username.into(),
                    nickname: username.to_uppercase(),
                    roles: Roles::default(),
                    ..User::default()
                },
                text: text.into(),
                language: String::new(),
            },
        }
    }

    fn text_of(event: &Event) -> &str {
        match &event.kind {
            EventKind::Chat { text, .. } => text,
            _ => unreachable!(),
        }
    }

    fn filters(edit: impl FnOnce(&mut FiltersConfig)) -> Filters {
        let mut config = FiltersConfig::default();
        edit(&mut config);
        Filters::new(&config).unwrap()
    }

    #[test]
    fn blocked_words_are_whole_words_and_case_insensitive() {
        let f = filters(|c| c.blocked_words = vec!["spam".into(), "c++".into()]);
        let mut e = chat("a", "SPAM and spammer and Spam! c++");
        assert_eq!(f.apply_blocklist(&mut e), Blocklist::Masked);
        assert_eq!(text_of(&e), "*** and spammer and ***! ***");
        let mut clean = chat("a", "spammer");
        assert_eq!(f.apply_blocklist(&mut clean), Blocklist::Clean);
    }

    #[test]
    fn drop_action_and_patterns() {
        let f = filters(|c| {
            c.blocked_patterns = vec![r"(?i)buy\s+followers".into()];
            c.blocked_action = BlockedAction::Drop;
        });
        assert_eq!(
            f.apply_blocklist(&mut chat("a", "Buy   followers here")),
            Blocklist::Drop
        );
        assert_eq!(f.apply_blocklist(&mut chat("a", "hello")), Blocklist::Clean);
    }

    #[test]
    fn nicknames_are_masked_too() {
        let f = filters(|c| c.blocked_words = vec!["badname".into()]);
        let mut e = chat("badname", "hi");
        assert_eq!(f.apply_blocklist(&mut e), Blocklist::Masked);
        assert_eq!(e.kind.user().unwrap().nickname, "***");
    }

    #[test]
    fn users_ignored_allowed_and_roles() {
        let f = filters(|c| {
            c.ignored_users = vec!["@Troll".into()];
            c.allowed_users = vec!["friend".into()];
            c.only_roles = vec![RoleName::Subscriber];
        });
        assert_eq!(f.check_user(&chat("troll", "x")), Err("ignored_user"));
        assert_eq!(f.check_user(&chat("friend", "x")), Ok(()));
        assert_eq!(f.check_user(&chat("stranger", "x")), Err("role"));
        let mut sub = chat("sub", "x");
        if let EventKind::Chat { user, .. } = &mut sub.kind {
            user.roles.subscriber = true;
        }
        assert_eq!(f.check_user(&sub), Ok(()));
    }

    #[test]
    fn chat_allowlist_mode() {
        let f = filters(|c| {
            c.allowed_users = vec!["friend".into()];
            c.chat_allowlist = true;
        });
        assert_eq!(f.check_user(&chat("friend", "x")), Ok(()));
        assert_eq!(f.check_user(&chat("other", "x")), Err("not_allowlisted"));
    }

    #[test]
    fn bad_filters_are_all_reported() {
        let config = FiltersConfig {
            blocked_words: vec![" ".into()],
            blocked_patterns: vec!["(".into(), "a*".into()],
            ignored_users: vec!["not a handle".into()],
            chat_allowlist: true,
            ..FiltersConfig::default()
        };
        let paths: Vec<String> = Filters::new(&config)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            [
                "filters.blocked_words[0]",
                "filters.blocked_patterns[0]",
                "filters.blocked_patterns[1]",
                "filters.ignored_users[0]",
                "filters.chat_allowlist"
            ]
        );
    }

    #[test]
    fn gift_floor() {
        let f = filters(|c| c.min_gift_diamonds = 10);
        assert!(!f.gift_worth_relaying(9));
        assert!(f.gift_worth_relaying(10));
    }

    proptest! {
        #[test]
        fn masked_text_never_contains_a_blocked_word(
            words in proptest::collection::vec("[a-z]{3,6}", 1..4),
            text in "[a-zA-Z ,.!]{0,80}",
        ) {
            let f = filters(|c| c.blocked_words = words.clone());
            let mut e = chat("user", &text);
            f.apply_blocklist(&mut e);
            let masked = text_of(&e).to_lowercase();
            for token in masked.split(|c: char| !c.is_alphanumeric()) {
                prop_assert!(!words.contains(&token.to_string()), "{} survived in {}", token, masked);
            }
        }

        /// Ignored users never pass; allowed users always pass the role and allowlist
        /// filters; others pass exactly when they hold a required role.
        #[test]
        fn user_rules_hold_for_any_user(
            handle in "[a-z]{2,6}",
            follower in any::<bool>(),
            subscriber in any::<bool>(),
            ignored in any::<bool>(),
            allowed in any::<bool>(),
        ) {
            let f = filters(|c| {
                c.only_roles = vec![RoleName::Subscriber];
                if ignored { c.ignored_users = vec![handle.clone()]; }
                if allowed { c.allowed_users = vec![handle.clone()]; }
            });
            let mut e = chat(&handle, "hi");
            if let EventKind::Chat { user, .. } = &mut e.kind {
                user.roles.follower = follower;
                user.roles.subscriber = subscriber;
            }
            let verdict = f.check_user(&e);
            let expected = if ignored {
                Err("ignored_user")
            } else if allowed || subscriber {
                Ok(())
            } else {
                Err("role")
            };
            prop_assert_eq!(verdict, expected);
        }
    }
}
