//! The one task that owns pacing: it takes lines from the queue when the pacer allows, hands
//! them to the backend one at a time, waits for Twitch's verdict, and reacts to NOTICEs,
//! ROOMSTATE, USERSTATE badges, reconnects and login failures (the reactions are in
//! [`feedback`]).

mod compose;
mod feedback;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::backend::ChatBackend;
use super::journal::{Entry, Journal};
use super::notice::HoldReason;
use super::pacing::Pacer;
use super::pacing::joins::JoinPacer;
use super::queue::{Queued, text_key};
use super::sink_stats::{ChannelState, SinkState};
use super::{LoginFailureHandler, Shared, SinkError};

struct InFlight {
    item: Queued,
    written_at: Option<Instant>,
    /// The selection turn it was given, taken back if it is requeued.
    turn: Option<super::select::TurnUndo>,
}

/// What paces the engine: lines, JOINs, and the journal that lets a restart know both.
pub(super) struct Pacing {
    pub pacer: Pacer,
    pub joins: JoinPacer,
    pub journal: Journal,
}

/// The pacing task's state.
pub(super) struct Engine<B: ChatBackend> {
    backend: B,
    shared: Arc<Shared>,
    pacer: Pacer,
    joins: JoinPacer,
    journal: Journal,
    /// Channels still to JOIN on the current client, in order (paced by `joins`).
    pending_joins: VecDeque<String>,
    ack_timeout: Duration,
    /// How long lines still queued at shutdown may keep going out.
    drain: Duration,
    login_hook: Option<Arc<dyn LoginFailureHandler>>,
    in_flight: Option<InFlight>,
    /// Channels whose JOIN was echoed, waiting for the join's USERSTATE.
    joining: HashSet<String>,
    /// Channels joined on the current connection.
    joined: HashSet<String>,
    /// Channels held by a chat mode (the pacer holds them until a retry; ROOMSTATE lifting
    /// the mode releases them at once).
    holds: HashMap<String, HoldReason>,
    stopped: HashSet<String>,
    logged_in: bool,
    /// The current client logged in before: a new login is a reconnect, with rejoins.
    client_logged_in: bool,
    login_retry_used: bool,
    needs_join: bool,
    /// Each channel's memory for the selection policy (chat share, round-robin).
    turns: HashMap<String, super::select::Turns>,
    /// The turn the line just composed was given (moved into its [`InFlight`]).
    last_turn: Option<super::select::TurnUndo>,
}

impl<B: ChatBackend> Engine<B> {
    pub fn new(
        backend: B,
        shared: Arc<Shared>,
        pacing: Pacing,
        ack_timeout: Duration,
        drain: Duration,
        login_hook: Option<Arc<dyn LoginFailureHandler>>,
    ) -> Self {
        let needs_join = backend.needs_join();
        let mut engine = Self {
            backend,
            shared,
            pacer: pacing.pacer,
            joins: pacing.joins,
            journal: pacing.journal,
            pending_joins: VecDeque::new(),
            ack_timeout,
            drain,
            login_hook,
            in_flight: None,
            joining: HashSet::new(),
            joined: HashSet::new(),
            holds: HashMap::new(),
            stopped: HashSet::new(),
            logged_in: !needs_join,
            client_logged_in: false,
            login_retry_used: false,
            needs_join,
            turns: HashMap::new(),
            last_turn: None,
        };
        if needs_join {
            engine.queue_all_joins();
        } else {
            engine.joined = engine.shared.channels.iter().cloned().collect();
            for ch in engine.shared.channels.clone() {
                engine.set_state(&ch, ChannelState::Active);
            }
        }
        engine
    }

    /// Every channel is to be JOINed (again) on a fresh client, in name order.
    fn queue_all_joins(&mut self) {
        let mut all: Vec<String> = self.shared.channels.iter().cloned().collect();
        all.sort();
        self.pending_joins = all.into();
    }

    /// Sends the JOINs the JOIN budget allows now (journaled first).
    fn try_join(&mut self, now: Instant) {
        while !self.pending_joins.is_empty() && self.joins.try_take(now).is_ok() {
            let Some(channel) = self.pending_joins.pop_front() else {
                return;
            };
            self.journal.record(
                Entry::Join {
                    channel: channel.clone(),
                },
                now,
            );
            self.backend.join(&channel);
        }
    }

    /// twitch-irc rejoins every channel by itself when its connection drops, unpaced:
    /// counted here (at the new login), so the next JOINs and a restart know.
    fn count_rejoins(&mut self, now: Instant) {
        let mut rejoined: Vec<String> = self
            .shared
            .channels
            .iter()
            .filter(|c| !self.pending_joins.contains(c))
            .cloned()
            .collect();
        rejoined.sort();
        for channel in rejoined {
            self.journal.record(Entry::Join { channel }, now);
            self.joins.record(now);
        }
    }

