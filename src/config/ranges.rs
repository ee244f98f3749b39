//! The allowed range of every numeric config key, in one table: validation checks each
//! value against it, the README's "Config ranges" table is generated from it, and a test
//! walks it with the edge values (`tests/config_ranges.rs`).
//!
//! The bounds keep every duration the daemon derives from a config value (`Instant + d`,
//! `heartbeat × 3`, back-off doubling) and every capacity (channel sizes, queues) far
//! from overflow and from allocations that abort the process, while leaving room for any
//! sensible setting. Defaults are not repeated here: they live in the schema's `Default`
//! impls and are read from there.
//!
//! **Adding a numeric key:** add its field to the schema, then one [`KeyRange`] line to
//! [`RANGES`] (the coverage test fails until you do), then regenerate the README table
//! (the README test prints it).

use std::fmt;

use serde::Serialize;

use super::Problem;

/// What values a key takes, inclusive at both ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bounds {
    /// A whole number from `min` to `max`.
    Whole {
        /// Smallest value allowed.
        min: u64,
        /// Largest value allowed.
        max: u64,
    },
    /// A decimal number above `above` (exclusive) up to `max`.
    Decimal {
        /// Values must be greater than this.
        above: f64,
        /// Largest value allowed.
        max: f64,
    },
}

impl Bounds {
    fn contains_whole(self, value: i128) -> bool {
        match self {
            Self::Whole { min, max } => (i128::from(min)..=i128::from(max)).contains(&value),
            Self::Decimal { .. } => self.contains_decimal(value as f64),
        }
    }

    fn contains_decimal(self, value: f64) -> bool {
        match self {
            Self::Whole { .. } => false,
            Self::Decimal { above, max } => value.is_finite() && value > above && value <= max,
        }
    }
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Whole { min, max } => write!(f, "{} to {}", group(*min), group(*max)),
            Self::Decimal { above, max } => write!(f, "above {above} up to {}", group(*max as u64)),
        }
    }
}

/// `1000000` as `1_000_000`, as TOML (and Rust) let one write it.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// One numeric key and its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyRange {
    /// The key path: `section.key`, `webhook[].key` for every `[[webhook]]`,
    /// `pricing.coin_prices.*` for every entry of a table. `[[bridge]]` overrides
    /// (`bridge[].tiktok.*`, `bridge[].coalesce.*`, `bridge[].filters.*`) take the
    /// range of the section they override.
    pub key: &'static str,
    /// The values allowed.
    pub bounds: Bounds,
    /// Why these bounds (shown in the README).
    pub why: &'static str,
}

const fn whole(key: &'static str, min: u64, max: u64, why: &'static str) -> KeyRange {
    KeyRange {
        key,
        bounds: Bounds::Whole { min, max },
        why,
    }
}

/// An hour, a day: most windows and intervals stop at one of them.
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// Why the `routes.*.max_age_secs` bounds.
const MAX_AGE: &str = "0 keeps a line whatever its age; a day at the longest";

