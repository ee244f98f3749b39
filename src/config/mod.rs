//! The config file: a TOML file layered with `TIKTWITCH__SECTION__KEY` environment variables,
//! typed, and checked so that *every* mistake is reported at once with its key path and a
//! hint.
//!
//! ```no_run
//! # fn main() -> Result<(), tiktwitch::config::LoadError> {
//! use tiktwitch::pipeline::Pipeline;
//! // --config path, else the XDG default; the pipeline checks templates and patterns.
//! let loaded = tiktwitch::config::load(None, Pipeline::check)?;
//! for bridge in &loaded.bridges {
//!     // bridge.tiktok, bridge.twitch, bridge.pipeline: map them to component settings
//! }
//! # Ok(()) }
//! ```
//!
//! - [`schema`]: the sections and their defaults; [`routes`]: `[routes]`, `[filters]`,
//!   `[coalesce]`.
//! - [`load`](mod@load): reading, env layering, collecting serde errors instead of stopping at one.
//! - [`validate`]: required values, names, URLs, zero thresholds.
//! - [`slot`]: template slots, their defaults and variables.
//! - [`bridge_config`]: a resolved bridge, its pipeline sections, and the pipeline's
//!   check the loader runs on them ([`PipelineCheck`]).
//! - [`feed`](mod@feed): `[feed]`, `[api]`, `[[webhook]]` (event feed, REST API, webhooks).
//! - [`pricing`]: `[pricing]` (what a TikTok coin costs, for the `money` template filter);
//!   [`currency`]: the known currencies and the built-in coin prices.
//! - [`strict`]: values the `config` crate would convert (`tls = "no"`), and integers too
//!   big for TOML, reported instead.
//! - [`ranges`]: the allowed range of every numeric key, one table.
//! - [`origin`]: `[feed] allowed_origins`, which web pages may open the feed.
//! - [`identifiers`]: TikTok handles, Twitch logins, secret names, "did you mean".
//! - [`twitch_stream`]: `[twitch_stream]` (whether the Twitch channels are live; what a
//!   bridge does while they are not).
//!
//! Environment overrides follow the key path: `TIKTWITCH__TWITCH__BOT_LOGIN=mybot`,
//! `TIKTWITCH__TWITCH__CHANNELS=a,b`, `TIKTWITCH__SECRET_STORE=env`. Because every section
//! denies unknown keys, a stray `TIKTWITCH__*` variable is reported like a typo in the file.

pub mod bridge_config;
pub mod currency;
pub mod feed;
pub mod identifiers;
pub mod load;
pub mod origin;
pub mod pricing;
pub mod ranges;
pub mod routes;
pub mod schema;
pub mod slot;
pub mod strict;
pub mod twitch_chat;
pub mod twitch_stream;
pub mod validate;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use bridge_config::{Bridge, PipelineCheck, PipelineConfig, no_pipeline_check};
pub use routes::{CoalesceConfig, FiltersConfig, RoutesConfig, Slot};
pub use schema::{Config, TiktokConfig, TwitchConfig};

/// One thing wrong with the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `twitch.channels[1]` or `bridge[0].routes.gift.template`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Notes where the value came from when it was not the file (an environment variable).
    pub fn with_origin(mut self, origin: Option<&str>) -> Self {
        const NOTE: &str = " (set in the environment)";
        if origin.is_some_and(|o| o.contains("environment")) && !self.message.ends_with(NOTE) {
            self.message.push_str(NOTE);
        }
        self
    }

    /// The same problem under a prefix (`bridge[0]`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        if self.path.is_empty() {
            self.path = prefix.to_owned();
        } else if !prefix.is_empty() {
            self.path = format!("{prefix}.{}", self.path);
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        // Multi-line messages (regex errors draw a caret) stay inside the list item.
        write!(f, "{path}: {}", self.message.replace('\n', "\n      "))?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in one config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems, in file order as far as serde reports it.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} problem{}:", if n == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No file at the path (the default path, unless `--config` was given).
    #[error("config file {} not found (write one from config.example.toml, or pass --config FILE)", path.display())]
    NotFound {
        /// Where we looked.
        path: PathBuf,
    },
    /// There is no default path (no `XDG_CONFIG_HOME`, `APPDATA` or `HOME`).
    #[error("no config path: pass --config FILE")]
    NoDefaultPath,
    /// The file is not valid TOML (the message carries line, column and a snippet).
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// The file parses but has problems; all of them are listed.
    #[error("{}: {errors}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem.
        errors: ConfigErrors,
    },
}

/// A loaded, valid config.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file it came from.
    pub path: PathBuf,
    /// The typed file (bridge overrides still loose; use [`Loaded::bridges`]).
    pub config: Config,
    /// The bridges to run: the `[[bridge]]` entries, or one made of `[tiktok]` + `[twitch]`.
    pub bridges: Vec<Bridge>,
}

