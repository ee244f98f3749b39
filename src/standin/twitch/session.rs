//! One client connection of the fake: the Twitch dialect and the rule checks.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;
use twitch_irc::message::IRCMessage;

use super::{ALLOWED_COMMANDS, Account, FakeEvent, Privmsg, RecordedLine, Shared, State};

pub(super) enum Reply {
    Line(String),
    Close,
}

pub(super) struct Session {
    pub(super) id: u64,
    pub(super) token: Option<String>,
    pub(super) nick: Option<String>,
}

impl Session {
    pub(super) fn handle(&mut self, raw: &str, shared: &Shared) -> Vec<Reply> {
        let now = Instant::now();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return vec![];
        }
        let record = RecordedLine {
            at: now,
            conn: self.id,
            line: line.to_owned(),
        };
        let _ = shared.events.send(FakeEvent::Line(record.clone()));
        let mut st = shared.state();
        if st.records.len() >= shared.config.max_records.max(1) {
            st.records.pop_front();
        }
        st.records.push_back(record);
        if line.contains('\r') {
            shared.violation(&mut st, now, "bare_cr", line);
        }
        if line.contains('\0') {
            shared.violation(&mut st, now, "nul", line);
        }
        let Ok(msg) = IRCMessage::parse(line) else {
            shared.violation(&mut st, now, "unparsable", line);
            return vec![];
        };
        if !ALLOWED_COMMANDS.contains(&msg.command.as_str()) {
            shared.violation(&mut st, now, "forbidden_command", line);
            return vec![];
        }
        let param = |i: usize| msg.params.get(i).cloned().unwrap_or_default();
        match msg.command.as_str() {
            "CAP" => vec![Reply::Line(format!(
                ":tmi.twitch.tv CAP * ACK :{}",
                param(1)
            ))],
            "PASS" => {
                self.token = Some(param(0).trim_start_matches("oauth:").to_owned());
                vec![]
            }
            "NICK" => self.login(param(0), &mut st, shared),
            "JOIN" => {
                let nick = self.nick.clone().unwrap_or_default();
                let mut out = Vec::new();
                for ch in param(0).split(',') {
                    let ch = ch.trim_start_matches('#').to_owned();
                    if count_join(st.accounts.entry(nick.clone()).or_default(), now, shared) {
                        shared.violation(&mut st, now, "join_rate", line);
                    }
                    if let Some(c) = shared.conns().get_mut(&self.id) {
                        c.joined.insert(ch.clone());
                    }
                    let elevated = shared.config.elevated_channels.contains(&ch);
                    let slow = st.slow.get(&ch).copied().unwrap_or(0);
                    out.push(format!(":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN #{ch}"));
                    out.push(format!(":{nick}.tmi.twitch.tv 353 {nick} = #{ch} :{nick}"));
                    out.push(format!(
                        ":{nick}.tmi.twitch.tv 366 {nick} #{ch} :End of /NAMES list"
                    ));
                    out.push(userstate(&nick, &ch, elevated));
                    out.push(format!(
                        "@emote-only=0;followers-only=-1;r9k=0;room-id=1;slow={slow};subs-only=0 :tmi.twitch.tv ROOMSTATE #{ch}"
                    ));
                }
                out.into_iter().map(Reply::Line).collect()
            }
            "PART" => {
                let nick = self.nick.clone().unwrap_or_default();
                let ch = param(0).trim_start_matches('#').to_owned();
                if let Some(c) = shared.conns().get_mut(&self.id) {
                    c.joined.remove(&ch);
                }
                vec![Reply::Line(format!(
                    ":{nick}!{nick}@{nick}.tmi.twitch.tv PART #{ch}"
                ))]
            }
            "PING" => {
                if st.no_pong {
                    vec![]
                } else {
                    vec![Reply::Line(format!(
                        ":tmi.twitch.tv PONG tmi.twitch.tv :{}",
                        param(0)
                    ))]
                }
            }
            "PRIVMSG" => self.privmsg(line, param(0), param(1), now, &mut st, shared),
            _ => vec![], // PONG
        }
    }

    fn login(&mut self, nick: String, st: &mut State, shared: &Shared) -> Vec<Reply> {
        let token_ok = match (&shared.config.valid_tokens, &self.token) {
            (None, _) => true,
            (Some(valid), Some(t)) => valid.contains(t),
            (Some(_), None) => false,
        };
        if !token_ok || st.fail_logins > 0 {
            st.fail_logins = st.fail_logins.saturating_sub(1);
            st.login_failures += 1;
            return vec![
                Reply::Line(":tmi.twitch.tv NOTICE * :Login authentication failed".into()),
                Reply::Close,
            ];
        }
        st.logins += 1;
        self.nick = Some(nick.clone());
        if let Some(c) = shared.conns().get_mut(&self.id) {
            c.nick = Some(nick.clone());
        }
        let mut out: Vec<String> = [
            ("001", "Welcome, GLHF!"),
            ("002", "Your host is tmi.twitch.tv"),
            ("003", "This server is rather new"),
            ("004", "-"),
            ("375", "-"),
            ("372", "You are in a maze of twisty passages, all alike."),
            ("376", ">"),
        ]
        .iter()
        .map(|(code, text)| format!(":tmi.twitch.tv {code} {nick} :{text}"))
        .collect();
        out.push(format!(
            "@badge-info=;badges=;color=;display-name={nick};emote-sets=0;user-id=2;user-type= :tmi.twitch.tv GLOBALUSERSTATE"
        ));
        out.into_iter().map(Reply::Line).collect()
    }

    fn privmsg(
        &mut self,
        line: &str,
        target: String,
        text: String,
        now: Instant,
        st: &mut State,
        shared: &Shared,
    ) -> Vec<Reply> {
        let cfg = &shared.config;
        let channel = target.trim_start_matches('#').to_owned();
        let nick = self.nick.clone().unwrap_or_default();
        let joined = shared
            .conns()
            .get(&self.id)
            .is_some_and(|c| c.joined.contains(&channel));
        if !joined || self.nick.is_none() {
            shared.violation(st, now, "not_joined", line);
        }
        if text.chars().count() > cfg.max_chars {
            shared.violation(st, now, "too_long", line);
        }
        if text.starts_with(['/', '.']) {
            shared.violation(st, now, "command_text", line);
        }
        let elevated = cfg.elevated_channels.contains(&channel);
        let mut outcome = String::from("delivered");
        let account = st.accounts.entry(nick.clone()).or_default();
        let over_elevated = account.elevated.hit(now, cfg.window, cfg.limit_elevated);
        let over_normal = !elevated && account.normal.hit(now, cfg.window, cfg.limit);
        let newly_locked = (over_elevated || over_normal) && !account.locked_out;
        account.locked_out |= over_elevated || over_normal;
        let locked_out = account.locked_out;
        let last_attempt = account.last_attempt.insert(channel.clone(), now);
        let last_delivered = account.last_delivered.get(&channel).cloned();
        if newly_locked {
            shared.violation(st, now, "rate_limit", line);
        }
        let slow = Duration::from_secs(st.slow.get(&channel).copied().unwrap_or(0));
        if locked_out {
            outcome = "ignored".into();
        } else if let Some((msg_id, _)) = st.refuse_always.get(&channel) {
            outcome.clone_from(msg_id);
        } else if let Some((msg_id, _)) = st
            .refuse_next
            .get_mut(&channel)
            .and_then(VecDeque::pop_front)
        {
            outcome = msg_id;
        } else if !elevated && last_attempt.is_some_and(|t| now - t < cfg.channel_gap) {
            shared.violation(st, now, "channel_gap", line);
            outcome = "msg_ratelimit".into();
        } else if !elevated && !slow.is_zero() && last_attempt.is_some_and(|t| now - t < slow) {
            shared.violation(st, now, "slow_mode", line);
            outcome = "msg_slowmode".into();
        } else if !elevated
            && last_delivered
                .is_some_and(|(t, last)| last == text && now - t < cfg.duplicate_window)
        {
            shared.violation(st, now, "duplicate", line);
            outcome = "msg_duplicate".into();
        }
        let record = Privmsg {
            at: now,
            conn: self.id,
            channel: channel.clone(),
            text: text.clone(),
            outcome: outcome.clone(),
        };
        let _ = shared.events.send(FakeEvent::Privmsg(record.clone()));
        if st.privmsgs.len() >= cfg.max_records.max(1) {
            st.privmsgs.pop_front();
        }
        st.privmsgs.push_back(record);
        match outcome.as_str() {
            "delivered" => {
                st.accounts
                    .entry(nick.clone())
                    .or_default()
                    .last_delivered
                    .insert(channel.clone(), (now, text));
                vec![Reply::Line(userstate(&nick, &channel, elevated))]
            }
            "ignored" => vec![],
            msg_id => {
                let text = notice_text(msg_id, slow);
                vec![Reply::Line(format!(
                    "@msg-id={msg_id} :tmi.twitch.tv NOTICE #{channel} :{text}"
                ))]
            }
        }
    }
}

