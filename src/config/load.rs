//! Reading the file, layering the environment, and turning serde's first-error-only
//! behaviour into a list of every problem.
//!
//! The `config` crate stops at the first error. So the loader keeps the merged tree as loose
//! [`config::Value`]s, deserializes, and on each error records it as a [`Problem`], removes
//! the offending key from the tree (so its default applies) and tries again, until the typed
//! struct comes out. Unknown keys and wrong types are found this way with serde's own
//! knowledge of the schema: nothing lists the valid keys twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{ConfigError, Environment, File, FileFormat, Map, Value, ValueKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::identifiers::nearest;
use super::schema::enum_variants;
use super::{LoadError, Problem};
use super::{ranges, strict};
use crate::limits::MAX_CONFIG_PROBLEMS;

/// The prefix of environment overrides: `TIKTWITCH__TWITCH__BOT_LOGIN=mybot`.
pub const ENV_PREFIX: &str = "TIKTWITCH";

/// Keys that take a comma-separated list from the environment.
const ENV_LIST_KEYS: &[&str] = &[
    "twitch.channels",
    "filters.blocked_words",
    "filters.blocked_patterns",
    "filters.ignored_users",
    "filters.allowed_users",
    "filters.only_roles",
    "feed.allowed_origins",
];

/// The default config path: `$XDG_CONFIG_HOME/tiktwitch/config.toml`, else the OS's config
/// folder: `~/.config/tiktwitch/config.toml` on Linux,
/// `~/Library/Application Support/tiktwitch/config.toml` on macOS,
/// `%APPDATA%\tiktwitch\config.toml` on Windows.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.config_dir().to_path_buf()))?;
    Some(base.join("tiktwitch").join("config.toml"))
}

