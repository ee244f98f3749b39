//! Accounting: every event that enters ends as relayed, filtered (by which rule), coalesced
//! or failed, counted per event kind.
//!
//! An event a coalescer is still holding (the latest tick of an open gift streak) is
//! `pending` until it is resolved, so at any moment
//! `received == relayed + filtered + coalesced + failed + pending`, and after
//! [`super::Pipeline::flush`] `pending` is 0.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// Counts of one event kind (or of all kinds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    /// Events that entered the pipeline.
    pub received: u64,
    /// Events that became a line.
    pub relayed: u64,
    /// Events dropped on purpose by a rule (see [`PipelineSnapshot::filtered_by_rule`]).
    pub filtered: u64,
    /// Events folded into another line (streak ticks, likes, joins, repeated chat).
    pub coalesced: u64,
    /// Events that should have become a line but could not (even the default template
    /// failed to render).
    pub failed: u64,
    /// Events a coalescer is still holding.
    pub pending: u64,
}

impl KindCounts {
    /// True when every received event is accounted for.
    pub fn balanced(&self) -> bool {
        self.received == self.relayed + self.filtered + self.coalesced + self.failed + self.pending
    }

    /// Adds another set of counts (summing kinds, or bridges).
    pub fn add(&mut self, other: &KindCounts) {
        self.received += other.received;
        self.relayed += other.relayed;
        self.filtered += other.filtered;
        self.coalesced += other.coalesced;
        self.failed += other.failed;
        self.pending += other.pending;
    }
}

/// A point-in-time copy of the pipeline's counters: plain numbers for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PipelineSnapshot {
    /// Per event kind (`"chat"`, `"gift"` ...).
    pub kinds: BTreeMap<&'static str, KindCounts>,
    /// Filtered events by rule (`"duplicate"`, `"history"`, `"route_disabled"`,
    /// `"blocked_word"`, `"min_diamonds"` ...).
    pub filtered_by_rule: BTreeMap<&'static str, u64>,
    /// Lines produced, by line kind (summaries included: `"likes"`, `"joins"`,
    /// `"chat_flood"`).
    pub lines: BTreeMap<&'static str, u64>,
    /// Renders that failed and were replaced by the kind's default template.
    pub render_fallbacks: u64,
    /// Blocked words masked with `***` (the event was still relayed).
    pub masked: u64,
}

impl PipelineSnapshot {
    /// The sum over all kinds.
    pub fn total(&self) -> KindCounts {
        let mut total = KindCounts::default();
        for counts in self.kinds.values() {
            total.add(counts);
        }
        total
    }

    /// True when every kind balances.
    pub fn balanced(&self) -> bool {
        self.kinds.values().all(KindCounts::balanced)
    }
}

/// How one event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It became a line.
    Relayed,
    /// A rule dropped it.
    Filtered(&'static str),
    /// It was folded into another line.
    Coalesced,
    /// It could not be rendered.
    Failed,
}

/// The live counters, shared between the pipeline and whoever reports metrics.
#[derive(Debug, Clone, Default)]
pub struct PipelineStats {
    inner: Arc<Mutex<PipelineSnapshot>>,
}

impl PipelineStats {
    /// A copy of the counters now.
    pub fn snapshot(&self) -> PipelineSnapshot {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PipelineSnapshot> {
        // The counters stay meaningful even if a holder panicked mid-update.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn received(&self, kind: &'static str) {
        self.lock().kinds.entry(kind).or_default().received += 1;
    }

    pub(crate) fn outcome(&self, kind: &'static str, outcome: Outcome) {
        let mut s = self.lock();
        let counts = s.kinds.entry(kind).or_default();
        match outcome {
            Outcome::Relayed => counts.relayed += 1,
            Outcome::Filtered(rule) => {
                counts.filtered += 1;
                *s.filtered_by_rule.entry(rule).or_default() += 1;
            }
            Outcome::Coalesced => counts.coalesced += 1,
            Outcome::Failed => counts.failed += 1,
        }
    }

    pub(crate) fn hold(&self, kind: &'static str) {
        self.lock().kinds.entry(kind).or_default().pending += 1;
    }

    /// A held event is resolved.
    pub(crate) fn release(&self, kind: &'static str, outcome: Outcome) {
        {
            let mut s = self.lock();
            let counts = s.kinds.entry(kind).or_default();
            counts.pending = counts.pending.saturating_sub(1);
        }
        self.outcome(kind, outcome);
    }

    pub(crate) fn line(&self, kind: &'static str) {
        *self.lock().lines.entry(kind).or_default() += 1;
    }

    pub(crate) fn render_fallback(&self) {
        self.lock().render_fallbacks += 1;
    }

    pub(crate) fn masked(&self) {
        self.lock().masked += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_events_balance_while_pending_and_after_release() {
        let stats = PipelineStats::default();
        stats.received("gift");
        stats.hold("gift");
        assert!(stats.snapshot().balanced());
        stats.received("gift");
        stats.release("gift", Outcome::Coalesced);
        stats.hold("gift");
        stats.release("gift", Outcome::Relayed);
        let s = stats.snapshot();
        assert!(s.balanced(), "{s:?}");
        assert_eq!(s.kinds["gift"].pending, 0);
        assert_eq!(s.total().relayed, 1);
    }

    #[test]
    fn filtered_rules_are_counted() {
        let stats = PipelineStats::default();
        stats.received("chat");
        stats.outcome("chat", Outcome::Filtered("duplicate"));
        assert_eq!(stats.snapshot().filtered_by_rule["duplicate"], 1);
        assert!(stats.snapshot().balanced());
    }
}
