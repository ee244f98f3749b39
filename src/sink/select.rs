//! Choosing what to send when not everything fits (issue 21): the selection policy.
//!
//! Twitch allows a bot about 20 lines per 30 s. When more waits for a channel, each turn
//! takes, in this order:
//!
//! 1. a **status line** (the live paused, resumed, ended) only once every line queued before
//!    it for that channel has gone: nothing written later overtakes it, nothing earlier
//!    follows it;
//! 2. **chat**, when comments wait and the last `min_share_one_in - 1` lines carried none
//!    (`[routes.chat] min_share_one_in`, default 3: at least one line in three), so a storm
//!    of gifts or follows never silences the chat;
//! 3. **big gifts** (`[routes.gift] big_diamonds` or more, default 100) and
//!    **subscriptions**, oldest first: they keep their own lines;
//! 4. the other events that outrank chat (follows, shares, small gifts, oldest first),
//!    several of a kind waiting becoming one summary part (`A, B and 5 others followed`);
//! 5. **chat**: questions, a viewer's first comment of the session, moderators, top gifters
//!    and fan-club members first, then the rest; round-robin between users (a user's second
//!    comment waits behind every other user's first), so one spammer cannot take the
//!    budget;
//! 6. the rest (join and like summaries, viewer counts), oldest first.
//!
//! Packing ([`super::pack`]) then fills the chosen line with more parts in the same order;
//! near-identical comments (the same [`crate::line::text_key`]: `888`, `LOL!!!`) from
//! several users become one part with `×N`.
//!
//! This module is the pure part: which group a line is in, the order of a channel's chat,
//! the next line of a channel, and the texts of summary and `×N` parts. The engine applies it
//! under the queue's lock (`engine/compose.rs`).

use std::collections::HashMap;

use super::freshness::Freshness;
use super::queue::Queued;
use crate::config::routes::{BIG_GIFT_DIAMONDS, CHAT_MIN_SHARE_ONE_IN};
use crate::limits::SINK_ROUND_ROBIN_USERS;

/// The line kinds that are chat for the share and the chat order.
pub const CHAT_KINDS: [&str; 4] = ["chat", "question", "chat_flood", "emote"];

/// The kinds that become one summary part when several wait: follows, shares, small gifts.
pub const SUMMARY_KINDS: [&str; 3] = ["follow", "share", "gift"];

/// The policy's knobs (`[routes.chat] min_share_one_in`, `[routes.gift] big_diamonds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectPolicy {
    /// While comments wait, at least one line in this many carries chat (1: chat first).
    pub chat_one_in: u32,
    /// A gift of at least this many diamonds keeps its own line and goes first.
    pub big_diamonds: u64,
}

impl Default for SelectPolicy {
    fn default() -> Self {
        Self {
            chat_one_in: CHAT_MIN_SHARE_ONE_IN,
            big_diamonds: BIG_GIFT_DIAMONDS,
        }
    }
}

impl SelectPolicy {
    /// The group of a line, in the order the policy serves them when chat is not due.
    pub fn group(&self, q: &Queued) -> Group {
        if q.is_status() {
            Group::Status
        } else if CHAT_KINDS.contains(&q.kind) {
            Group::Chat
        } else if q.kind == "subscribe" || (q.kind == "gift" && self.is_big_gift(q)) {
            Group::First
        } else if q.priority == crate::line::Priority::High {
            Group::Events
        } else {
            Group::Rest
        }
    }

    /// A gift that keeps its own line.
    pub fn is_big_gift(&self, q: &Queued) -> bool {
        q.kind == "gift" && q.meta.diamonds >= self.big_diamonds
    }

    /// True when `q` joins others of its kind in one summary part (follows, shares, small
    /// gifts).
    pub fn summarizes(&self, q: &Queued) -> bool {
        SUMMARY_KINDS.contains(&q.kind) && !self.is_big_gift(q)
    }

    /// One line for `check`.
    pub fn summary(&self) -> String {
        format!(
            "while comments wait at least 1 line in {} carries chat (routes.chat.min_share_one_in); gifts of {}+ diamonds (routes.gift.big_diamonds) and subscriptions first, on their own lines; then follows, shares and small gifts (summed up), then chat: questions, first comments, moderators, top gifters and fan club first, round-robin between users, near-identical comments as one part with ×N",
            self.chat_one_in.max(1),
            self.big_diamonds
        )
    }
}