/// Loads `path` (or [`load::default_path`]) with the process environment; `check` is the
/// pipeline's check of each bridge's sections ([`PipelineCheck`]).
pub fn load(path: Option<&Path>, check: PipelineCheck) -> Result<Loaded, LoadError> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => load::default_path().ok_or(LoadError::NoDefaultPath)?,
    };
    load_with_env(&path, None, check)
}

/// Loads `path` layered with the given `TIKTWITCH__*` variables instead of the process
/// environment (`None` reads the process environment). For tests and `check`.
pub fn load_with_env(
    path: &Path,
    env: Option<HashMap<String, String>>,
    check: PipelineCheck,
) -> Result<Loaded, LoadError> {
    let tree = load::read_tree(path, env)?;
    let mut problems = Vec::new();
    let (config, cleaned) = load::deserialize_collecting::<Config>(tree, "", &mut problems);
    let Some(config) = config else {
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        return Err(invalid(path, problems));
    };
    let mut checked = validate::validate(&config);
    let bridges = resolve_bridges(&config, &cleaned, check, &mut checked);
    // A key whose value was refused above now holds its default: what validation says of
    // that default ("missing") is not news.
    checked.retain(|p| !problems.iter().any(|q| q.path == p.path));
    // Say so when a value that is wrong came from a `TIKTWITCH__*` variable.
    // A number out of range is shown as written (`9223372036854775807`, not `9.2e18`).
    problems.extend(checked.into_iter().map(|p| {
        let origin = load::origin_at(&cleaned, &p.path);
        let range = ranges::range_of(&ranges::table_key(&p.path));
        let p = match (range, load::literal_at(&cleaned, &p.path)) {
            (Some(range), Some(literal)) if p.message.contains(" is out of range: ") => {
                ranges::out_of_range(&p.path, &literal, range)
            }
            _ => p,
        };
        p.with_origin(origin.as_deref())
    }));
    // serde meets keys in hash order; a stable order makes reports comparable.
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    if problems.is_empty() {
        Ok(Loaded {
            path: path.to_path_buf(),
            config,
            bridges,
        })
    } else {
        Err(invalid(path, problems))
    }
}

fn invalid(path: &Path, problems: Vec<Problem>) -> LoadError {
    LoadError::Invalid {
        path: path.to_path_buf(),
        errors: ConfigErrors { problems },
    }
}

/// Builds the bridges, merging each bridge's pipeline overrides over the (already cleaned)
/// global sections, and compiles each pipeline so template and pattern problems surface
/// here, reported once: at the global path, or at the bridge path when the bridge set it.
fn resolve_bridges(
    config: &Config,
    cleaned: &config::Value,
    check: PipelineCheck,
    problems: &mut Vec<Problem>,
) -> Vec<Bridge> {
    let global_pipeline = PipelineConfig {
        routes: config.routes.clone(),
        filters: config.filters.clone(),
        coalesce: config.coalesce.clone(),
        relay_history: config.tiktok.relay_history,
        streamer: String::new(),
        pricing: config.pricing.clone(),
    };
    problems.extend(bridge_config::problems(&global_pipeline, check));
    if config.bridge.is_empty() {
        let mut pipeline = global_pipeline;
        pipeline.streamer =
            identifiers::normalize_tiktok_username(&config.tiktok.username).unwrap_or_default();
        return vec![Bridge {
            name: "default".into(),
            tiktok: tiktok_for(&config.tiktok, &config.tiktok.username),
            twitch: twitch_for(&config.twitch, &config.twitch.channels),
            pipeline,
        }];
    }
    let mut bridges = Vec::new();
    for (i, entry) in config.bridge.iter().enumerate() {
        let prefix = format!("bridge[{i}]");
        let mut overridden: Vec<String> = Vec::new();
        let mut section = Section {
            cleaned,
            prefix: &prefix,
            overridden: &mut overridden,
            problems,
        };
        let tiktok: Option<TiktokConfig> = section.merged("tiktok", entry.tiktok.as_ref());
        let routes: Option<RoutesConfig> = section.merged("routes", entry.routes.as_ref());
        let filters: Option<FiltersConfig> = section.merged("filters", entry.filters.as_ref());
        let coalesce: Option<CoalesceConfig> = section.merged("coalesce", entry.coalesce.as_ref());
        if let Some(merged) = &tiktok {
            // The bridge's own `[bridge.tiktok]` keys get the checks `[tiktok]` gets (secret
            // names, URLs, ranges), so `check` refuses what the bridge's source would.
            let mut found = Vec::new();
            validate::tiktok(merged, false, &mut found);
            ranges::check(merged, "tiktok", &[], &mut found);
            problems.extend(
                found
                    .into_iter()
                    .filter(|p| is_overridden(&overridden, &p.path))
                    .map(|p| p.prefixed(&prefix)),
            );
        }
        // One signer budget serves every bridge of the process (`daemon::run` builds it once
        // from `[tiktok]`): a bridge's own value would be silently ignored, so it is refused.
        // A value already refused at that path (out of range) is reported once, as that.
        let path = format!("{prefix}.{PROCESS_WIDE_TIKTOK_KEY}");
        if overridden.iter().any(|p| p == PROCESS_WIDE_TIKTOK_KEY)
            && !problems.iter().any(|p| p.path == path)
        {
            problems.push(
                Problem::new(
                    path,
                    "the signer budget is shared by every bridge of the process",
                )
                .with_hint("set signer_calls_per_minute in [tiktok], not in [bridge.tiktok]"),
            );
        }
        let username = if entry.tiktok_username.is_empty() {
            &config.tiktok.username
        } else {
            &entry.tiktok_username
        };
        let channels = if entry.twitch_channels.is_empty() {
            &config.twitch.channels
        } else {
            &entry.twitch_channels
        };
        let pipeline = PipelineConfig {
            routes: routes.unwrap_or_default(),
            filters: filters.unwrap_or_default(),
            coalesce: coalesce.unwrap_or_default(),
            relay_history: config.tiktok.relay_history,
            streamer: identifiers::normalize_tiktok_username(username).unwrap_or_default(),
            pricing: config.pricing.clone(),
        };
        let own = bridge_config::problems(&pipeline, check)
            .into_iter()
            .filter(|p| is_overridden(&overridden, &p.path));
        problems.extend(own.map(|p| p.prefixed(&prefix)));
        let mut twitch = twitch_for(&config.twitch, channels);
        if let Some(secs) = entry.pause_keep_secs {
            twitch.pause_keep_secs = secs;
        }
        bridges.push(Bridge {
            name: entry.name.clone(),
            tiktok: tiktok_for(tiktok.as_ref().unwrap_or(&config.tiktok), username),
            twitch,
            pipeline,
        });
    }
    bridges
}

