//! Events built by hand for the pipeline and delivery tests: a viewer, an event around a
//! kind, a comment.

use tiktwitch::event::{Event, EventKind, Meta, Roles, User};

/// A viewer with `handle` as the @name and its upper case as the nickname.
pub fn user(id: u64, handle: &str) -> User {
    User {
        id,
        username: handle.into(),
        nickname: handle.to_uppercase(),
        roles: Roles::default(),
        ..User::default()
    }
}

/// `kind` as an event with message id `msg_id`.
pub fn ev(msg_id: u64, kind: EventKind) -> Event {
    Event {
        meta: Meta {
            method: "test".into(),
            msg_id,
            ..Meta::default()
        },
        kind,
    }
}

/// A comment by `author`.
pub fn comment(msg_id: u64, author: User, text: &str) -> Event {
    ev(
        msg_id,
        EventKind::Chat {
            user: author,
            text: text.into(),
            language: String::new(),
        },
    )
}
