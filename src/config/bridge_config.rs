//! What one bridge is configured by, once loaded: [`Bridge`] and the pipeline sections of
//! it ([`PipelineConfig`]), plus the hook through which the pipeline checks those sections
//! ([`PipelineCheck`]).
//!
//! The config is a leaf: it knows the shape and ranges of `[routes]`, `[filters]` and
//! `[coalesce]`, but compiling templates and patterns is the pipeline's work. So the loader
//! takes the pipeline's check as a parameter and reports what it finds with the key path
//! (global or `bridge[i].`), once, with every other problem.

use super::pricing::PricingConfig;
use super::{CoalesceConfig, FiltersConfig, Problem, RoutesConfig, TiktokConfig, TwitchConfig};

/// Everything the pipeline is configured by: one bridge's `[routes]`, `[filters]`,
/// `[coalesce]`, plus `tiktok.relay_history`, the creator's handle and `[pricing]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineConfig {
    /// Per event kind: on/off and template.
    pub routes: RoutesConfig,
    /// Drops and masks.
    pub filters: FiltersConfig,
    /// Streaks, summaries, floods.
    pub coalesce: CoalesceConfig,
    /// Relay messages TikTok marks as history.
    pub relay_history: bool,
    /// The creator's @handle, offered to templates as `streamer`.
    pub streamer: String,
    /// What a coin costs, for the `money` template filter (`[pricing]`).
    pub pricing: PricingConfig,
}

/// The check the loader runs on every bridge's [`PipelineConfig`] (and the global one):
/// every problem building that bridge's pipeline would meet, with key paths relative to
/// the sections (`routes.gift.template`). `run` and `check` pass the pipeline's own
/// (`tiktwitch::pipeline::Pipeline::check`), so `check` refuses what `run` would;
/// [`no_pipeline_check`] skips it (tools that only read the config's data).
pub type PipelineCheck = fn(&PipelineConfig) -> Vec<Problem>;

/// A [`PipelineCheck`] that finds nothing: for callers that only need the typed data.
pub fn no_pipeline_check(_: &PipelineConfig) -> Vec<Problem> {
    Vec::new()
}

/// The pure part of checking a bridge's pipeline sections, which the loader runs whatever
/// [`PipelineCheck`] it is given (and the pipeline runs too, for configs built by hand):
/// every window and threshold of `[coalesce]` and `[filters]` in its range
/// ([`super::ranges`]), so no deadline can overflow.
pub fn check_ranges(pipeline: &PipelineConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    super::ranges::check(&pipeline.coalesce, "coalesce", &[], &mut problems);
    super::ranges::check(&pipeline.filters, "filters", &[], &mut problems);
    // The sink's knobs under `[routes.chat]` (pack_max_chars), checked with the routes.
    super::ranges::check(&pipeline.routes, "routes", &[], &mut problems);
    problems
}

/// Every problem of a bridge's pipeline sections: [`check_ranges`], then what `check`
/// adds that is not already listed (the pipeline's check repeats the ranges).
pub(super) fn problems(pipeline: &PipelineConfig, check: PipelineCheck) -> Vec<Problem> {
    let mut problems = check_ranges(pipeline);
    for problem in check(pipeline) {
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    problems
}

/// One TikTok live mirrored into some Twitch channels, with everything resolved: the handle
/// and channels normalized, the global sections merged under the bridge's overrides.
#[derive(Debug, Clone)]
pub struct Bridge {
    /// The bridge's name (`"default"` for the implicit one).
    pub name: String,
    /// `[tiktok]` with `username` set to the normalized handle of this bridge.
    pub tiktok: TiktokConfig,
    /// `[twitch]` with `channels` set to this bridge's channels, normalized.
    pub twitch: TwitchConfig,
    /// Routes, filters and coalescing of this bridge; the [`PipelineCheck`] passed to the
    /// loader accepted it.
    pub pipeline: PipelineConfig,
}