/// What the policy of one bridge is: its lines' maximum ages and its selection knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgePolicy {
    /// How old its lines may be when their turn comes.
    pub freshness: Freshness,
    /// How its lines are chosen.
    pub select: SelectPolicy,
}

/// The policy of each bridge, and the default one for lines without a (known) bridge.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    default: BridgePolicy,
    by_origin: HashMap<String, BridgePolicy>,
}

impl Policies {
    /// `default` for every line, `by_origin` for the lines of those bridges.
    pub fn new(default: BridgePolicy, by_origin: HashMap<String, BridgePolicy>) -> Self {
        Self { default, by_origin }
    }

    /// The policy for lines of bridge `origin`.
    pub fn for_origin(&self, origin: Option<&str>) -> &BridgePolicy {
        origin
            .and_then(|o| self.by_origin.get(o))
            .unwrap_or(&self.default)
    }

    /// True when `q` waited longer than its bridge allows.
    pub fn is_stale(&self, q: &Queued, now: tokio::time::Instant) -> bool {
        self.for_origin(q.origin.as_deref())
            .freshness
            .is_stale(q, now)
    }
}

/// Where a line stands in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Big gifts and subscriptions.
    First,
    /// Other lines that outrank chat (follows, shares, small gifts ...).
    Events,
    /// Comments, questions, emotes, chat floods.
    Chat,
    /// Summaries and counts below chat.
    Rest,
    /// The stream's status lines.
    Status,
}

/// What one channel's turns remember: lines since the last one with chat, and when each
/// user was last served (for round-robin). Bounded: past [`SINK_ROUND_ROBIN_USERS`] users
/// the ones served longest ago are forgotten.
#[derive(Debug, Default)]
pub struct Turns {
    since_chat: u32,
    tick: u64,
    served: HashMap<u64, u64>,
}

/// What [`Turns::record`] changed, to take the turn back when the line did not go out
/// after all (Twitch refused it for now and it was requeued: a 429, a slow-mode hold).
#[derive(Debug, Default)]
pub struct TurnUndo {
    since_chat: u32,
    served: Vec<(u64, Option<u64>)>,
}

impl Turns {
    /// A line went out: `had_chat` if it carried a comment, by `users` (their chat parts).
    /// Returns what to hand to [`Turns::undo`] if it is requeued.
    pub fn record(&mut self, had_chat: bool, users: impl IntoIterator<Item = u64>) -> TurnUndo {
        let mut undo = TurnUndo {
            since_chat: self.since_chat,
            served: Vec::new(),
        };
        if had_chat {
            self.since_chat = 0;
        } else {
            self.since_chat = self.since_chat.saturating_add(1);
        }
        for user in users {
            self.tick += 1;
            if user != 0 {
                let before = self.served.insert(user, self.tick);
                undo.served.push((user, before));
            }
        }
        if self.served.len() > SINK_ROUND_ROBIN_USERS {
            let mut ticks: Vec<u64> = self.served.values().copied().collect();
            ticks.sort_unstable();
            let cut = ticks[self.served.len() - SINK_ROUND_ROBIN_USERS];
            self.served.retain(|_, t| *t >= cut);
        }
        undo
    }

    /// Takes back a turn [`Turns::record`] gave: its users count as not served by it and
    /// the chat share is as before, so a requeued line keeps its place in the round-robin.
    pub fn undo(&mut self, undo: TurnUndo) {
        self.since_chat = undo.since_chat;
        for (user, before) in undo.served.into_iter().rev() {
            match before {
                Some(tick) => self.served.insert(user, tick),
                None => self.served.remove(&user),
            };
        }
    }

    /// True when chat must have this turn if it waits.
    pub fn chat_due(&self, policy: &SelectPolicy) -> bool {
        self.since_chat.saturating_add(1) >= policy.chat_one_in.max(1)
    }

    fn last_served(&self, user: u64) -> u64 {
        if user == 0 {
            0
        } else {
            self.served.get(&user).copied().unwrap_or(0)
        }
    }
}

