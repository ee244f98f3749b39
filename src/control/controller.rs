//! The controller: the one place the moderator actions happen, whether they come from Twitch
//! chat ([`super::chat`]) or the HTTP API ([`super::control_api`]). Each action changes the
//! bridge's rules or pause, writes the state file, updates what `/api/status` shows and
//! publishes a `bridge_control` event on the bridge's feed.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::command::Scope;
use super::cooldown::Cooldown;
use super::permission::Permissions;
use super::shared_chat::SharedChat;
use super::state::{BridgeRules, BridgeSettings, ControlFile, ControlStore, PauseRecord};
use crate::config::TwitchConfig;
use crate::config::twitch_chat::SharedChatPolicy;
use crate::event::{BridgeControl, Event, EventKind, Meta};
use crate::feed::EventStream;
use crate::limits::{COMMAND_PAUSE_MAX_MINUTES, CONTROL_MAX_MUTES, SHARED_CHAT_QUIET};
use crate::sink::SinkHandle;
use crate::status::BridgeHealth;
use crate::status::control_view::ControlView;

/// `[twitch.commands]` and `twitch.shared_chat`, as the controller uses them.
#[derive(Debug, Clone)]
pub struct ControlSettings {
    /// Chat commands are read.
    pub commands_enabled: bool,
    /// The prefix (`!tt`).
    pub prefix: String,
    /// Who may.
    pub permissions: Permissions,
    /// One reply per command and channel this often.
    pub cooldown: Duration,
    /// What a Shared Chat session does.
    pub shared_chat: SharedChatPolicy,
    /// How long without a partner message ends a Shared Chat session.
    pub shared_chat_quiet: Duration,
    /// Where `control.json` lives (`None`: nothing persists).
    pub state_dir: Option<PathBuf>,
}

impl ControlSettings {
    /// From the `[twitch]` section and the daemon's state directory.
    pub fn from_config(twitch: &TwitchConfig, state_dir: Option<PathBuf>) -> Self {
        let c = &twitch.commands;
        Self {
            commands_enabled: c.enabled,
            prefix: c.prefix.trim().to_owned(),
            permissions: Permissions {
                moderators: c.moderators,
                allow: c.allowed_logins().into_iter().collect(),
            },
            cooldown: Duration::from_secs(c.cooldown_secs),
            shared_chat: twitch.shared_chat,
            shared_chat_quiet: SHARED_CHAT_QUIET,
            state_dir,
        }
    }
}

/// One bridge as the controller is given it.
#[derive(Debug, Clone)]
pub struct ControlBridge {
    /// Its name.
    pub name: String,
    /// The Twitch channels it posts to.
    pub channels: Vec<String>,
    /// Its status (pause flag, the shown control view).
    pub health: BridgeHealth,
    /// Its feed (twitch_chat and bridge_control events go there).
    pub events: EventStream,
    /// The rules its pipeline asks.
    pub rules: BridgeRules,
}

/// Who acts.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `twitch` or `api`.
    pub platform: &'static str,
    /// The Twitch login (chat).
    pub login: Option<String>,
    /// The channel it was written in (chat).
    pub channel: Option<String>,
    /// The change is published on the feed (`bridge_control`); not for the older
    /// `/api/bridges/{name}/pause` endpoint, whose feed stays as it was.
    pub on_feed: bool,
}

impl Actor {
    /// The HTTP API.
    pub fn api() -> Self {
        Self {
            platform: "api",
            login: None,
            channel: None,
            on_feed: true,
        }
    }

    fn name(&self) -> String {
        self.login.clone().unwrap_or_else(|| self.platform.to_owned())
    }
}

/// An action that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// No such bridge.
    #[error("no bridge {0:?}")]
    NoBridge(String),
    /// A bad argument (minutes, a handle).
    #[error("{0}")]
    Bad(String),
}

/// A bridge's control state, as `!tt status` and `GET /api/control/{bridge}` give it.
#[derive(Debug, Clone, Serialize)]
pub struct BridgeControlStatus {
    /// The bridge.
    pub bridge: String,
    /// The TikTok creator.
    pub tiktok: String,
    /// The TikTok side's state (`live`, `waiting_for_live` ...).
    pub tiktok_state: String,
    /// The creator is live on TikTok.
    pub tiktok_live: bool,
    /// The Twitch stream is live; `None` while the bridge does not know.
    pub twitch_live: Option<bool>,
    /// Relaying to Twitch is paused (by a moderator, the API or Shared Chat).
    pub paused: bool,
    /// Lines the sink sent in the last 5 minutes (all bridges of the bot).
    pub sent_5m: u64,
    /// Lines the sink shed in the last 5 minutes.
    pub shed_5m: u64,
    /// Mutes, `only`, the pause's end.
    #[serde(flatten)]
    pub view: ControlView,
}

