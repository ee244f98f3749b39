//! `schema/events.schema.json` and a validator for the part of JSON Schema it uses
//! (`type`, `const`, `enum`, `properties`, `required`, `additionalProperties: false`,
//! `$ref` into `$defs`, `items`, `anyOf`, `oneOf`, the digits-only `pattern`), so a test can
//! say "this real output keeps to the schema" and name the first path that does not.

use serde_json::Value;

/// The schema file.
pub fn events_schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/events.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Panics with the path and the reason when `event` does not keep to the schema entry of
/// its `type`.
pub fn assert_valid_event(schema: &Value, event: &Value) {
    let type_name = event["type"].as_str().expect("an event has a type");
    let entry = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["properties"]["type"]["const"] == type_name)
        .unwrap_or_else(|| panic!("no schema entry for {type_name}"));
    if let Err(e) = validate(schema, entry, event, type_name) {
        panic!("{e}\nin {event:#}");
    }
}

/// Checks `value` against `rule` (a schema node); `Err` names where and why.
pub fn validate(root: &Value, rule: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(target) = rule.get("$ref").and_then(Value::as_str) {
        let name = target
            .strip_prefix("#/$defs/")
            .expect("refs point into $defs");
        return validate(root, &root["$defs"][name], value, at);
    }
    if let Some(expected) = rule.get("const")
        && expected != value
    {
        return Err(format!("{at}: {value} is not {expected}"));
    }
    if let Some(options) = rule.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(kind) = rule.get("type").and_then(Value::as_str) {
        let fits = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("{at}: the validator does not know type {other}"),
        };
        if !fits {
            return Err(format!("{at}: {value} is not of type {kind}"));
        }
    }
    if let Some(pattern) = rule.get("pattern").and_then(Value::as_str) {
        assert_eq!(pattern, "^[0-9]+$", "{at}: the validator knows one pattern");
        let text = value.as_str().unwrap_or_default();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{at}: {value} is not a decimal string"));
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = rule.get(key).and_then(Value::as_array) {
            let fitting = options
                .iter()
                .filter(|o| validate(root, o, value, at).is_ok())
                .count();
            let ok = if key == "oneOf" {
                fitting == 1
            } else {
                fitting > 0
            };
            if !ok {
                return Err(format!("{at}: {value} fits {fitting} of the {key} options"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        let props = rule.get("properties").and_then(Value::as_object);
        for required in rule
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: the required {name} is missing"));
            }
        }
        for (key, field) in object {
            match props.and_then(|p| p.get(key)) {
                Some(sub) => validate(root, sub, field, &format!("{at}.{key}"))?,
                None if rule.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}.{key} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (rule.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(root, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}
