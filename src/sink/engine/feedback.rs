//! How the engine reacts to what the backend reports: logins, joins, USERSTATE acks and
//! badges, ROOMSTATE modes, NOTICE msg-ids, CLEARCHAT of the bot, write results, and login
//! failures (refresh once through the hook, then stop).

use std::time::Duration;

use tokio::time::Instant;

use super::{ChatBackend, Engine};
use crate::limits::{MAX_NOTICE_KINDS, TWITCH_HOLD_RETRY};
use crate::sink::SinkError;
use crate::sink::backend::BackendEvent;
use crate::sink::notice::{HoldReason, Reaction, classify};
use crate::sink::sink_stats::{ChannelState, SinkState};

impl<B: ChatBackend> Engine<B> {
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

    pub(super) async fn handle(&mut self, ev: BackendEvent) -> Result<(), SinkError> {
        let now = Instant::now();
        tracing::trace!(event = ?ev, "backend event");
        match ev {
            BackendEvent::LoggedIn => {
                self.logged_in = true;
                if self.needs_join {
                    // IRC: a welcome proves the credentials. Helix "logs in" at once after
                    // a refresh, so only a delivered line proves them (see `confirm`).
                    self.login_retry_used = false;
                }
                self.reset_session();
                if self.needs_join && std::mem::replace(&mut self.client_logged_in, true) {
                    self.count_rejoins(now);
                }
                self.shared.stats.update(|s| {
                    s.logins += 1;
                    if s.logins > 1 {
                        s.reconnects += 1;
                    }
                });
                self.shared.set_sink_state(SinkState::Connected);
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
                    self.pacer.release_channel(&channel);
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
            BackendEvent::Chat(message) => {
                // Only configured channels: nothing else was joined, but a server may say
                // anything. No reader is fine (commands off, no feed).
                if self.shared.channels.contains(&message.channel) {
                    let _ = self.shared.chat.send(std::sync::Arc::new(*message));
                }
            }
            BackendEvent::Written { seq, at } => {
                if let Some(f) = self.in_flight.as_mut().filter(|f| f.item.seq == seq)
                    && f.written_at.is_none()
                {
                    f.written_at = Some(at);
                    let channel = f.item.channel.clone();
                    self.pacer.record_send(&channel, at);
                }
            }
            BackendEvent::Dropped {
                channel,
                seq,
                code,
                message,
            } => {
                self.shared.stats.update(|s| {
                    let key = if s.helix_dropped.len() < MAX_NOTICE_KINDS
                        || s.helix_dropped.contains_key(&code)
                    {
                        code.clone()
                    } else {
                        "other".to_owned()
                    };
                    *s.helix_dropped.entry(key).or_default() += 1;
                });
                if self.in_flight.as_ref().is_some_and(|f| f.item.seq == seq) {
                    self.on_notice(Some(channel), Some(code), message, now);
                }
            }
            BackendEvent::RateLimited { seq, until } => {
                self.shared.stats.update(|s| s.helix_rate_limited += 1);
                tracing::warn!(wait_s = until.saturating_duration_since(now).as_secs(), "Helix 429: waiting for Ratelimit-Reset; the line is requeued");
                self.pacer.pause_until(until);
                if self.in_flight.as_ref().is_some_and(|f| f.item.seq == seq)
                    && let Some(f) = self.in_flight.take()
                {
                    self.requeue(f);
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
                // Hold, but try one line again later: the bot may have been given a follow, a
                // sub or VIP without any ROOMSTATE change.
                self.pacer
                    .hold_channel_until(&channel, now + TWITCH_HOLD_RETRY);
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
                // A new client: its first login is not a reconnect, and every channel is
                // JOINed again, paced.
                self.client_logged_in = false;
                if self.needs_join {
                    self.queue_all_joins();
                }
                return Ok(());
            }
        }
        tracing::error!(text = %text, "Twitch refused the login; the sink stops (re-run `tiktwitch auth`)");
        Err(SinkError::LoginFailed { server_text: text })
    }
}
