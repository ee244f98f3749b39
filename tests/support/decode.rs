//! The decode tests' common ground: an event as its public JSON, a capture line's
//! payload, and the comparison in the reference's representation.

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;
use tiktwitch::event::Event;

/// The event as JSON, the public schema the reference rows are compared against.
pub fn json_of(event: &Event) -> Value {
    serde_json::to_value(event).expect("events always serialize")
}

pub fn payload_of(line: &Value) -> Bytes {
    let b64 = line["payload"].as_str().expect("payload");
    Bytes::from(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .expect("base64"),
    )
}

/// Compares one reference value with ours, in the reference's representation.
pub fn same(expected: &Value, ours: &Value) -> bool {
    match (expected, ours) {
        (Value::String(a), Value::Number(b)) | (Value::Number(b), Value::String(a)) => {
            *a == b.to_string()
        }
        (Value::Bool(a), Value::String(b)) | (Value::String(b), Value::Bool(a)) => {
            a.to_string() == *b
        }
        _ => expected == ours,
    }
}