    /// Runs until shutdown or a fatal error (login refused for good).
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), SinkError> {
        let mut drain_until: Option<Instant> = None;
        let result = loop {
            let now = Instant::now();
            self.try_join(now);
            if self.in_flight.is_none() {
                self.try_send(now);
            }
            if let Some(deadline) = drain_until {
                let idle = self.in_flight.is_none() && self.shared.lock_gate().queue.is_empty();
                if idle || now >= deadline {
                    break Ok(());
                }
            }
            let wake = self.next_wake(now);
            let wake = match (wake, drain_until) {
                (Some(w), Some(d)) => Some(w.min(d)),
                (w, d) => w.or(d),
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled(), if drain_until.is_none() => {
                    if self.drain.is_zero() {
                        break Ok(());
                    }
                    // Last lines (a "LIVE ended" notice) still go out, paced, for a while.
                    self.shared.lock_gate().closed = true;
                    drain_until = Some(now + self.drain);
                }
                ev = self.backend.next_event() => match ev {
                    Some(ev) => {
                        if let Err(e) = self.handle(ev).await {
                            break Err(e);
                        }
                    }
                    None => break Err(SinkError::BackendClosed),
                },
                _ = self.shared.wake.notified(), if self.in_flight.is_none() => {}
                _ = sleep_until(wake.unwrap_or(now)), if wake.is_some() => self.on_timer(Instant::now()),
            }
        };
        self.finish(&result);
        result
    }

    /// A new connection: channels must be joined again (IRC only; Helix needs no JOIN).
    fn reset_session(&mut self) {
        if self.needs_join {
            self.joined.clear();
            self.joining.clear();
        }
    }

    fn sendable(&self, channel: &str) -> bool {
        self.logged_in && self.joined.contains(channel) && !self.stopped.contains(channel)
    }

    /// Sends the next line if one is allowed now.
    fn try_send(&mut self, now: Instant) {
        loop {
            let item = {
                let shared = self.shared.clone();
                let mut gate = shared.lock_gate();
                let queue = &mut gate.queue;
                let item = self.take_next(queue, |ch| {
                    self.logged_in
                        && self.joined.contains(ch)
                        && !self.stopped.contains(ch)
                        && self.pacer.ready_at(ch, now) <= now
                });
                let depth = queue.len() as u64;
                shared.stats.update(|s| s.queue_depth = depth);
                item
            };
            let Some(item) = item else { return };
            if self.shared.policies.is_stale(&item, now) {
                // Dropped at its turn, not at arrival: it might have gone out in time. The
                // other lines already stale go with it (a line only ages: each would be
                // stale at its own turn too), so a long queue is not walked once per line.
                let shared = &self.shared;
                let mut gone = shared
                    .lock_gate()
                    .queue
                    .drain_where(|q| shared.policies.is_stale(q, now));
                gone.push(item);
                for q in &gone {
                    shared.stats.shed(q.kind, "stale");
                }
                tracing::debug!(lines = gone.len(), "stale lines dropped");
                continue;
            }
            let item = self.compose(item, now);
            let key = text_key(&item.channel, item.text.as_str());
            if self.pacer.is_duplicate(&item.channel, key, now) {
                let turn = self.last_turn.take();
                self.undo_turn(&item.channel, turn);
                self.shared.stats.update(|s| s.dropped_duplicate += 1);
                tracing::debug!(channel = %item.channel, kind = item.kind, "duplicate within window dropped");
                continue;
            }
            tracing::trace!(channel = %item.channel, seq = item.seq, "sending line");
            // Journaled before it goes out: a process killed right after the write still
            // leaves the send on record for the next one.
            self.journal.record(
                Entry::Send {
                    channel: item.channel.clone(),
                    elevated: self.pacer.is_elevated(&item.channel),
                    key,
                },
                now,
            );
            self.backend.send(item.seq, &item.channel, &item.text);
            self.shared.stats.update(|s| s.in_flight = 1);
            self.in_flight = Some(InFlight {
                item,
                written_at: None,
                turn: self.last_turn.take(),
            });
            return;
        }
    }

    fn next_wake(&self, now: Instant) -> Option<Instant> {
        let join = (!self.pending_joins.is_empty()).then(|| self.joins.ready_at(now));
        let line = if let Some(f) = &self.in_flight {
            f.written_at.map(|w| w + self.ack_timeout)
        } else {
            let gate = self.shared.lock_gate();
            gate.queue
                .channels()
                .filter(|ch| self.sendable(ch))
                .map(|ch| self.pacer.ready_at(ch, now))
                .min()
        };
        match (join, line) {
            (Some(j), Some(l)) => Some(j.min(l)),
            (j, l) => j.or(l),
        }
    }

    fn on_timer(&mut self, now: Instant) {
        let timed_out = self
            .in_flight
            .as_ref()
            .and_then(|f| f.written_at)
            .is_some_and(|w| now >= w + self.ack_timeout);
        if timed_out {
            if let Some(f) = self.in_flight.take() {
                tracing::warn!(channel = %f.item.channel, "no USERSTATE or NOTICE for a line; counted unconfirmed");
                // It may have been delivered: guard against repeating it.
                let key = text_key(&f.item.channel, f.item.text.as_str());
                self.pacer.record_delivered(&f.item.channel, key, now);
            }
            self.shared.stats.update(|s| {
                s.sent += 1;
                s.unconfirmed += 1;
                s.in_flight = 0;
            });
        }
    }

    /// The in-flight line if it went to `channel`.
    fn take_in_flight_for(&mut self, channel: &str) -> Option<InFlight> {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.item.channel == channel)
        {
            self.shared.stats.update(|s| s.in_flight = 0);
            self.in_flight.take()
        } else {
            None
        }
    }

    fn confirm(&mut self, channel: &str, seq: Option<u64>) {
        let matches = self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.item.channel == channel && seq.is_none_or(|s| s == f.item.seq));
        if !matches {
            return;
        }
        let now = Instant::now();
        let mut latency = None;
        let mut carried = None;
        if let Some(f) = self.in_flight.take() {
            if f.written_at.is_none() {
                // The answer overtook the write report: the line went out just now.
                self.pacer.record_send(&f.item.channel, now);
            }
            let key = text_key(&f.item.channel, f.item.text.as_str());
            self.pacer.record_delivered(&f.item.channel, key, now);
            latency = Some(now.saturating_duration_since(f.item.queued_at));
            carried = Some((f.item.origin, f.item.comments));
        }
        // A delivered line proves the credentials: a later refusal may refresh again.
        self.login_retry_used = false;
        self.shared.stats.update(|s| {
            s.sent += 1;
            s.confirmed += 1;
            s.in_flight = 0;
            if let Some(latency) = latency {
                s.send_latency.observe(latency);
            }
            if let Some((origin, comments)) = &carried {
                s.count_chat_accepted(origin.as_deref(), *comments);
            }
        });
        // A line got through a held channel (the retry): the bot qualifies now.
        if self.holds.remove(channel).is_some() {
            tracing::info!(channel = %channel, "held channel accepts lines again");
            if !self.stopped.contains(channel) {
                self.set_state(channel, ChannelState::Active);
            }
        }
    }

    fn requeue(&mut self, f: InFlight) {
        self.undo_turn(&f.item.channel, f.turn);
        let shed = {
            let mut gate = self.shared.lock_gate();
            let shed = gate.queue.push_front(f.item);
            let depth = gate.queue.len() as u64;
            self.shared.stats.update(|s| {
                s.requeued += 1;
                s.in_flight = 0;
                s.queue_depth = depth;
            });
            shed
        };
        if let Some(v) = shed {
            self.shared.stats.shed(v.kind, "queue_full");
        }
    }

    fn set_state(&self, channel: &str, state: ChannelState) {
        self.shared.with_status(|st| {
            st.channels.entry(channel.to_owned()).or_default().state = state;
        });
    }

    fn finish(&mut self, result: &Result<(), SinkError>) {
        self.backend.stop();
        let reason = if result.is_ok() {
            "shutdown"
        } else {
            "sink_stopped"
        };
        if let Some(f) = self.in_flight.take() {
            if f.written_at.is_some() {
                self.shared.stats.update(|s| {
                    s.sent += 1;
                    s.unconfirmed += 1;
                });
            } else {
                self.shared.stats.shed(f.item.kind, reason);
            }
        }
        let rest = {
            let mut gate = self.shared.lock_gate();
            gate.closed = true;
            let mut rest = gate.queue.drain_all();
            rest.append(&mut gate.held);
            rest
        };
        for q in &rest {
            self.shared.stats.shed(q.kind, reason);
        }
        self.shared.stats.update(|s| {
            s.in_flight = 0;
            s.queue_depth = 0;
            s.paused_held = 0;
        });
        let text = match result {
            Ok(()) => "shut down".to_owned(),
            Err(e) => e.to_string(),
        };
        self.shared.set_sink_state(SinkState::Stopped(text));
    }
}
