//! The pipeline: TikTok [`Event`]s in, Twitch [`Line`]s out. Pure: no I/O, and the clock
//! is a parameter, so every behaviour is testable without sleeping.
//!
//! Each event goes through, in order:
//! 1. **dedupe** by method and `msg_id` ([`crate::dedupe`]), before anything else;
//! 2. **history**: replayed messages are dropped unless `tiktok.relay_history`;
//! 3. **route**: its kind's `[routes.<kind>]` must be enabled ([`route`]);
//! 4. **filters**: run-time rules first (muted users, `only`: [`moderation`]), then
//!    ignored/allowed users, chat allowlist, roles, empty comments (`empty`),
//!    blocked words ([`filter`]);
//! 5. **coalescing**: gift streaks ([`coalesce`]), like/join summaries, viewer counts and
//!    chat floods ([`summary`], [`flood`]);
//! 6. **template** ([`template`]) into a [`Line`] with its priority.
//!
//! Every event ends relayed, filtered (by rule), coalesced or failed ([`pipeline_stats`]).
//!
//! ```
//! use std::time::Instant;
//! use tiktwitch::pipeline::{Pipeline, PipelineConfig};
//!
//! let mut pipeline = Pipeline::new(&PipelineConfig::default()).expect("defaults are valid");
//! let now = Instant::now();
//! # let events: Vec<tiktwitch::event::Event> = Vec::new();
//! for event in events {
//!     for line in pipeline.push(event, now) { /* hand to the sink */ }
//! }
//! // Call tick() by pipeline.next_deadline() to flush streaks and summaries;
//! // flush() at shutdown. Or let Pipeline::run do all of it on tokio time.
//! let _late_lines = pipeline.tick(now);
//! assert!(pipeline.stats().snapshot().balanced());
//! ```

pub mod audience;
pub mod coalesce;
pub mod context;
pub mod filter;
pub mod flood;
pub mod moderation;
pub mod money;
pub mod pipeline_stats;
#[cfg(feature = "runtime")]
mod pipeline_task;
pub mod route;
pub mod samples;
pub mod summary;
pub mod template;

use std::time::{Duration, Instant};

use minijinja::Value;

pub use crate::config::PipelineConfig;
use crate::config::{ConfigErrors, Problem, Slot};
use crate::dedupe::{RecentIds, message_key};
use crate::event::{Event, EventKind};
use crate::limits::PIPELINE_DEDUPE_CAPACITY;
use crate::line::{Line, LineMeta};
use coalesce::{GiftStep, GiftStreaks};
use context::{
    event_context, flood_context, join_summary_context, like_summary_context, total_diamonds,
};
use filter::{Blocklist, Filters};
use flood::{ChatFlood, Flood};
pub use pipeline_stats::{KindCounts, Outcome, PipelineSnapshot, PipelineStats};
use route::{Destination, destination, priority};
use summary::{JoinSummary, JoinWindow, LikeSummary, LikeWindow, ViewerGate};
use template::Templates;

/// `now + after`, or the latest instant the clock can hold: a window from the config is
/// bounded (`config::ranges`), but a pipeline built by hand must not panic on a huge one.
pub(crate) fn deadline(now: Instant, after: Duration) -> Instant {
    now.checked_add(after)
        .or_else(|| now.checked_add(FAR_DEADLINE))
        .unwrap_or(now)
}

/// True for a comment or question with nothing left to show once the sink sanitizes it
/// (spaces, zero-width or control characters only): it would become a contentless line
/// (`[TT] user:`) or a flood summary of nothing (`(×1 more)`), so it is filtered as `empty`
/// before any coalescer sees it.
fn comment_is_empty(event: &Event) -> bool {
    match &event.kind {
        EventKind::Chat { text, .. } | EventKind::Question { text, .. } => {
            crate::sink::sanitize::sanitize(text).is_none()
        }
        _ => false,
    }
}

/// Far enough to mean "never" for a live (about 30 years), small enough for any clock.
const FAR_DEADLINE: Duration = Duration::from_secs(30 * 365 * 24 * 3_600);

