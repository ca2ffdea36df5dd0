//! Small helpers for messages about JSON values users and clients send.

use serde_json::Value;

/// "a string", "an array", ...: for messages about a value of the wrong type.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
