//! The bounded outbound queue with its priority policy.
//!
//! Three FIFO classes (High, Normal, Low) share one capacity. When a line arrives and the
//! queue is full, the oldest line of the lowest non-empty class is shed, unless the newcomer
//! itself is of a lower class than everything queued, in which case the newcomer is shed.
//! Order is kept within a class (and so within a channel and class). An identical line
//! (same channel, same sanitized text) already waiting is coalesced instead of queued twice.
//! Memory is bounded by `capacity` lines of at most 500 characters each.
//!
//! Chat keeps a floor in a full queue: while chat lines hold no more than a third of it
//! ([`CHAT_MIN_SHARE_ONE_IN`]), a line that outranks chat makes room by shedding the oldest
//! waiting line of its own kind (else it is shed itself), not a comment; and a comment
//! arriving then takes the place of the oldest line of the most common kind waiting (the
//! storm). A storm of follows or gifts cannot push every comment out before the selection
//! policy gives chat its share.
//!
//! Status lines ([`crate::line::is_status_kind`]: paused, resumed, ended) are never the
//! victim of shedding, and one is popped only once every line queued before it for its channel
//! has gone (whatever their class), so a High "the live has ended" cannot overtake Normal chat
//! written before it. A queue full of nothing but status lines sheds its oldest status line.

use std::collections::{HashMap, VecDeque};
use crate::config::routes::CHAT_MIN_SHARE_ONE_IN;
use crate::line::Priority;

pub use super::queued::{Queued, text_key};

/// What happened to a pushed line.
#[derive(Debug)]
pub enum PushOutcome {
    /// Queued; nothing was shed.
    Queued,
    /// Queued, and this older, lower-or-equal priority line was shed to make room.
    QueuedAfterShedding(Queued),
    /// Not queued: the queue is full of lines that outrank it.
    Shed(Queued),
    /// Not queued: the same text is already waiting for that channel.
    Coalesced(Queued),
}

/// The bounded priority queue. Owned by the sink task behind a mutex shared with the handle.
#[derive(Debug)]
pub struct OutQueue {
    classes: [VecDeque<Queued>; 3],
    capacity: usize,
    waiting: HashMap<u64, u32>,
    per_channel: HashMap<String, usize>,
}

fn class_index(p: Priority) -> usize {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
    }
}