/// The controller's counters (`/metrics`).
#[derive(Debug, Default)]
pub struct ControlStats {
    /// Commands carried out (chat and API).
    pub commands: AtomicU64,
    /// Command lines from people who may not command (ignored, no reply).
    pub ignored: AtomicU64,
    /// Command lines with a mistake.
    pub mistakes: AtomicU64,
    /// Replies queued for Twitch.
    pub replies: AtomicU64,
    /// Replies held back by the cooldown.
    pub replies_cooled: AtomicU64,
    /// Chat messages the controller missed (it fell behind the sink).
    pub chat_missed: AtomicU64,
    /// Failed writes of the state file.
    pub save_failures: AtomicU64,
    /// Shared Chat sessions seen.
    pub shared_chat_sessions: AtomicU64,
}

/// What changes while running, under one lock.
pub(super) struct Runtime {
    pub file: ControlFile,
    /// Timed pauses: when each bridge resumes.
    pub deadlines: HashMap<String, Instant>,
    pub shared: SharedChat,
    /// Bridges paused because of a Shared Chat session (`shared_chat = "pause"`).
    pub shared_paused: HashSet<String>,
    /// (when, sent, shed) samples of the sink's counters, oldest first.
    pub samples: VecDeque<(Instant, u64, u64)>,
}

pub(super) struct Inner {
    pub settings: ControlSettings,
    pub bridges: Vec<ControlBridge>,
    pub sink: SinkHandle,
    pub store: ControlStore,
    pub runtime: Mutex<Runtime>,
    pub cooldown: Cooldown,
    pub stats: ControlStats,
    /// A pause deadline changed: the task recomputes its timer.
    pub wake: Notify,
}

