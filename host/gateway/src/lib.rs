//! The gateway: an HTTP server on loopback that speaks the OpenAI and Anthropic
//! wire formats, routes every request through the router, and reloads plugins
//! and config in place.
//!
//! `openai` and `anthropic` translate between each API's JSON/SSE and the
//! router's plain types; they hold no I/O, so every shape is unit-tested.

mod admin;
pub mod anthropic;
pub mod daemon;
pub mod openai;
pub mod server;

use serde_json::{Map, Value};

use claw_core::router::{Prompt, RunOutcome};
use claw_types::ClientClass;

/// A model request parsed from either API.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The model as the client named it (a ref or an alias), echoed back.
    pub model: String,
    pub prompt: Prompt,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
}

/// An error to send back in the API's own error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The API's error type, e.g. `invalid_request_error`, `authentication_error`.
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request_error", message)
    }
}

// ---- Helpers shared by the `openai` and `anthropic` translations (pure). ----

/// A process-unique id: nanoseconds since the epoch, then a process-wide
/// counter, in hex. Unique within a process without a UUID dependency.
pub(crate) fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{nanos:016x}{:08x}", n as u32)
}

pub(crate) fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request body as a JSON object, or a 400 saying what is wrong.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body is empty: send a JSON object (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::invalid(format!(
            "body must be a JSON object, got {}",
            kind_of(&other)
        ))),
        Err(e) => Err(ApiError::invalid(format!("body is not valid JSON: {e}"))),
    }
}

/// `model`: the non-empty string the client named (resolved later, by the server).
pub(crate) fn model_field(body: &Map<String, Value>) -> Result<String, ApiError> {
    const WHAT: &str = "a provider/model ref or an alias, see GET /v1/models";
    match body.get("model") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(ApiError::invalid(format!("`model` is required ({WHAT})")))
        }
        Some(other) => Err(ApiError::invalid(format!(
            "`model` must be a string ({WHAT}), got {}",
            kind_of(other)
        ))),
    }
}

/// An optional boolean; `null` counts as absent.
pub(crate) fn opt_bool(value: Option<&Value>, name: &str) -> Result<bool, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::invalid(format!(
            "`{name}` must be true or false, got {}",
            short(other)
        ))),
    }
}

/// An optional token limit: a whole number from 1 to u32::MAX.
pub(crate) fn opt_max_tokens(value: Option<&Value>, name: &str) -> Result<Option<u32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(ApiError::invalid(format!(
                "`{name}` must be a positive whole number of tokens, got {}",
                short(v)
            ))),
        },
    }
}

/// An optional temperature within the API's documented range `0..=max`.
pub(crate) fn opt_temperature(value: Option<&Value>, max: f64) -> Result<Option<f32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(t) if (0.0..=max).contains(&t) => Ok(Some(t as f32)),
            _ => Err(ApiError::invalid(format!(
                "`temperature` must be a number from 0 to {max}, got {}",
                short(v)
            ))),
        },
    }
}

/// "a string", "an array", ...: for messages about a value of the wrong type.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A client's value quoted back in an error, cut to a readable length.
pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// How the candidates of a failed request failed, when they all agree (the
/// class of each reason is in `Reason::traits`); this picks the status, so a
/// client backs off on 429/529 and retries a 504.
fn all_failed_class(outcome: &RunOutcome) -> ClientClass {
    use claw_core::router::Outcome;
    // Candidates skipped while cooling down say nothing new about this request.
    let mut classes = outcome
        .attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failure)
        .map(|a| a.reason.map_or(ClientClass::Other, |r| r.traits().client));
    match classes.next() {
        Some(first) if classes.all(|c| c == first) => first,
        _ => ClientClass::Other,
    }
}

/// Every candidate failed: a status clients retry or back off on (429, the
/// API's overloaded status, 504, 502), never 401 for an upstream auth failure,
/// since the client's own token was fine. The message is the router's summary
/// (it names every attempt and holds no secret).
pub(crate) fn all_failed(outcome: &RunOutcome, overloaded_status: u16) -> ApiError {
    let class = all_failed_class(outcome);
    let error = outcome
        .error
        .clone()
        .unwrap_or_else(|| claw_core::router::all_failed(&outcome.attempts));
    match class {
        ClientClass::RateLimit => ApiError::new(429, "rate_limit_error", error),
        ClientClass::Overloaded => ApiError::new(overloaded_status, "overloaded_error", error),
        ClientClass::Timeout => ApiError::new(504, "timeout_error", error),
        ClientClass::UpstreamAuth => ApiError::new(502, "api_error", format!(
            "The upstream provider rejected the credentials claw holds for it (your own token for claw was accepted); fix the provider's API key or login in claw's config. {error}"
        )),
        ClientClass::Other => ApiError::new(502, "api_error", error),
    }
}

/// Test helpers shared by the `openai` and `anthropic` translation tests.
#[cfg(test)]
pub(crate) mod test_support {
    use claw_core::router::{Attempt, Outcome, Reason, RunOutcome};

    /// A routed request where every candidate failed with these reasons.
    pub(crate) fn failed(attempts: &[(Reason, Option<u16>)]) -> RunOutcome {
        let attempts: Vec<Attempt> = attempts
            .iter()
            .enumerate()
            .map(|(i, &(reason, status))| Attempt {
                provider: "p".into(),
                model: format!("m{i}"),
                outcome: if reason == Reason::Cooldown {
                    Outcome::Skipped
                } else {
                    Outcome::Failure
                },
                reason: Some(reason),
                status,
                latency_ms: 5,
                error: Some("upstream said no".into()),
            })
            .collect();
        let error = claw_core::router::all_failed(&attempts);
        RunOutcome {
            ok: false,
            provider: None,
            model: None,
            attempts,
            text: String::new(),
            usage: None,
            stop_reason: None,
            error: Some(error),
        }
    }
}
