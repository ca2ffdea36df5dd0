use super::*;
use claw_plugin_sdk::testing::{
    header_values as get, image_message, key_values, request as bare, text_message as text,
    tool_call, tool_result,
};

fn endpoint(headers: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        provider: "openrouter".into(),
        api: "openai-completions".into(),
        base_url: "https://openrouter.ai/api/v1/".into(),
        headers: key_values(headers),
        auth_header: false,
    }
}

fn request(messages: Vec<Message>) -> ChatRequest {
    let mut request = bare(messages);
    request.endpoint = endpoint(&[]);
    request.model = "moonshotai/kimi-k2".into();
    request
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
        url("https://openrouter.ai/api/v1/"),
        "https://openrouter.ai/api/v1/chat/completions"
    );
    assert_eq!(
        url("http://127.0.0.1:1234/v1"),
        "http://127.0.0.1:1234/v1/chat/completions"
    );
}

#[test]
fn credentials_are_bearer_tokens_or_nothing() {
    let mut req = request(vec![]);
    req.credential = RequestCredential::ApiKey("k1".into());
    let h = headers(&req);
    assert_eq!(get(&h, "authorization"), ["Bearer k1"]);
    assert_eq!(get(&h, "accept"), ["text/event-stream"]);
    req.credential = RequestCredential::Bearer("t1".into());
    req.streaming = false;
    let h = headers(&req);
    assert_eq!(get(&h, "authorization"), ["Bearer t1"]);
    assert!(get(&h, "accept").is_empty());
    req.credential = RequestCredential::None;
    req.streaming = true;
    req.endpoint = endpoint(&[("X-Title", "claw")]);
    let h = headers(&req);
    assert!(get(&h, "authorization").is_empty());
    assert_eq!(get(&h, "x-title"), ["claw"]);
    assert_eq!(get(&h, "content-type"), ["application/json"]);
}

#[test]
fn passthrough_headers_and_fields_apply_to_this_api_only() {
    let mut req = request(vec![text(Role::User, "Hi")]);
    req.credential = RequestCredential::ApiKey("k1".into());
    let headers_in = [
        ("openai-organization", "org-1"),
        ("authorization", "Bearer other"),
    ];
    let fields = [
        ("seed", "42"),
        ("user", r#""u-1""#),
        ("model", r#""gpt-other""#),
        ("stream", "false"),
    ];
    req.passthrough = passthrough("openai-completions", &headers_in, &fields);
    let h = headers(&req);
    assert_eq!(get(&h, "openai-organization"), ["org-1"]);
    assert_eq!(get(&h, "authorization"), ["Bearer k1"]);
    let b = body(&req).unwrap();
    assert_eq!(
        (b["seed"].clone(), b["user"].clone()),
        (json!(42), json!("u-1"))
    );
    assert_eq!(
        (b["model"].clone(), b["stream"].clone()),
        (json!("moonshotai/kimi-k2"), json!(true))
    );

    req.passthrough = passthrough("anthropic-messages", &headers_in, &fields);
    assert!(get(&headers(&req), "openai-organization").is_empty());
    let b = body(&req).unwrap();
    assert!(b.get("seed").is_none() && b.get("user").is_none());
}

#[test]
fn body_uses_strings_for_text_and_parts_for_images() {
    let mut request = request(vec![
        Message {
            role: Role::User,
            content: vec![ContentPart::text("a"), ContentPart::text("b")],
        },
        text(Role::Assistant, "ok"),
        image_message("What is this?", "image/png", "iVBOR"),
    ]);
    request.system = vec!["Be brief.".into(), "Use French.".into()];
    let b = body(&request).unwrap();
    assert_eq!(b["model"], "moonshotai/kimi-k2");
    assert_eq!(b["stream"], true);
    assert_eq!(b["stream_options"], json!({"include_usage": true}));
    for absent in [
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "response_format",
    ] {
        assert!(b.get(absent).is_none(), "{absent}: {b}");
    }
    assert_eq!(
        b["messages"][0],
        json!({"role": "system", "content": "Be brief.\n\nUse French."})
    );
    assert_eq!(b["messages"][1], json!({"role": "user", "content": "a\nb"}));
    assert_eq!(
        b["messages"][2],
        json!({"role": "assistant", "content": "ok"})
    );
    assert_eq!(
        b["messages"][3]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
        ])
    );

    request.streaming = false;
    request.max_tokens = Some(256);
    request.temperature = Some(0.2);
    request.top_p = Some(0.9);
    request.stop = vec!["END".into(), "\n\n".into()];
    let b = body(&request).unwrap();
    assert_eq!(b["stream"], false);
    assert!(b.get("stream_options").is_none());
    assert_eq!(b["max_tokens"], 256);
    assert_eq!(b["temperature"], json!(0.2));
    assert_eq!(b["top_p"], json!(0.9));
    assert_eq!(b["stop"], json!(["END", "\n\n"]));
}