/// Counts one JOIN of `account`; true when that makes more than the limit in the window.
fn count_join(account: &mut Account, now: Instant, shared: &Shared) -> bool {
    let window = shared.config.join_window;
    while account
        .joins
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        account.joins.pop_front();
    }
    account.joins.push_back(now);
    account.joins.len() > shared.config.join_limit as usize
}

fn userstate(nick: &str, channel: &str, elevated: bool) -> String {
    let (badges, m, user_type) = if elevated {
        ("moderator/1", 1, "mod")
    } else {
        ("", 0, "")
    };
    format!(
        "@badge-info=;badges={badges};color=;display-name={nick};emote-sets=0;mod={m};subscriber=0;user-type={user_type} :tmi.twitch.tv USERSTATE #{channel}"
    )
}

fn notice_text(msg_id: &str, slow: Duration) -> String {
    match msg_id {
        "msg_ratelimit" => "Your message was not sent because you are sending messages too quickly.".into(),
        "msg_slowmode" => format!(
            "This room is in slow mode and you are sending messages too quickly. You will be able to talk again in {} seconds.",
            slow.as_secs().max(1)
        ),
        "msg_duplicate" => "Your message was not sent because it is identical to the previous one you sent, less than 30 seconds ago.".into(),
        "msg_banned" => "You are permanently banned from talking in this channel.".into(),
        "msg_timedout" => "You are timed out for 600 more seconds.".into(),
        "msg_emoteonly" => "This room is in emote-only mode.".into(),
        other => format!("Refused: {other}"),
    }
}
