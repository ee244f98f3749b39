//! The bounded outbound queue with its priority policy.
//!
//! Three FIFO classes (High, Normal, Low) share one capacity. When a line arrives and the
//! queue is full, the oldest line of the lowest non-empty class is shed, unless the newcomer
//! itself is of a lower class than everything queued, in which case the newcomer is shed.
//! Order is kept within a class (and so within a channel and class). An identical line
//! (same channel, same sanitized text) already waiting is coalesced instead of queued twice.
//! Memory is bounded by `capacity` lines of at most 500 characters each.
//!
//! Status lines ([`crate::line::is_status_kind`]: paused, resumed, ended) are never the
//! victim of shedding, and one is popped only once every line queued before it for its channel
//! has gone (whatever their class), so a High "the live has ended" cannot overtake Normal chat
//! written before it. A queue full of nothing but status lines sheds its oldest status line.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use tokio::time::Instant;

use super::sanitize::SafeText;
use crate::line::{Priority, is_status_kind};

/// One sanitized line waiting for its turn.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The channel login (lowercase, no `#`).
    pub channel: String,
    /// The sanitized text.
    pub text: SafeText,
    /// Its priority class.
    pub priority: Priority,
    /// The event kind it came from, for accounting.
    pub kind: &'static str,
    /// The TikTok message id behind it.
    pub msg_id: u64,
    /// Arrival order, unique per sink.
    pub seq: u64,
    /// When it was queued.
    pub queued_at: Instant,
    /// The bridge it came from, when the sender said ([`super::SinkHandle::send_from`]):
    /// pausing a bridge drops (or holds) its lines.
    pub origin: Option<Arc<str>>,
    /// Held over a pause with `pause_keep_secs` and queued again at the resume: the operator
    /// chose that freshness, so the route's maximum age no longer applies.
    pub kept_over_pause: bool,
    /// TikTok chat comments this line carries: 1 for a comment's own line, the sum of its
    /// parts' for a packed line, 0 otherwise. Counted as relayed when Twitch accepts it.
    pub comments: u32,
}

impl Queued {
    fn key(&self) -> u64 {
        text_key(&self.channel, self.text.as_str())
    }

    /// True for a stream status line (never shed, ordered after earlier lines).
    pub fn is_status(&self) -> bool {
        is_status_kind(self.kind)
    }
}