/// Every numeric key of the config file. One line per key; see the module doc.
pub const RANGES: &[KeyRange] = &[
    whole(
        "tiktok.poll_interval_secs",
        1,
        HOUR,
        "an hour between checks at most",
    ),
    whole(
        "tiktok.heartbeat_secs",
        1,
        120,
        "TikTok asks for 10 s; the socket counts as dead after 3 silent beats",
    ),
    whole(
        "tiktok.reconnect_max_backoff_secs",
        1,
        HOUR,
        "an hour without the live at most",
    ),
    whole(
        "tiktok.signer_calls_per_minute",
        1,
        100_000,
        "at least one call to connect at all; 100,000 a minute is beyond any signer plan",
    ),
    whole(
        "twitch.lines_per_30s",
        1,
        7_500,
        "set, one budget whatever the bot's badges; 7,500 is Twitch's largest (verified bot) budget",
    ),
    whole(
        "twitch.queue_capacity",
        1,
        10_000,
        "lines older than that are stale by the time they go out",
    ),
    whole(
        "twitch.dedupe_window_secs",
        1,
        HOUR,
        "Twitch's own rule is 30 s",
    ),
    whole(
        "twitch.pause_keep_secs",
        0,
        super::schema::PAUSE_KEEP_MAX_SECS,
        "0 drops a paused bridge's queued lines; an hour-old line is not worth posting",
    ),
    whole(
        "http.max_connections",
        1,
        65_536,
        "each is a file descriptor: keep `ulimit -n` above it",
    ),
    whole(
        "http.header_read_timeout_secs",
        1,
        600,
        "a client still sending its request headers is cut after it",
    ),
    whole(
        "http.idle_timeout_secs",
        1,
        HOUR,
        "a connection with no byte either way is closed after it",
    ),
    whole(
        "feed.client_queue",
        1,
        65_536,
        "per connected client, allocated as it fills",
    ),
    whole(
        "api.ring_capacity",
        1,
        100_000,
        "per bridge, kept in memory",
    ),
    whole("webhook[].batch_max", 1, 1_000, "events per POST"),
    whole(
        "webhook[].batch_wait_secs",
        1,
        HOUR,
        "how long a partial batch waits",
    ),
    whole("webhook[].timeout_secs", 1, 600, "per POST"),
    whole(
        "webhook[].max_attempts",
        1,
        100,
        "then the delivery is dead-lettered",
    ),
    whole(
        "webhook[].max_backoff_secs",
        1,
        DAY,
        "the back-off starts at 1 s and doubles up to this",
    ),
    whole(
        "webhook[].queue_capacity",
        1,
        1_000_000,
        "events waiting, allocated as it fills",
    ),
    whole(
        "webhook[].rate_per_sec",
        1,
        1_000,
        "POSTs a second, on average; over it a POST waits",
    ),
    whole(
        "webhook[].rate_burst",
        1,
        10_000,
        "POSTs at once after a quiet spell",
    ),
    whole(
        "shutdown.grace_secs",
        0,
        HOUR,
        "0 stops at once; keep it below the service manager's stop timeout",
    ),
    whole(
        "filters.min_gift_diamonds",
        0,
        1_000_000_000,
        "0 relays every gift",
    ),
    whole(
        "coalesce.gift_streak_timeout_secs",
        1,
        300,
        "a streak's ticks come a few seconds apart",
    ),
    whole(
        "coalesce.like_window_secs",
        1,
        DAY,
        "one summary a day at the rarest",
    ),
    whole(
        "coalesce.join_window_secs",
        1,
        DAY,
        "one summary a day at the rarest",
    ),
    whole(
        "coalesce.viewers_interval_secs",
        1,
        DAY,
        "one count a day at the rarest",
    ),
    whole(
        "coalesce.chat_flood_window_secs",
        1,
        HOUR,
        "identical comments within it become one line",
    ),
    whole(
        "routes.chat.pack_max_chars",
        1,
        super::routes::PACK_MAX_CHARS as u64,
        "Twitch's cap; a part longer than the limit goes alone",
    ),
    whole(
        "twitch.commands.cooldown_secs",
        0,
        HOUR,
        "0 answers every command; the commands act whatever the cooldown",
    ),
    whole(
        "routes.chat.min_share_one_in",
        1,
        100,
        "1: chat first whenever it waits; 100: one line in a hundred",
    ),
    whole(
        "routes.gift.big_diamonds",
        0,
        1_000_000_000,
        "0: every gift keeps its own line",
    ),
    whole("routes.chat.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.emote.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.gift.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.like.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.join.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.follow.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.share.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.subscribe.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.question.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.envelope.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.battle.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.viewers.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.live_paused.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.live_resumed.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.live_ended.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.goal.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.poll.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.room_pin.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.rank_update.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.hourly_rank.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.rank_text.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.in_room_banner.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.unauthorized_member.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.shopping.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.msg_detect.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.room_verify.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.super_fan.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.battle_punish_finish.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.battle_task.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.fan_ticket.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.link_mic.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.link.max_age_secs", 0, DAY, MAX_AGE),
    whole("routes.link_layer.max_age_secs", 0, DAY, MAX_AGE),
    KeyRange {
        key: "pricing.coin_prices.*",
        bounds: Bounds::Decimal {
            above: 0.0,
            max: 1_000_000.0,
        },
        why: "one coin in that currency; built in: USD 0.0133, EUR 0.0123, GBP 0.0105",
    },
    whole(
        "twitch_stream.poll_interval_secs",
        5,
        HOUR,
        "Helix allows 800 requests a minute; an hour between checks at most",
    ),
    KeyRange {
        key: "pricing.usd_per_diamond",
        bounds: Bounds::Decimal {
            above: 0.0,
            max: 1.0,
        },
        why: "a diamond's worth to the creator, for a gift's `usd` on the feed",
    },
];

/// The range of `key` (a path as [`KeyRange::key`] writes it).
pub fn range_of(key: &str) -> Option<&'static KeyRange> {
    RANGES.iter().find(|r| r.key == key)
}

/// `webhook[3].timeout_secs` -> `webhook[].timeout_secs`; `pricing.coin_prices.EUR` ->
/// `pricing.coin_prices.*` (the form [`RANGES`] uses).
pub fn table_key(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    if let Some(rest) = out.strip_prefix("pricing.coin_prices.")
        && !rest.is_empty()
    {
        return "pricing.coin_prices.*".into();
    }
    out
}

/// Checks every numeric value in `value` (a section, or the whole config with `section`
/// empty) against [`RANGES`], reporting each one out of range at `section.key`.
/// Sections listed in `skip` (checked elsewhere) are left out.
pub fn check<T: Serialize>(value: &T, section: &str, skip: &[&str], problems: &mut Vec<Problem>) {
    let Ok(json) = serde_json::to_value(value) else {
        return;
    };
    let mut leaves = Vec::new();
    numeric_leaves(section, &json, &mut leaves);
    for (path, number) in leaves {
        if skip.iter().any(|s| path.starts_with(&format!("{s}."))) {
            continue;
        }
        if let Some(problem) = check_number(&path, &number) {
            problems.push(problem);
        }
    }
}

