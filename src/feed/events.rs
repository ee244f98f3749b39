//! A bridge's event stream: every event the bridge receives from TikTok (before filtering),
//! offered to the feed's readers (the tap behind the ring, webhooks and the ring file, and
//! one task per WebSocket client), which subscribe to it directly.
//!
//! The bridge publishes into it from its own loop, with no task or channel in between, and
//! never waits: it is a broadcast channel, so a reader that falls more than
//! [`FEED_CHANNEL_CAPACITY`] events behind misses events (it sees `Lagged`, which it
//! counts) instead of slowing the bridge.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::event::Event;
use crate::limits::FEED_CHANNEL_CAPACITY;
use crate::status::BridgeHealth;

/// One bridge's event stream. Cheap to clone; clones are the same stream.
#[derive(Debug, Clone, Default)]
pub struct EventStream {
    /// Made on the first subscription: its buffer is allocated whole, and most processes
    /// run no feed.
    sender: Arc<OnceLock<broadcast::Sender<Arc<Event>>>>,
}

impl EventStream {
    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender
            .get_or_init(|| broadcast::channel(FEED_CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Offers an event to the subscribers (if any); never waits.
    pub fn publish(&self, event: &Event) {
        if let Some(sender) = self.sender.get()
            && sender.receiver_count() > 0
        {
            let _ = sender.send(Arc::new(event.clone()));
        }
    }
}

/// One bridge as the feed is given it: its status (state, counters, pause flag) and its
/// event stream.
#[derive(Debug, Clone)]
pub struct FeedInput {
    /// The bridge's status.
    pub health: BridgeHealth,
    /// The events the bridge publishes.
    pub events: EventStream,
}

impl FeedInput {
    /// A bridge with a fresh event stream.
    pub fn new(health: BridgeHealth) -> Self {
        Self {
            health,
            events: EventStream::default(),
        }
    }

    /// Publishes an event on the bridge's stream ([`EventStream::publish`]).
    pub fn publish(&self, event: &Event) {
        self.events.publish(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Meta, User};
    use tokio::sync::broadcast::error::TryRecvError;

    fn chat(id: u64) -> Event {
        Event {
            meta: Meta {
                msg_id: id,
                ..Meta::default()
            },
            kind: EventKind::Chat {
                user: User::default(),
                text: format!("m{id}"),
                language: String::new(),
            },
        }
    }

    #[test]
    fn a_published_event_is_on_the_stream_at_once_with_nothing_in_between() {
        // No runtime, no task: if a hop (channel + forwarding task) came back between the
        // bridge and its readers, nothing would be received here.
        let stream = EventStream::default();
        let mut rx = stream.subscribe();
        for id in 1..=3 {
            stream.clone().publish(&chat(id));
        }
        for id in 1..=3 {
            assert_eq!(rx.try_recv().unwrap().meta.msg_id, id, "in order");
        }
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    }

    #[test]
    fn a_reader_that_falls_behind_misses_events_and_the_publisher_never_waits() {
        let stream = EventStream::default();
        let mut rx = stream.subscribe();
        let extra = 5u64;
        for id in 1..=(FEED_CHANNEL_CAPACITY as u64 + extra) {
            stream.publish(&chat(id));
        }
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Lagged(extra));
        assert_eq!(rx.try_recv().unwrap().meta.msg_id, extra + 1);
    }

    #[test]
    fn publishing_without_readers_keeps_nothing() {
        let stream = EventStream::default();
        stream.publish(&chat(1));
        assert!(stream.sender.get().is_none(), "no buffer until someone subscribes");
        let mut rx = stream.subscribe();
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    }
}
