//! The sink's settings, with production defaults.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::SinkError;
use super::handle::normalize_channel;
use super::pacing::PacingConfig;
use super::twitch::{self, Route};
use crate::auth::{Clock, SystemClock};
use crate::limits::*;

/// Everything the sink needs to know, with production defaults.
#[derive(Debug, Clone)]
pub struct TwitchSinkSettings {
    /// IRC server `host:port` (default [`TWITCH_IRC_SERVER`]).
    pub server: String,
    /// Use TLS (default true).
    pub tls: bool,
    /// Name the TLS certificate must match; `None` = the host part of `server`.
    pub tls_server_name: Option<String>,
    /// PEM certificates trusted in addition to the bundled Mozilla roots (a private CA in
    /// front of Twitch, or a test CA). `None` in production.
    pub tls_extra_root_pem: Option<String>,
    /// The bot's login (lowercase). Used to recognise a CLEARCHAT of the bot before its own
    /// JOIN echo arrives; the IRC login itself comes from the credentials.
    pub bot_login: String,
    /// Channel logins to join and send to (lowercase, without `#`).
    pub channels: Vec<String>,
    /// Lines per window in channels where the bot is a normal user (default 18 of Twitch's 20).
    pub lines_per_window: u32,
    /// Lines per window in channels where the bot is moderator/VIP/broadcaster (default 90 of
    /// Twitch's 100). Elevation is detected from USERSTATE badges.
    pub lines_per_window_elevated: u32,
    /// Twitch's window (30 s). Tests may scale it down.
    pub rate_window: Duration,
    /// Safety margin added to the window, for network jitter ([`TWITCH_WINDOW_MARGIN`]).
    pub window_margin: Duration,
    /// Minimum gap between two lines to one channel, non-elevated (1.1 s).
    pub channel_gap: Duration,
    /// Added to a channel's slow-mode delay (0.2 s).
    pub slow_mode_margin: Duration,
    /// Never send the same text to one channel twice within this window (30 s; 0 disables).
    pub duplicate_window: Duration,
    /// Lines waiting at most; beyond, the lowest priority is shed.
    pub queue_capacity: usize,
    /// Wait this long for USERSTATE/NOTICE after a line before counting it unconfirmed.
    pub ack_timeout: Duration,
    /// At shutdown, lines already queued keep going out (paced) for at most this long; new
    /// lines are shed (`sink_stopped`). Zero stops at once.
    pub shutdown_drain: Duration,
    /// Event kinds whose long lines are split into numbered parts instead of truncated.
    pub split_kinds: Vec<String>,
    /// Parts a split line may use at most.
    pub max_split_parts: usize,
    /// twitch-irc's `max_waiting_messages_per_connection` (high: one connection, in order).
    pub max_waiting_messages_per_connection: usize,
    /// Helix API base URL (default [`TWITCH_HELIX_BASE_URL`]), for the Helix backend.
    pub helix_base_url: String,
    /// JOINs per [`TwitchSinkSettings::join_window`] (default 15 of Twitch's 20).
    pub joins_per_window: u32,
    /// Twitch's JOIN window (10 s); [`TwitchSinkSettings::window_margin`] is added.
    pub join_window: Duration,
    /// Where the pacing journal lives (`pacing-<bot_login>.journal`, see
    /// [`super::journal`]): what was sent survives a restart. `None` keeps nothing (a
    /// restart may then spend a window twice: tests and the demo only).
    pub state_dir: Option<PathBuf>,
    /// The wall clock the journal stamps records with (tests pass a
    /// [`crate::auth::TokioClock`]).
    pub clock: Arc<dyn Clock>,
    /// How old a line may be when its turn comes ([`super::freshness`]); older ones are
    /// shed as `stale`.
    pub freshness: super::freshness::Freshness,
    /// Which waiting lines are packed into one message ([`super::pack`]); off in this
    /// default, on in what the daemon builds from the config (`[routes.chat] pack`).
    pub pack: super::pack::PackSettings,
    /// [`TwitchSinkSettings::pack`] of the bridges whose `[bridge.routes.chat]` differs, by
    /// bridge name (the origin their lines carry).
    pub pack_by_bridge: std::collections::HashMap<String, super::pack::PackSettings>,
    /// How the next line is chosen when not everything fits ([`super::select`]): the chat
    /// share and the big-gift threshold.
    pub select: super::select::SelectPolicy,
    /// [`TwitchSinkSettings::freshness`] and [`TwitchSinkSettings::select`] of each bridge
    /// (its `[bridge.routes]`), by bridge name; bridges not listed use those two.
    pub policy_by_bridge: std::collections::HashMap<String, super::select::BridgePolicy>,
}