/// The problem with `number` at `path`, if it is out of its key's range.
pub fn check_number(path: &str, number: &serde_json::Number) -> Option<Problem> {
    let range = range_of(&table_key(path))?;
    let ok = match (number.as_u64(), number.as_i64(), number.as_f64()) {
        (Some(u), _, _) => range.bounds.contains_whole(i128::from(u)),
        (None, Some(i), _) => range.bounds.contains_whole(i128::from(i)),
        (None, None, Some(f)) => range.bounds.contains_decimal(f),
        _ => false,
    };
    (!ok).then(|| out_of_range(path, &number.to_string(), range))
}

/// "`path`: `value` is out of range: 1 to 120 (the default is 10)".
pub fn out_of_range(path: &str, value: &str, range: &KeyRange) -> Problem {
    let problem = Problem::new(path, format!("{value} is out of range: {}", range.bounds));
    match default_of(range.key) {
        Some(default) => problem.with_hint(format!("the default is {default}")),
        None => problem.with_hint("remove it to use the default"),
    }
}

/// The default of a key of [`RANGES`] as the file writes it, from the schema's `Default`
/// impls (`None` for keys unset by default, like `twitch.lines_per_30s`).
pub fn default_of(key: &str) -> Option<String> {
    let sample = super::Config {
        webhook: vec![super::feed::WebhookConfig::default()],
        ..super::Config::default()
    };
    let json = serde_json::to_value(&sample).ok()?;
    let mut leaves = Vec::new();
    numeric_leaves("", &json, &mut leaves);
    leaves
        .into_iter()
        .find(|(path, _)| table_key(path) == key)
        .map(|(_, n)| match n.as_u64() {
            Some(u) => group(u),
            None => n.to_string(),
        })
}

/// What a key that is unset by default means (`default_of` is `None` for it), in the words
/// of the README's table, formatted from the constants the daemon uses then.
pub fn unset_default(key: &str) -> Option<String> {
    use crate::limits::{
        TWITCH_ALLOWED_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW_ELEVATED,
    };
    match key {
        "twitch.lines_per_30s" => Some(format!(
            "unset: {TWITCH_LINES_PER_WINDOW} (of Twitch's {TWITCH_ALLOWED_LINES_PER_WINDOW}), or \
             {TWITCH_LINES_PER_WINDOW_ELEVATED} where the bot is moderator, VIP or broadcaster"
        )),
        _ => None,
    }
}

/// Every number under `json`, with its path (`a.b`, `list[2].c`).
pub fn numeric_leaves(
    prefix: &str,
    json: &serde_json::Value,
    out: &mut Vec<(String, serde_json::Number)>,
) {
    match json {
        serde_json::Value::Number(n) => out.push((prefix.to_owned(), n.clone())),
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                numeric_leaves(&path, child, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                numeric_leaves(&format!("{prefix}[{i}]"), child, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_table_keys() {
        assert_eq!(
            table_key("webhook[12].timeout_secs"),
            "webhook[].timeout_secs"
        );
        assert_eq!(
            table_key("pricing.coin_prices.EUR"),
            "pricing.coin_prices.*"
        );
        assert_eq!(table_key("tiktok.heartbeat_secs"), "tiktok.heartbeat_secs");
    }

    #[test]
    fn out_of_range_names_the_path_the_value_and_the_range() {
        let n = serde_json::Number::from(i64::MAX);
        let p = check_number("shutdown.grace_secs", &n).unwrap();
        assert_eq!(
            p.to_string(),
            "shutdown.grace_secs: 9223372036854775807 is out of range: 0 to 3_600 (the default is 5)"
        );
        assert!(check_number("shutdown.grace_secs", &0.into()).is_none());
        assert!(check_number("tiktok.heartbeat_secs", &0.into()).is_some());
        assert!(check_number("tiktok.heartbeat_secs", &(-1).into()).is_some());
        let price = serde_json::Number::from_f64(0.0).unwrap();
        assert!(check_number("pricing.coin_prices.USD", &price).is_some());
        let price = serde_json::Number::from_f64(0.0133).unwrap();
        assert!(check_number("pricing.coin_prices.USD", &price).is_none());
    }

    #[test]
    fn every_range_is_well_formed_and_listed_once() {
        for (i, r) in RANGES.iter().enumerate() {
            assert!(
                RANGES[..i].iter().all(|o| o.key != r.key),
                "{} listed twice",
                r.key
            );
            match r.bounds {
                Bounds::Whole { min, max } => {
                    assert!(min <= max && max <= i64::MAX as u64, "{}", r.key)
                }
                Bounds::Decimal { above, max } => assert!(above < max, "{}", r.key),
            }
        }
    }
}
