//! Moderating the bridge from Twitch chat (and the same actions on the HTTP API).
//!
//! The sink's IRC connection reads every message of its channels
//! ([`crate::sink::SinkHandle::subscribe_chat`]). The [`Controller`] task takes them from
//! there and:
//!
//! - publishes each on the feed of the bridges of that channel as a `twitch_chat` event;
//! - detects a Shared Chat session ([`shared_chat`]) and warns once (with
//!   `twitch.shared_chat = "pause"`, relaying pauses while it lasts);
//! - carries out `!tt` commands ([`command`]) from those who may ([`permission`]): status,
//!   pause, resume, mute, unmute, only, help; replies go through the sink's pacer, one per
//!   command and channel per cooldown ([`cooldown`]);
//! - keeps mutes, `only` and pauses in `state_dir` ([`state`]), shows them in `/api/status`
//!   and `/metrics`, and publishes each change as a `bridge_control` event.
//!
//! A mute or an `only` acts in the bridge's pipeline ([`state::BridgeRules`] through
//! [`crate::pipeline::moderation`]): the event is counted filtered (`muted`, `only`).
//! [`control_api`] is the HTTP side (`/api/control/...`).

mod chat;
pub mod command;
mod controller;
pub mod cooldown;
pub mod permission;
pub mod control_api;
pub mod shared_chat;
pub mod state;

pub use chat::REPLY_KIND;
pub use controller::{
    ActionError, Actor, BridgeControlStatus, ControlBridge, ControlSettings, ControlStats,
    Controller,
};

use std::sync::atomic::Ordering;

use crate::status::exposition::Exposition;

impl Controller {
    /// The controller's part of `/metrics`.
    pub fn render_metrics(&self) -> String {
        let s = self.stats();
        let mut out = Exposition::default();
        let help = "Moderator command lines read from Twitch chat, by result";
        for (result, n) in [
            ("done", &s.commands),
            ("ignored", &s.ignored),
            ("mistake", &s.mistakes),
        ] {
            out.counter("tiktwitch_control_commands_total", help, &[("result", result)], n.load(Ordering::Relaxed));
        }
        let help = "Replies to moderator commands: queued for Twitch, or held back by the cooldown";
        for (outcome, n) in [("queued", &s.replies), ("cooldown", &s.replies_cooled)] {
            out.counter("tiktwitch_control_replies_total", help, &[("outcome", outcome)], n.load(Ordering::Relaxed));
        }
        out.counter(
            "tiktwitch_control_chat_missed_total",
            "Twitch chat messages the controller missed because it fell behind",
            &[],
            s.chat_missed.load(Ordering::Relaxed),
        );
        out.counter(
            "tiktwitch_control_save_failures_total",
            "Failed writes of the moderator settings file (state_dir/control.json)",
            &[],
            s.save_failures.load(Ordering::Relaxed),
        );
        out.counter(
            "tiktwitch_shared_chat_sessions_total",
            "Twitch Shared Chat sessions seen in the bridge's channels",
            &[],
            s.shared_chat_sessions.load(Ordering::Relaxed),
        );
        for bridge in self.bridges() {
            let Ok(status) = self.status(&bridge.name) else {
                continue;
            };
            let name = bridge.name.as_str();
            out.gauge(
                "tiktwitch_control_muted_users",
                "TikTok users muted by moderators",
                &[("bridge", name)],
                status.view.muted.len() as f64,
            );
            out.gauge(
                "tiktwitch_control_paused",
                "1 while a moderator, the API or a Shared Chat session has the bridge paused",
                &[("bridge", name)],
                f64::from(u8::from(status.paused)),
            );
            out.gauge(
                "tiktwitch_control_only",
                "The kinds relayed (1 for the scope in force: all, chat or gifts)",
                &[("bridge", name), ("scope", &status.view.only)],
                1.0,
            );
            out.gauge(
                "tiktwitch_shared_chat_active",
                "Channels of the bridge in a Twitch Shared Chat session now",
                &[("bridge", name)],
                status.view.shared_chat.len() as f64,
            );
        }
        out.finish()
    }
}