/// What the coalescers let go at one moment.
struct Due {
    gifts: Vec<Event>,
    likes: Option<LikeSummary>,
    joins: Option<JoinSummary>,
    floods: Vec<Flood>,
}

/// One sample line of `tiktwitch check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleLine {
    /// The slot's key path (`routes.gift.template`).
    pub slot: Slot,
    /// The rendered line.
    pub text: String,
}

/// The pipeline of one bridge.
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    dedupe: RecentIds,
    filters: Filters,
    templates: Templates,
    gifts: GiftStreaks,
    likes: LikeWindow,
    joins: JoinWindow,
    viewers: ViewerGate,
    flood: ChatFlood,
    stats: PipelineStats,
    /// Run-time rules (mutes, `only`), when the bridge has them.
    moderation: Option<std::sync::Arc<dyn moderation::Moderation>>,
    /// Who commented and gave this session: the lines' [`crate::line::LineMeta`].
    audience: audience::Audience,
}

impl Pipeline {
    /// Builds a pipeline, checking templates, filters and windows; every problem is
    /// returned at once with its key path (`routes.gift.template`, `coalesce.like_window_secs`).
    pub fn new(config: &PipelineConfig) -> Result<Self, ConfigErrors> {
        let mut problems = Vec::new();
        let c = &config.coalesce;
        // Windows and thresholds in range (`config::ranges`): no deadline can overflow.
        problems.extend(crate::config::bridge_config::check_ranges(config));
        let templates = Templates::compile_priced(&config.routes, config.pricing.prices())
            .map_err(|p| problems.extend(p));
        let filters = Filters::new(&config.filters).map_err(|p| problems.extend(p));
        let (Ok(templates), Ok(filters), true) = (templates, filters, problems.is_empty()) else {
            return Err(ConfigErrors { problems });
        };
        Ok(Self {
            dedupe: RecentIds::new(PIPELINE_DEDUPE_CAPACITY),
            filters,
            templates,
            gifts: GiftStreaks::new(Duration::from_secs(c.gift_streak_timeout_secs)),
            likes: LikeWindow::new(Duration::from_secs(c.like_window_secs)),
            joins: JoinWindow::new(Duration::from_secs(c.join_window_secs)),
            viewers: ViewerGate::new(Duration::from_secs(c.viewers_interval_secs)),
            flood: ChatFlood::new(Duration::from_secs(c.chat_flood_window_secs)),
            stats: PipelineStats::default(),
            moderation: None,
            audience: audience::Audience::default(),
            config: config.clone(),
        })
    }