/// The moderator controls of every bridge. Cheap to clone.
#[derive(Clone)]
pub struct Controller {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("bridges", &self.inner.bridges.len())
            .finish_non_exhaustive()
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Controller {
    /// The controller of `bridges`, with what `control.json` in the state dir holds applied:
    /// mutes and `only` go to each bridge's rules, a pause still in force pauses it again.
    pub fn new(settings: ControlSettings, bridges: Vec<ControlBridge>, sink: SinkHandle) -> Self {
        let store = ControlStore::in_dir(settings.state_dir.as_deref());
        let mut file = store.load();
        file.version = 1;
        let now_ms = unix_ms(SystemTime::now());
        let now = Instant::now();
        let mut deadlines = HashMap::new();
        for bridge in &bridges {
            let Some(saved) = file.bridges.get_mut(&bridge.name) else {
                continue;
            };
            bridge.rules.set(&saved.muted, saved.only);
            match saved.paused.as_ref().map(|p| p.until_unix_ms) {
                Some(Some(until)) if until <= now_ms => saved.paused = None,
                Some(until) => {
                    // A hand-edited end past what the clock holds is a pause until resumed.
                    if let Some(at) = until.and_then(|u| now.checked_add(Duration::from_millis(u - now_ms))) {
                        deadlines.insert(bridge.name.clone(), at);
                    }
                    crate::status::set_paused(&bridge.health, Some(&sink), true);
                    tracing::info!(bridge = %bridge.name, "paused again, as a moderator left it");
                }
                None => {}
            }
        }
        let runtime = Runtime {
            file,
            deadlines,
            shared: SharedChat::new(settings.shared_chat_quiet),
            shared_paused: HashSet::new(),
            samples: VecDeque::new(),
        };
        let controller = Self {
            inner: Arc::new(Inner {
                cooldown: Cooldown::new(settings.cooldown),
                settings,
                bridges,
                sink,
                store,
                runtime: Mutex::new(runtime),
                stats: ControlStats::default(),
                wake: Notify::new(),
            }),
        };
        for bridge in &controller.inner.bridges {
            controller.show(&controller.runtime(), bridge);
            bridge
                .health
                .set_pause_control(Arc::new(ApiPause(Arc::downgrade(&controller.inner))));
        }
        controller
    }

    pub(super) fn runtime(&self) -> MutexGuard<'_, Runtime> {
        self.inner.runtime.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counters.
    pub fn stats(&self) -> &ControlStats {
        &self.inner.stats
    }

    /// The bridges, in config order.
    pub fn bridges(&self) -> &[ControlBridge] {
        &self.inner.bridges
    }

    /// The bridge named `name`.
    pub fn bridge(&self, name: &str) -> Result<&ControlBridge, ActionError> {
        self.inner
            .bridges
            .iter()
            .find(|b| b.name == name)
            .ok_or_else(|| ActionError::NoBridge(name.to_owned()))
    }

    /// The bridges posting to `channel`.
    pub fn bridges_in(&self, channel: &str) -> impl Iterator<Item = &ControlBridge> {
        self.inner
            .bridges
            .iter()
            .filter(move |b| b.channels.iter().any(|c| c == channel))
    }

    /// Pauses relaying bridge `name` to Twitch, for `minutes` or until resumed.
    pub fn pause(&self, name: &str, minutes: Option<u64>, by: &Actor) -> Result<(), ActionError> {
        let bridge = self.bridge(name)?;
        if let Some(m) = minutes
            && !(1..=COMMAND_PAUSE_MAX_MINUTES).contains(&m)
        {
            return Err(ActionError::Bad(format!(
                "minutes must be 1 to {COMMAND_PAUSE_MAX_MINUTES}"
            )));
        }
        let until = minutes.map(|m| unix_ms(SystemTime::now()) + m * 60_000);
        self.change(bridge, |rt, s| {
            s.paused = Some(PauseRecord {
                until_unix_ms: until,
                by: by.name(),
            });
            match minutes {
                Some(m) => rt.deadlines.insert(name.to_owned(), Instant::now() + Duration::from_secs(m * 60)),
                None => rt.deadlines.remove(name),
            };
            rt.shared_paused.remove(name);
        });
        crate::status::set_paused(&bridge.health, Some(&self.inner.sink), true);
        self.inner.wake.notify_one();
        self.announce(bridge, "pause", by, minutes.map(|m| m.to_string()));
        Ok(())
    }

    /// Relays bridge `name` again (a moderator's pause, the API's, or Shared Chat's).
    pub fn resume(&self, name: &str, by: &Actor) -> Result<(), ActionError> {
        let bridge = self.bridge(name)?;
        self.change(bridge, |rt, s| {
            s.paused = None;
            rt.deadlines.remove(name);
            rt.shared_paused.remove(name);
        });
        crate::status::set_paused(&bridge.health, Some(&self.inner.sink), false);
        self.announce(bridge, "resume", by, None);
        Ok(())
    }

    /// Drops TikTok user `handle`'s events on bridge `name` from now on.
    pub fn mute(&self, name: &str, handle: &str, by: &Actor) -> Result<bool, ActionError> {
        let bridge = self.bridge(name)?;
        let handle = normalize(handle)?;
        let mut full = false;
        let mut added = false;
        self.change(bridge, |_, s| {
            if s.muted.len() >= CONTROL_MAX_MUTES && !s.muted.contains(&handle) {
                full = true;
            } else {
                added = s.muted.insert(handle.clone());
            }
        });
        if full {
            return Err(ActionError::Bad(format!(
                "{CONTROL_MAX_MUTES} users are muted already: unmute some first"
            )));
        }
        self.announce(bridge, "mute", by, Some(handle));
        Ok(added)
    }

    /// Relays TikTok user `handle`'s events on bridge `name` again.
    pub fn unmute(&self, name: &str, handle: &str, by: &Actor) -> Result<bool, ActionError> {
        let bridge = self.bridge(name)?;
        let handle = normalize(handle)?;
        let mut removed = false;
        self.change(bridge, |_, s| removed = s.muted.remove(&handle));
        self.announce(bridge, "unmute", by, Some(handle));
        Ok(removed)
    }

    /// Relays only `scope` on bridge `name`.
    pub fn only(&self, name: &str, scope: Scope, by: &Actor) -> Result<(), ActionError> {
        let bridge = self.bridge(name)?;
        self.change(bridge, |_, s| s.only = scope);
        self.announce(bridge, "only", by, Some(scope.name().to_owned()));
        Ok(())
    }

    /// Bridge `name`'s state.
    pub fn status(&self, name: &str) -> Result<BridgeControlStatus, ActionError> {
        let bridge = self.bridge(name)?;
        let (sent_5m, shed_5m) = self.recent_counts();
        let view = self.view(&self.runtime(), bridge);
        let state = bridge.health.snapshot();
        Ok(BridgeControlStatus {
            bridge: bridge.name.clone(),
            tiktok: state.tiktok.clone(),
            tiktok_live: crate::status::is_live_state(&state.tiktok_state),
            tiktok_state: state.tiktok_state,
            twitch_live: twitch_live(bridge),
            paused: bridge.health.is_paused(),
            sent_5m,
            shed_5m,
            view,
        })
    }

    /// Changes bridge `bridge`'s saved settings under the lock, then applies them to its
    /// rules, writes the file and shows the result.
    fn change(&self, bridge: &ControlBridge, edit: impl FnOnce(&mut Runtime, &mut BridgeSettings)) {
        let mut rt = self.runtime();
        let mut settings = rt.file.bridges.remove(&bridge.name).unwrap_or_default();
        edit(&mut rt, &mut settings);
        bridge.rules.set(&settings.muted, settings.only);
        if settings != BridgeSettings::default() {
            rt.file.bridges.insert(bridge.name.clone(), settings);
        }
        self.save(&rt);
        self.show(&rt, bridge);
    }

    pub(super) fn save(&self, rt: &Runtime) {
        if let Err(e) = self.inner.store.save(&rt.file) {
            self.inner.stats.save_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "the moderator settings could not be saved; they hold until the process stops");
        }
    }

