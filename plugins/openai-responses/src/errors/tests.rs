use super::*;

fn body(message: &str, kind: &str, code: Option<&str>) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}}).to_string()
}

#[test]
fn http_errors_map_to_reasons() {
    let cases = [
        (
            429,
            body(
                "Rate limit reached for gpt-5 in organization org-1 on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.",
                "tokens",
                Some("rate_limit_exceeded"),
            ),
            ErrorReason::RateLimit,
        ),
        (
            429,
            body(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
            ErrorReason::Billing,
        ),
        (
            401,
            body(
                "Incorrect API key provided: sk-proj-****abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            ErrorReason::Auth,
        ),
        (
            401,
            body(
                "You didn't provide an API key.",
                "invalid_request_error",
                None,
            ),
            ErrorReason::Auth,
        ),
        (
            403,
            body(
                "Country, region, or territory not supported",
                "request_forbidden",
                Some("unsupported_country_region_territory"),
            ),
            ErrorReason::Auth,
        ),
        (
            400,
            body(
                "The requested model 'gpt-9' does not exist.",
                "invalid_request_error",
                Some("model_not_found"),
            ),
            ErrorReason::ModelNotFound,
        ),
        (
            404,
            body(
                "The model `gpt-9` does not exist or you do not have access to it.",
                "invalid_request_error",
                None,
            ),
            ErrorReason::ModelNotFound,
        ),
        (
            400,
            body(
                "Your input exceeds the context window of this model. Please adjust your input and try again.",
                "invalid_request_error",
                Some("context_length_exceeded"),
            ),
            ErrorReason::Format,
        ),
        (
            400,
            body(
                "Invalid 'input[2].call_id': no function call found for call_id call_x.",
                "invalid_request_error",
                None,
            ),
            ErrorReason::Format,
        ),
        (
            500,
            body(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
            ErrorReason::Overloaded,
        ),
        (
            503,
            "Service Unavailable".to_string(),
            ErrorReason::Overloaded,
        ),
        (
            529,
            body(
                "The server is overloaded or not ready yet.",
                "server_error",
                Some("overloaded"),
            ),
            ErrorReason::Overloaded,
        ),
        (504, "Gateway Timeout".to_string(), ErrorReason::Timeout),
        (
            402,
            r#"{"error":{"message":"Insufficient credits","code":402}}"#.to_string(),
            ErrorReason::Billing,
        ),
        (404, "404 page not found".to_string(), ErrorReason::Unknown),
    ];
    for (status, body, reason) in cases {
        let e = upstream_error(Some(status), &body, None);
        assert_eq!(e.reason, reason, "{status} {body}");
        assert_eq!(e.status, Some(status));
        assert!(
            e.message.starts_with("openai-responses: HTTP "),
            "{}",
            e.message
        );
    }
}

#[test]
fn messages_name_status_code_and_text_and_keep_retry_after() {
    let b = body(
        "Rate limit reached for requests",
        "requests",
        Some("rate_limit_exceeded"),
    );
    let e = upstream_error(Some(429), &b, Some(20_000));
    assert_eq!(
        e.message,
        "openai-responses: HTTP 429 rate_limit_exceeded: Rate limit reached for requests"
    );
    assert_eq!(e.retry_after_ms, Some(20_000));
    let e = upstream_error(Some(500), "", None);
    assert_eq!(e.message, "openai-responses: HTTP 500");
    let e = upstream_error(Some(500), &"x".repeat(5000), None);
    assert!(e.message.len() < 400);
}

#[test]
fn malformed_error_bodies_still_classify_by_status() {
    for (status, reason) in [
        (429, ErrorReason::RateLimit),
        (401, ErrorReason::Auth),
        (400, ErrorReason::Format),
    ] {
        let e = upstream_error(Some(status), "<html>oops</html>", None);
        assert_eq!(e.reason, reason);
        assert_eq!(
            e.message,
            format!("openai-responses: HTTP {status} <html>oops</html>")
        );
    }
}

#[test]
fn stream_errors_in_both_shapes() {
    // The documented `error` event: fields at the top.
    let event = json!({"type": "error", "code": "rate_limit_exceeded", "message": "Rate limit reached", "param": null, "sequence_number": 3});
    let e = stream_error(&event);
    assert_eq!((e.reason, e.status), (ErrorReason::RateLimit, None));
    assert_eq!(
        e.message,
        "openai-responses: stream error rate_limit_exceeded: Rate limit reached"
    );
    // What OpenAI sends: the fields under `error`.
    let event = json!({"type": "error", "sequence_number": 2, "error": {"type": "invalid_request_error", "code": "context_length_exceeded", "message": "Your input exceeds the context window of this model.", "param": "input"}});
    let e = stream_error(&event);
    assert_eq!(e.reason, ErrorReason::Format);
    assert!(
        e.message
            .contains("context_length_exceeded: Your input exceeds"),
        "{}",
        e.message
    );
    // A failed response's error.
    let failed =
        json!({"code": "server_error", "message": "The model failed to generate a response."});
    let e = stream_error(&failed);
    assert_eq!(e.reason, ErrorReason::Overloaded);
    assert_eq!(
        e.message,
        "openai-responses: stream error server_error: The model failed to generate a response."
    );
    let e = stream_error(&json!({"code": "invalid_prompt", "message": "Invalid prompt: flagged."}));
    assert_eq!(e.reason, ErrorReason::Format);
    let e = stream_error(&json!({"type": "invalid_request_error", "message": "bad"}));
    assert_eq!(e.reason, ErrorReason::Format);
    let e = stream_error(&Value::Null);
    assert_eq!(e.reason, ErrorReason::Unknown);
    assert_eq!(
        e.message,
        "openai-responses: stream error the response failed without saying why"
    );
    // OpenRouter's numeric code is an HTTP status.
    let e = stream_error(&json!({"error": {"code": 429, "message": "Rate limited upstream"}}));
    assert_eq!((e.reason, e.status), (ErrorReason::RateLimit, Some(429)));
}

#[test]
fn secrets_are_redacted() {
    let b = body(
        "Incorrect API key provided: sk-abc123",
        "invalid_request_error",
        Some("invalid_api_key"),
    );
    let e = upstream_error(Some(401), &b, None).redacted(Some("sk-abc123"));
    assert!(!e.message.contains("sk-abc123"), "{}", e.message);
    assert!(e.message.contains("[redacted]"), "{}", e.message);
}
