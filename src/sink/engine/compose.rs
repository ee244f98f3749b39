//! Which line goes next and what it carries: the selection policy ([`crate::sink::select`])
//! and packing ([`crate::sink::pack`]) applied under the queue's lock.
//!
//! A turn takes the channel line the policy chooses; when it packs, the other lines waiting
//! for that channel (same bridge, not stale, before its next status line) join it in the
//! policy's order: a chat line takes more chat first (×N for near-identical comments), then
//! summary parts of waiting follows, shares and small gifts; a follow, share or small gift
//! takes every waiting line of its kind as one summary part, the other summary kinds, then
//! chat. A part that does not fit waits for the next line.

use std::collections::HashMap;

use tokio::time::Instant;

use super::{ChatBackend, Engine};
use crate::line::Priority;
use crate::sink::pack::{self, Packer};
use crate::sink::queue::{OutQueue, Queued};
use crate::sink::sanitize::{self, SafeText};
use crate::sink::select::{self, Group, SUMMARY_KINDS, SelectPolicy, Turns};

/// One part of the line being built: its text and the waiting lines it stands for.
struct Part {
    text: SafeText,
    seqs: Vec<u64>,
    /// Comments (counted for the chat share and round-robin).
    chat: bool,
    /// Of a comment part: its normalised text (`×N` collapse) and author.
    key: String,
    users: Vec<u64>,
    /// Of a comment part: the text of its first comment (before `×N`).
    first_text: String,
    /// Lines merged as `×N` into it (counted `coalesced`), the rest of `seqs` is `packed`.
    collapsed: u64,
}

impl Part {
    fn single(q: &Queued, chat: bool) -> Self {
        Self {
            text: q.text.clone(),
            seqs: vec![q.seq],
            chat,
            key: if chat { q.meta.text_key.clone() } else { String::new() },
            users: vec![q.meta.user_id],
            first_text: q.text.as_str().to_owned(),
            collapsed: 0,
        }
    }
}

/// The parts of one line, within the packer's length.
struct Build<'a> {
    packer: &'a Packer,
    parts: Vec<Part>,
}

impl Build<'_> {
    fn chars(&self) -> usize {
        let sep = self.parts.len().saturating_sub(1);
        self.parts.iter().map(|p| pack::chars_of(&p.text)).sum::<usize>()
            + sep * self.packer.with_part(0, 0)
    }

    fn fits_with(&self, extra: usize, replacing: usize) -> bool {
        let now = self.chars() - replacing;
        let next = if self.parts.is_empty() {
            extra
        } else {
            self.packer.with_part(now, extra)
        };
        self.packer.fits(next)
    }

    /// Adds a comment: as `×N` to a part with the same normalised text, or as a new part.
    fn add_chat(&mut self, q: &Queued, force: bool) {
        let key = &q.meta.text_key;
        if !key.is_empty()
            && let Some(i) = self.parts.iter().position(|p| p.chat && p.key == *key)
        {
            let part = &self.parts[i];
            let count = part.seqs.len() + 1;
            let Some(text) = sanitize::sanitize(&select::collapsed_text(&part.first_text, count))
            else {
                return;
            };
            let old = pack::chars_of(&part.text);
            let grown = self.chars() - old + pack::chars_of(&text);
            if self.packer.fits(grown) {
                let part = &mut self.parts[i];
                part.text = text;
                part.seqs.push(q.seq);
                part.users.push(q.meta.user_id);
                part.collapsed += 1;
            }
            return;
        }
        if force || self.fits_with(pack::chars_of(&q.text), 0) {
            self.parts.push(Part::single(q, true));
        }
    }

    /// Adds the summary part of `members` (one summary kind, oldest first).
    fn add_summary(&mut self, kind: &str, members: &[&Queued], force: bool) {
        let part = match members {
            [] => return,
            [one] => Part::single(one, false),
            many => {
                let Some(text) = sanitize::sanitize(&select::summary_text(kind, many)) else {
                    return;
                };
                Part {
                    text,
                    seqs: many.iter().map(|q| q.seq).collect(),
                    chat: false,
                    key: String::new(),
                    users: Vec::new(),
                    first_text: String::new(),
                    collapsed: 0,
                }
            }
        };
        if force || self.fits_with(pack::chars_of(&part.text), 0) {
            self.parts.push(part);
        }
    }
}