/// A 64-bit key of (channel, text) for duplicate detection without keeping a second copy.
///
/// SHA-256, not `DefaultHasher`: the key is written to the pacing journal and must mean the
/// same thing to the next process (std's hasher is not promised stable across releases), and
/// the journal then holds no chat text.
pub fn text_key(channel: &str, text: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(channel.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

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

    /// Takes the highest-priority, oldest line whose channel `is_ready`.
    pub fn pop_ready(&mut self, mut is_ready: impl FnMut(&str) -> bool) -> Option<Queued> {
        for class in (0..3).rev() {
            let pos = self.classes[class]
                .iter()
                .position(|q| is_ready(&q.channel));
            if let Some(pos) = pos {
                let (class, pos) = self.before_status(class, pos);
                let item = self.classes[class].remove(pos)?;
                self.forget(&item);
                return Some(item);
            }
        }
        None
    }

    /// When the line at (`class`, `pos`) is a status line, the oldest line queued before it
    /// for the same channel in any class (or itself when there is none).
    fn before_status(&self, class: usize, pos: usize) -> (usize, usize) {
        let chosen = &self.classes[class][pos];
        if !chosen.is_status() {
            return (class, pos);
        }
        (0..3)
            .filter_map(|c| {
                let p = self.classes[c]
                    .iter()
                    .position(|q| q.channel == chosen.channel && q.seq < chosen.seq)?;
                Some((c, p))
            })
            .min_by_key(|&(c, p)| self.classes[c][p].seq)
            .unwrap_or((class, pos))
    }

    /// Removes and returns, oldest first, the lines waiting for `head`'s channel that may be
    /// packed into one line with it: `packable` says which, and `fits` (called in order with
    /// each candidate) accepts a part or leaves it waiting. Never takes a status line nor a
    /// line queued after a status line that `head` precedes, so packing keeps the order
    /// "earlier lines, then the status line, then later lines".
    pub fn take_pack_parts(
        &mut self,
        head: &Queued,
        packable: impl Fn(&Queued) -> bool,
        mut fits: impl FnMut(&Queued) -> bool,
    ) -> Vec<Queued> {
        let barrier = self
            .classes
            .iter()
            .flatten()
            .filter(|q| q.channel == head.channel && q.is_status() && q.seq > head.seq)
            .map(|q| q.seq)
            .min()
            .unwrap_or(u64::MAX);
        let mut candidates: Vec<(u64, usize)> = self
            .classes
            .iter()
            .enumerate()
            .flat_map(|(c, class)| class.iter().map(move |q| (c, q)))
            .filter(|(_, q)| {
                q.channel == head.channel && !q.is_status() && q.seq < barrier && packable(q)
            })
            .map(|(c, q)| (q.seq, c))
            .collect();
        candidates.sort_unstable();
        let mut chosen = Vec::new();
        for (seq, class) in candidates {
            let Some(pos) = self.classes[class].iter().position(|q| q.seq == seq) else {
                continue;
            };
            if fits(&self.classes[class][pos])
                && let Some(item) = self.classes[class].remove(pos)
            {
                self.forget(&item);
                chosen.push(item);
            }
        }
        chosen
    }

    /// Removes every line for `channel` (the channel was stopped).
    pub fn drain_channel(&mut self, channel: &str) -> Vec<Queued> {
        self.drain_matching(|q| q.channel == channel)
    }

    /// Removes every line from `origin` (the bridge was paused), oldest first per class.
    pub fn drain_origin(&mut self, origin: &str) -> Vec<Queued> {
        self.drain_matching(|q| q.origin.as_deref() == Some(origin))
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
    use crate::sink::sanitize::sanitize;

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
    fn pack_parts_are_taken_oldest_first_up_to_the_status_line_and_only_if_they_fit() {
        let mut q = OutQueue::new(20);
        q.push(of_kind(1, Priority::Normal, "chat", "aaaa"));
        q.push(of_kind(2, Priority::High, "follow", "bbbb"));
        q.push(of_kind(3, Priority::High, "gift", "gift"));
        q.push(of_kind(4, Priority::Normal, "chat", "a very long comment"));
        q.push(of_kind(5, Priority::Normal, "chat", "cc"));
        q.push(item(6, Priority::Normal, "b"));
        q.push(Queued {
            kind: "live_ended",
            ..of_kind(7, Priority::High, "chat", "ended")
        });
        q.push(of_kind(8, Priority::Normal, "chat", "after the end"));
        let head = q.pop_ready(|c| c == "a").unwrap();
        assert_eq!(head.seq, 2, "High first");
        let mut room = 10usize;
        let parts = q.take_pack_parts(
            &head,
            |c| c.kind != "gift",
            |c| {
                let n = c.text.as_str().chars().count();
                let fits = n <= room;
                if fits {
                    room -= n;
                }
                fits
            },
        );
        // The gift is not packable, the long comment does not fit (and waits), the line
        // of channel b and the one after the end are not candidates.
        let seqs: Vec<u64> = parts.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, vec![1, 5]);
        let left: Vec<u64> = std::iter::from_fn(|| q.pop_ready(|c| c == "a"))
            .map(|q| q.seq)
            .collect();
        assert_eq!(left, vec![3, 4, 7, 8]);
        assert_eq!(q.len(), 1, "channel b's line still waits");
        // Taken parts are forgotten: the same text may be queued again.
        assert!(matches!(
            q.push(of_kind(9, Priority::Normal, "chat", "aaaa")),
            PushOutcome::Queued
        ));
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