/// Reads `path` and layers `TIKTWITCH__*` variables from `env` (pass `None` for the process
/// environment) into one loose tree.
pub fn read_tree(path: &Path, env: Option<HashMap<String, String>>) -> Result<Value, LoadError> {
    if !path.is_file() {
        return Err(LoadError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let mut environment = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",");
    for key in ENV_LIST_KEYS {
        environment = environment.with_list_parse_key(key);
    }
    // Read here rather than by the `config` crate: it would take a non-UTF-8 file, and one
    // integer too big for TOML would fail the whole file (see `strict`).
    let bytes = std::fs::read(path).map_err(|e| LoadError::Syntax {
        path: path.to_path_buf(),
        message: format!("cannot read it: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError::Syntax {
        path: path.to_path_buf(),
        message: not_utf8(e.as_bytes(), e.utf8_error().valid_up_to()),
    })?;
    let text = strict::mark_oversized_integers(&text);
    let built = config::Config::builder()
        .add_source(File::from_str(&text, FileFormat::Toml))
        .add_source(environment.source(env.map(|e| e.into_iter().collect())))
        .build()
        .map_err(|e| LoadError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let table = config::Source::collect(&built).map_err(|e| LoadError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(Value::new(None, ValueKind::Table(table)))
}

/// Where the first byte that is not UTF-8 is, as a person finds it in an editor.
fn not_utf8(bytes: &[u8], valid_up_to: usize) -> String {
    let before = &bytes[..valid_up_to];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    format!(
        "not UTF-8 text: byte 0x{:02x} at line {line}, column {column} (save the file as UTF-8)",
        bytes[valid_up_to]
    )
}

/// Deserializes `tree` into `T`, recording every error under `prefix` and removing the
/// offending key until it succeeds. Returns the value (if serde could be satisfied) and
/// the cleaned tree.
pub fn deserialize_collecting<T: DeserializeOwned + Default + Serialize>(
    mut tree: Value,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> (Option<T>, Value) {
    let defaults = serde_json::to_value(T::default()).unwrap_or_default();
    for _ in 0..MAX_CONFIG_PROBLEMS {
        let error = match tree.clone().try_deserialize::<T>() {
            Ok(value) => {
                // serde took it, maybe only by converting a value (`tls = "no"`): those
                // are problems too, and their keys go back to the default.
                let typed = serde_json::to_value(&value).unwrap_or_default();
                let loose = strict::loose_values(&tree, &typed);
                if loose.is_empty() {
                    return (Some(value), tree);
                }
                for found in loose {
                    let problem = strict::problem(join_path(prefix, &found.path), &found);
                    problems.push(explained(problem, &tree, &found.path, &defaults));
                    remove_path(&mut tree, &found.path);
                }
                continue;
            }
            Err(error) => error,
        };
        let found = describe(&error, prefix);
        let removable = found.remove.clone();
        problems.push(explained(found.problem, &tree, &removable, &defaults));
        if !remove_path(&mut tree, &removable) {
            break;
        }
    }
    (None, tree)
}

/// A problem about the value at `removable` (relative to `tree`), with the range of its key
/// when it is a number out of range, where it was set, and the default.
fn explained(
    mut problem: Problem,
    tree: &Value,
    removable: &str,
    defaults: &serde_json::Value,
) -> Problem {
    let value = value_at(tree, removable);
    let range = ranges::range_of(&ranges::table_key(&problem.path));
    if let (Some(range), Some(literal)) = (range, value.and_then(strict::number_literal)) {
        let fraction = matches!(value.map(|v| &v.kind), Some(ValueKind::Float(_)))
            && matches!(range.bounds, ranges::Bounds::Whole { .. });
        problem = ranges::out_of_range(&problem.path, &literal, range);
        if fraction {
            problem.message = format!("{literal} is not a whole number: {}", range.bounds);
        }
    }
    let origin = value.and_then(|v| v.origin().map(str::to_owned));
    let mut problem = problem.with_origin(origin.as_deref());
    if problem.hint.is_none()
        && let Some(default) = default_at(defaults, removable)
    {
        problem = problem.with_hint(format!("the default is {default}"));
    }
    problem
}

fn join_path(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if key.starts_with('[') => format!("{prefix}{key}"),
        (false, false) => format!("{prefix}.{key}"),
    }
}

/// One serde error, explained.
struct Found {
    problem: Problem,
    /// The key path (relative to the tree) to remove so the next pass gets further.
    remove: String,
}

fn describe(error: &ConfigError, prefix: &str) -> Found {
    let join = |key: &str| join_path(prefix, key);
    match error {
        ConfigError::Type {
            origin,
            unexpected,
            expected,
            key,
        } => {
            let key = dotted(key.as_deref().unwrap_or_default());
            Found {
                problem: Problem::new(
                    join(&key),
                    format!("expected {expected}, found {unexpected}"),
                )
                .with_origin(origin.as_deref()),
                remove: key,
            }
        }
        ConfigError::At { error, origin, key } => {
            let key = dotted(key.as_deref().unwrap_or_default());
            let mut found = describe_message(&error.to_string(), &key, &join);
            found.problem = found.problem.with_origin(origin.as_deref());
            found
        }
        ConfigError::Message(message) => describe_message(message, "", &join),
        other => Found {
            problem: Problem::new(join(""), other.to_string()),
            remove: String::new(),
        },
    }
}

/// The `config` crate writes a key inside an array of tables as `webhook[0]timeout_secs`;
/// problems (and [`remove_path`]) use `webhook[0].timeout_secs`.
fn dotted(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ']' && chars.peek().is_some_and(|n| *n != '[' && *n != '.') {
            out.push('.');
        }
    }
    out
}

/// Where the value at `path` (`a.b[2].c`) was set (`None` for the file itself), for
/// problems found after loading.
pub fn origin_at(tree: &Value, path: &str) -> Option<String> {
    value_at(tree, path).and_then(|v| v.origin().map(str::to_owned))
}

/// The number at `path` as written, if a number is there.
pub fn literal_at(tree: &Value, path: &str) -> Option<String> {
    value_at(tree, path).and_then(strict::number_literal)
}

/// Serde's text errors: "unknown field `x`, expected one of `a`, `b`", "unknown variant
/// ...", "missing field ...", "invalid value ...".
fn describe_message(message: &str, key: &str, join: &dyn Fn(&str) -> String) -> Found {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let child = |name: &str| {
        if key.is_empty() {
            name.to_owned()
        } else {
            format!("{key}.{name}")
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let field = quoted.first().copied().unwrap_or(rest);
        let valid = &quoted[1.min(quoted.len())..];
        let path = child(field);
        return Found {
            problem: Problem::new(join(&path), "unknown key".to_owned())
                .with_hint(suggest("key", field, valid)),
            remove: path,
        };
    }
    if message.starts_with("unknown variant ") {
        let variant = quoted.first().copied().unwrap_or_default();
        let valid = &quoted[1.min(quoted.len())..];
        return Found {
            problem: Problem::new(join(key), format!("unknown value `{variant}`"))
                .with_hint(suggest("value", variant, valid)),
            remove: key.to_owned(),
        };
    }
    // The `config` crate's own text for a bad enum value names the Rust type, not the
    // choices: "enum SinkKind does not have variant constructor ircx".
    if let Some(rest) = message.strip_prefix("enum ")
        && let Some((type_name, variant)) = rest.split_once(" does not have variant constructor ")
    {
        let valid = enum_variants(type_name);
        return Found {
            problem: Problem::new(join(key), format!("unknown value `{variant}`")),
            remove: key.to_owned(),
        }
        .hinted(suggest("value", variant, valid));
    }
    Found {
        problem: Problem::new(join(key), message.to_owned()),
        remove: key.to_owned(),
    }
}

impl Found {
    fn hinted(mut self, hint: String) -> Self {
        self.problem = self.problem.with_hint(hint);
        self
    }
}

fn suggest(what: &str, wrong: &str, valid: &[&str]) -> String {
    match nearest(wrong, valid.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if valid.is_empty() => format!("this table takes no {what}s"),
        None => format!("valid {what}s: {}", valid.join(", ")),
    }
}

/// Removes `path` (`a.b[2].c`) from the tree. False when it is not there (so the caller
/// stops instead of looping).
pub fn remove_path(tree: &mut Value, path: &str) -> bool {
    let segments = split_path(path);
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = tree;
    for segment in parents {
        let next = match (&mut node.kind, segment) {
            (ValueKind::Table(map), Segment::Key(k)) => map.get_mut(*k),
            (ValueKind::Array(items), Segment::Index(i)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(child) => node = child,
            None => return false,
        }
    }
    match (&mut node.kind, last) {
        (ValueKind::Table(map), Segment::Key(k)) => map.remove(*k).is_some(),
        (ValueKind::Array(items), Segment::Index(i)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// The value at `path` (`a.b[2].c`), if there is one.
fn value_at<'t>(tree: &'t Value, path: &str) -> Option<&'t Value> {
    let mut node = tree;
    for segment in split_path(path) {
        node = match (&node.kind, segment) {
            (ValueKind::Table(map), Segment::Key(k)) => map.get(k)?,
            (ValueKind::Array(items), Segment::Index(i)) => items.get(i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The default at `path`, written as TOML would (`60`, `"irc"`, `[]`), for hints.
fn default_at(defaults: &serde_json::Value, path: &str) -> Option<String> {
    let mut node = defaults;
    for segment in split_path(path) {
        node = match segment {
            Segment::Key(k) => node.get(k)?,
            Segment::Index(i) => node.get(i)?,
        };
    }
    match node {
        serde_json::Value::Null | serde_json::Value::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// The value at `key` of a table (cloned), if the tree is a table holding it.
pub fn get_key(tree: &Value, key: &str) -> Option<Value> {
    match &tree.kind {
        ValueKind::Table(map) => map.get(key).cloned(),
        _ => None,
    }
}

/// Deep-merges `over` onto `base`: tables merge key by key, anything else replaces.
pub fn merge(base: &Value, over: &Value) -> Value {
    match (&base.kind, &over.kind) {
        (ValueKind::Table(b), ValueKind::Table(o)) => {
            let mut merged: Map<String, Value> = b.clone();
            for (key, value) in o {
                let next = match merged.get(key) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), next);
            }
            Value::new(None, ValueKind::Table(merged))
        }
        _ => over.clone(),
    }
}

/// An empty table.
pub fn empty_table() -> Value {
    Value::new(None, ValueKind::Table(Map::new()))
}

/// The keys a table value sets (empty for anything else).
pub fn table_keys(tree: &Value) -> Vec<String> {
    match &tree.kind {
        ValueKind::Table(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, indices) = part
            .split_once('[')
            .map_or((part, ""), |(n, rest)| (n, rest));
        if !name.is_empty() {
            segments.push(Segment::Key(name));
        }
        for index in indices.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                segments.push(Segment::Index(i));
            }
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn tree(toml_text: &str) -> Value {
        let built = config::Config::builder()
            .add_source(File::from_str(toml_text, FileFormat::Toml))
            .build()
            .unwrap();
        Value::new(
            None,
            ValueKind::Table(config::Source::collect(&built).unwrap()),
        )
    }

    #[test]
    fn every_structural_error_is_reported_with_its_path() {
        let t = tree(
            r#"
            [twitch]
            chanels = ["a"]
            queue_capacity = "lots"
            sink = "ircx"
            [tiktok]
            poll_interval_secs = -5
            [routes.gift]
            enabeld = true
            "#,
        );
        let mut problems = Vec::new();
        let (config, _) = deserialize_collecting::<Config>(t, "", &mut problems);
        assert!(config.is_some(), "defaults fill what was removed");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "twitch.chanels",
            "twitch.queue_capacity",
            "twitch.sink",
            "tiktok.poll_interval_secs",
            "routes.gift.enabeld",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {problems:#?}"
            );
        }
        let typo = problems
            .iter()
            .find(|p| p.path == "twitch.chanels")
            .unwrap();
        assert_eq!(typo.hint.as_deref(), Some("did you mean `channels`?"));
        let sink = problems.iter().find(|p| p.path == "twitch.sink").unwrap();
        assert_eq!(sink.hint.as_deref(), Some("did you mean `irc`?"));
    }

    #[test]
    fn a_wrong_type_inside_an_array_of_tables_is_reported_at_its_path() {
        let t = tree(
            "[[webhook]]\nurl = 'http://x'\ntimeout_secs = 'soon'\n[twitch]\nqueue_capacity = 'lots'\n",
        );
        let mut problems = Vec::new();
        let (config, _) = deserialize_collecting::<Config>(t, "", &mut problems);
        let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["twitch.queue_capacity", "webhook[0].timeout_secs"]);
        assert_eq!(
            config.unwrap().webhook[0].timeout_secs,
            10,
            "the default applies"
        );
    }

    #[test]
    fn paths_inside_arrays_are_removed() {
        let mut t = tree("[[bridge]]\nname = 'a'\nbogus = 1\n");
        assert!(remove_path(&mut t, "bridge[0].bogus"));
        assert!(!remove_path(&mut t, "bridge[0].bogus"));
        let mut problems = Vec::new();
        let (config, _) = deserialize_collecting::<Config>(t, "", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.unwrap().bridge[0].name, "a");
    }

    #[test]
    fn merge_is_deep() {
        let base = tree("[chat]\nenabled = true\ntemplate = 'x'\n");
        let over = tree("[chat]\ntemplate = 'y'\n");
        let merged = merge(&base, &over);
        let chat = get_key(&merged, "chat").unwrap();
        assert_eq!(
            get_key(&chat, "template").unwrap().into_string().unwrap(),
            "y"
        );
        assert!(get_key(&chat, "enabled").unwrap().into_bool().unwrap());
    }
}
