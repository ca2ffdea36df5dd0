//! Classifying the failures the Responses API reports: HTTP error bodies, and
//! failures inside a stream (an `error` event, a `response.failed`). Pure
//! logic, no host calls; the SDK's `upstream` module reads the body and words
//! the message (prefixed with the API, free of the credential).

use claw_plugin_sdk::classify_status;
use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::ErrorBody;
use serde_json::{Value, json};

pub const API: &str = "openai-responses";

/// A failure the upstream reported: an HTTP error body (`status` is `Some`)
/// or an error inside the stream (`None`, the body then in the HTTP shape:
/// see [`stream_error`]). OpenAI's shape is
/// `{"error":{"message":"...","type":"...","param":...,"code":"..."}}`;
/// OpenRouter puts the HTTP status in a numeric `code`.
pub fn upstream_error(status: Option<u16>, body: &str, retry_after_ms: Option<u64>) -> PluginError {
    let error = ErrorBody::parse(body);
    let (code, kind) = (error.field("code"), error.field("type"));
    let message = error.message().unwrap_or("");
    let reason = code
        .and_then(|c| reason_for_code(c, message))
        .or_else(|| kind.and_then(|k| reason_for_code(k, message)))
        .or_else(|| context_overflow(message).then_some(ErrorReason::Format));
    let status = status.or_else(|| error.status("code"));
    let reason = reason
        .or_else(|| status.map(|s| reason_for_status(s, body)))
        // A stream has no status: an invalid request is still one.
        .or_else(|| (kind == Some("invalid_request_error")).then_some(ErrorReason::Format));
    error.to_error(API, status, code.or(kind), reason, retry_after_ms)
}

/// An error inside the stream as [`upstream_error`] reads it. `error` is an
/// `error` event (its fields at the top, or under `error`) or a failed
/// response's `error` object (`{"code","message"}`).
pub fn stream_error(error: &Value) -> PluginError {
    let inner = if error["error"].is_object() {
        &error["error"]
    } else {
        error
    };
    let mut fields = serde_json::Map::new();
    for key in ["message", "type", "param", "code"] {
        if !inner[key].is_null() {
            fields.insert(key.into(), inner[key].clone());
        }
    }
    if fields.is_empty() {
        fields.insert(
            "message".into(),
            "the response failed without saying why".into(),
        );
    }
    upstream_error(None, &json!({ "error": fields }).to_string(), None)
}

/// The reason for an HTTP status the body does not explain. As the SDK's
/// classification, except that every 5xx but a gateway timeout means the
/// upstream is struggling (OpenAI answers 500 "server_error" and 503 "Slow
/// Down" when it is): worth trying another model.
fn reason_for_status(status: u16, body: &str) -> ErrorReason {
    match status {
        500..=503 | 505..=599 => ErrorReason::Overloaded,
        _ => classify_status(status, body),
    }
}

/// Error codes and types of the Responses API: HTTP errors and a failed
/// response's `error.code`.
fn reason_for_code(code: &str, message: &str) -> Option<ErrorReason> {
    Some(match code {
        "insufficient_quota" => ErrorReason::Billing,
        "model_not_found" => ErrorReason::ModelNotFound,
        "invalid_api_key" | "invalid_authentication" | "authentication_error" => ErrorReason::Auth,
        "rate_limit_exceeded" | "rate_limit_error" => ErrorReason::RateLimit,
        "server_error" | "server_is_overloaded" | "engine_overloaded_error" => {
            ErrorReason::Overloaded
        }
        "vector_store_timeout" | "timeout" => ErrorReason::Timeout,
        "context_length_exceeded" | "string_above_max_length" | "invalid_prompt" => {
            ErrorReason::Format
        }
        image if image.starts_with("invalid_image") || image.starts_with("image_") => {
            ErrorReason::Format
        }
        // The model named in the request does not exist (a 400 or 404 that
        // says so): another model may.
        "invalid_request_error" if classify_status(400, message) == ErrorReason::ModelNotFound => {
            ErrorReason::ModelNotFound
        }
        _ => return None,
    })
}

/// The prompt does not fit the model's context window, in the words OpenAI
/// and compatible servers use.
fn context_overflow(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "context length",
        "context window",
        "maximum context",
        "too many tokens",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests;
