use super::*;
use claw_plugin_sdk::testing::{
    header_values as get, image_message, key_values, request as bare, text_message as text,
};

fn endpoint(auth_header: bool, headers: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        provider: "minimax".into(),
        api: "anthropic-messages".into(),
        base_url: "https://api.minimax.io/anthropic/".into(),
        headers: key_values(headers),
        auth_header,
    }
}

pub(super) fn request(messages: Vec<Message>) -> ChatRequest {
    let mut request = bare(messages);
    request.endpoint = endpoint(false, &[]);
    request.credential = RequestCredential::ApiKey("sk-secret".into());
    request.model = "MiniMax-M2".into();
    request
}

pub(super) fn hint(ttl: Option<u32>) -> Option<CacheHint> {
    Some(CacheHint { ttl_seconds: ttl })
}

fn passthrough(api: &str, headers: &[(&str, &str)], body: &[(&str, &str)]) -> Option<Passthrough> {
    Some(Passthrough {
        api: api.into(),
        headers: key_values(headers),
        body: key_values(body),
    })
}

#[test]
fn url_joins_without_double_slash() {
    assert_eq!(
        url("https://api.minimax.io/anthropic"),
        "https://api.minimax.io/anthropic/v1/messages"
    );
    assert_eq!(
        url("https://api.anthropic.com/"),
        "https://api.anthropic.com/v1/messages"
    );
}

#[test]
fn credentials_go_in_the_right_header() {
    let mut req = request(vec![]);
    req.credential = RequestCredential::ApiKey("k1".into());
    let h = headers(&req);
    assert_eq!(get(&h, "x-api-key"), ["k1"]);
    assert!(get(&h, "authorization").is_empty());
    assert_eq!(get(&h, "anthropic-version"), ["2023-06-01"]);
    assert_eq!(get(&h, "accept"), ["text/event-stream"]);

    req.endpoint = endpoint(true, &[]);
    req.streaming = false;
    let h = headers(&req);
    assert_eq!(get(&h, "authorization"), ["Bearer k1"]);
    assert!(get(&h, "x-api-key").is_empty());
    assert!(get(&h, "accept").is_empty());

    req.credential = RequestCredential::Bearer("t1".into());
    assert_eq!(get(&headers(&req), "authorization"), ["Bearer t1"]);
    req.credential = RequestCredential::None;
    let h = headers(&req);
    assert!(get(&h, "authorization").is_empty() && get(&h, "x-api-key").is_empty());
}

#[test]
fn configured_headers_are_added_and_override() {
    let mut req = request(vec![]);
    req.endpoint = endpoint(
        false,
        &[("Anthropic-Version", "2024-01-01"), ("anthropic-beta", "x")],
    );
    let h = headers(&req);
    assert_eq!(get(&h, "anthropic-version"), ["2024-01-01"]);
    assert_eq!(get(&h, "anthropic-beta"), ["x"]);
}

#[test]
fn passthrough_headers_apply_to_this_api_only() {
    let mut req = request(vec![]);
    let client = [
        ("anthropic-beta", "interleaved-thinking-2025-05-14, x"),
        ("anthropic-version", "2023-01-01"),
        ("x-api-key", "client-key"),
    ];
    req.passthrough = passthrough("anthropic-messages", &client, &[]);
    let h = headers(&req);
    assert_eq!(get(&h, "anthropic-version"), ["2023-01-01"]);
    assert_eq!(
        get(&h, "anthropic-beta"),
        ["interleaved-thinking-2025-05-14, x"]
    );
    assert_eq!(
        get(&h, "x-api-key"),
        ["sk-secret"],
        "the credential is ours"
    );

    // Configured betas are added to the client's; configured versions win.
    req.endpoint = endpoint(
        false,
        &[
            ("anthropic-beta", "x,y"),
            ("anthropic-version", "2024-01-01"),
        ],
    );
    let h = headers(&req);
    assert_eq!(
        get(&h, "anthropic-beta"),
        ["interleaved-thinking-2025-05-14,x,y"]
    );
    assert_eq!(get(&h, "anthropic-version"), ["2024-01-01"]);

    req.passthrough = passthrough("openai-completions", &client, &[]);
    req.endpoint = endpoint(false, &[]);
    let h = headers(&req);
    assert_eq!(get(&h, "anthropic-version"), ["2023-06-01"]);
    assert!(get(&h, "anthropic-beta").is_empty());
}