/// The chat lines among `candidates` (one channel's, oldest first) in the order they are to
/// go: notable ones first; then by round: a user's n-th waiting comment is in round n, and
/// within a round the user served longest ago goes first; then oldest first. Returns
/// indices into `candidates`.
pub fn chat_order(candidates: &[&Queued], turns: &Turns) -> Vec<usize> {
    let mut nth: HashMap<u64, u32> = HashMap::new();
    let mut keyed: Vec<(bool, u32, u64, u64, usize)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, q)| CHAT_KINDS.contains(&q.kind))
        .map(|(i, q)| {
            let user = q.meta.user_id;
            // Lines without a known user are each their own "user": never held back.
            let round = if user == 0 {
                0
            } else {
                let n = nth.entry(user).or_default();
                *n += 1;
                *n - 1
            };
            (!q.meta.is_notable(), round, turns.last_served(user), q.seq, i)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|k| k.4).collect()
}

/// The next line of one channel: the seq of the chosen one among `candidates` (the
/// channel's lines, oldest first, none queued after its first status line, which is
/// `status` if any). `None` when nothing waits.
pub fn choose(
    candidates: &[&Queued],
    status: Option<&Queued>,
    turns: &Turns,
    policy: &SelectPolicy,
) -> Option<u64> {
    let non_status: Vec<&Queued> = candidates
        .iter()
        .copied()
        .filter(|q| !q.is_status())
        .collect();
    if non_status.is_empty() {
        return status.map(|s| s.seq);
    }
    let oldest_of = |group: Group| {
        non_status
            .iter()
            .filter(|q| policy.group(q) == group)
            .map(|q| q.seq)
            .min()
    };
    let chat = || chat_order(&non_status, turns).first().map(|&i| non_status[i].seq);
    if turns.chat_due(policy)
        && let Some(seq) = chat()
    {
        return Some(seq);
    }
    oldest_of(Group::First)
        .or_else(|| oldest_of(Group::Events))
        .or_else(chat)
        .or_else(|| oldest_of(Group::Rest))
}

/// `A`, `A and B`, `A, B and C`, `A, B and 3 others` (distinct names, in order).
pub fn names_phrase(names: &[&str]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for name in names {
        if !distinct.contains(name) {
            distinct.push(name);
        }
    }
    match distinct.as_slice() {
        [] => "someone".to_owned(),
        [a] => (*a).to_owned(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b} and {c}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} others", rest.len()),
    }
}

/// The one part standing for several waiting lines of one summary kind (`parts`, oldest
/// first, at least two): the first part's own text with its author's name replaced by all
/// the names (`[TT] ➕ A, B and 5 others followed`), so the template's prefix and wording
/// stay; gifts say `sent gifts` with the diamonds in all, as one gift's wording would be
/// wrong for several.
pub fn summary_text(kind: &str, parts: &[&Queued]) -> String {
    let names: Vec<&str> = parts.iter().map(|q| q.meta.user_name.as_str()).collect();
    let phrase = names_phrase(&names);
    let first = parts[0];
    let text = first.text.as_str();
    let name = first.meta.user_name.as_str();
    let at = (!name.is_empty()).then(|| text.find(name)).flatten();
    if kind == "gift" {
        let diamonds: u64 = parts.iter().map(|q| q.meta.diamonds).sum();
        let prefix = at.map_or("🎁 ", |i| &text[..i]);
        return format!(
            "{prefix}{phrase} sent gifts ({} 💎)",
            crate::format::group_thousands(i64::try_from(diamonds).unwrap_or(i64::MAX))
        );
    }
    match at {
        Some(i) => format!("{}{phrase}{}", &text[..i], &text[i + name.len()..]),
        None if kind == "follow" => format!("➕ {phrase} followed"),
        None => format!("🔁 {phrase} shared the live"),
    }
}