impl Default for TwitchSinkSettings {
    fn default() -> Self {
        Self {
            server: TWITCH_IRC_SERVER.into(),
            tls: true,
            tls_server_name: None,
            tls_extra_root_pem: None,
            bot_login: String::new(),
            channels: Vec::new(),
            lines_per_window: TWITCH_LINES_PER_WINDOW,
            lines_per_window_elevated: TWITCH_LINES_PER_WINDOW_ELEVATED,
            rate_window: TWITCH_RATE_WINDOW,
            window_margin: TWITCH_WINDOW_MARGIN,
            channel_gap: TWITCH_CHANNEL_GAP,
            slow_mode_margin: TWITCH_SLOW_MODE_MARGIN,
            duplicate_window: TWITCH_DUPLICATE_WINDOW,
            queue_capacity: SINK_QUEUE_CAPACITY,
            ack_timeout: TWITCH_ACK_TIMEOUT,
            shutdown_drain: SINK_SHUTDOWN_DRAIN,
            split_kinds: Vec::new(),
            max_split_parts: MAX_SPLIT_PARTS,
            max_waiting_messages_per_connection: TWITCH_MAX_WAITING_PER_CONNECTION,
            helix_base_url: TWITCH_HELIX_BASE_URL.into(),
            joins_per_window: TWITCH_JOINS_PER_WINDOW,
            join_window: TWITCH_JOIN_WINDOW,
            state_dir: None,
            clock: Arc::new(SystemClock),
            freshness: super::freshness::Freshness::default(),
            // Off for a bare sink (one line per `send`, what its callers and tests count on);
            // the daemon turns it on from `[routes.chat] pack`, on by default.
            pack: super::pack::PackSettings {
                enabled: false,
                ..super::pack::PackSettings::default()
            },
            pack_by_bridge: std::collections::HashMap::new(),
            select: super::select::SelectPolicy::default(),
            policy_by_bridge: std::collections::HashMap::new(),
        }
    }
}

impl TwitchSinkSettings {
    pub(super) fn pacing(&self) -> PacingConfig {
        PacingConfig {
            window: self.rate_window,
            window_margin: self.window_margin,
            limit: self.lines_per_window,
            limit_elevated: self.lines_per_window_elevated,
            channel_gap: self.channel_gap,
            slow_margin: self.slow_mode_margin,
            duplicate_window: self.duplicate_window,
        }
    }

    pub(super) fn route(&self) -> Result<Route, SinkError> {
        let extra_roots = match &self.tls_extra_root_pem {
            Some(pem) => twitch::parse_pem_certificates(pem).map_err(SinkError::TlsRoots)?,
            None => Vec::new(),
        };
        let host = self
            .server
            .rsplit_once(':')
            .map_or(self.server.as_str(), |(h, _)| h);
        Ok(Route {
            address: self.server.clone(),
            tls: self.tls,
            tls_server_name: self
                .tls_server_name
                .clone()
                .unwrap_or_else(|| host.trim_matches(['[', ']']).to_owned()),
            extra_roots,
        })
    }

    pub(super) fn channel_set(&self) -> Result<HashSet<String>, SinkError> {
        self.channels
            .iter()
            .map(|c| {
                let c = normalize_channel(c);
                twitch_irc::validate::validate_login(&c)
                    .map(|()| c.clone())
                    .map_err(|_| SinkError::InvalidChannel(c))
            })
            .collect()
    }
}