    /// Puts the bridge's control view where `/api/status` and `/healthz` read it.
    pub(super) fn show(&self, rt: &Runtime, bridge: &ControlBridge) {
        let view = self.view(rt, bridge);
        bridge.health.update(|s| s.control = Some(view));
    }

    fn view(&self, rt: &Runtime, bridge: &ControlBridge) -> ControlView {
        let saved = rt.file.bridges.get(&bridge.name).cloned().unwrap_or_default();
        let paused_until = saved.paused.as_ref().and_then(|p| p.until_unix_ms).map(|ms| {
            crate::format::utc(UNIX_EPOCH + Duration::from_millis(ms))
        });
        ControlView {
            muted: saved.muted.iter().cloned().collect(),
            only: saved.only.name().to_owned(),
            paused_by: saved.paused.map(|p| p.by),
            paused_until,
            shared_chat: bridge
                .channels
                .iter()
                .filter(|c| rt.shared.is_active(c))
                .cloned()
                .collect(),
        }
    }

    /// Publishes a `bridge_control` event on the bridge's feed and logs the change.
    pub(super) fn announce(
        &self,
        bridge: &ControlBridge,
        action: &'static str,
        by: &Actor,
        value: Option<String>,
    ) {
        self.inner.stats.commands.fetch_add(1, Ordering::Relaxed);
        tracing::info!(bridge = %bridge.name, action, by = %by.name(), value = value.as_deref().unwrap_or(""), "moderator control");
        if by.on_feed {
            publish_control(bridge, action, by, value);
        }
    }

    /// Lines sent and shed over the last [`COMMAND_STATUS_WINDOW`](crate::limits::COMMAND_STATUS_WINDOW).
    pub fn recent_counts(&self) -> (u64, u64) {
        let stats = self.inner.sink.stats();
        let (sent, shed) = (stats.sent, stats.shed_total());
        let rt = self.runtime();
        let since = Instant::now()
            .checked_sub(crate::limits::COMMAND_STATUS_WINDOW)
            .unwrap_or_else(Instant::now);
        let base = rt.samples.iter().find(|(at, _, _)| *at >= since);
        match base {
            Some((_, s, d)) => (sent.saturating_sub(*s), shed.saturating_sub(*d)),
            None => (0, 0),
        }
    }
}

/// Publishes a `bridge_control` event on `bridge`'s feed.
pub(super) fn publish_control(bridge: &ControlBridge, action: &'static str, by: &Actor, value: Option<String>) {
    bridge.events.publish(&Event {
        meta: Meta {
            method: Cow::Borrowed(if by.platform == "api" { "api" } else { "command" }),
            ..Meta::default()
        },
        kind: EventKind::BridgeControl(BridgeControl {
            platform: by.platform,
            action,
            by: by.login.clone(),
            channel: by.channel.clone(),
            value,
        }),
    });
}

/// The API's `POST /api/bridges/{name}/pause|resume`, carried out by the controller. Weak:
/// the bridges' status records must not keep the controller alive.
#[derive(Debug)]
pub(super) struct ApiPause(pub std::sync::Weak<Inner>);

impl crate::status::PauseControl for ApiPause {
    fn set_paused(&self, name: &str, paused: bool) {
        let Some(inner) = self.0.upgrade() else {
            return;
        };
        let control = Controller { inner };
        let by = Actor {
            on_feed: false,
            ..Actor::api()
        };
        let _ = if paused {
            control.pause(name, None, &by)
        } else {
            control.resume(name, &by)
        };
    }
}

/// Whether the bridge's Twitch stream is live, as the stream watch (`twitch_live`, EventSub
/// or Helix polling) last wrote it into the bridge's status: live when any of its channels
/// is; unknown while the watch does not run or has not looked yet.
fn twitch_live(bridge: &ControlBridge) -> Option<bool> {
    let streams = bridge.health.snapshot().twitch_stream;
    (!streams.is_empty()).then(|| streams.iter().any(|s| s.live))
}

fn normalize(handle: &str) -> Result<String, ActionError> {
    crate::config::identifiers::normalize_tiktok_username(handle)
        .map(|h| h.to_ascii_lowercase())
        .map_err(ActionError::Bad)
}
