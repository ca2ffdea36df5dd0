use super::*;
use claw_plugin_sdk::testing::{
    header_values as get, image_message, key_values, request as bare, text_message as text,
    tool_call, tool_result,
};

fn endpoint(headers: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        provider: "openai".into(),
        api: "openai-responses".into(),
        base_url: "https://api.openai.com/v1/".into(),
        headers: key_values(headers),
        auth_header: false,
    }
}

fn request(messages: Vec<Message>) -> ChatRequest {
    let mut request = bare(messages);
    request.endpoint = endpoint(&[]);
    request.model = "gpt-5".into();
    request
}

fn passthrough(api: &str, headers: &[(&str, &str)], body: &[(&str, &str)]) -> Option<Passthrough> {
    Some(Passthrough {
        api: api.into(),
        headers: key_values(headers),
        body: key_values(body),
    })
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Get the current weather".into()),
        input_schema: r#"{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}"#.into(),
        cache: Some(CacheHint { ttl_seconds: Some(3600) }),
    }
}

#[test]
fn url_joins_without_double_slash() {
    assert_eq!(
        url("https://api.openai.com/v1/"),
        "https://api.openai.com/v1/responses"
    );
    assert_eq!(
        url("http://127.0.0.1:1234/v1"),
        "http://127.0.0.1:1234/v1/responses"
    );
}

#[test]
fn credentials_are_bearer_tokens_or_nothing() {
    let mut req = request(vec![]);
    req.credential = RequestCredential::ApiKey("sk-1".into());
    let h = headers(&req);
    assert_eq!(get(&h, "authorization"), ["Bearer sk-1"]);
    assert_eq!(get(&h, "accept"), ["text/event-stream"]);
    assert_eq!(get(&h, "content-type"), ["application/json"]);
    req.credential = RequestCredential::Bearer("t1".into());
    req.streaming = false;
    let h = headers(&req);
    assert_eq!(get(&h, "authorization"), ["Bearer t1"]);
    assert!(get(&h, "accept").is_empty());
    req.credential = RequestCredential::None;
    req.endpoint = endpoint(&[
        ("OpenAI-Organization", "org-1"),
        ("Authorization", "Bearer configured"),
    ]);
    let h = headers(&req);
    assert_eq!(get(&h, "openai-organization"), ["org-1"]);
    assert_eq!(get(&h, "authorization"), ["Bearer configured"]);
}

