//! Tool definitions, tool choice, and a tool round trip with everything 0.2
//! carries, as content blocks.

use super::tests::{hint, request};
use super::*;
use claw_plugin_sdk::testing::{text_message as text, tool_call, tool_result};

/// A tool round trip with everything 0.2 carries: cache hints, tools,
/// thinking with a signature, redacted thinking, tool results with images.
fn agent_request() -> ChatRequest {
    let mut req = request(vec![
        Message {
            role: Role::User,
            content: vec![
                ContentPart::Text(TextPart {
                    text: "What's the weather in Paris? Here is a map.".into(),
                    cache: None,
                }),
                ContentPart::Image(ImagePart {
                    source: ImageSource::Url("https://example.com/map.png".into()),
                    cache: hint(None),
                }),
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![
                ContentPart::Reasoning(ReasoningPart {
                    text: "The user wants the weather.".into(),
                    signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3h".into()),
                }),
                ContentPart::RedactedReasoning("EmwKAhgBEgy3va3pzix".into()),
                ContentPart::Reasoning(ReasoningPart {
                    text: "unsigned, from another upstream".into(),
                    signature: None,
                }),
                ContentPart::text("Let me check."),
                tool_call(
                    "toolu_01A09q90qw90lq917835lq9",
                    "get_weather",
                    r#"{"location": "Paris, France"}"#,
                ),
                tool_call("toolu_02", "get_time", ""),
            ],
        },
        Message {
            role: Role::User,
            content: vec![
                ContentPart::text("Also, is it sunny?"),
                ContentPart::ToolResult(ToolResult {
                    call_id: "toolu_01A09q90qw90lq917835lq9".into(),
                    content: vec![
                        ToolOutput::Text("15 degrees".into()),
                        ToolOutput::Image(ImageSource::Base64(ImageData {
                            media_type: "image/jpeg".into(),
                            data: "/9j/4AAQ".into(),
                        })),
                    ],
                    is_error: false,
                    cache: hint(Some(3600)),
                }),
                ContentPart::ToolResult(ToolResult {
                    call_id: "toolu_02".into(),
                    content: vec![ToolOutput::Text("clock unavailable".into())],
                    is_error: true,
                    cache: None,
                }),
            ],
        },
    ]);
    req.system = vec![
        TextPart {
            text: "You are a weather bot.".into(),
            cache: hint(Some(300)),
        },
        "Be brief.".into(),
    ];
    req.tools = vec![
        Tool {
            name: "get_weather".into(),
            description: Some("Get the current weather in a given location".into()),
            input_schema: r#"{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}"#.into(),
            cache: None,
        },
        Tool {
            name: "get_time".into(),
            description: None,
            input_schema: "{}".into(),
            cache: hint(Some(7200)),
        },
    ];
    req
}

#[test]
fn a_tool_round_trip_becomes_content_blocks() {
    let body = body(&agent_request()).unwrap();
    let expected = json!({
        "model": "MiniMax-M2",
        "max_tokens": 4096,
        "stream": true,
        "system": [
            {"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be brief."}
        ],
        "tools": [
            {"name": "get_weather", "description": "Get the current weather in a given location",
             "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}},
            {"name": "get_time", "input_schema": {"type": "object"},
             "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What's the weather in Paris? Here is a map."},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/map.png"},
                 "cache_control": {"type": "ephemeral"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "The user wants the weather.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                 "input": {"location": "Paris, France"}},
                {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": [
                    {"type": "text", "text": "15 degrees"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
                ], "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"type": "tool_result", "tool_use_id": "toolu_02",
                 "content": [{"type": "text", "text": "clock unavailable"}], "is_error": true},
                {"type": "text", "text": "Also, is it sunny?"}
            ]}
        ]
    });
    assert_eq!(body, expected);
}

#[test]
fn tool_choice_follows_the_request() {
    let choice = |choice: Option<ToolChoice>, parallel: Option<bool>| {
        let mut req = agent_request();
        req.tool_choice = choice;
        req.parallel_tool_calls = parallel;
        body(&req).unwrap().get("tool_choice").cloned()
    };
    assert_eq!(choice(None, None), None);
    assert_eq!(choice(None, Some(true)), None);
    assert_eq!(
        choice(None, Some(false)),
        Some(json!({"type": "auto", "disable_parallel_tool_use": true}))
    );
    assert_eq!(
        choice(Some(ToolChoice::Auto), None),
        Some(json!({"type": "auto"}))
    );
    assert_eq!(
        choice(Some(ToolChoice::Required), Some(false)),
        Some(json!({"type": "any", "disable_parallel_tool_use": true}))
    );
    assert_eq!(
        choice(Some(ToolChoice::Named("get_weather".into())), None),
        Some(json!({"type": "tool", "name": "get_weather"}))
    );
    assert_eq!(
        choice(Some(ToolChoice::None), Some(false)),
        Some(json!({"type": "none"}))
    );
    // Without tools there is nothing to choose from.
    let mut req = request(vec![text(Role::User, "Hi")]);
    req.tool_choice = Some(ToolChoice::Required);
    req.parallel_tool_calls = Some(false);
    let body = body(&req).unwrap();
    assert!(body.get("tool_choice").is_none() && body.get("tools").is_none());
}

#[test]
fn malformed_json_texts_are_format_errors() {
    let mut req = agent_request();
    req.tools[0].input_schema = "{not json".into();
    let e = body(&req).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert_eq!(
        e.message,
        "anthropic-messages: the input schema of tool get_weather must be a JSON object"
    );
    let mut req = agent_request();
    req.messages[1].content[4] = tool_call("toolu_9", "get_weather", "[1, 2]");
    let e = body(&req).unwrap_err();
    assert_eq!(
        (e.reason, e.message.as_str()),
        (
            ErrorReason::Format,
            "anthropic-messages: the arguments of tool call toolu_9 must be a JSON object"
        )
    );
}

#[test]
fn a_tool_result_without_content_sends_none() {
    let result = ContentPart::ToolResult(ToolResult {
        call_id: "toolu_1".into(),
        content: vec![ToolOutput::Text(String::new())],
        is_error: false,
        cache: None,
    });
    let req = request(vec![Message {
        role: Role::User,
        content: vec![result, tool_result("toolu_2", "ok")],
    }]);
    let body = body(&req).unwrap();
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_1"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "ok"}]}
        ])
    );
}
