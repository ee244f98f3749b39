//! Gift streaks: TikTok sends a streakable gift once per tick with a growing count, and only
//! the `complete` frame (TikTok's `repeat_end`, or any non-streakable gift) is final. A streak is relayed once, with its final count, keyed by
//! (user id, gift id, streak id). When the end frame is lost, the last seen tick is relayed
//! once no tick has come for `timeout`.
//!
//! Pure and clock-free: every call takes `now`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::event::{Event, EventKind};
use crate::limits::MAX_OPEN_GIFT_STREAKS;

/// (user id, gift id, streak id).
type StreakKey = (u64, u64, u64);

/// What happened to a gift event.
#[derive(Debug, PartialEq)]
pub enum GiftStep {
    /// Relay this event now (the streak ended, or the gift cannot streak).
    /// `superseded`: a held tick of the same streak is now coalesced into it.
    Relay {
        /// The event to relay.
        event: Box<Event>,
        /// A held tick was folded into it.
        superseded: bool,
    },
    /// The event is held as the streak's latest tick. `superseded`: the previously held
    /// tick is now coalesced.
    Held {
        /// A previous tick was folded into this one.
        superseded: bool,
    },
    /// A tick of a streak that was already relayed (its end frame came after the timeout):
    /// coalesced.
    Late,
}

#[derive(Debug)]
struct Open {
    event: Event,
    deadline: Instant,
}

/// Open streaks and the recently closed ones.
#[derive(Debug)]
pub struct GiftStreaks {
    timeout: Duration,
    open: HashMap<StreakKey, Open>,
    closed: HashSet<StreakKey>,
    closed_order: VecDeque<StreakKey>,
    /// Streaks evicted because too many were open, waiting to be handed out by `expire`.
    evicted: Vec<Event>,
    /// When the first waiting eviction happened (a deadline that has already passed).
    evicted_at: Option<Instant>,
}