impl OutQueue {
    /// An empty queue holding at most `capacity` lines (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            classes: Default::default(),
            capacity: capacity.max(1),
            waiting: HashMap::new(),
            per_channel: HashMap::new(),
        }
    }

    /// Lines waiting.
    pub fn len(&self) -> usize {
        self.classes.iter().map(VecDeque::len).sum()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Channels with at least one line waiting.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.per_channel.keys().map(String::as_str)
    }

    /// Adds a line at the back of its class, applying the shedding policy.
    pub fn push(&mut self, item: Queued) -> PushOutcome {
        if self.waiting.contains_key(&item.key()) {
            return PushOutcome::Coalesced(item);
        }
        if self.len() < self.capacity {
            self.insert(item, false);
            return PushOutcome::Queued;
        }
        // A status line outranks every other line when room is needed.
        let incoming = if item.is_status() {
            3
        } else {
            class_index(item.priority)
        };
        let victim = match self.lowest_sheddable() {
            // A status line must go in: one of the storm makes room, else a comment.
            Some((low, pos)) if incoming == 3 && self.below_chat_floor(low, incoming) => {
                match self.storm_victim() {
                    Some(v) => Some(v),
                    None => self.classes[low].remove(pos),
                }
            }
            Some((low, _)) if self.below_chat_floor(low, incoming) => {
                let high = class_index(Priority::High);
                match self.classes[high]
                    .iter()
                    .position(|q| !q.is_status() && q.kind == item.kind)
                {
                    Some(pos) => self.classes[high].remove(pos),
                    None => return PushOutcome::Shed(item),
                }
            }
            Some((low, pos)) if self.chat_makes_room(low, incoming) => match self.storm_victim() {
                Some(v) => Some(v),
                // Nothing outranks it but status lines: the oldest comment makes room.
                None => self.classes[low].remove(pos),
            },
            Some((low, pos)) if low <= incoming => self.classes[low].remove(pos),
            Some(_) => return PushOutcome::Shed(item),
            // Only status lines wait: the oldest of them makes room for a newer status.
            None if incoming == 3 => self.oldest_status(),
            None => return PushOutcome::Shed(item),
        };
        if let Some(v) = &victim {
            self.forget(v);
        }
        self.insert(item, false);
        match victim {
            Some(v) => PushOutcome::QueuedAfterShedding(v),
            None => PushOutcome::Queued,
        }
    }

    /// True when shedding from class `low` for a newcomer of class `incoming` (3: a status
    /// line) would take a comment while comments hold no more than their floor of the queue.
    fn below_chat_floor(&self, low: usize, incoming: usize) -> bool {
        let chat = class_index(Priority::Normal);
        let floor = self.capacity / CHAT_MIN_SHARE_ONE_IN as usize;
        low == chat && incoming > chat && self.classes[chat].len() <= floor
    }

    /// True when a comment arrives at a queue full of lines that outrank it while comments
    /// hold less than their floor: it takes the place of one of the storm.
    fn chat_makes_room(&self, low: usize, incoming: usize) -> bool {
        let chat = class_index(Priority::Normal);
        let floor = self.capacity / CHAT_MIN_SHARE_ONE_IN as usize;
        incoming == chat && low >= chat && self.classes[chat].len() < floor
    }

    /// The oldest High line of the kind most High lines have (the storm), never a status
    /// line.
    fn storm_victim(&mut self) -> Option<Queued> {
        let high = &self.classes[class_index(Priority::High)];
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for q in high.iter().filter(|q| !q.is_status()) {
            *counts.entry(q.kind).or_default() += 1;
        }
        let most = counts.values().copied().max()?;
        let pos = high
            .iter()
            .position(|q| !q.is_status() && counts.get(q.kind) == Some(&most))?;
        self.classes[class_index(Priority::High)].remove(pos)
    }

    /// The class and position of the oldest line of the lowest class that is not a status
    /// line.
    fn lowest_sheddable(&self) -> Option<(usize, usize)> {
        (0..3).find_map(|c| {
            let pos = self.classes[c].iter().position(|q| !q.is_status())?;
            Some((c, pos))
        })
    }

    /// Removes the oldest waiting status line.
    fn oldest_status(&mut self) -> Option<Queued> {
        let (class, pos) = (0..3)
            .filter_map(|c| {
                let pos = self.classes[c].iter().position(Queued::is_status)?;
                Some((c, pos))
            })
            .min_by_key(|&(c, pos)| self.classes[c][pos].seq)?;
        self.classes[class].remove(pos)
    }

    /// Puts a line back at the FRONT of its class (it was taken but could not be sent yet).
    /// Returns a line shed to keep the capacity, if any.
    pub fn push_front(&mut self, item: Queued) -> Option<Queued> {
        let shed = if self.len() >= self.capacity {
            // Shed the newest line of the lowest class that is not a status line: the
            // requeued one is older. Only status lines waiting: the queue grows by this one.
            let victim = (0..3).find_map(|c| {
                let pos = self.classes[c].iter().rposition(|q| !q.is_status())?;
                self.classes[c].remove(pos)
            });
            if let Some(v) = &victim {
                self.forget(v);
            }
            victim
        } else {
            None
        };
        self.insert(item, true);
        shed
    }

    /// The lines waiting for `channel` that may go before its first waiting status line,
    /// oldest first, and that status line (it goes once those are gone; lines queued after it
    /// wait for it): what the selection policy chooses from ([`super::select`]).
    pub fn channel_lines(&self, channel: &str) -> (Vec<&Queued>, Option<&Queued>) {
        let mut mine: Vec<&Queued> = self
            .classes
            .iter()
            .flatten()
            .filter(|q| q.channel == channel)
            .collect();
        mine.sort_unstable_by_key(|q| q.seq);
        match mine.iter().position(|q| q.is_status()) {
            Some(pos) => {
                let status = mine[pos];
                mine.truncate(pos);
                (mine, Some(status))
            }
            None => (mine, None),
        }
    }

    /// Removes the line with arrival number `seq`.
    pub fn take(&mut self, seq: u64) -> Option<Queued> {
        let (class, pos) = (0..3).find_map(|c| {
            let pos = self.classes[c].iter().position(|q| q.seq == seq)?;
            Some((c, pos))
        })?;
        let item = self.classes[class].remove(pos)?;
        self.forget(&item);
        Some(item)
    }

    /// Removes every line for `channel` (the channel was stopped).
    pub fn drain_channel(&mut self, channel: &str) -> Vec<Queued> {
        self.drain_matching(|q| q.channel == channel)
    }

    /// Removes every line from `origin` (the bridge was paused), oldest first per class.
    pub fn drain_origin(&mut self, origin: &str) -> Vec<Queued> {
        self.drain_matching(|q| q.origin.as_deref() == Some(origin))
    }

    /// Removes every line `gone` says (stale ones), oldest first per class.
    pub fn drain_where(&mut self, gone: impl Fn(&Queued) -> bool) -> Vec<Queued> {
        self.drain_matching(gone)
    }

    fn drain_matching(&mut self, gone: impl Fn(&Queued) -> bool) -> Vec<Queued> {
        let mut out = Vec::new();
        for class in &mut self.classes {
            let (gone, keep): (VecDeque<_>, VecDeque<_>) = class.drain(..).partition(&gone);
            *class = keep;
            out.extend(gone);
        }
        for q in &out {
            self.forget(q);
        }
        out
    }

    /// Removes everything (shutdown).
    pub fn drain_all(&mut self) -> Vec<Queued> {
        let out: Vec<Queued> = self.classes.iter_mut().flat_map(|c| c.drain(..)).collect();
        self.waiting.clear();
        self.per_channel.clear();
        out
    }

    fn insert(&mut self, item: Queued, front: bool) {
        *self.waiting.entry(item.key()).or_default() += 1;
        *self.per_channel.entry(item.channel.clone()).or_default() += 1;
        let class = &mut self.classes[class_index(item.priority)];
        if front {
            class.push_front(item);
        } else {
            class.push_back(item);
        }
    }

    fn forget(&mut self, item: &Queued) {
        let key = item.key();
        if let Some(n) = self.waiting.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.waiting.remove(&key);
            }
        }
        if let Some(n) = self.per_channel.get_mut(&item.channel) {
            *n -= 1;
            if *n == 0 {
                self.per_channel.remove(&item.channel);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::time::Instant;
    use crate::sink::sanitize::sanitize;
    use crate::sink::select::{SelectPolicy, Turns, choose};

    /// Takes the next line of a channel `is_ready` as the engine does (the selection policy
    /// per channel, then the highest priority and oldest across channels).
    trait PopReady {
        fn pop_ready(&mut self, is_ready: impl FnMut(&str) -> bool) -> Option<Queued>;
    }

    impl PopReady for OutQueue {
        fn pop_ready(&mut self, mut is_ready: impl FnMut(&str) -> bool) -> Option<Queued> {
            let (policy, turns) = (SelectPolicy::default(), Turns::default());
            let best = self
                .channels()
                .filter(|c| is_ready(c))
                .filter_map(|c| {
                    let (lines, status) = self.channel_lines(c);
                    let seq = choose(&lines, status, &turns, &policy)?;
                    let q = lines.into_iter().chain(status).find(|q| q.seq == seq)?;
                    Some((std::cmp::Reverse(q.priority), seq))
                })
                .min()?;
            self.take(best.1)
        }
    }

    fn item(seq: u64, p: Priority, channel: &str) -> Queued {
        Queued {
            channel: channel.into(),
            text: sanitize(&format!("line {seq}")).unwrap(),
            priority: p,
            kind: "chat",
            msg_id: seq,
            seq,
            queued_at: Instant::now(),
            origin: None,
            kept_over_pause: false,
            meta: Default::default(),
            comments: 0,
        }
    }

    fn of_kind(seq: u64, p: Priority, kind: &'static str, text: &str) -> Queued {
        Queued {
            kind,
            text: sanitize(text).unwrap(),
            ..item(seq, p, "a")
        }
    }

    #[test]
    fn channel_lines_stop_at_the_first_status_line_and_take_forgets() {
        let mut q = OutQueue::new(20);
        q.push(of_kind(1, Priority::Normal, "chat", "aaaa"));
        q.push(of_kind(2, Priority::High, "follow", "bbbb"));
        q.push(item(3, Priority::Normal, "b"));
        q.push(Queued {
            kind: "live_ended",
            ..of_kind(4, Priority::High, "chat", "ended")
        });
        q.push(of_kind(5, Priority::High, "gift", "after the end"));
        let (lines, status) = q.channel_lines("a");
        let seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(status.map(|s| s.seq), Some(4));
        assert_eq!(q.take(1).map(|l| l.seq), Some(1));
        assert!(q.take(1).is_none());
        // Taken lines are forgotten: the same text may be queued again.
        assert!(matches!(
            q.push(of_kind(9, Priority::Normal, "chat", "aaaa")),
            PushOutcome::Queued
        ));
        assert_eq!(q.len(), 5);
    }

    #[test]
    fn a_follow_storm_sheds_follows_not_the_last_comments() {
        let mut q = OutQueue::new(6);
        q.push(of_kind(1, Priority::Normal, "chat", "c1"));
        q.push(of_kind(2, Priority::Normal, "chat", "c2"));
        for seq in 3..=6 {
            q.push(of_kind(seq, Priority::High, "follow", &format!("f{seq}")));
        }
        // Full, chat at its floor (6 / 3 = 2): a new follow sheds the oldest follow.
        match q.push(of_kind(7, Priority::High, "follow", "f7")) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 3),
            other => panic!("{other:?}"),
        }
        // A gift with no gift waiting is shed itself.
        assert!(matches!(
            q.push(of_kind(8, Priority::High, "gift", "g8")),
            PushOutcome::Shed(s) if s.seq == 8
        ));
        let (lines, _) = q.channel_lines("a");
        assert_eq!(lines.iter().filter(|l| l.kind == "chat").count(), 2);
        // A comment arriving below the floor takes the oldest follow's place (the storm's
        // kind), never the gift or the status line.
        let mut q2 = OutQueue::new(6);
        q2.push(status(1));
        q2.push(of_kind(2, Priority::High, "gift", "g"));
        for seq in 3..=6 {
            q2.push(of_kind(seq, Priority::High, "follow", &format!("f{seq}")));
        }
        for (seq, victim) in [(7, 3), (8, 4)] {
            match q2.push(of_kind(seq, Priority::Normal, "chat", &format!("c{seq}"))) {
                PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, victim),
                other => panic!("{other:?}"),
            }
        }
        // The live's end takes a follow's place too.
        match q2.push(Queued {
            kind: "live_ended",
            ..of_kind(9, Priority::High, "chat", "ended")
        }) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 5),
            other => panic!("{other:?}"),
        }
        // Above the floor, chat is shed as before.
        let mut q = OutQueue::new(3);
        q.push(of_kind(1, Priority::Normal, "chat", "c1"));
        q.push(of_kind(2, Priority::Normal, "chat", "c2"));
        q.push(of_kind(3, Priority::High, "follow", "f3"));
        match q.push(of_kind(4, Priority::High, "follow", "f4")) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn full_queue_sheds_lowest_oldest_first() {
        let mut q = OutQueue::new(3);
        assert!(matches!(
            q.push(item(1, Priority::Low, "a")),
            PushOutcome::Queued
        ));
        assert!(matches!(
            q.push(item(2, Priority::Low, "a")),
            PushOutcome::Queued
        ));
        assert!(matches!(
            q.push(item(3, Priority::High, "a")),
            PushOutcome::Queued
        ));
        match q.push(item(4, Priority::Normal, "a")) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 1),
            other => panic!("{other:?}"),
        }
        match q.push(item(5, Priority::Low, "a")) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 2),
            other => panic!("{other:?}"),
        }
        // Now High 3, Normal 4, Low 5; another Low sheds the oldest Low (5).
        match q.push(item(6, Priority::Low, "a")) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 5),
            other => panic!("{other:?}"),
        }
        assert_eq!(q.len(), 3);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop_ready(|_| true))
            .map(|q| q.seq)
            .collect();
        assert_eq!(order, vec![3, 4, 6]);
    }

    fn status(seq: u64) -> Queued {
        Queued {
            kind: "live_ended",
            ..item(seq, Priority::High, "a")
        }
    }

    #[test]
    fn a_status_line_waits_for_every_earlier_line_of_its_channel() {
        let mut q = OutQueue::new(10);
        q.push(item(1, Priority::Normal, "a"));
        q.push(item(2, Priority::Low, "a"));
        q.push(item(3, Priority::Normal, "b"));
        q.push(status(4));
        q.push(item(5, Priority::High, "a"));
        q.push(item(6, Priority::Normal, "a"));
        let order: Vec<u64> = std::iter::from_fn(|| q.pop_ready(|c| c == "a"))
            .map(|q| q.seq)
            .collect();
        // Chat and the join written before the end go first, then the end, then the gift and
        // chat queued after it; channel b is untouched.
        assert_eq!(order, vec![1, 2, 4, 5, 6]);
        assert_eq!(q.pop_ready(|_| true).map(|q| q.seq), Some(3));
    }

    #[test]
    fn status_lines_are_never_shed() {
        let mut q = OutQueue::new(2);
        q.push(status(1));
        q.push(item(2, Priority::High, "a"));
        // A newcomer of any class sheds the High gift, never the status line.
        match q.push(item(3, Priority::High, "a")) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 2),
            other => panic!("{other:?}"),
        }
        match q.push(status(4)) {
            PushOutcome::QueuedAfterShedding(v) => assert_eq!(v.seq, 3),
            other => panic!("{other:?}"),
        }
        assert!(matches!(q.push(item(5, Priority::High, "a")), PushOutcome::Shed(s) if s.seq == 5));
        assert!(q.push_front(item(6, Priority::High, "a")).is_none());
        assert_eq!(q.len(), 3, "only status lines waited, so the requeued line is added");
    }

    #[test]
    fn lower_newcomer_is_shed_when_all_outrank_it() {
        let mut q = OutQueue::new(2);
        q.push(item(1, Priority::High, "a"));
        q.push(item(2, Priority::Normal, "a"));
        assert!(matches!(q.push(item(3, Priority::Low, "a")), PushOutcome::Shed(s) if s.seq == 3));
    }

    #[test]
    fn identical_waiting_text_is_coalesced() {
        let mut q = OutQueue::new(10);
        q.push(item(1, Priority::Normal, "a"));
        let mut dup = item(1, Priority::Normal, "a");
        dup.seq = 9;
        assert!(matches!(q.push(dup.clone()), PushOutcome::Coalesced(_)));
        dup.channel = "b".into();
        assert!(matches!(q.push(dup), PushOutcome::Queued));
    }

    #[test]
    fn pop_skips_blocked_channels_and_keeps_class_order() {
        let mut q = OutQueue::new(10);
        q.push(item(1, Priority::Normal, "a"));
        q.push(item(2, Priority::Normal, "b"));
        q.push(item(3, Priority::Normal, "a"));
        assert_eq!(q.pop_ready(|c| c == "b").unwrap().seq, 2);
        assert_eq!(q.pop_ready(|c| c == "b").map(|q| q.seq), None);
        assert_eq!(q.pop_ready(|_| true).unwrap().seq, 1);
        let back = item(1, Priority::Normal, "a");
        assert!(q.push_front(back).is_none());
        assert_eq!(q.pop_ready(|_| true).unwrap().seq, 1);
        assert_eq!(q.drain_channel("a").len(), 1);
        assert!(q.is_empty());
        assert_eq!(q.channels().count(), 0);
    }

    #[test]
    fn drain_origin_takes_only_that_bridges_lines() {
        let mut q = OutQueue::new(10);
        let from = |seq, origin: Option<&str>| Queued {
            origin: origin.map(Arc::from),
            ..item(seq, Priority::Normal, "a")
        };
        q.push(from(1, Some("x")));
        q.push(from(2, Some("y")));
        q.push(from(3, None));
        q.push(from(4, Some("x")));
        let gone: Vec<u64> = q.drain_origin("x").iter().map(|q| q.seq).collect();
        assert_eq!(gone, [1, 4]);
        assert_eq!(q.len(), 2);
        // Forgotten for coalescing too: the same text may be queued again.
        assert!(matches!(q.push(from(1, Some("x"))), PushOutcome::Queued));
    }
}