    /// Every problem [`Pipeline::new`] would refuse `config` for, none when it builds: the
    /// [`crate::config::PipelineCheck`] that `run` and `check` hand the config loader, so
    /// a bad template or pattern is reported with its key path before anything starts.
    pub fn check(config: &PipelineConfig) -> Vec<Problem> {
        Self::new(config)
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    /// Swaps in a new config's routes, templates and filters, keeping what is in flight
    /// (dedupe memory, open gift streaks, summary windows, counters). The coalescing windows
    /// keep their lengths until the bridge restarts. On error nothing changes.
    pub fn reconfigure(&mut self, config: &PipelineConfig) -> Result<(), ConfigErrors> {
        let fresh = Self::new(config)?;
        self.templates = fresh.templates;
        self.filters = fresh.filters;
        self.config = config.clone();
        Ok(())
    }

    /// The same pipeline counting into `stats` (a bridge restarted after a crash keeps
    /// adding to the counters its health and metrics already read).
    pub fn with_stats(mut self, stats: PipelineStats) -> Self {
        self.stats = stats;
        self
    }

    /// The same pipeline asking `rules` about each routed event ([`moderation`]).
    pub fn with_moderation(mut self, rules: std::sync::Arc<dyn moderation::Moderation>) -> Self {
        self.moderation = Some(rules);
        self
    }

    /// The live counters (clone it to read them from another task).
    pub fn stats(&self) -> &PipelineStats {
        &self.stats
    }

    /// Takes one event at `now`; returns the lines it (and any timer that fell due) produced.
    pub fn push(&mut self, mut event: Event, now: Instant) -> Vec<Line> {
        let mut out = self.tick(now);
        let kind = event.type_name();
        self.stats.received(kind);
        let slot = match self.admit(&mut event) {
            Ok(slot) => slot,
            Err(rule) => {
                self.stats.outcome(kind, Outcome::Filtered(rule));
                return out;
            }
        };
        let outcome = match (slot, &event.kind) {
            (Slot::Gift, _) => {
                self.push_gift(event, now, &mut out);
                return out;
            }
            (Slot::Like, EventKind::Like { count, total, .. }) => {
                if self.config.routes.like.summary {
                    self.likes.push(*count, *total, now);
                }
                if self.config.routes.like.enabled {
                    self.emit_event(slot, &event, &mut out)
                } else {
                    Outcome::Coalesced
                }
            }
            (Slot::Join, EventKind::Join { user }) => {
                if self.config.routes.join.summary {
                    self.joins.push(user.display_name(), now);
                }
                if self.config.routes.join.enabled {
                    self.emit_event(slot, &event, &mut out)
                } else {
                    Outcome::Coalesced
                }
            }
            (Slot::Viewers, EventKind::Viewers { current, .. }) => {
                if self.viewers.push(*current, now) {
                    self.emit_event(slot, &event, &mut out)
                } else {
                    Outcome::Coalesced
                }
            }
            (Slot::Chat, EventKind::Chat { text, .. }) => {
                if self.flood.push(text, now) {
                    self.emit_event(slot, &event, &mut out)
                } else {
                    Outcome::Coalesced
                }
            }
            (Slot::LiveEnded, _) => {
                // What was still held goes out before "the live has ended".
                out.extend(self.flush());
                self.emit_event(slot, &event, &mut out)
            }
            _ => self.emit_event(slot, &event, &mut out),
        };
        self.stats.outcome(kind, outcome);
        out
    }

    /// Fires the timers due at `now`: gift streaks whose end frame was lost, finished like
    /// and join windows, chat flood lines.
    pub fn tick(&mut self, now: Instant) -> Vec<Line> {
        let due = Due {
            gifts: self.gifts.expire(now),
            likes: self.likes.expire(now),
            joins: self.joins.expire(now),
            floods: self.flood.expire(now),
        };
        self.release(due)
    }

    /// Everything still held, now, whatever its deadline (shutdown, end of stream). After
    /// it, `stats().snapshot().total().pending == 0`.
    pub fn flush(&mut self) -> Vec<Line> {
        let due = Due {
            gifts: self.gifts.drain(),
            likes: self.likes.drain(),
            joins: self.joins.drain(),
            floods: self.flood.drain(),
        };
        self.release(due)
    }

    /// Turns what the coalescers let go into lines: final gift streaks (accounted as the
    /// held events they are) and summary lines.
    fn release(&mut self, due: Due) -> Vec<Line> {
        let mut out = Vec::new();
        for event in due.gifts {
            let outcome = self.relay_gift(&event, &mut out);
            self.stats.release(event.type_name(), outcome);
        }
        let (c, streamer) = (&self.config.coalesce, self.config.streamer.as_str());
        let mut summaries = Vec::new();
        if let Some(likes) = due.likes {
            let ctx = like_summary_context(&likes, c.like_window_secs, streamer);
            summaries.push((Slot::LikeSummary, ctx));
        }
        if let Some(joins) = due.joins {
            let ctx = join_summary_context(&joins, c.join_window_secs, streamer);
            summaries.push((Slot::JoinSummary, ctx));
        }
        for flood in due.floods {
            let ctx = flood_context(&flood, c.chat_flood_window_secs, streamer);
            summaries.push((Slot::ChatFlood, ctx));
        }
        for (slot, ctx) in summaries {
            // Summaries stand for events already counted as coalesced: only the line counts.
            let _ = self.emit(slot, &ctx, 0, LineMeta::default(), &mut out);
        }
        out
    }

    /// When [`Pipeline::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.gifts.next_deadline(),
            self.likes.next_deadline(),
            self.joins.next_deadline(),
            self.flood.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Every enabled slot rendered against its sample event (for `tiktwitch check`).
    pub fn sample_lines(&self) -> Vec<SampleLine> {
        Slot::ALL
            .into_iter()
            .filter(|slot| self.config.routes.slot_enabled(*slot))
            .filter_map(|slot| {
                let ctx = samples::sample_context(slot, &self.config.streamer);
                let rendered = self.templates.render(slot, &ctx).ok()?;
                Some(SampleLine {
                    slot,
                    text: rendered.text,
                })
            })
            .collect()
    }

    /// Steps 1 to 4: the slot the event goes to, or the rule that drops it.
    fn admit(&mut self, event: &mut Event) -> Result<Slot, &'static str> {
        if !self
            .dedupe
            .first_sight(message_key(&event.meta.method, event.meta.msg_id))
        {
            return Err("duplicate");
        }
        if event.meta.history && !self.config.relay_history {
            return Err("history");
        }
        let slot = match destination(event) {
            Destination::Slot(slot) => slot,
            Destination::Unrouted(rule) => return Err(rule),
        };
        let routes = &self.config.routes;
        let enabled = match slot {
            Slot::Like => routes.like.enabled || routes.like.summary,
            Slot::Join => routes.join.enabled || routes.join.summary,
            other => routes.slot_enabled(other),
        };
        if !enabled {
            return Err("route_disabled");
        }
        if let Some(rule) = self.moderation.as_ref().and_then(|m| m.refuses(event)) {
            return Err(rule);
        }
        self.filters.check_user(event)?;
        if comment_is_empty(event) {
            return Err("empty");
        }
        match self.filters.apply_blocklist(event) {
            Blocklist::Clean => {}
            Blocklist::Masked => self.stats.masked(),
            Blocklist::Drop => return Err("blocked_word"),
        }
        Ok(slot)
    }