/// The parts of the line `head` leads, from the lines `waiting` for its channel (not
/// holding `head`), in the policy's order.
fn build<'a>(
    head: &Queued,
    waiting: &[&Queued],
    packer: &'a Packer,
    policy: &SelectPolicy,
    turns: &Turns,
) -> Build<'a> {
    let mut b = Build {
        packer,
        parts: Vec::new(),
    };
    let chat_order = select::chat_order(waiting, turns);
    let summaries = |b: &mut Build<'_>, first: Option<&str>| {
        let mut kinds: Vec<&str> = SUMMARY_KINDS.to_vec();
        if let Some(f) = first {
            kinds.retain(|k| *k != f);
            kinds.insert(0, f);
        }
        for kind in kinds {
            let mut members: Vec<&Queued> = Vec::new();
            let leads = first == Some(kind);
            if leads {
                members.push(head);
            }
            members.extend(
                waiting
                    .iter()
                    .copied()
                    .filter(|q| q.kind == kind && policy.summarizes(q)),
            );
            b.add_summary(kind, &members, leads);
        }
    };
    if policy.group(head) == Group::Chat {
        b.add_chat(head, true);
        for &i in &chat_order {
            b.add_chat(waiting[i], false);
        }
        summaries(&mut b, None);
    } else if SUMMARY_KINDS.contains(&head.kind) {
        summaries(&mut b, Some(head.kind));
        for &i in &chat_order {
            b.add_chat(waiting[i], false);
        }
    } else {
        b.parts.push(Part::single(head, false));
        summaries(&mut b, None);
        for &i in &chat_order {
            b.add_chat(waiting[i], false);
        }
    }
    b
}