#[test]
fn passthrough_headers_and_fields_apply_to_this_api_only() {
    let mut req = request(vec![text(Role::User, "Hi")]);
    req.credential = RequestCredential::ApiKey("sk-1".into());
    let headers_in = [
        ("openai-beta", "responses=v1"),
        ("authorization", "Bearer other"),
    ];
    let fields = [
        ("metadata", r#"{"run":"7"}"#),
        ("truncation", r#""auto""#),
        ("model", r#""gpt-other""#),
        ("store", "true"),
    ];
    req.passthrough = passthrough("openai-responses", &headers_in, &fields);
    let h = headers(&req);
    assert_eq!(get(&h, "openai-beta"), ["responses=v1"]);
    assert_eq!(get(&h, "authorization"), ["Bearer sk-1"]);
    let b = body(&req).unwrap();
    assert_eq!(b["metadata"], json!({"run": "7"}));
    assert_eq!(b["truncation"], "auto");
    assert_eq!(
        (b["model"].clone(), b["store"].clone()),
        (json!("gpt-5"), json!(false))
    );

    req.passthrough = passthrough("openai-completions", &headers_in, &fields);
    assert!(get(&headers(&req), "openai-beta").is_empty());
    let b = body(&req).unwrap();
    assert!(b.get("metadata").is_none() && b.get("truncation").is_none());
}

#[test]
fn a_plain_request_is_instructions_and_messages() {
    let mut request = request(vec![
        Message {
            role: Role::User,
            content: vec![
                ContentPart::text("a"),
                ContentPart::text(""),
                ContentPart::text("b"),
            ],
        },
        text(Role::Assistant, "ok"),
        image_message("What is this?", "image/png", "iVBOR"),
        Message {
            role: Role::User,
            content: vec![],
        },
    ]);
    request.system = vec!["Be brief.".into(), "".into(), "Use French.".into()];
    let b = body(&request).unwrap();
    assert_eq!(
        b,
        json!({
            "model": "gpt-5",
            "instructions": "Be brief.\n\nUse French.",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"}]},
            ],
            "store": false,
            "stream": true,
        })
    );

    request.streaming = false;
    request.system.clear();
    request.max_tokens = Some(256);
    request.temperature = Some(0.2);
    request.top_p = Some(0.9);
    let b = body(&request).unwrap();
    assert_eq!(b["stream"], false);
    assert!(b.get("instructions").is_none());
    assert_eq!(b["max_output_tokens"], 256);
    assert_eq!(b["temperature"], json!(0.2));
    assert_eq!(b["top_p"], json!(0.9));
    for absent in [
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "include",
        "text",
        "stop",
    ] {
        assert!(b.get(absent).is_none(), "{absent}: {b}");
    }
    // OpenAI's floor: a client probing with 1 token still gets an answer.
    request.max_tokens = Some(1);
    assert_eq!(body(&request).unwrap()["max_output_tokens"], 16);
}

#[test]
fn stop_sequences_are_not_sent_but_make_the_request_stream() {
    let mut req = request(vec![text(Role::User, "Count")]);
    req.streaming = false;
    assert!(!streams(&req));
    req.stop = vec!["".into()];
    assert!(!streams(&req), "an empty stop sequence stops nothing");
    req.stop = vec!["5".into()];
    assert!(streams(&req));
    let b = body(&req).unwrap();
    assert!(
        b.get("stop").is_none() && b.get("stop_sequences").is_none(),
        "{b}"
    );
}

/// What an agent sends after a tool round: reasoning with OpenAI's encrypted
/// content, two parallel calls, their results (one an image), user text.
fn agent_request() -> ChatRequest {
    let image = ImageSource::Url("https://example.com/chart.png".into());
    let mut req = request(vec![
        text(Role::User, "What's the weather in Paris and Boston?"),
        Message {
            role: Role::Assistant,
            content: vec![
                ContentPart::Reasoning(ReasoningPart {
                    text: "**Checking two cities**\n\nI will call the tool twice.".into(),
                    signature: Some("gAAAAABo-enc-1".into()),
                }),
                ContentPart::Reasoning(ReasoningPart {
                    text: "unsigned reasoning from elsewhere".into(),
                    signature: None,
                }),
                ContentPart::text("Let me check."),
                tool_call("call_abc123", "get_weather", r#"{"location":"Paris"}"#),
                ContentPart::RedactedReasoning("gAAAAABo-enc-2".into()),
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
            content: vec![
                ContentPart::text("Here it is."),
                ContentPart::text(" Sunny."),
            ],
        },
        text(Role::User, "Thanks! And tomorrow?"),
    ]);
    req.system = vec!["You are a weather assistant.".into()];
    req.tools = vec![
        weather_tool(),
        Tool {
            name: "now".into(),
            description: None,
            input_schema: String::new(),
            cache: None,
        },
    ];
    req.tool_choice = Some(ToolChoice::Auto);
    req.parallel_tool_calls = Some(true);
    req.max_tokens = Some(4096);
    req.reasoning = Some(ReasoningSetting::BudgetTokens(10_000));
    req
}

#[test]
fn a_full_agent_request_is_the_responses_body() {
    let b = body(&agent_request()).unwrap();
    let expected = json!({
        "model": "gpt-5",
        "instructions": "You are a weather assistant.",
        "input": [
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What's the weather in Paris and Boston?"}]},
            {"type": "reasoning", "summary": [
                {"type": "summary_text", "text": "**Checking two cities**\n\nI will call the tool twice."}],
             "encrypted_content": "gAAAAABo-enc-1"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "call_id": "call_abc123", "name": "get_weather",
             "arguments": "{\"location\":\"Paris\"}"},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAABo-enc-2"},
            {"type": "function_call", "call_id": "call_def456", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_abc123", "output": "18°C, sunny"},
            {"type": "function_call_output", "call_id": "call_def456",
             "output": "(the result is an image, attached in the next message)"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Images returned by the tool calls above:"},
                {"type": "input_image", "image_url": "https://example.com/chart.png", "detail": "auto"},
                {"type": "input_text", "text": "Also plot it."}]},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Here it is."}, {"type": "output_text", "text": " Sunny."}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Thanks! And tomorrow?"}]},
        ],
        "tools": [
            {"type": "function", "name": "get_weather", "description": "Get the current weather",
             "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
             "strict": false},
            {"type": "function", "name": "now", "parameters": {"type": "object"}, "strict": false},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "max_output_tokens": 4096,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": false,
        "stream": true,
    });
    assert_eq!(b, expected);
}

#[test]
fn a_message_of_only_tool_results_is_only_outputs() {
    let req = request(vec![Message {
        role: Role::User,
        content: vec![tool_result("call_1", "a"), tool_result("call_2", "b")],
    }]);
    assert_eq!(
        body(&req).unwrap()["input"],
        json!([
            {"type": "function_call_output", "call_id": "call_1", "output": "a"},
            {"type": "function_call_output", "call_id": "call_2", "output": "b"}
        ])
    );
}

#[test]
fn tool_choice_and_parallel_calls_need_tools() {
    let with = |choice: ToolChoice, tools: bool| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        if tools {
            req.tools = vec![weather_tool()];
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
            ToolChoice::Named("get_weather".into()),
            json!({"type": "function", "name": "get_weather"}),
        ),
    ];
    for (choice, expected) in cases {
        let b = with(choice.clone(), true);
        assert_eq!(b["tool_choice"], expected);
        assert_eq!(b["parallel_tool_calls"], false);
        let b = with(choice, false);
        assert!(b.get("tool_choice").is_none() && b.get("parallel_tool_calls").is_none());
    }
    let mut req = request(vec![]);
    req.tools = vec![Tool {
        input_schema: "[1]".into(),
        ..weather_tool()
    }];
    let e = body(&req).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert_eq!(
        e.message,
        "openai-responses: the input schema of tool get_weather must be a JSON object"
    );
}

#[test]
fn reasoning_settings_become_an_effort_with_its_encrypted_content() {
    let reasoning = |setting: ReasoningSetting| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        req.reasoning = Some(setting);
        let b = body(&req).unwrap();
        let include = b.get("include").cloned();
        b.get("reasoning").map(|r| {
            assert_eq!(r["summary"], "auto");
            assert_eq!(include, Some(json!(["reasoning.encrypted_content"])));
            r["effort"].clone()
        })
    };
    use ReasoningEffort::*;
    assert_eq!(
        reasoning(ReasoningSetting::Effort(Minimal)),
        Some(json!("minimal"))
    );
    assert_eq!(
        reasoning(ReasoningSetting::Effort(High)),
        Some(json!("high"))
    );
    assert_eq!(
        reasoning(ReasoningSetting::BudgetTokens(1_024)),
        Some(json!("low"))
    );
    assert_eq!(
        reasoning(ReasoningSetting::BudgetTokens(32_000)),
        Some(json!("high"))
    );
    assert_eq!(reasoning(ReasoningSetting::BudgetTokens(0)), None);
    assert_eq!(reasoning(ReasoningSetting::Disabled), None);
    let b = body(&request(vec![text(Role::User, "Hi")])).unwrap();
    assert!(
        b.get("include").is_none(),
        "models that do not reason refuse it"
    );
}

