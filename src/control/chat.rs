//! The controller's task: it reads every chat message the sink reads, publishes it on the
//! feed of each bridge of that channel (`twitch_chat`), watches for Shared Chat, carries out
//! the commands of those who may give them, and answers through the sink (the same pacer
//! and budget as every line), once per command and channel per cooldown. It also ends
//! timed pauses and samples the sink's counters for `status`.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::command::{Command, Scope, parse, usage};
use super::controller::{Actor, Controller, publish_control};
use super::shared_chat::SessionChange;
use crate::config::twitch_chat::SharedChatPolicy;
use crate::event::{Event, EventKind, Meta, TwitchChat, TwitchUser};
use crate::format::group_thousands;
use crate::limits::{COMMAND_STATUS_SAMPLE, COMMAND_STATUS_WINDOW};
use crate::line::{Line, Priority};
use crate::sink::incoming::ChatMessage;

/// The line kind of a reply (the sink's accounting).
pub const REPLY_KIND: &str = "command_reply";

/// What every reply starts with, so chat tells the bridge's answers from its relayed lines.
const REPLY_TAG: &str = "[tiktwitch]";

impl Controller {
    /// Starts the task (it subscribes to the sink's chat before returning, so it misses
    /// nothing said after this call). It ends at `shutdown`.
    pub fn start(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let chat = self.inner.sink.subscribe_chat();
        let me = self.clone();
        tokio::spawn(async move { me.run(chat, shutdown).await })
    }

