//! Classifying the failures Anthropic reports. Pure logic, no host calls; the
//! SDK's `upstream` module reads the common body shapes and words the message
//! (prefixed with the API, free of the credential).

use claw_plugin_sdk::classify_status;
use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::ErrorBody;

pub const API: &str = "anthropic-messages";

/// A failure the upstream reported: an HTTP error body (`status` is `Some`) or
/// an `error` event in the stream (`None`). Anthropic's shape is
/// `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`.
pub fn upstream_error(status: Option<u16>, body: &str, retry_after_ms: Option<u64>) -> PluginError {
    let error = ErrorBody::parse(body);
    let kind = error.field("type");
    let reason = kind.and_then(|k| reason_for_type(k, error.message().unwrap_or("")));
    // Some compatible endpoints (MiniMax) put the HTTP code inside the error.
    let status = status.or_else(|| error.status("http_code"));
    error.to_error(API, status, kind, reason, retry_after_ms)
}

/// Anthropic's documented error types.
fn reason_for_type(kind: &str, message: &str) -> Option<ErrorReason> {
    Some(match kind {
        "overloaded_error" => ErrorReason::Overloaded,
        "rate_limit_error" => ErrorReason::RateLimit,
        "authentication_error" | "permission_error" => ErrorReason::Auth,
        "not_found_error" => ErrorReason::ModelNotFound,
        "billing_error" => ErrorReason::Billing,
        "timeout_error" => ErrorReason::Timeout,
        "request_too_large" => ErrorReason::Format,
        "invalid_request_error" => {
            let lower = message.to_ascii_lowercase();
            if ["credit", "balance", "billing"]
                .iter()
                .any(|w| lower.contains(w))
            {
                ErrorReason::Billing
            } else if classify_status(400, message) == ErrorReason::ModelNotFound {
                ErrorReason::ModelNotFound // "model: unknown model ..." is worth failing over
            } else {
                ErrorReason::Format
            }
        }
        "api_error" => ErrorReason::Unknown,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: &str, message: &str) -> String {
        format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"{message}"}}}}"#)
    }

    #[test]
    fn error_types_map_to_reasons() {
        let cases = [
            (
                "overloaded_error",
                "Overloaded",
                529,
                ErrorReason::Overloaded,
            ),
            ("rate_limit_error", "slow down", 429, ErrorReason::RateLimit),
            (
                "authentication_error",
                "invalid x-api-key",
                401,
                ErrorReason::Auth,
            ),
            ("permission_error", "no access", 403, ErrorReason::Auth),
            (
                "not_found_error",
                "model: claude-9",
                404,
                ErrorReason::ModelNotFound,
            ),
            (
                "invalid_request_error",
                "messages: field required",
                400,
                ErrorReason::Format,
            ),
            (
                "invalid_request_error",
                "Your credit balance is too low",
                400,
                ErrorReason::Billing,
            ),
            (
                "invalid_request_error",
                "model not found: x",
                400,
                ErrorReason::ModelNotFound,
            ),
            (
                "api_error",
                "Internal server error",
                500,
                ErrorReason::Unknown,
            ),
            ("billing_error", "pay up", 402, ErrorReason::Billing),
        ];
        for (kind, message, status, reason) in cases {
            let e = upstream_error(Some(status), &err(kind, message), None);
            assert_eq!(e.reason, reason, "{kind} {message}");
            assert_eq!(e.status, Some(status));
        }
    }

    #[test]
    fn message_names_api_status_and_type() {
        let e = upstream_error(
            Some(529),
            &err("overloaded_error", "Overloaded"),
            Some(2000),
        );
        assert_eq!(
            e.message,
            "anthropic-messages: HTTP 529 overloaded_error: Overloaded"
        );
        assert_eq!(e.retry_after_ms, Some(2000));
        let e = upstream_error(None, &err("overloaded_error", "Overloaded"), None);
        assert_eq!(
            e.message,
            "anthropic-messages: stream error overloaded_error: Overloaded"
        );
        assert_eq!((e.reason, e.status), (ErrorReason::Overloaded, None));
    }

    #[test]
    fn unknown_shapes_fall_back_to_the_status() {
        let e = upstream_error(Some(429), "Too many requests", None);
        assert_eq!(e.reason, ErrorReason::RateLimit);
        assert_eq!(e.message, "anthropic-messages: HTTP 429 Too many requests");
        let e = upstream_error(Some(402), "", None);
        assert_eq!(
            (e.reason, e.message.as_str()),
            (ErrorReason::Billing, "anthropic-messages: HTTP 402")
        );
        let e = upstream_error(Some(401), &err("authorized_error", "bad key"), None);
        assert_eq!(e.reason, ErrorReason::Auth);
        // A status inside the error (MiniMax) classifies a stream error.
        let body = r#"{"type":"error","error":{"type":"x","message":"m","http_code":"529"}}"#;
        let e = upstream_error(None, body, None);
        assert_eq!((e.reason, e.status), (ErrorReason::Overloaded, Some(529)));
        // Long bodies are cut.
        let e = upstream_error(Some(500), &"x".repeat(5000), None);
        assert!(e.message.len() < 400);
        // Not even JSON in a stream error.
        assert_eq!(upstream_error(None, "{", None).reason, ErrorReason::Unknown);
    }

    #[test]
    fn secrets_are_redacted_and_messages_prefixed() {
        let e = upstream_error(
            Some(401),
            &err("authentication_error", "invalid key sk-ant-123"),
            None,
        );
        let e = e.redacted(Some("sk-ant-123"));
        assert!(
            !e.message.contains("sk-ant-123") && e.message.contains("[redacted]"),
            "{}",
            e.message
        );
        let e = PluginError::new(ErrorReason::Network, "request to x failed").prefixed(API);
        assert_eq!(e.message, "anthropic-messages: request to x failed");
        assert_eq!(e.clone().prefixed(API).message, e.message);
    }
}
