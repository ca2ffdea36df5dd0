//! Building a request body from the contract's fields: JSON texts the request
//! carries (tool schemas, tool-call arguments) and the client's passthrough.
//! Pure Rust, tested natively.

use serde_json::{Map, Value};

use crate::PluginErrorExt;
use crate::types::{ChatRequest, ErrorReason, KeyValue, Passthrough, PluginError};

/// Headers a passthrough never replaces: the credential, the body's framing
/// and what the plugin reads the reply as are the plugin's own.
const OWN_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "accept",
    "accept-encoding",
    "connection",
];

/// The request's passthrough when its client spoke `api` (the API this plugin
/// speaks); `None` otherwise, since another API's fields mean nothing here.
pub fn passthrough<'a>(request: &'a ChatRequest, api: &str) -> Option<&'a Passthrough> {
    request.passthrough.as_ref().filter(|p| p.api == api)
}

/// Adds each passthrough body field that `body` (an object) does not have
/// yet: the fields the plugin set win. A value that is not JSON is skipped.
pub fn merge_body_fields(body: &mut Value, fields: &[KeyValue]) {
    let Some(body) = body.as_object_mut() else {
        return;
    };
    for field in fields {
        if body.contains_key(&field.key) {
            continue;
        }
        if let Ok(value) = serde_json::from_str::<Value>(&field.value) {
            body.insert(field.key.clone(), value);
        }
    }
}

/// `headers` with the passthrough's laid over them: each replaces ours of
/// the same name (any case), except the plugin's own (credential, framing).
pub fn with_passthrough_headers(
    mut headers: Vec<(String, String)>,
    passthrough: &[KeyValue],
) -> Vec<(String, String)> {
    for kv in passthrough {
        let name = kv.key.to_ascii_lowercase();
        if OWN_HEADERS.contains(&name.as_str()) {
            continue;
        }
        headers.retain(|(ours, _)| !ours.eq_ignore_ascii_case(&name));
        headers.push((name, kv.value.clone()));
    }
    headers
}

/// A JSON-object text of the request (a tool's schema, a call's arguments)
/// as an object. Empty text is an empty object; anything else that is not an
/// object is a `Format` error naming `what` (not quoting the text).
pub fn json_object(api: &str, what: &str, text: &str) -> Result<Map<String, Value>, PluginError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(PluginError::new(
            ErrorReason::Format,
            format!("{api}: {what} must be a JSON object"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{key_values, request};
    use serde_json::json;

    #[test]
    fn passthrough_applies_only_to_its_own_api() {
        let mut req = request(vec![]);
        assert!(passthrough(&req, "openai-completions").is_none());
        req.passthrough = Some(Passthrough {
            api: "anthropic-messages".into(),
            headers: vec![],
            body: vec![],
        });
        assert!(passthrough(&req, "openai-completions").is_none());
        assert!(passthrough(&req, "anthropic-messages").is_some());
    }

    #[test]
    fn body_fields_never_override_ours() {
        let mut body = json!({"model": "m", "stream": true});
        let fields = key_values(&[
            ("model", r#""other""#),
            ("metadata", r#"{"user_id":"u1"}"#),
            ("broken", "{"),
            ("top_k", "5"),
        ]);
        merge_body_fields(&mut body, &fields);
        let expected =
            json!({"model": "m", "stream": true, "metadata": {"user_id": "u1"}, "top_k": 5});
        assert_eq!(body, expected);
        let mut not_an_object = json!([]);
        merge_body_fields(&mut not_an_object, &fields);
        assert_eq!(not_an_object, json!([]));
    }

    #[test]
    fn passthrough_headers_replace_ours_but_not_the_plugins_own() {
        let ours = vec![
            ("anthropic-version".to_string(), "2023-06-01".to_string()),
            ("x-api-key".to_string(), "k".to_string()),
            ("accept".to_string(), "text/event-stream".to_string()),
        ];
        let passed = key_values(&[
            ("Anthropic-Version", "2024-01-01"),
            ("anthropic-beta", "a,b"),
            ("X-Api-Key", "stolen"),
            ("Accept", "*/*"),
        ]);
        let headers = with_passthrough_headers(ours, &passed);
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("x-api-key", "k"),
                ("accept", "text/event-stream"),
                ("anthropic-version", "2024-01-01"),
                ("anthropic-beta", "a,b"),
            ]
        );
    }

    #[test]
    fn json_objects_are_checked() {
        let object = json_object("api", "x", r#"{"a":1}"#).unwrap();
        assert_eq!(Value::Object(object), json!({"a": 1}));
        assert!(json_object("api", "x", "  ").unwrap().is_empty());
        for bad in ["[1]", "{", "\"s\"", "null"] {
            let e = json_object("api", "the arguments of tool call c1", bad).unwrap_err();
            assert_eq!(e.reason, ErrorReason::Format);
            assert_eq!(
                e.message,
                "api: the arguments of tool call c1 must be a JSON object"
            );
        }
    }
}
