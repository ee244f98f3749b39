//! What the `config` crate lets through and `run` must not get: it turns `tls = "no"` or
//! `tls = 1` into a bool, `heartbeat_secs = 10.5` into 10, `client_id = 123` into a
//! string, and fails the whole file on one integer too big for TOML's i64. Here the loose
//! tree is compared with what serde made of it, and each such value is reported at its key.
//!
//! The rule: a bool is `true` or `false`, a whole number is an integer, a decimal is an
//! integer or a float, in the file and in `TIKTWITCH__*` variables alike. A string key
//! takes a string in the file; from the environment, where every value is text, a value
//! that looks like a number or a bool is taken as the text it was.

use config::{Value, ValueKind};

use super::Problem;

/// Marks an integer literal too big for TOML, swapped for a string before parsing so the
/// rest of the file is still read (see [`mark_oversized_integers`]).
const OVERSIZED: &str = "\u{1}tiktwitch-oversized:";

/// The literal a marker string stands for, if `value` is one.
pub fn oversized_literal(value: &Value) -> Option<&str> {
    match &value.kind {
        ValueKind::String(s) => s.strip_prefix(OVERSIZED),
        _ => None,
    }
}

/// Rewrites every decimal integer literal that does not fit TOML's i64 into a marker
/// string (`"\u0001tiktwitch-oversized:99999999999999999999"`), so the TOML parser reads
/// the rest of the file and the key is reported with every other problem. Strings and
/// comments are left alone.
pub fn mark_oversized_integers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut multiline: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        if let Some(delim) = multiline {
            out.push_str(line);
            if count_delims(line, delim) % 2 == 1 {
                multiline = None;
            }
            continue;
        }
        let (marked, opened) = mark_line(line);
        out.push_str(&marked);
        multiline = opened;
    }
    out
}

fn count_delims(line: &str, delim: &str) -> usize {
    line.matches(delim).count()
}

/// One line outside multi-line strings; also says whether it opens one.
fn mark_line(line: &str) -> (String, Option<&'static str>) {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let mut after_value_start = false; // the last meaningful char was `=`, `,`, `[` or `{`
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..].iter().take(3).collect();
        if rest == "\"\"\"" || rest == "'''" {
            let delim = if c == '"' { "\"\"\"" } else { "'''" };
            let tail: String = chars[i + 3..].iter().collect();
            out.push_str(delim);
            if tail.contains(delim) {
                // Opens and closes on this line.
                let end = tail.find(delim).unwrap_or(0) + 3;
                out.push_str(&tail[..end]);
                let consumed = tail[..end].chars().count();
                i += 3 + consumed;
                after_value_start = false;
                continue;
            }
            out.push_str(&tail);
            return (out, Some(delim));
        }
        match c {
            '#' => {
                out.extend(&chars[i..]);
                break;
            }
            '"' | '\'' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if c == '"' && chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(chars.len());
                out.extend(&chars[start..i]);
                after_value_start = false;
                continue;
            }
            '=' | ',' | '[' | '{' => {
                after_value_start = true;
                out.push(c);
            }
            c if c.is_whitespace() => out.push(c),
            _ if after_value_start => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], ',' | ']' | '}' | '#')
                {
                    i += 1;
                }
                let token: String = chars[start..i].iter().collect();
                if is_oversized_integer(&token) {
                    out.push_str(&format!("\"\\u0001tiktwitch-oversized:{token}\""));
                } else {
                    out.push_str(&token);
                }
                after_value_start = false;
                continue;
            }
            _ => {
                after_value_start = false;
                out.push(c);
            }
        }
        i += 1;
    }
    (out, None)
}

/// A decimal integer literal (`+`/`-`, digits, `_` between them) that TOML's i64 cannot hold.
fn is_oversized_integer(token: &str) -> bool {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if digits.is_empty()
        || !digits.starts_with(|c: char| c.is_ascii_digit())
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    token.replace('_', "").parse::<i64>().is_err()
}

/// A value of the loose tree that serde accepted only by converting it.
pub struct Loose {
    /// The key path relative to the tree (`twitch.tls`, `webhook[0].timeout_secs`).
    pub path: String,
    /// What was expected and found.
    pub message: String,
}

/// Every value of `tree` whose kind the typed result (`typed`, `T` serialized) does not
/// allow without a conversion.
pub fn loose_values(tree: &Value, typed: &serde_json::Value) -> Vec<Loose> {
    let mut found = Vec::new();
    walk("", tree, typed, &mut found);
    found
}