/// The `[tiktok]` key a `[[bridge]]` may not override: one budget for the whole process.
const PROCESS_WIDE_TIKTOK_KEY: &str = "tiktok.signer_calls_per_minute";

/// Whether a problem at `path` is about a key a bridge set itself (`overridden`).
fn is_overridden(overridden: &[String], path: &str) -> bool {
    overridden.iter().any(|o| {
        path == o || path.starts_with(&format!("{o}.")) || path.starts_with(&format!("{o}["))
    })
}

/// Merges one bridge's override of a pipeline section over the global one.
struct Section<'a> {
    cleaned: &'a config::Value,
    prefix: &'a str,
    overridden: &'a mut Vec<String>,
    problems: &'a mut Vec<Problem>,
}

impl Section<'_> {
    fn merged<T: serde::de::DeserializeOwned + Default + serde::Serialize>(
        &mut self,
        key: &str,
        over: Option<&config::Value>,
    ) -> Option<T> {
        let base = load::get_key(self.cleaned, key).unwrap_or_else(load::empty_table);
        let merged = match over {
            Some(over) => {
                let depth = if key == "routes" { 2 } else { 1 };
                self.overridden.extend(override_paths(key, over, depth));
                load::merge(&base, over)
            }
            None => base,
        };
        let mut found = Vec::new();
        // Paths as the global section has them (`tiktok.heartbeat_secs`), so ranges apply.
        let (value, _) = load::deserialize_collecting(merged, key, &mut found);
        self.problems
            .extend(found.into_iter().map(|p| p.prefixed(self.prefix)));
        value
    }
}

/// `section.key` (and for routes `routes.kind.key`) paths a bridge override sets.
fn override_paths(section: &str, over: &config::Value, depth: usize) -> Vec<String> {
    let mut paths = Vec::new();
    for key in load::table_keys(over) {
        let path = format!("{section}.{key}");
        match load::get_key(over, &key) {
            Some(child) if depth > 1 && !load::table_keys(&child).is_empty() => {
                paths.extend(override_paths(&path, &child, depth - 1));
            }
            _ => paths.push(path),
        }
    }
    paths
}

fn tiktok_for(global: &TiktokConfig, username: &str) -> TiktokConfig {
    TiktokConfig {
        username: identifiers::normalize_tiktok_username(username).unwrap_or_default(),
        ..global.clone()
    }
}

fn twitch_for(global: &TwitchConfig, channels: &[String]) -> TwitchConfig {
    TwitchConfig {
        channels: channels
            .iter()
            .filter_map(|c| identifiers::normalize_twitch_login(c).ok())
            .collect(),
        bot_login: identifiers::normalize_twitch_login(&global.bot_login).unwrap_or_default(),
        ..global.clone()
    }
}
