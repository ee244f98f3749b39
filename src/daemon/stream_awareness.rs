//! Twitch stream awareness in `run`: the [`crate::twitch_live`] watch over every bridge's
//! channels, and what each bridge does about it (`[twitch_stream]`, per `[[bridge]]`):
//!
//! - `when_twitch_offline = "pause"`: while none of the bridge's channels is live (once the
//!   state is known: an unknown state relays), the bridge is paused through the same
//!   machinery as `POST /api/bridges/{name}/pause` (its lines are counted `paused`), and
//!   resumed when one goes live. A bridge paused by hand is not resumed by a stream going
//!   live; only a pause made here is undone here.
//! - `twitch_live_announcement`: rendered and posted into a channel when its stream goes
//!   live (not when the watch first sees it already live).
//! - The bridge's feed gets the lifecycle events `twitch_online`, `twitch_offline` and
//!   `twitch_channel_update` ([`crate::event::Lifecycle`]): the WebSocket, webhooks and
//!   `/api/events` alike.
//! - Each bridge's `/api/status` entry shows its channels' stream state
//!   (`twitch_stream`), and `/metrics` has `tiktwitch_twitch_live{channel=...}`.
//!
//! The watch runs when `[twitch_stream] enabled = true` or any bridge pauses or announces.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth::TokenManager;
use crate::config::twitch_stream::WhenTwitchOffline;
use crate::event::Lifecycle;
use crate::config::{Bridge, Config};
use crate::line::{Line, Priority};
use crate::sink::SinkHandle;
use crate::feed::{EventStream, FeedInput};
use crate::status::BridgeHealth;
use crate::twitch_live::{Change, LiveBoard, TokenSource, WatchSettings};

/// The kind an announcement line is counted under in the sink.
pub const ANNOUNCEMENT_KIND: &str = "twitch_live";

/// What one bridge does about its Twitch stream.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeStreamRules {
    /// The bridge.
    pub bridge: String,
    /// Its channels.
    pub channels: Vec<String>,
    /// Relay or hold while offline.
    pub when_offline: WhenTwitchOffline,
    /// The announcement template, when set.
    pub announcement: Option<String>,
}

/// The watch and every bridge's rules; `None` in the plan when nothing needs the watch.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// What to watch.
    pub watch: WatchSettings,
    /// Per bridge, in plan order.
    pub bridges: Vec<BridgeStreamRules>,
}

/// The stream plan of `config` for `bridges` (those this process runs).
pub fn stream_plan(config: &Config, bridges: &[&Bridge]) -> Option<StreamPlan> {
    let section = &config.twitch_stream;
    let rules: Vec<BridgeStreamRules> = bridges
        .iter()
        .map(|b| {
            let entry = config.bridge.iter().find(|e| e.name == b.name);
            let announcement = entry
                .and_then(|e| e.twitch_live_announcement.clone())
                .unwrap_or_else(|| section.twitch_live_announcement.clone());
            BridgeStreamRules {
                bridge: b.name.clone(),
                channels: b.twitch.channels.clone(),
                when_offline: entry
                    .and_then(|e| e.when_twitch_offline)
                    .unwrap_or(section.when_twitch_offline),
                announcement: (!announcement.trim().is_empty()).then_some(announcement),
            }
        })
        .collect();
    let needed = section.enabled
        || rules
            .iter()
            .any(|r| r.when_offline == WhenTwitchOffline::Pause || r.announcement.is_some());
    if !needed {
        return None;
    }
    let mut channels: Vec<String> = rules.iter().flat_map(|r| r.channels.clone()).collect();
    channels.sort();
    channels.dedup();
    Some(StreamPlan {
        watch: WatchSettings {
            channels,
            helix_base_url: config.twitch.helix_base_url.clone(),
            client_id: config.twitch.client_id.clone(),
            eventsub_url: section.eventsub_url.clone(),
            poll_interval: std::time::Duration::from_secs(section.poll_interval_secs),
        },
        bridges: rules,
    })
}

/// The bot's user token from the token manager (refreshed as needed).
struct ManagerToken(Arc<TokenManager>);

#[async_trait]
impl TokenSource for ManagerToken {
    async fn user_token(&self) -> Option<String> {
        match self.0.fresh_token().await {
            Ok(t) => Some(t.access_token.expose().to_owned()),
            Err(e) => {
                warn!(error = %e, "no Twitch token for the stream watch");
                None
            }
        }
    }
}

