//! Classifying the failures OpenAI-compatible upstreams report. Pure logic, no
//! host calls; the SDK's `upstream` module reads the common body shapes and
//! words the message (prefixed with the API, free of the credential).

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::ErrorBody;

pub const API: &str = "openai-completions";

/// A failure the upstream reported: an HTTP error body (`status` is `Some`) or
/// an error chunk in the stream (`None`). OpenAI's shape is
/// `{"error":{"message":"...","type":"...","code":"..."}}`; OpenRouter puts the
/// HTTP status in a numeric `code`, Ollama sends `{"error":"..."}`.
pub fn upstream_error(status: Option<u16>, body: &str, retry_after_ms: Option<u64>) -> PluginError {
    let error = ErrorBody::parse(body);
    let (code, kind) = (error.field("code"), error.field("type"));
    let reason = code
        .and_then(reason_for_code)
        .or_else(|| kind.and_then(reason_for_code));
    let status = status.or_else(|| error.status("code"));
    error.to_error(API, status, code.or(kind), reason, retry_after_ms)
}

/// Error codes and types of OpenAI and of Moonshot (which names them its own way).
fn reason_for_code(code: &str) -> Option<ErrorReason> {
    Some(match code {
        "insufficient_quota" | "exceeded_current_quota_error" => ErrorReason::Billing,
        "model_not_found" => ErrorReason::ModelNotFound,
        "invalid_api_key" | "invalid_authentication_error" => ErrorReason::Auth,
        "rate_limit_exceeded" | "rate_limit_reached_error" => ErrorReason::RateLimit,
        "engine_overloaded_error" => ErrorReason::Overloaded,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_types_map_to_reasons() {
        let cases = [
            (
                429,
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
                ErrorReason::Billing,
            ),
            (
                404,
                r#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
                ErrorReason::ModelNotFound,
            ),
            (
                401,
                r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
                ErrorReason::Auth,
            ),
            (
                429,
                r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
                ErrorReason::RateLimit,
            ),
            (
                429,
                r#"{"error":{"message":"busy","type":"engine_overloaded_error"}}"#,
                ErrorReason::Overloaded,
            ),
            (
                429,
                r#"{"error":{"message":"Your account is suspended, please check your plan","type":"exceeded_current_quota_error"}}"#,
                ErrorReason::Billing,
            ),
            (
                400,
                r#"{"error":{"message":"bad","type":"invalid_request_error","code":null}}"#,
                ErrorReason::Format,
            ),
            (
                402,
                r#"{"error":{"message":"Insufficient credits","code":402}}"#,
                ErrorReason::Billing,
            ),
            (
                404,
                r#"{"error":"model 'llama9' not found"}"#,
                ErrorReason::ModelNotFound,
            ),
            (
                503,
                "<html>Service Unavailable</html>",
                ErrorReason::Unknown,
            ),
        ];
        for (status, body, reason) in cases {
            let e = upstream_error(Some(status), body, None);
            assert_eq!(e.reason, reason, "{body}");
            assert_eq!(e.status, Some(status));
            assert!(
                e.message.starts_with("openai-completions: HTTP "),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn messages_name_status_code_and_text() {
        let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        let e = upstream_error(Some(429), body, Some(1500));
        assert_eq!(
            e.message,
            "openai-completions: HTTP 429 rate_limit_exceeded: Rate limit reached"
        );
        assert_eq!(e.retry_after_ms, Some(1500));
        let e = upstream_error(Some(500), "", None);
        assert_eq!(e.message, "openai-completions: HTTP 500");
        let e = upstream_error(Some(500), &"x".repeat(5000), None);
        assert!(e.message.len() < 400);
    }

    #[test]
    fn stream_errors_take_the_status_from_a_numeric_code() {
        let body = r#"{"id":"x","error":{"code":429,"message":"Rate limited upstream"}}"#;
        let e = upstream_error(None, body, None);
        assert_eq!((e.reason, e.status), (ErrorReason::RateLimit, Some(429)));
        assert_eq!(
            e.message,
            "openai-completions: HTTP 429 Rate limited upstream"
        );
        let e = upstream_error(None, r#"{"error":{"message":"boom"}}"#, None);
        assert_eq!(
            (e.reason, e.message.as_str()),
            (
                ErrorReason::Unknown,
                "openai-completions: stream error boom"
            )
        );
    }

    #[test]
    fn secrets_are_redacted_and_messages_prefixed() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-abc123","code":"invalid_api_key"}}"#;
        let e = upstream_error(Some(401), body, None).redacted(Some("sk-abc123"));
        assert!(!e.message.contains("sk-abc123"), "{}", e.message);
        let e = PluginError::new(ErrorReason::Network, "request to x failed").prefixed(API);
        assert_eq!(e.message, "openai-completions: request to x failed");
    }
}