fn walk(path: &str, loose: &Value, typed: &serde_json::Value, found: &mut Vec<Loose>) {
    use serde_json::Value as J;
    let from_env = loose.origin().is_some_and(|o| o.contains("environment"));
    let shown = || describe(loose);
    let mut report = |message: String| {
        found.push(Loose {
            path: path.to_owned(),
            message,
        });
    };
    if oversized_literal(loose).is_some() {
        report(format!("expected a number, found {}", shown()));
        return;
    }
    match (&loose.kind, typed) {
        (ValueKind::Table(map), J::Object(fields)) => {
            for (key, child) in map {
                if let Some(t) = fields.get(key) {
                    walk(&join(path, key), child, t, found);
                }
            }
        }
        (ValueKind::Array(items), J::Array(typed_items)) => {
            for (i, (child, t)) in items.iter().zip(typed_items).enumerate() {
                walk(&format!("{path}[{i}]"), child, t, found);
            }
        }
        (ValueKind::Boolean(_), J::Bool(_)) => {}
        (_, J::Bool(_)) => report(format!("expected true or false, found {}", shown())),
        (ValueKind::Float(f), J::Number(n)) if !n.is_f64() => {
            report(format!("expected a whole number, found {f}"));
        }
        (ValueKind::String(_), J::Number(_)) => {
            report(format!("expected a number, found {}", shown()));
        }
        (ValueKind::String(_), J::String(_)) => {}
        (
            ValueKind::Boolean(_)
            | ValueKind::I64(_)
            | ValueKind::I128(_)
            | ValueKind::U64(_)
            | ValueKind::U128(_)
            | ValueKind::Float(_),
            J::String(_),
        ) if !from_env => {
            report(format!("expected a string, found {}", shown()));
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A loose value as a problem shows it: `string "no"`, `integer 1`, `99999999999999999999`.
pub fn describe(value: &Value) -> String {
    if let Some(literal) = oversized_literal(value) {
        return literal.to_owned();
    }
    match &value.kind {
        ValueKind::String(s) => format!("string {s:?}"),
        ValueKind::Boolean(b) => format!("boolean {b}"),
        ValueKind::I64(n) => format!("integer {n}"),
        ValueKind::I128(n) => format!("integer {n}"),
        ValueKind::U64(n) => format!("integer {n}"),
        ValueKind::U128(n) => format!("integer {n}"),
        ValueKind::Float(f) => format!("number {f}"),
        ValueKind::Nil => "nothing".into(),
        ValueKind::Table(_) => "a table".into(),
        ValueKind::Array(_) => "a list".into(),
    }
}

/// The number a loose value holds, as written, when it is one (for range messages).
pub fn number_literal(value: &Value) -> Option<String> {
    if let Some(literal) = oversized_literal(value) {
        return Some(literal.to_owned());
    }
    match &value.kind {
        ValueKind::I64(n) => Some(n.to_string()),
        ValueKind::I128(n) => Some(n.to_string()),
        ValueKind::U64(n) => Some(n.to_string()),
        ValueKind::U128(n) => Some(n.to_string()),
        ValueKind::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// A problem at `path` (already prefixed) from a [`Loose`] value.
pub fn problem(path: String, loose: &Loose) -> Problem {
    Problem::new(path, loose.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_integers_too_big_for_toml_are_marked() {
        let text = "a = 99999999999999999999 # 99999999999999999999\n\
                    b = \"99999999999999999999\"\nc = [1, -99999999999999999999]\n\
                    d = 9_223_372_036_854_775_807\ne = 1979-05-27\nf = '''\n99999999999999999999\n'''\n\
                    g = { x = 1_000_000_000_000_000_000_000 }\n";
        let marked = mark_oversized_integers(text);
        let built = config::Config::builder()
            .add_source(config::File::from_str(&marked, config::FileFormat::Toml))
            .build()
            .unwrap_or_else(|e| panic!("{e}\n{marked}"));
        let get = |key: &str| built.get::<Value>(key).unwrap();
        let literal = |key: &str| oversized_literal(&get(key)).map(str::to_owned);
        assert_eq!(literal("a").as_deref(), Some("99999999999999999999"));
        assert_eq!(get("b").into_string().unwrap(), "99999999999999999999");
        assert_eq!(literal("c[1]").as_deref(), Some("-99999999999999999999"));
        assert_eq!(get("d").into_int().unwrap(), i64::MAX);
        assert_eq!(get("f").into_string().unwrap(), "99999999999999999999\n");
        assert_eq!(
            literal("g.x").as_deref(),
            Some("1_000_000_000_000_000_000_000")
        );
        assert!(literal("e").is_none());
        assert!(
            marked.contains("# 99999999999999999999\n"),
            "comments untouched"
        );
    }
}