    fn push_gift(&mut self, event: Event, now: Instant, out: &mut Vec<Line>) {
        let kind = event.type_name();
        match self.gifts.push(event, now) {
            GiftStep::Relay { event, superseded } => {
                if superseded {
                    self.stats.release(kind, Outcome::Coalesced);
                }
                let outcome = self.relay_gift(&event, out);
                self.stats.outcome(kind, outcome);
            }
            GiftStep::Held { superseded } => {
                if superseded {
                    self.stats.release(kind, Outcome::Coalesced);
                }
                self.stats.hold(kind);
            }
            GiftStep::Late => self.stats.outcome(kind, Outcome::Coalesced),
        }
    }

    /// A gift that is final: the value floor, then the template.
    fn relay_gift(&mut self, event: &Event, out: &mut Vec<Line>) -> Outcome {
        if let Some(user) = event.kind.user() {
            self.audience.gave(user.id, total_diamonds(event));
        }
        if !self.filters.gift_worth_relaying(total_diamonds(event)) {
            return Outcome::Filtered("min_diamonds");
        }
        self.emit_event(Slot::Gift, event, out)
    }

    fn emit_event(&mut self, slot: Slot, event: &Event, out: &mut Vec<Line>) -> Outcome {
        let ctx = event_context(slot, event, &self.config.streamer);
        let meta = self.audience.meta(event, total_diamonds(event));
        self.emit(slot, &ctx, event.meta.msg_id, meta, out)
    }

    fn emit(
        &mut self,
        slot: Slot,
        ctx: &Value,
        msg_id: u64,
        meta: LineMeta,
        out: &mut Vec<Line>,
    ) -> Outcome {
        match self.templates.render(slot, ctx) {
            Ok(rendered) => {
                if rendered.fell_back {
                    self.stats.render_fallback();
                }
                if rendered.text.is_empty() {
                    // A template may render nothing on purpose ({% if %} around everything).
                    return Outcome::Filtered("empty_line");
                }
                self.stats.line(slot.line_kind());
                out.push(Line {
                    text: rendered.text,
                    priority: priority(slot),
                    kind: slot.line_kind(),
                    msg_id,
                    meta,
                });
                Outcome::Relayed
            }
            Err(_) => Outcome::Failed,
        }
    }
}
