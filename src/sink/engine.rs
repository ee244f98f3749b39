//! The one task that owns pacing: it takes lines from the queue when the pacer allows, hands
//! them to the backend one at a time, waits for Twitch's verdict, and reacts to NOTICEs,
//! ROOMSTATE, USERSTATE badges, reconnects and login failures.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::backend::{BackendEvent, ChatBackend};
use super::notice::{HoldReason, Reaction, classify};
use super::pacing::Pacer;
use super::queue::{Queued, text_key};
use super::stats::{ChannelState, SinkState};
use super::{LoginFailureHandler, Shared, SinkError};
use crate::limits::MAX_NOTICE_KINDS;

struct InFlight {
    item: Queued,
    written_at: Option<Instant>,
}

/// The pacing task's state.
pub(super) struct Engine<B: ChatBackend> {
    pub backend: B,
    pub shared: Arc<Shared>,
    pub pacer: Pacer,
    pub ack_timeout: Duration,
    pub login_hook: Option<Arc<dyn LoginFailureHandler>>,
    in_flight: Option<InFlight>,
    /// Channels whose JOIN was echoed, waiting for the join's USERSTATE.
    joining: HashSet<String>,
    /// Channels joined on the current connection.
    joined: HashSet<String>,
    holds: HashMap<String, HoldReason>,
    stopped: HashSet<String>,
    logged_in: bool,
    login_retry_used: bool,
    needs_join: bool,
}

impl<B: ChatBackend> Engine<B> {
    pub fn new(
        backend: B,
        shared: Arc<Shared>,
        pacer: Pacer,
        ack_timeout: Duration,
        login_hook: Option<Arc<dyn LoginFailureHandler>>,
    ) -> Self {
        let needs_join = backend.needs_join();
        let mut engine = Self {
            backend,
            shared,
            pacer,
            ack_timeout,
            login_hook,
            in_flight: None,
            joining: HashSet::new(),
            joined: HashSet::new(),
            holds: HashMap::new(),
            stopped: HashSet::new(),
            logged_in: !needs_join,
            login_retry_used: false,
            needs_join,
        };
        if !needs_join {
            engine.joined = engine.shared.channels.iter().cloned().collect();
            for ch in engine.shared.channels.clone() {
                engine.set_state(&ch, ChannelState::Active);
            }
        }
        engine
    }

