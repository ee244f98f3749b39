//! Parsing JSON that holds secrets (the secrets file, the stored token) with errors that
//! name the key path and the JSON type found, never a value.
//!
//! serde's own messages quote what they did not expect (`invalid type: integer
//! `123456`, expected a string`): for a secrets file that is the secret. So the text is
//! parsed into a [`serde_json::Value`] first (syntax errors carry only a position), then
//! deserialized with the path tracked, and the message rebuilt from the path, the type
//! found there and serde's "expected ..." part (which describes our types, not the input).

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

/// Parses `text` into `T`; the error says what is wrong and where, without any value.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "it ends too early",
            _ => "a syntax error",
        };
        format!(
            "it is not valid JSON ({what} at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    serde_path_to_error::deserialize::<_, T>(&value).map_err(|e| {
        let segments: Vec<Segment> = e.path().iter().cloned().collect();
        let found = lookup(&value, &segments).map_or("absent", kind);
        let inner = e.inner().to_string();
        let at = if segments.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{}`", e.path())
        };
        if let Some(field) = inner.strip_prefix("missing field ") {
            // The field name is ours (a struct field), never input.
            return format!("{at}: missing field {field}");
        }
        // serde writes "..., expected <what our type wants>" last; everything before it
        // may quote the input. A value containing ", expected " is still cut off, since
        // serde's own part comes after it.
        match inner.rsplit_once(", expected ") {
            Some((_, expected)) if segments.is_empty() && expected.starts_with("struct ") => {
                format!("{at} is {found}, expected a JSON object")
            }
            Some((_, expected)) => format!("{at} is {found}, expected {expected}"),
            None => format!("{at} ({found}) is not allowed there"),
        }
    })
}

fn lookup<'v>(value: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, segment| match segment {
        Segment::Map { key } => v.get(key),
        Segment::Seq { index } => v.get(index),
        Segment::Enum { .. } | Segment::Unknown => Some(v),
    })
}

/// The JSON type of `value`, as words.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        version: u32,
        secrets: BTreeMap<String, String>,
    }

    #[test]
    fn errors_name_the_path_and_type_never_the_value() {
        let cases = [
            (
                r#"{"version":1,"secrets":{"twitch-token":987654321987}}"#,
                "`secrets.twitch-token` is a number, expected a string",
                "987654321987",
            ),
            (
                r#"{"version":"v-leak-4711","secrets":{}}"#,
                "`version` is a string, expected u32",
                "v-leak-4711",
            ),
            (
                r#"{"version":4294967296999,"secrets":{}}"#,
                "`version` is a number, expected u32",
                "4294967296999",
            ),
            (r#""just-a-token-0815""#, "the top level is a string, expected a JSON object", "just-a-token-0815"),
            (
                r#"{"secrets":{"a":"kept-value-123"}}"#,
                "missing field `version`",
                "kept-value-123",
            ),
            (r#"{"version":1,"secrets":{"a":"unterminated-9911"#, "not valid JSON", "unterminated-9911"),
            ("raw-token-value-5150", "not valid JSON", "raw-token-value-5150"),
        ];
        for (input, want, secret) in cases {
            let err = parse::<Shape>(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
            assert!(!err.contains(secret), "{input}: {err}");
        }
        let ok: Shape = parse(r#"{"version":1,"secrets":{"a":"b"}}"#).unwrap();
        assert_eq!(ok.secrets["a"], "b");
    }
}