/// Starts the watch and the task that applies its changes to the bridges; both end with
/// `shutdown`. Returns the board.
pub fn start(
    plan: StreamPlan,
    manager: Arc<TokenManager>,
    sink: SinkHandle,
    inputs: &[FeedInput],
    shutdown: CancellationToken,
) -> LiveBoard {
    let board = LiveBoard::default();
    let changes = board.subscribe();
    let bridges: Vec<(BridgeStreamRules, FeedInput)> = plan
        .bridges
        .iter()
        .filter_map(|r| {
            let input = inputs.iter().find(|i| i.health.name() == r.bridge)?;
            Some((r.clone(), input.clone()))
        })
        .collect();
    tokio::spawn(crate::twitch_live::run(
        plan.watch,
        Arc::new(ManagerToken(manager)),
        board.clone(),
        shutdown.clone(),
    ));
    let reactor = Reactor {
        board: board.clone(),
        sink,
        bridges: bridges
            .into_iter()
            .map(|(rules, input)| (rules, input.health, input.events, false))
            .collect(),
    };
    tokio::spawn(reactor.run(changes, shutdown));
    board
}

struct Reactor {
    board: LiveBoard,
    sink: SinkHandle,
    /// Each bridge, its health, its feed, and whether this task paused it.
    bridges: Vec<(BridgeStreamRules, BridgeHealth, EventStream, bool)>,
}

impl Reactor {
    async fn run(
        mut self,
        mut changes: tokio::sync::broadcast::Receiver<Change>,
        shutdown: CancellationToken,
    ) {
        loop {
            let change = tokio::select! {
                c = changes.recv() => c,
                () = shutdown.cancelled() => return,
            };
            match change {
                Ok(change) => self.apply(&change),
                // Fell behind: the board still holds the truth; re-read it whole.
                Err(RecvError::Lagged(_)) => self.refresh(),
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn apply(&mut self, change: &Change) {
        self.refresh();
        let state = change.state();
        for (rules, _, events, _) in &self.bridges {
            if rules.channels.contains(&state.channel) {
                events.publish(&stream_event(change));
            }
        }
        if let Change::Online {
            state,
            first: false,
        } = change
        {
            for (rules, _, _, _) in &self.bridges {
                let Some(template) = &rules.announcement else {
                    continue;
                };
                if !rules.channels.contains(&state.channel) {
                    continue;
                }
                let context = minijinja::context! {
                    channel => state.channel.clone(),
                    title => state.title.clone().unwrap_or_default(),
                    category => state.category.clone().unwrap_or_default(),
                };
                match minijinja::Environment::new().render_str(template, context) {
                    Ok(text) => self.sink.send(
                        &state.channel,
                        Line {
                            text,
                            priority: Priority::High,
                            kind: ANNOUNCEMENT_KIND,
                            msg_id: 0,
                            meta: Default::default(),
                        },
                    ),
                    Err(e) => warn!(bridge = %rules.bridge, error = %e, "twitch_live_announcement failed to render"),
                }
            }
        }
    }

    /// Every bridge's view of its channels, and its pause, from the board.
    fn refresh(&mut self) {
        for (rules, health, _, auto_paused) in &mut self.bridges {
            let states: Vec<_> = rules
                .channels
                .iter()
                .filter_map(|c| self.board.get(c))
                .collect();
            health.update(|s| s.twitch_stream = states.clone());
            if rules.when_offline != WhenTwitchOffline::Pause || states.is_empty() {
                continue;
            }
            let live = states.iter().any(|s| s.live);
            if !live && !*auto_paused && !health.is_paused() {
                info!(bridge = %rules.bridge, "the Twitch stream is offline: holding the bridge's lines");
                crate::status::set_paused(health, Some(&self.sink), true);
                *auto_paused = true;
            } else if live && *auto_paused {
                info!(bridge = %rules.bridge, "the Twitch stream is live: relaying again");
                *auto_paused = false;
                if health.is_paused() {
                    crate::status::set_paused(health, Some(&self.sink), false);
                }
            }
        }
    }
}

/// The feed's event for `change` (`twitch_online`, `twitch_offline`,
/// `twitch_channel_update`): a lifecycle event, so it reaches the WebSocket feed, the
/// webhooks and `/api/events` like the others; the feed adds the bridge.
fn stream_event(change: &Change) -> crate::event::Event {
    let state = change.state();
    let stream = crate::event::TwitchStream {
        channel: state.channel.clone(),
        live: state.live,
        title: state.title.clone(),
        category: state.category.clone(),
        since: state.since.clone(),
        source: match state.source {
            crate::twitch_live::StateSource::Eventsub => "eventsub",
            crate::twitch_live::StateSource::Polling => "polling",
        },
    };
    let lifecycle = match change {
        Change::Online { .. } => Lifecycle::TwitchOnline(stream),
        Change::Offline { .. } => Lifecycle::TwitchOffline(stream),
        Change::ChannelUpdate { .. } => Lifecycle::TwitchChannelUpdate(stream),
    };
    crate::feed::lifecycle_events::lifecycle_event(lifecycle, 0)
}