    /// Runs until shutdown or a fatal error (login refused for good).
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), SinkError> {
        let result = loop {
            let now = Instant::now();
            if self.in_flight.is_none() {
                self.try_send(now);
            }
            let wake = self.next_wake(now);
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
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
        self.logged_in
            && self.joined.contains(channel)
            && !self.holds.contains_key(channel)
            && !self.stopped.contains(channel)
    }

    /// Sends the next line if one is allowed now.
    fn try_send(&mut self, now: Instant) {
        loop {
            let item = {
                let Self {
                    shared,
                    pacer,
                    logged_in,
                    joined,
                    holds,
                    stopped,
                    ..
                } = &*self;
                let mut gate = shared.lock_gate();
                let queue = &mut gate.queue;
                let item = queue.pop_ready(|ch| {
                    *logged_in
                        && joined.contains(ch)
                        && !holds.contains_key(ch)
                        && !stopped.contains(ch)
                        && pacer.ready_at(ch, now) <= now
                });
                let depth = queue.len() as u64;
                shared.stats.update(|s| s.queue_depth = depth);
                item
            };
            let Some(item) = item else { return };
            let key = text_key(&item.channel, item.text.as_str());
            if self.pacer.is_duplicate(&item.channel, key, now) {
                self.shared.stats.update(|s| s.dropped_duplicate += 1);
                tracing::debug!(channel = %item.channel, kind = item.kind, "duplicate within window dropped");
                continue;
            }
            tracing::trace!(channel = %item.channel, seq = item.seq, "sending line");
            self.backend.send(item.seq, &item.channel, &item.text);
            self.shared.stats.update(|s| s.in_flight = 1);
            self.in_flight = Some(InFlight {
                item,
                written_at: None,
            });
            return;
        }
    }

    fn next_wake(&self, now: Instant) -> Option<Instant> {
        if let Some(f) = &self.in_flight {
            return f.written_at.map(|w| w + self.ack_timeout);
        }
        let gate = self.shared.lock_gate();
        gate.queue
            .channels()
            .filter(|ch| self.sendable(ch))
            .map(|ch| self.pacer.ready_at(ch, now))
            .min()
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
        if let Some(f) = self.in_flight.take()
            && f.written_at.is_none()
        {
            // The answer overtook the write report: the line went out just now.
            let key = text_key(&f.item.channel, f.item.text.as_str());
            self.pacer.record_send(&f.item.channel, key, Instant::now());
        }
        self.shared.stats.update(|s| {
            s.sent += 1;
            s.confirmed += 1;
            s.in_flight = 0;
        });
    }

    fn requeue(&mut self, f: InFlight) {
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

    fn stop_channel(&mut self, channel: &str, reason: &str) {
        if !self.shared.channels.contains(channel) || !self.stopped.insert(channel.to_owned()) {
            return;
        }
        tracing::error!(
            channel = %channel,
            reason = %reason,
            "Twitch refuses the bot in this channel; no more lines will be sent there"
        );
        if let Some(f) = self.take_in_flight_for(channel) {
            drop(f);
            self.shared.stats.update(|s| s.rejected += 1);
        }
        let gone = {
            let mut gate = self.shared.lock_gate();
            gate.stopped_channels.insert(channel.to_owned());
            let gone = gate.queue.drain_channel(channel);
            let depth = gate.queue.len() as u64;
            self.shared.stats.update(|s| s.queue_depth = depth);
            gone
        };
        for q in gone {
            self.shared.stats.shed(q.kind, "channel_stopped");
        }
        self.set_state(
            channel,
            ChannelState::Stopped {
                reason: reason.to_owned(),
            },
        );
    }

    async fn handle(&mut self, ev: BackendEvent) -> Result<(), SinkError> {
        let now = Instant::now();
        tracing::trace!(event = ?ev, "backend event");
        match ev {
            BackendEvent::LoggedIn => {
                self.logged_in = true;
                self.login_retry_used = false;
                self.reset_session();
                self.shared.stats.update(|s| {
                    s.logins += 1;
                    if s.logins > 1 {
                        s.reconnects += 1;
                    }
                });
                self.shared.with_status(|st| st.sink = SinkState::Connected);
                tracing::info!("logged in to Twitch chat");
            }
            BackendEvent::Joined { channel } => {
                self.joining.insert(channel);
            }
            BackendEvent::Parted { channel } => {
                self.joined.remove(&channel);
            }
            BackendEvent::UserState { channel, elevated } => {
                self.pacer.set_elevated(&channel, elevated);
                self.shared.with_status(|st| {
                    st.channels.entry(channel.clone()).or_default().elevated = elevated;
                });
                if self.joining.remove(&channel) {
                    self.joined.insert(channel.clone());
                    if !self.stopped.contains(&channel) && !self.holds.contains_key(&channel) {
                        self.set_state(&channel, ChannelState::Active);
                    }
                } else {
                    self.confirm(&channel, None);
                }
            }
            BackendEvent::Delivered { channel, seq } => self.confirm(&channel, Some(seq)),
            BackendEvent::RoomState {
                channel,
                slow,
                emote_only,
                followers_only,
                subs_only,
            } => {
                if let Some(slow) = slow {
                    self.pacer.set_slow(&channel, slow);
                    self.shared.with_status(|st| {
                        st.channels.entry(channel.clone()).or_default().slow_mode =
                            (!slow.is_zero()).then_some(slow);
                    });
                }
                let lifted = match self.holds.get(&channel) {
                    Some(HoldReason::EmoteOnly) => emote_only == Some(false),
                    Some(HoldReason::FollowersOnly) => followers_only == Some(false),
                    Some(HoldReason::SubsOnly) => subs_only == Some(false),
                    None => false,
                };
                if lifted {
                    self.holds.remove(&channel);
                    tracing::info!(channel = %channel, "chat mode lifted; lines flow again");
                    if !self.stopped.contains(&channel) {
                        self.set_state(&channel, ChannelState::Active);
                    }
                }
            }
            BackendEvent::Notice {
                channel,
                msg_id,
                text,
            } => self.on_notice(channel, msg_id, text, now),
            BackendEvent::BotRemoved { channel, reason } => {
                self.shared
                    .stats
                    .update(|s| *s.notices.entry(format!("clearchat_{reason}")).or_default() += 1);
                self.stop_channel(&channel, reason);
            }
            BackendEvent::LoginFailed { text } => return self.on_login_failed(text).await,
            BackendEvent::ReconnectRequested => {
                tracing::info!("Twitch asked for a reconnect");
            }
            BackendEvent::Written { seq, at } => {
                if let Some(f) = self.in_flight.as_mut().filter(|f| f.item.seq == seq)
                    && f.written_at.is_none()
                {
                    f.written_at = Some(at);
                    let key = text_key(&f.item.channel, f.item.text.as_str());
                    let channel = f.item.channel.clone();
                    self.pacer.record_send(&channel, key, at);
                }
            }
            BackendEvent::WriteFailed { seq, error } => {
                if self.in_flight.as_ref().is_some_and(|f| f.item.seq == seq)
                    && let Some(f) = self.in_flight.take()
                {
                    tracing::warn!(channel = %f.item.channel, error = %error, "write failed; line requeued");
                    self.pacer
                        .hold_channel_until(&f.item.channel, now + Duration::from_secs(1));
                    self.shared.stats.update(|s| s.write_errors += 1);
                    self.requeue(f);
                }
            }
        }
        Ok(())
    }

    fn on_notice(
        &mut self,
        channel: Option<String>,
        msg_id: Option<String>,
        text: String,
        now: Instant,
    ) {
        let id = msg_id.clone().unwrap_or_else(|| "none".to_owned());
        self.shared.stats.update(|s| {
            // msg-ids come from the server: cap the number of distinct keys.
            let key = if s.notices.len() < MAX_NOTICE_KINDS || s.notices.contains_key(&id) {
                id.clone()
            } else {
                "other".to_owned()
            };
            *s.notices.entry(key).or_default() += 1;
        });
        let Some(channel) = channel else {
            tracing::warn!(msg_id = %id, text = %text, "Twitch NOTICE");
            return;
        };
        self.shared.with_status(|st| {
            st.channels.entry(channel.clone()).or_default().last_notice = Some(id.clone());
        });
        match classify(&id, &text) {
            Reaction::RateLimited => {
                tracing::warn!(channel = %channel, "msg_ratelimit: pausing one window, then half rate");
                self.pacer.on_ratelimit(now);
                if let Some(f) = self.take_in_flight_for(&channel) {
                    self.requeue(f);
                }
            }
            Reaction::DropDuplicate => {
                if self.take_in_flight_for(&channel).is_some() {
                    self.shared.stats.update(|s| s.dropped_duplicate += 1);
                }
            }
            Reaction::SlowMode(wait) => {
                let slow = wait.unwrap_or(Duration::from_secs(1));
                self.pacer
                    .hold_channel_until(&channel, now + slow + self.pacer.config().slow_margin);
                if let Some(f) = self.take_in_flight_for(&channel) {
                    self.requeue(f);
                }
            }
            Reaction::HoldChannel(reason) => {
                tracing::warn!(channel = %channel, reason = reason.name(), "channel mode refuses the bot; lines held");
                self.holds.insert(channel.clone(), reason);
                if !self.stopped.contains(&channel) {
                    self.set_state(
                        &channel,
                        ChannelState::Held {
                            reason: reason.name().to_owned(),
                        },
                    );
                }
                if let Some(f) = self.take_in_flight_for(&channel) {
                    self.requeue(f);
                }
            }
            Reaction::StopChannel => self.stop_channel(&channel, &id),
            Reaction::DropLine => {
                if self.take_in_flight_for(&channel).is_some() {
                    tracing::warn!(channel = %channel, msg_id = %id, "Twitch refused a line");
                    self.shared.stats.update(|s| s.rejected += 1);
                }
            }
            Reaction::Unrelated => {
                tracing::info!(channel = %channel, msg_id = %id, text = %text, "Twitch NOTICE");
            }
        }
    }

    async fn on_login_failed(&mut self, text: String) -> Result<(), SinkError> {
        self.shared.stats.update(|s| s.login_failures += 1);
        self.logged_in = false;
        if let Some(f) = self.in_flight.take() {
            self.requeue(f);
        }
        if !self.login_retry_used
            && let Some(hook) = self.login_hook.clone()
        {
            self.login_retry_used = true;
            tracing::warn!(text = %text, "Twitch refused the login; refreshing credentials");
            if hook.on_login_failed().await {
                self.backend.restart().await;
                self.reset_session();
                return Ok(());
            }
        }
        tracing::error!(text = %text, "Twitch refused the login; the sink stops (re-run `tiktwitch auth`)");
        Err(SinkError::LoginFailed { server_text: text })
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
            gate.queue.drain_all()
        };
        for q in &rest {
            self.shared.stats.shed(q.kind, reason);
        }
        self.shared.stats.update(|s| {
            s.in_flight = 0;
            s.queue_depth = 0;
        });
        let text = match result {
            Ok(()) => "shut down".to_owned(),
            Err(e) => e.to_string(),
        };
        self.shared
            .with_status(|st| st.sink = SinkState::Stopped(text));
    }
}