#[test]
fn response_formats_are_text_formats() {
    let format = |format: ResponseFormat| {
        let mut req = request(vec![text(Role::User, "Hi")]);
        req.response_format = Some(format);
        body(&req).map(|b| b.get("text").cloned())
    };
    assert_eq!(format(ResponseFormat::Text).unwrap(), None);
    assert_eq!(
        format(ResponseFormat::Json).unwrap(),
        Some(json!({"format": {"type": "json_object"}}))
    );
    let schema = JsonSchemaFormat {
        name: "weather".into(),
        description: Some("A forecast".into()),
        schema: r#"{"type":"object","properties":{"temp":{"type":"number"}},"required":["temp"],"additionalProperties":false}"#.into(),
        strict: true,
    };
    assert_eq!(
        format(ResponseFormat::JsonSchema(schema.clone())).unwrap(),
        Some(json!({"format": {
            "type": "json_schema", "name": "weather", "description": "A forecast", "strict": true,
            "schema": {"type": "object", "properties": {"temp": {"type": "number"}},
                       "required": ["temp"], "additionalProperties": false}}}))
    );
    let e = format(ResponseFormat::JsonSchema(JsonSchemaFormat {
        schema: "{".into(),
        ..schema
    }))
    .unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert_eq!(
        e.message,
        "openai-responses: the response format schema weather must be a JSON object"
    );
}
