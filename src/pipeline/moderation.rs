//! Rules set while the bridge runs (by moderators from Twitch chat or the API), not by the
//! config: a muted TikTok user, an `only chat` / `only gifts` restriction. The pipeline asks
//! them about each event after its route and before the config's filters; an event they
//! refuse is counted filtered under the rule they name (`muted`, `only`), so the accounting
//! identity stays exact.

use crate::event::Event;

/// Rules that can drop an event at run time.
pub trait Moderation: Send + Sync + std::fmt::Debug {
    /// The rule that drops `event`, or `None` to let it through.
    fn refuses(&self, event: &Event) -> Option<&'static str>;
}