    async fn run(
        self,
        mut chat: tokio::sync::broadcast::Receiver<Arc<ChatMessage>>,
        shutdown: CancellationToken,
    ) {
        let mut sample = tokio::time::interval(COMMAND_STATUS_SAMPLE);
        sample.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let next = self.next_timer();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                message = chat.recv() => match message {
                    Ok(message) => self.on_chat(&message),
                    Err(RecvError::Lagged(n)) => {
                        self.inner.stats.chat_missed.fetch_add(n, Ordering::Relaxed);
                        tracing::warn!(missed = n, "moderator commands fell behind the chat; messages missed");
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = sample.tick() => self.sample(),
                _ = sleep_until(next), if next.is_some() => self.on_timer(Instant::now()),
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        let rt = self.runtime();
        let pause = rt.deadlines.values().min().copied();
        match (pause, rt.shared.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn sample(&self) {
        let stats = self.inner.sink.stats();
        let now = Instant::now();
        let mut rt = self.runtime();
        rt.samples.push_back((now, stats.sent, stats.shed_total()));
        while rt
            .samples
            .front()
            .is_some_and(|(at, _, _)| now.saturating_duration_since(*at) > COMMAND_STATUS_WINDOW + COMMAND_STATUS_SAMPLE)
        {
            rt.samples.pop_front();
        }
    }

    /// Ends timed pauses and Shared Chat sessions that are due.
    fn on_timer(&self, now: Instant) {
        let (due, over) = {
            let mut rt = self.runtime();
            let due: Vec<String> = rt
                .deadlines
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(b, _)| b.clone())
                .collect();
            (due, rt.shared.expire(now))
        };
        let timer = Actor {
            platform: "twitch",
            login: None,
            channel: None,
            on_feed: true,
        };
        for bridge in due {
            tracing::info!(bridge = %bridge, "the timed pause is over");
            let _ = self.resume(&bridge, &timer);
        }
        for channel in over {
            self.shared_chat_ended(&channel);
        }
    }

    /// One chat message read from Twitch.
    pub(super) fn on_chat(&self, message: &ChatMessage) {
        for bridge in self.bridges_in(&message.channel) {
            bridge.events.publish(&twitch_chat_event(message));
        }
        if message.is_from_partner_channel() {
            self.partner_message(&message.channel);
        }
        let settings = &self.inner.settings;
        if !settings.commands_enabled {
            return;
        }
        let Some(parsed) = parse(&settings.prefix, &message.text) else {
            return;
        };
        if !settings.permissions.may_command(message) {
            // No reply: anyone could make the bot spend its budget otherwise.
            self.inner.stats.ignored.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(login = %message.login, channel = %message.channel, "a command from someone who may not command: ignored");
            return;
        }
        let (name, reply) = match parsed {
            Ok(command) => (command.name(), self.execute(&command, message)),
            Err(e) => {
                self.inner.stats.mistakes.fetch_add(1, Ordering::Relaxed);
                (e.command(), format!("@{} {e}. {}", message.login, usage(&settings.prefix)))
            }
        };
        self.reply(&message.channel, name, reply);
    }

    fn reply(&self, channel: &str, command: &'static str, text: String) {
        if !self.inner.cooldown.allow(channel, command) {
            self.inner.stats.replies_cooled.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.inner.stats.replies.fetch_add(1, Ordering::Relaxed);
        self.inner.sink.send(
            channel,
            Line {
                text: format!("{REPLY_TAG} {text}"),
                priority: Priority::High,
                kind: REPLY_KIND,
                msg_id: 0,
                meta: Default::default(),
            },
        );
    }

    /// Carries out `command` on every bridge of the message's channel; returns the reply.
    fn execute(&self, command: &Command, message: &ChatMessage) -> String {
        let by = Actor {
            platform: "twitch",
            login: Some(message.login.clone()),
            channel: Some(message.channel.clone()),
            on_feed: true,
        };
        let names: Vec<String> = self.bridges_in(&message.channel).map(|b| b.name.clone()).collect();
        if names.is_empty() {
            return "no bridge posts to this channel".into();
        }
        let mut failed = None;
        let mut changed = 0usize;
        for name in &names {
            let done = match command {
                Command::Status | Command::Help => Ok(()),
                Command::Pause(minutes) => self.pause(name, *minutes, &by),
                Command::Resume => self.resume(name, &by),
                Command::Mute(user) => self.mute(name, user, &by).map(|added| changed += usize::from(added)),
                Command::Unmute(user) => self.unmute(name, user, &by).map(|removed| changed += usize::from(removed)),
                Command::Only(scope) => self.only(name, *scope, &by),
            };
            if let Err(e) = done {
                failed = Some(e.to_string());
            }
        }
        if let Some(e) = failed {
            return format!("@{} {e}", message.login);
        }
        match command {
            Command::Status => names
                .iter()
                .filter_map(|n| self.status_line(n))
                .collect::<Vec<_>>()
                .join(" | "),
            Command::Help => usage(&self.inner.settings.prefix),
            Command::Pause(Some(m)) => format!("relaying paused for {m} min (resume: {} resume)", self.inner.settings.prefix),
            Command::Pause(None) => format!("relaying paused until {} resume", self.inner.settings.prefix),
            Command::Resume => "relaying again".into(),
            Command::Mute(user) if changed > 0 => format!("muted TikTok user @{user}"),
            Command::Mute(user) => format!("TikTok user @{user} was muted already"),
            Command::Unmute(user) if changed > 0 => format!("unmuted TikTok user @{user}"),
            Command::Unmute(user) => format!("TikTok user @{user} was not muted"),
            Command::Only(Scope::All) => "relaying every kind again".into(),
            Command::Only(scope) => format!("relaying only TikTok {} now", scope.name()),
        }
    }

    /// `@creator: TikTok live, relaying, last 5 min: 12 sent, 0 shed, 2 muted, only gifts`.
    fn status_line(&self, name: &str) -> Option<String> {
        let s = self.status(name).ok()?;
        let live = if s.tiktok_live {
            "TikTok live".to_owned()
        } else {
            format!("TikTok not live ({})", s.tiktok_state)
        };
        let twitch = match s.twitch_live {
            Some(true) => ", Twitch live",
            Some(false) => ", Twitch offline",
            None => "",
        };
        let relaying = match (&s.view.paused_until, s.paused) {
            (Some(until), true) => format!("paused until {until}"),
            (None, true) => "paused".to_owned(),
            (_, false) => "relaying".to_owned(),
        };
        let mut line = format!(
            "@{}: {live}{twitch}, {relaying}, last {} min: {} sent, {} shed",
            s.tiktok.trim_start_matches('@'),
            COMMAND_STATUS_WINDOW.as_secs() / 60,
            group_thousands(i64::try_from(s.sent_5m).unwrap_or(i64::MAX)),
            group_thousands(i64::try_from(s.shed_5m).unwrap_or(i64::MAX)),
        );
        if !s.view.muted.is_empty() {
            line.push_str(&format!(", {} muted", s.view.muted.len()));
        }
        if s.view.only != "all" {
            line.push_str(&format!(", only {}", s.view.only));
        }
        if !s.view.shared_chat.is_empty() {
            line.push_str(", in Shared Chat");
        }
        Some(line)
    }

    /// A message from a partner channel of a Shared Chat session arrived in `channel`.
    fn partner_message(&self, channel: &str) {
        let started = self.runtime().shared.seen(channel, Instant::now()) == Some(SessionChange::Started);
        if !started {
            return;
        }
        self.inner.stats.shared_chat_sessions.fetch_add(1, Ordering::Relaxed);
        let pause = self.inner.settings.shared_chat == SharedChatPolicy::Pause;
        tracing::warn!(
            channel = %channel,
            policy = if pause { "pause" } else { "allow" },
            "#{channel} is in a Twitch Shared Chat session: every line posted there is mirrored into the partner channels{}",
            if pause { "; relaying pauses while it lasts (twitch.shared_chat = \"pause\")" } else { "" }
        );
        self.shared_chat_changed(channel, "shared_chat_started", pause);
        self.inner.wake.notify_one();
    }

    fn shared_chat_ended(&self, channel: &str) {
        tracing::info!(channel = %channel, "the Twitch Shared Chat session is over");
        self.shared_chat_changed(channel, "shared_chat_ended", false);
    }

    /// Shows the change, announces it and, with `shared_chat = "pause"`, pauses (`pause`)
    /// or resumes the channel's bridges. A moderator's own pause is left alone.
    fn shared_chat_changed(&self, channel: &str, action: &'static str, pause: bool) {
        let by = Actor {
            platform: "twitch",
            login: None,
            channel: Some(channel.to_owned()),
            on_feed: true,
        };
        let policy_pauses = self.inner.settings.shared_chat == SharedChatPolicy::Pause;
        for bridge in self.bridges_in(channel) {
            let mut rt = self.runtime();
            let moderator_paused = rt.file.bridges.get(&bridge.name).is_some_and(|s| s.paused.is_some());
            let act = if !policy_pauses || moderator_paused {
                None
            } else if pause {
                rt.shared_paused.insert(bridge.name.clone()).then_some(true)
            } else {
                rt.shared_paused.remove(&bridge.name).then_some(false)
            };
            self.show(&rt, bridge);
            drop(rt);
            if let Some(paused) = act {
                crate::status::set_paused(&bridge.health, Some(&self.inner.sink), paused);
            }
            publish_control(bridge, action, &by, None);
        }
    }
}

/// The `twitch_chat` event of a message.
fn twitch_chat_event(message: &ChatMessage) -> Event {
    Event {
        meta: Meta {
            method: Cow::Borrowed("PRIVMSG"),
            ..Meta::default()
        },
        kind: EventKind::TwitchChat(TwitchChat {
            platform: "twitch",
            channel: message.channel.clone(),
            user: TwitchUser {
                id: message.user_id.clone(),
                login: message.login.clone(),
                display_name: message.display_name.clone(),
                badges: message.badges.clone(),
            },
            text: message.text.clone(),
            message_id: message.message_id.clone(),
            source_room_id: message
                .is_from_partner_channel()
                .then(|| message.source_room_id.clone())
                .flatten(),
        }),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