#[test]
fn body_has_defaults_and_a_plain_system_prompt() {
    let mut req = request(vec![
        text(Role::User, "Hi"),
        image_message("What is this?", "image/png", "iVBOR"),
        text(Role::Assistant, "Une image."),
        text(Role::User, ""),
    ]);
    req.system = vec!["Be brief.".into(), "".into(), "Use French.".into()];
    let body = body(&req).unwrap();
    assert_eq!(body["model"], "MiniMax-M2");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["stream"], true);
    assert_eq!(body["system"], "Be brief.\n\nUse French.");
    for absent in ["temperature", "top_p", "tools", "tool_choice", "thinking"] {
        assert!(body.get(absent).is_none(), "{absent}: {body}");
    }
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "empty messages are not sent: {body}");
    assert_eq!(
        messages[0],
        json!({"role": "user", "content": [{"type": "text", "text": "Hi"}]})
    );
    assert_eq!(
        messages[1]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}})
    );
    assert_eq!(messages[2]["role"], "assistant");

    req.system.clear();
    req.max_tokens = Some(100);
    req.temperature = Some(0.7);
    req.top_p = Some(0.9);
    req.stop = vec!["\n\nHuman:".into()];
    req.streaming = false;
    let body = super::body(&req).unwrap();
    assert!(body.get("system").is_none());
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["temperature"], json!(0.7));
    assert_eq!(body["top_p"], json!(0.9));
    assert_eq!(body["stop_sequences"], json!(["\n\nHuman:"]));
    assert_eq!(body["stream"], false);
}

#[test]
fn thinking_takes_a_budget_within_max_tokens() {
    let with = |reasoning: ReasoningSetting, max: Option<u32>| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        req.reasoning = Some(reasoning);
        req.max_tokens = max;
        req.temperature = Some(0.7);
        req.top_p = Some(0.5);
        body(&req).unwrap()
    };
    let b = with(ReasoningSetting::BudgetTokens(10_000), Some(16_000));
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 10_000})
    );
    assert_eq!(b["max_tokens"], 16_000);
    assert!(b.get("temperature").is_none(), "thinking allows only 1");
    assert_eq!(b["top_p"], json!(0.95));

    let b = with(ReasoningSetting::Effort(ReasoningEffort::Medium), None);
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 12_000})
    );
    assert_eq!(b["max_tokens"], 16_096, "the default answer on top");

    let b = with(ReasoningSetting::BudgetTokens(8_000), Some(2_000));
    assert_eq!(
        (
            b["max_tokens"].clone(),
            b["thinking"]["budget_tokens"].clone()
        ),
        (json!(2_000), json!(1_999))
    );
    let b = with(ReasoningSetting::BudgetTokens(500), Some(800));
    assert_eq!(
        b["thinking"]["budget_tokens"], 1_024,
        "the upstream decides"
    );

    let b = with(ReasoningSetting::Disabled, None);
    assert_eq!(b["thinking"], json!({"type": "disabled"}));
    assert_eq!(b["temperature"], json!(0.7));
    assert_eq!(b["top_p"], json!(0.5));
    assert_eq!(b["max_tokens"], 4096);

    let mut req = request(vec![text(Role::User, "Hi")]);
    req.reasoning = Some(ReasoningSetting::BudgetTokens(2_048));
    req.temperature = Some(1.0);
    assert_eq!(body(&req).unwrap()["temperature"], json!(1.0));
}

#[test]
fn json_output_is_unsupported() {
    let mut req = request(vec![text(Role::User, "Hi")]);
    req.response_format = Some(ResponseFormat::Text);
    assert!(body(&req).is_ok());
    let schema = JsonSchemaFormat {
        name: "answer".into(),
        description: None,
        schema: "{}".into(),
        strict: true,
    };
    for format in [ResponseFormat::Json, ResponseFormat::JsonSchema(schema)] {
        req.response_format = Some(format);
        let e = body(&req).unwrap_err();
        assert_eq!(e.reason, ErrorReason::Unsupported);
        assert!(
            e.message.starts_with("anthropic-messages: "),
            "{}",
            e.message
        );
    }
}

#[test]
fn passthrough_body_fields_never_override_ours() {
    let mut req = request(vec![text(Role::User, "Hi")]);
    let fields = [
        ("metadata", r#"{"user_id":"user-123"}"#),
        ("model", r#""claude-other""#),
        ("max_tokens", "1"),
        ("top_k", "40"),
    ];
    req.passthrough = passthrough("anthropic-messages", &[], &fields);
    let b = body(&req).unwrap();
    assert_eq!(b["metadata"], json!({"user_id": "user-123"}));
    assert_eq!(b["top_k"], 40);
    assert_eq!(
        (b["model"].as_str(), b["max_tokens"].as_u64()),
        (Some("MiniMax-M2"), Some(4096))
    );

    req.passthrough = passthrough("openai-completions", &[], &fields);
    let b = body(&req).unwrap();
    assert!(b.get("metadata").is_none() && b.get("top_k").is_none());
}