/// A part standing for `count` near-identical comments: `text ×count`.
pub fn collapsed_text(text: &str, count: usize) -> String {
    format!("{text} ×{count}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::{LineMeta, Priority};
    use crate::sink::sanitize::sanitize;
    use tokio::time::Instant;

    fn q(seq: u64, kind: &'static str, text: &str, meta: LineMeta) -> Queued {
        let priority = match kind {
            "chat" | "question" => Priority::Normal,
            "likes" | "joins" => Priority::Low,
            _ => Priority::High,
        };
        Queued {
            channel: "a".into(),
            text: sanitize(text).unwrap(),
            priority,
            kind,
            msg_id: seq,
            seq,
            queued_at: Instant::now(),
            origin: None,
            kept_over_pause: false,
            meta,
            comments: 0,
        }
    }

    fn by(user: u64) -> LineMeta {
        LineMeta {
            user_id: user,
            user_name: format!("U{user}"),
            ..LineMeta::default()
        }
    }

    fn gift(seq: u64, user: u64, diamonds: u64) -> Queued {
        let text = format!("[TT] 🎁 U{user} sent 1× Thing ({diamonds} 💎)");
        q(seq, "gift", &text, LineMeta { diamonds, ..by(user) })
    }

    fn chat(seq: u64, user: u64, text: &str) -> Queued {
        q(seq, "chat", &format!("[TT] U{user}: {text}"), by(user))
    }

    /// Plays `n` turns of the policy over `queue` (no packing), returning the seqs sent.
    fn play(mut queue: Vec<Queued>, policy: &SelectPolicy, n: usize) -> Vec<u64> {
        let mut turns = Turns::default();
        let mut sent = Vec::new();
        for _ in 0..n {
            let refs: Vec<&Queued> = queue.iter().collect();
            let Some(seq) = choose(&refs, None, &turns, policy) else {
                break;
            };
            let pos = queue.iter().position(|x| x.seq == seq).unwrap();
            let line = queue.remove(pos);
            let is_chat = policy.group(&line) == Group::Chat;
            turns.record(is_chat, is_chat.then_some(line.meta.user_id));
            sent.push(seq);
        }
        sent
    }

    #[test]
    fn chat_keeps_one_line_in_three_under_a_gift_storm() {
        let mut queue: Vec<Queued> = (0..30).map(|i| gift(i, 100 + i, 500)).collect();
        queue.extend((30..40).map(|i| chat(i, i, "hello")));
        let sent = play(queue, &SelectPolicy::default(), 12);
        let chat_seqs: Vec<u64> = sent.iter().copied().filter(|s| *s >= 30).collect();
        assert_eq!(sent, [0, 1, 30, 2, 3, 31, 4, 5, 32, 6, 7, 33]);
        assert_eq!(chat_seqs.len(), 4, "a third of 12 lines");
        // Chat first whenever it waits with 1 in 1.
        let queue: Vec<Queued> = vec![gift(0, 1, 500), chat(1, 2, "hi")];
        let first = SelectPolicy {
            chat_one_in: 1,
            ..SelectPolicy::default()
        };
        assert_eq!(play(queue, &first, 2), [1, 0]);
    }

    #[test]
    fn big_gifts_and_subscriptions_come_before_other_events_and_rest_goes_last() {
        let queue = vec![
            q(0, "likes", "[TT] ❤️ 50 likes", LineMeta::default()),
            q(1, "follow", "[TT] ➕ U1 followed", by(1)),
            gift(2, 2, 5),
            gift(3, 3, 100),
            q(4, "subscribe", "[TT] ⭐ U4 subscribed", by(4)),
            chat(5, 5, "hi"),
        ];
        let policy = SelectPolicy {
            chat_one_in: 10,
            ..SelectPolicy::default()
        };
        assert_eq!(play(queue, &policy, 10), [3, 4, 1, 2, 5, 0]);
    }

    #[test]
    fn notable_comments_first_then_round_robin_between_users() {
        let spammer = 9;
        let mut queue: Vec<Queued> = (0..5).map(|i| chat(i, spammer, &format!("spam {i}"))).collect();
        queue.push(chat(5, 1, "hi"));
        queue.push(chat(6, 2, "hello"));
        queue.push(q(7, "chat", "[TT] U3: what game is this?", LineMeta { question: true, ..by(3) }));
        queue.push(q(8, "chat", "[TT] U4: gg", LineMeta { moderator: true, ..by(4) }));
        let sent = play(queue, &SelectPolicy::default(), 9);
        // The question and the moderator first; then one line per user per round: the
        // spammer's first, then users 1 and 2, then the spammer's other lines.
        assert_eq!(sent, [7, 8, 0, 5, 6, 1, 2, 3, 4]);
    }

    #[test]
    fn a_requeued_line_gives_its_turn_back() {
        let mut turns = Turns::default();
        turns.record(true, [1]);
        let before = (turns.since_chat, turns.last_served(1), turns.last_served(2));
        let undo = turns.record(false, [2, 1]);
        assert_ne!(turns.last_served(1), before.1);
        turns.undo(undo);
        assert_eq!(
            (turns.since_chat, turns.last_served(1), turns.last_served(2)),
            before,
            "user 1 keeps its old turn, user 2 was never served"
        );
    }

    #[test]
    fn round_robin_remembers_who_was_served_last() {
        let mut turns = Turns::default();
        turns.record(true, [1]);
        let a = chat(0, 1, "again");
        let b = chat(1, 2, "first time");
        assert_eq!(chat_order(&[&a, &b], &turns), [1, 0]);
    }

    #[test]
    fn a_status_line_goes_only_when_nothing_earlier_waits() {
        let status = q(9, "live_ended", "[TT] ⏹️ ended", LineMeta::default());
        let c = chat(1, 1, "bye");
        let policy = SelectPolicy::default();
        let turns = Turns::default();
        assert_eq!(choose(&[&c], Some(&status), &turns, &policy), Some(1));
        assert_eq!(choose(&[], Some(&status), &turns, &policy), Some(9));
        assert_eq!(choose(&[], None, &turns, &policy), None);
    }

    #[test]
    fn summary_parts_keep_the_templates_words_and_name_everyone() {
        let follows: Vec<Queued> = (1..=7)
            .map(|u| q(u, "follow", &format!("[TT] ➕ U{u} followed"), by(u)))
            .collect();
        let refs: Vec<&Queued> = follows.iter().collect();
        assert_eq!(summary_text("follow", &refs), "[TT] ➕ U1, U2 and 5 others followed");
        assert_eq!(summary_text("follow", &refs[..2]), "[TT] ➕ U1 and U2 followed");
        let shares = [
            q(1, "share", "[TT] 🔁 A shared the live", LineMeta { user_name: "A".into(), ..by(1) }),
            q(2, "share", "[TT] 🔁 B shared the live", LineMeta { user_name: "B".into(), ..by(2) }),
            q(3, "share", "[TT] 🔁 C shared the live", LineMeta { user_name: "C".into(), ..by(3) }),
        ];
        let refs: Vec<&Queued> = shares.iter().collect();
        assert_eq!(summary_text("share", &refs), "[TT] 🔁 A, B and C shared the live");
        let gifts = [gift(1, 1, 5), gift(2, 2, 10), gift(3, 1, 1_000)];
        let refs: Vec<&Queued> = gifts.iter().collect();
        assert_eq!(summary_text("gift", &refs), "[TT] 🎁 U1 and U2 sent gifts (1,015 💎)");
        // A template without the name: the built-in wording.
        let bare = [q(1, "follow", "new follower!", by(1)), q(2, "follow", "new follower!", by(2))];
        let refs: Vec<&Queued> = bare.iter().collect();
        assert_eq!(summary_text("follow", &refs), "➕ U1 and U2 followed");
        assert_eq!(collapsed_text("[TT] U1: 888", 5), "[TT] U1: 888 ×5");
    }

    #[test]
    fn small_gifts_summarize_and_big_ones_do_not() {
        let p = SelectPolicy::default();
        assert!(p.summarizes(&gift(1, 1, 99)));
        assert!(!p.summarizes(&gift(1, 1, 100)));
        assert!(p.summarizes(&q(1, "follow", "f", by(1))));
        assert!(!p.summarizes(&chat(1, 1, "x")));
        let every_gift_big = SelectPolicy {
            big_diamonds: 0,
            ..p
        };
        assert!(!every_gift_big.summarizes(&gift(1, 1, 1)));
    }

    #[test]
    fn round_robin_memory_is_bounded() {
        let mut turns = Turns::default();
        for user in 1..=(SINK_ROUND_ROBIN_USERS as u64 + 100) {
            turns.record(true, [user]);
        }
        assert!(turns.served.len() <= SINK_ROUND_ROBIN_USERS);
        assert!(turns.served.contains_key(&(SINK_ROUND_ROBIN_USERS as u64 + 100)));
    }
}