impl GiftStreaks {
    /// Streaks silent for `timeout` are relayed with their last count.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            open: HashMap::new(),
            closed: HashSet::new(),
            closed_order: VecDeque::new(),
            evicted: Vec::new(),
            evicted_at: None,
        }
    }

    /// Takes a gift event (other kinds are relayed untouched).
    pub fn push(&mut self, event: Event, now: Instant) -> GiftStep {
        let EventKind::Gift {
            user,
            gift,
            complete,
            streak_id,
            ..
        } = &event.kind
        else {
            return GiftStep::Relay {
                event: Box::new(event),
                superseded: false,
            };
        };
        let key = (user.id, gift.id, *streak_id);
        if self.closed.contains(&key) {
            return GiftStep::Late;
        }
        if *complete {
            let superseded = self.open.remove(&key).is_some();
            if gift.streakable {
                self.close(key);
            }
            return GiftStep::Relay {
                event: Box::new(event),
                superseded,
            };
        }
        if !self.open.contains_key(&key) && self.open.len() >= MAX_OPEN_GIFT_STREAKS {
            self.evict_oldest(now);
        }
        let deadline = super::deadline(now, self.timeout);
        let superseded = self.open.insert(key, Open { event, deadline }).is_some();
        GiftStep::Held { superseded }
    }

    /// Streaks whose timeout passed (their end frame was lost), oldest first: relay them.
    pub fn expire(&mut self, now: Instant) -> Vec<Event> {
        let mut due: Vec<(StreakKey, Instant)> = self
            .open
            .iter()
            .filter(|(_, open)| open.deadline <= now)
            .map(|(key, open)| (*key, open.deadline))
            .collect();
        due.sort_by_key(|(_, deadline)| *deadline);
        self.evicted_at = None;
        let mut out = std::mem::take(&mut self.evicted);
        for (key, _) in due {
            if let Some(open) = self.open.remove(&key) {
                self.close(key);
                out.push(open.event);
            }
        }
        out
    }

    /// Every open streak, now (shutdown, stream end).
    pub fn drain(&mut self) -> Vec<Event> {
        let mut open: Vec<(StreakKey, Open)> = self.open.drain().collect();
        open.sort_by_key(|(_, o)| o.deadline);
        self.evicted_at = None;
        let mut out = std::mem::take(&mut self.evicted);
        for (key, o) in open {
            self.close(key);
            out.push(o.event);
        }
        out
    }

    /// When the next streak times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        let open = self.open.values().map(|o| o.deadline).min();
        match (open, self.evicted_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Streaks open now.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    fn evict_oldest(&mut self, now: Instant) {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, o)| o.deadline)
            .map(|(k, _)| *k);
        if let Some(key) = oldest
            && let Some(open) = self.open.remove(&key)
        {
            self.close(key);
            self.evicted.push(open.event);
            self.evicted_at.get_or_insert(now);
        }
    }

    /// Remembers a relayed streak so a late end frame is not relayed twice.
    fn close(&mut self, key: StreakKey) {
        if self.closed.insert(key) {
            self.closed_order.push_back(key);
            if self.closed_order.len() > MAX_OPEN_GIFT_STREAKS
                && let Some(old) = self.closed_order.pop_front()
            {
                self.closed.remove(&old);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::{Gift, Meta, User};
    use proptest::prelude::*;

    pub(crate) fn gift(user: u64, streak: u64, count: u32, end: bool, streakable: bool) -> Event {
        Event {
            meta: Meta {
                method: "WebcastGiftMessage".into(),
                ..Meta::default()
            },
            kind: EventKind::Gift {
                user: User {
                    id: user,
                    username: format!("user{user}"),
                    nickname: format!("User {user}"),
                    ..User::default()
                },
                gift: Gift {
                    id: 5655,
                    name: "Rose".into(),
                    diamonds: 1,
                    streakable,
                    image: None,
                },
                count,
                streak_end: end,
                complete: end || !streakable,
                streak_id: streak,
                to_user: None,
            },
        }
    }

    fn count_of(e: &Event) -> u32 {
        match e.kind {
            EventKind::Gift { count, .. } => count,
            _ => 0,
        }
    }

    #[test]
    fn a_streak_relays_once_at_its_end() {
        let t0 = Instant::now();
        let mut g = GiftStreaks::new(Duration::from_secs(5));
        for n in 1..200 {
            let step = g.push(
                gift(1, 9, n, false, true),
                t0 + Duration::from_millis(u64::from(n) * 20),
            );
            assert_eq!(step, GiftStep::Held { superseded: n > 1 });
        }
        let GiftStep::Relay { event, superseded } =
            g.push(gift(1, 9, 200, true, true), t0 + Duration::from_secs(4))
        else {
            panic!("end frame must relay");
        };
        assert!(superseded);
        assert_eq!(count_of(&event), 200);
        assert!(g.expire(t0 + Duration::from_secs(60)).is_empty());
        assert_eq!(g.push(gift(1, 9, 200, true, true), t0), GiftStep::Late);
    }

    #[test]
    fn a_lost_end_frame_relays_the_last_count_after_the_timeout() {
        let t0 = Instant::now();
        let mut g = GiftStreaks::new(Duration::from_secs(5));
        for n in 1..=200 {
            g.push(
                gift(1, 9, n, false, true),
                t0 + Duration::from_millis(u64::from(n) * 20),
            );
        }
        let last = t0 + Duration::from_millis(200 * 20);
        assert!(g.expire(last + Duration::from_millis(4_999)).is_empty());
        assert_eq!(g.next_deadline(), Some(last + Duration::from_secs(5)));
        let out = g.expire(last + Duration::from_secs(5));
        assert_eq!(out.iter().map(count_of).collect::<Vec<_>>(), [200]);
        assert_eq!(
            g.push(gift(1, 9, 200, true, true), last + Duration::from_secs(6)),
            GiftStep::Late
        );
    }

    #[test]
    fn non_streakable_gifts_relay_at_once_and_streaks_are_per_user_and_id() {
        let t0 = Instant::now();
        let mut g = GiftStreaks::new(Duration::from_secs(5));
        assert!(matches!(
            g.push(gift(1, 1, 1, true, false), t0),
            GiftStep::Relay {
                superseded: false,
                ..
            }
        ));
        g.push(gift(1, 2, 1, false, true), t0);
        g.push(gift(2, 2, 1, false, true), t0);
        g.push(gift(1, 3, 1, false, true), t0);
        assert_eq!(g.open_count(), 3);
        assert_eq!(g.drain().len(), 3);
    }

    proptest! {
        /// However the ticks of several interleaved streaks arrive, and whether or not
        /// their end frames are lost, each streak yields exactly one relayed event with its
        /// highest count.
        #[test]
        fn each_streak_relays_exactly_once_with_its_final_count(
            lengths in proptest::collection::vec(1u32..60, 1..6),
            lose_end in proptest::collection::vec(any::<bool>(), 6),
            gaps_ms in proptest::collection::vec(0u64..3_000, 400),
        ) {
            let t0 = Instant::now();
            let mut g = GiftStreaks::new(Duration::from_secs(5));
            let mut events = Vec::new();
            for (s, len) in lengths.iter().enumerate() {
                for n in 1..=*len {
                    events.push((s, gift(s as u64, s as u64, n, false, true)));
                }
                if !lose_end[s] {
                    events.push((s, gift(s as u64, s as u64, *len, true, true)));
                }
            }
            // Interleave round-robin, which keeps each streak's ticks in order.
            events.sort_by_key(|(s, e)| (count_of(e), *s));
            let mut now = t0;
            let mut relayed: Vec<Event> = Vec::new();
            for (i, (_, e)) in events.into_iter().enumerate() {
                now += Duration::from_millis(gaps_ms[i % gaps_ms.len()]);
                relayed.extend(g.expire(now));
                if let GiftStep::Relay { event, .. } = g.push(e, now) {
                    relayed.push(*event);
                }
            }
            relayed.extend(g.expire(now + Duration::from_secs(10)));
            prop_assert_eq!(relayed.len(), lengths.len());
            for (s, len) in lengths.iter().enumerate() {
                let mine: Vec<u32> = relayed.iter().filter(|e| e.kind.user().unwrap().id == s as u64).map(count_of).collect();
                prop_assert_eq!(mine.len(), 1);
                // With gaps under the timeout the count is final; a streak cut by a long gap
                // relays the count it had, once.
                prop_assert!(mine[0] >= 1 && mine[0] <= *len);
            }
        }
    }
}