/// A tool round trip: calls with reasoning, results with text, an error,
/// and an image, then more user text.
fn agent_request() -> ChatRequest {
    let image = ImageSource::Url("https://example.com/chart.png".into());
    request(vec![
        text(Role::User, "What's the weather in Paris and Boston?"),
        Message {
            role: Role::Assistant,
            content: vec![
                ContentPart::Reasoning(ReasoningPart {
                    text: "Two cities, ".into(),
                    signature: None,
                }),
                ContentPart::Reasoning(ReasoningPart {
                    text: "two calls.".into(),
                    signature: Some("anthropic-only".into()),
                }),
                ContentPart::RedactedReasoning("opaque".into()),
                tool_call("call_abc123", "get_weather", r#"{"location":"Paris"}"#),
                tool_call("call_def456", "get_weather", ""),
            ],
        },
        Message {
            role: Role::User,
            content: vec![
                ContentPart::text("Also plot it."),
                tool_result("call_abc123", "18°C, sunny"),
                ContentPart::ToolResult(ToolResult {
                    call_id: "call_def456".into(),
                    content: vec![ToolOutput::Image(image)],
                    is_error: true,
                    cache: Some(CacheHint { ttl_seconds: None }),
                }),
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![ContentPart::text("Here it is.")],
        },
    ])
}

#[test]
fn a_tool_round_trip_becomes_tool_calls_and_tool_messages() {
    let mut req = agent_request();
    req.tools = vec![Tool {
        name: "get_weather".into(),
        description: Some("Get the current weather".into()),
        input_schema: r#"{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}"#.into(),
        cache: Some(CacheHint { ttl_seconds: Some(3600) }),
    }, Tool {
        name: "now".into(),
        description: None,
        input_schema: String::new(),
        cache: None,
    }];
    let b = body(&req).unwrap();
    assert_eq!(
        b["tools"],
        json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather",
             "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}},
            {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
        ])
    );
    let expected = json!([
        {"role": "user", "content": "What's the weather in Paris and Boston?"},
        {"role": "assistant", "content": null, "reasoning_content": "Two cities, two calls.", "tool_calls": [
            {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
            {"id": "call_def456", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_abc123", "content": "18°C, sunny"},
        {"role": "tool", "tool_call_id": "call_def456",
         "content": "(the result is an image, attached in the next message)"},
        {"role": "user", "content": [
            {"type": "text", "text": "Images returned by the tool calls above:"},
            {"type": "image_url", "image_url": {"url": "https://example.com/chart.png"}},
            {"type": "text", "text": "Also plot it."}
        ]},
        {"role": "assistant", "content": "Here it is."}
    ]);
    assert_eq!(b["messages"], expected);
}

#[test]
fn a_message_of_only_tool_results_is_only_tool_messages() {
    let req = request(vec![Message {
        role: Role::User,
        content: vec![tool_result("call_1", "a"), tool_result("call_2", "b")],
    }]);
    let b = body(&req).unwrap();
    assert_eq!(
        b["messages"],
        json!([
            {"role": "tool", "tool_call_id": "call_1", "content": "a"},
            {"role": "tool", "tool_call_id": "call_2", "content": "b"}
        ])
    );
    // An assistant message with text and a call keeps both.
    let req = request(vec![Message {
        role: Role::Assistant,
        content: vec![ContentPart::text("Checking."), tool_call("c", "f", "{}")],
    }]);
    let m = &body(&req).unwrap()["messages"][0];
    assert_eq!(m["content"], "Checking.");
    assert_eq!(m["tool_calls"][0]["id"], "c");
    assert!(m.get("reasoning_content").is_none());
}

#[test]
fn tool_choice_and_parallel_calls_need_tools() {
    let with = |choice: ToolChoice, tools: bool| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        if tools {
            req.tools = vec![Tool {
                name: "f".into(),
                description: None,
                input_schema: r#"{"type":"object"}"#.into(),
                cache: None,
            }];
        }
        req.tool_choice = Some(choice);
        req.parallel_tool_calls = Some(false);
        body(&req).unwrap()
    };
    let cases = [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::Named("f".into()),
            json!({"type": "function", "function": {"name": "f"}}),
        ),
    ];
    for (choice, expected) in cases {
        let b = with(choice.clone(), true);
        assert_eq!(b["tool_choice"], expected);
        assert_eq!(b["parallel_tool_calls"], false);
        let b = with(choice, false);
        assert!(b.get("tool_choice").is_none() && b.get("parallel_tool_calls").is_none());
    }
}

#[test]
fn reasoning_settings_become_an_effort() {
    let effort = |setting: ReasoningSetting| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        req.reasoning = Some(setting);
        body(&req).unwrap().get("reasoning_effort").cloned()
    };
    use ReasoningEffort::*;
    assert_eq!(
        effort(ReasoningSetting::Effort(Minimal)),
        Some(json!("minimal"))
    );
    assert_eq!(effort(ReasoningSetting::Effort(High)), Some(json!("high")));
    assert_eq!(
        effort(ReasoningSetting::BudgetTokens(1_024)),
        Some(json!("low"))
    );
    assert_eq!(
        effort(ReasoningSetting::BudgetTokens(10_000)),
        Some(json!("medium"))
    );
    assert_eq!(
        effort(ReasoningSetting::BudgetTokens(32_000)),
        Some(json!("high"))
    );
    assert_eq!(effort(ReasoningSetting::Disabled), None);
}

#[test]
fn response_formats_map_to_openais() {
    let format = |format: ResponseFormat| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        req.response_format = Some(format);
        body(&req).map(|b| b.get("response_format").cloned())
    };
    assert_eq!(format(ResponseFormat::Text).unwrap(), None);
    assert_eq!(
        format(ResponseFormat::Json).unwrap(),
        Some(json!({"type": "json_object"}))
    );
    let schema = JsonSchemaFormat {
        name: "weather".into(),
        description: Some("A forecast".into()),
        schema: r#"{"type":"object","properties":{"temp":{"type":"number"}},"required":["temp"],"additionalProperties":false}"#.into(),
        strict: true,
    };
    assert_eq!(
        format(ResponseFormat::JsonSchema(schema.clone())).unwrap(),
        Some(json!({"type": "json_schema", "json_schema": {
            "name": "weather", "description": "A forecast", "strict": true,
            "schema": {"type": "object", "properties": {"temp": {"type": "number"}},
                       "required": ["temp"], "additionalProperties": false}}}))
    );
    let broken = JsonSchemaFormat {
        schema: "{".into(),
        ..schema
    };
    let e = format(ResponseFormat::JsonSchema(broken)).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert_eq!(
        e.message,
        "openai-completions: the response format schema weather must be a JSON object"
    );
}