impl<B: ChatBackend> Engine<B> {
    /// Takes the next line the policy chooses among the channels `ready` says may send now.
    pub(super) fn take_next(
        &self,
        queue: &mut OutQueue,
        mut ready: impl FnMut(&str) -> bool,
    ) -> Option<Queued> {
        let policies = &self.shared.policies;
        let mut best: Option<(std::cmp::Reverse<Priority>, u64)> = None;
        for channel in queue.channels() {
            if !ready(channel) {
                continue;
            }
            let (lines, status) = queue.channel_lines(channel);
            // A channel several bridges send to follows the policy of the bridge whose line
            // waited longest; packing still joins only lines of one bridge.
            let origin = lines.first().copied().or(status).and_then(|q| q.origin.as_deref());
            let policy = &policies.for_origin(origin).select;
            let turns = self.turns.get(channel);
            let empty = Turns::default();
            let Some(seq) = select::choose(&lines, status, turns.unwrap_or(&empty), policy) else {
                continue;
            };
            let chosen = lines
                .iter()
                .copied()
                .chain(status)
                .find(|q| q.seq == seq)?;
            let key = (std::cmp::Reverse(chosen.priority), seq);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        queue.take(best?.1)
    }

    /// Packs the other lines waiting for `head`'s channel into it when it packs, and
    /// records the turn for the chat share and round-robin.
    pub(super) fn compose(&mut self, head: Queued, now: Instant) -> Queued {
        let shared = self.shared.clone();
        let packer = shared.packers.for_origin(head.origin.as_deref());
        let policy = shared.policies.for_origin(head.origin.as_deref()).select;
        let joins = |q: &Queued| {
            packer.packs(q.kind)
                && (q.kind != "gift" || policy.summarizes(q))
                && !q.is_status()
        };
        if !joins(&head) {
            let chat = policy.group(&head) == Group::Chat;
            let undo = self
                .turns_of(&head.channel)
                .record(chat, chat.then_some(head.meta.user_id));
            self.last_turn = Some(undo);
            return head;
        }
        let turns = self.turns.remove(&head.channel).unwrap_or_default();
        let (parts, taken) = {
            let mut gate = shared.lock_gate();
            let (lines, _) = gate.queue.channel_lines(&head.channel);
            let waiting: Vec<&Queued> = lines
                .into_iter()
                .filter(|q| joins(q) && q.origin == head.origin && !shared.policies.is_stale(q, now))
                .collect();
            let parts = build(&head, &waiting, packer, &policy, &turns).parts;
            let mut taken: HashMap<u64, Queued> = HashMap::new();
            for seq in parts.iter().flat_map(|p| p.seqs.iter()) {
                if *seq != head.seq
                    && let Some(q) = gate.queue.take(*seq)
                {
                    taken.insert(*seq, q);
                }
            }
            let depth = gate.queue.len() as u64;
            shared.stats.update(|s| s.queue_depth = depth);
            (parts, taken)
        };
        let mut turns = turns;
        let had_chat = parts.iter().any(|p| p.chat);
        self.last_turn = Some(turns.record(
            had_chat,
            parts.iter().filter(|p| p.chat).flat_map(|p| p.users.clone()),
        ));
        self.turns.insert(head.channel.clone(), turns);
        if taken.is_empty() {
            return head;
        }
        let mut parts = parts;
        parts.sort_by_key(|p| p.seqs.iter().min().copied().unwrap_or(u64::MAX));
        let Some(text) = packer.join(parts.iter().map(|p| &p.text)) else {
            return head;
        };
        let collapsed: u64 = parts.iter().map(|p| p.collapsed).sum();
        let merged = taken.len() as u64 - collapsed;
        shared.stats.update(|s| {
            s.packed += merged;
            s.coalesced += collapsed;
        });
        tracing::trace!(channel = %head.channel, parts = parts.len(), lines = taken.len() + 1, "packed lines");
        let mut all: Vec<Queued> = taken.into_values().collect();
        all.push(head);
        let priority = all.iter().map(|q| q.priority).max().unwrap_or(Priority::Normal);
        let comments = all.iter().map(|q| q.comments).sum();
        let oldest = all
            .into_iter()
            .min_by_key(|q| q.seq)
            .expect("all holds head");
        // The packed line keeps its oldest part's identity: its age, kind and order.
        Queued {
            text,
            priority,
            comments,
            ..oldest
        }
    }

    fn turns_of(&mut self, channel: &str) -> &mut Turns {
        self.turns.entry(channel.to_owned()).or_default()
    }

    /// Takes back the turn a line was given when it was composed: it did not go out.
    pub(super) fn undo_turn(&mut self, channel: &str, undo: Option<super::super::select::TurnUndo>) {
        if let (Some(undo), Some(turns)) = (undo, self.turns.get_mut(channel)) {
            turns.undo(undo);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::LineMeta;
    use crate::sink::pack::PackSettings;

    fn q(seq: u64, kind: &'static str, user: u64, text: &str, key: &str) -> Queued {
        Queued {
            channel: "a".into(),
            text: sanitize::sanitize(text).unwrap(),
            priority: if kind == "chat" {
                Priority::Normal
            } else {
                Priority::High
            },
            kind,
            msg_id: seq,
            seq,
            queued_at: Instant::now(),
            origin: None,
            kept_over_pause: false,
            meta: LineMeta {
                user_id: user,
                user_name: format!("U{user}"),
                text_key: key.into(),
                diamonds: if kind == "gift" { 500 } else { 0 },
                ..LineMeta::default()
            },
            comments: u32::from(kind == "chat"),
        }
    }

    fn texts(b: &Build<'_>) -> Vec<String> {
        b.parts.iter().map(|p| p.text.as_str().to_owned()).collect()
    }

    #[test]
    fn a_chat_line_takes_comments_collapses_alike_ones_then_sums_up_follows() {
        let packer = Packer::new(&PackSettings::default());
        let head = q(1, "chat", 1, "[TT] U1: 888", "8");
        let waiting = [
            q(2, "chat", 2, "[TT] U2: 8888!", "8"),
            q(3, "follow", 3, "[TT] ➕ U3 followed", ""),
            q(4, "chat", 4, "[TT] U4: hello", "helo"),
            q(5, "chat", 5, "[TT] U5: 8 8 8", "8"),
            q(6, "follow", 6, "[TT] ➕ U6 followed", ""),
        ];
        let refs: Vec<&Queued> = waiting.iter().collect();
        let b = build(&head, &refs, &packer, &SelectPolicy::default(), &Turns::default());
        assert_eq!(
            texts(&b),
            [
                "[TT] U1: 888 ×3",
                "[TT] U4: hello",
                "[TT] ➕ U3 and U6 followed"
            ]
        );
        assert_eq!(b.parts[0].seqs, [1, 2, 5]);
        assert_eq!(b.parts[0].collapsed, 2);
        assert!(b.parts[0].chat && !b.parts[2].chat);
        assert_eq!(b.parts[2].seqs, [3, 6]);
    }

    #[test]
    fn a_follow_leads_with_every_waiting_follow_and_parts_that_do_not_fit_wait() {
        let packer = Packer::new(&PackSettings {
            max_chars: 60,
            ..PackSettings::default()
        });
        let head = q(1, "follow", 1, "[TT] ➕ U1 followed", "");
        let waiting = [
            q(2, "follow", 2, "[TT] ➕ U2 followed", ""),
            q(3, "follow", 3, "[TT] ➕ U3 followed", ""),
            q(4, "gift", 4, "[TT] 🎁 U4 sent 1× Lion (500 💎)", ""),
            q(5, "share", 5, "[TT] 🔁 U5 shared the live", ""),
            q(6, "chat", 6, "[TT] U6: a comment far too long to fit in this line", "x"),
        ];
        let refs: Vec<&Queued> = waiting.iter().collect();
        let b = build(&head, &refs, &packer, &SelectPolicy::default(), &Turns::default());
        // The big gift (500 💎) does not join; the share fits; the comment waits.
        assert!(SelectPolicy::default().is_big_gift(&waiting[2]));
        assert_eq!(
            texts(&b),
            ["[TT] ➕ U1, U2 and U3 followed", "[TT] 🔁 U5 shared the live"]
        );
        assert!(b.chars() <= 60, "{}", b.chars());
    }
}
