//! Tools, tool use and results, thinking and passthrough in requests.

use http::{HeaderMap, HeaderValue};

use super::*;
use crate::test_support::*;
use claw_types::{CacheHint, KeyValue, ReasoningSetting, Tool, ToolChoice};

fn parse(body: &str) -> ApiRequest {
    parse_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {body}", e.message))
}

#[test]
fn parses_a_tool_conversation_with_ids_unchanged() {
    let req = parse(
        r#"{"model": "a/b", "max_tokens": 100, "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Call the tool.", "signature": "sig1"},
            {"type": "redacted_thinking", "data": "enc"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Oslo"}, "cache_control": {"type": "ephemeral"}},
            {"type": "tool_use", "id": "toolu_02", "name": "noop", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "12C"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/map.png"}}], "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": "boom", "is_error": true},
            {"type": "text", "text": "And tomorrow?"}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "", "signature": ""}]}],
      "tools": [
        {"name": "weather", "description": "Weather by city", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
        {"type": "custom", "name": "noop", "input_schema": {"type": "object", "properties": {}}}],
      "tool_choice": {"type": "tool", "name": "weather", "disable_parallel_tool_use": true},
      "thinking": {"type": "disabled"}}"#,
    );
    let p = &req.prompt;
    assert_eq!(
        show(&p.messages),
        [
            "User: text(Weather in Oslo?)",
            "Assistant: reasoning(Call the tool., sig1) redacted(enc) text(Checking.) call(toolu_01, weather, {\"city\":\"Oslo\"}) call(toolu_02, noop, {})",
            "User: result(toolu_01: 12C image(https://example.com/map.png))[cache Some(3600)] result(toolu_02 error: boom) text(And tomorrow?)",
            "Assistant: ",
        ]
    );
    assert_eq!(
        p.tools,
        [
            Tool {
                name: "weather".into(),
                description: Some("Weather by city".into()),
                input_schema: r#"{"type":"object"}"#.into(),
                cache: Some(CacheHint::default()),
            },
            Tool {
                name: "noop".into(),
                description: None,
                input_schema: r#"{"type":"object","properties":{}}"#.into(),
                cache: None,
            },
        ]
    );
    assert_eq!(p.tool_choice, Some(ToolChoice::Named("weather".into())));
    assert_eq!(p.parallel_tool_calls, Some(false));
    assert_eq!(p.reasoning, Some(ReasoningSetting::Disabled));
    assert_eq!(p.passthrough, None);
}

#[test]
fn headers_and_unmodeled_fields_pass_through() {
    let mut headers = HeaderMap::new();
    headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    headers.append(
        "anthropic-beta",
        HeaderValue::from_static("interleaved-thinking-2025-05-14"),
    );
    headers.append(
        "anthropic-beta",
        HeaderValue::from_static("context-1m-2025-08-07"),
    );
    headers.insert("x-api-key", HeaderValue::from_static("secret"));
    let body = br#"{"model": "a/b", "messages": [{"role": "user", "content": "hi"}], "top_k": 3,
        "metadata": {"user_id": "u"}, "service_tier": "auto", "thinking": {"type": "adaptive"},
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": false}, "container": null, "mcp_servers": []}"#;
    let p = Messages.parse(body, &headers).unwrap().prompt;
    assert_eq!(p.reasoning, None, "adaptive leaves the upstream's default");
    assert_eq!(p.parallel_tool_calls, Some(true));
    let pass = p.passthrough.unwrap();
    assert_eq!(pass.api, "anthropic-messages");
    assert_eq!(
        pass.headers,
        [
            KeyValue::new("anthropic-beta", "interleaved-thinking-2025-05-14"),
            KeyValue::new("anthropic-beta", "context-1m-2025-08-07"),
            KeyValue::new("anthropic-version", "2023-06-01"),
        ],
        "never the client's key"
    );
    let body: Vec<String> = pass
        .body
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    assert_eq!(
        body,
        [
            "top_k=3",
            "metadata={\"user_id\":\"u\"}",
            "service_tier=\"auto\"",
            "thinking={\"type\":\"adaptive\"}",
        ]
    );
    let enabled = parse(
        r#"{"model": "a/b", "messages": [{"role": "user", "content": "hi"}], "thinking": {"type": "enabled", "budget_tokens": 1024}}"#,
    );
    assert_eq!(
        enabled.prompt.reasoning,
        Some(ReasoningSetting::BudgetTokens(1024))
    );
    assert_eq!(
        enabled.prompt.passthrough, None,
        "a modeled thinking is not passed"
    );
}

#[test]
fn each_malformed_tool_request_gets_a_clear_400() {
    let user = r#"{"role": "user", "content": "hi"}"#;
    let with = |extra: &str| format!(r#"{{"model": "a/b", "messages": [{user}], {extra}}}"#);
    let turn = |role: &str, blocks: &str| {
        format!(
            r#"{{"model": "a/b", "messages": [{user}, {{"role": "{role}", "content": {blocks}}}]}}"#
        )
    };
    let called = |blocks: &str| {
        format!(
            r#"{{"model": "a/b", "messages": [{user}, {{"role": "assistant", "content": [{{"type": "tool_use", "id": "t1", "name": "f", "input": {{}}}}]}}, {{"role": "user", "content": {blocks}}}]}}"#
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (
            with(r#""tools": [{"type": "bash_20250124", "name": "bash"}]"#),
            "tools[0]: the server tool type \"bash_20250124\" is not supported: claw carries only custom tools ({\"name\", \"description\", \"input_schema\"}); remove it from `tools`",
        ),
        (
            with(
                r#""tools": [{"name": "f", "input_schema": {}}, {"name": "f", "input_schema": {}}]"#,
            ),
            "tools[1]: the tool name \"f\" is used twice; tool names must be unique",
        ),
        (
            with(r#""tools": [{"name": "f"}]"#),
            "tools[0] (\"f\").input_schema is required: a JSON Schema object",
        ),
        (
            with(r#""tools": [{"name": "f", "input_schema": "{}"}]"#),
            "tools[0] (\"f\").input_schema must be a JSON Schema object, got a string",
        ),
        (
            with(r#""tools": [{"input_schema": {}}]"#),
            "tools[0].name must be a non-empty string",
        ),
        (
            with(
                r#""tools": [{"name": "f", "input_schema": {}}], "tool_choice": {"type": "tool", "name": "g"}"#,
            ),
            "`tool_choice` names the tool \"g\", which is not in `tools`",
        ),
        (
            with(r#""tool_choice": {"type": "tool"}"#),
            "`tool_choice` must be {\"type\": \"auto\"}, {\"type\": \"any\"}, {\"type\": \"tool\", \"name\": \"...\"} or {\"type\": \"none\"}, got {\"type\":\"tool\"}",
        ),
        (
            with(r#""tool_choice": {"type": "auto", "disable_parallel_tool_use": "yes"}"#),
            "`tool_choice.disable_parallel_tool_use` must be true or false, got \"yes\"",
        ),
        (
            with(r#""thinking": {"type": "enabled"}"#),
            "`thinking.budget_tokens` is required with \"enabled\"",
        ),
        (
            with(r#""thinking": {"type": "on"}"#),
            "`thinking` must be {\"type\": \"enabled\", \"budget_tokens\": N}, {\"type\": \"disabled\"} or {\"type\": \"adaptive\"}",
        ),
        (
            with(r#""stop_sequences": [1]"#),
            "`stop_sequences` must be a string or an array of strings, got 1",
        ),
        (
            with(r#""mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]"#),
            "`mcp_servers`: claw does not carry MCP connector blocks; leave `mcp_servers` out and give the tools as custom `tools`",
        ),
        (
            turn(
                "user",
                r#"[{"type": "tool_result", "tool_use_id": "nope", "content": "x"}]"#,
            ),
            "messages[1].content[0].tool_use_id: the tool call id \"nope\" matches no tool call in an earlier assistant message",
        ),
        (
            turn(
                "user",
                r#"[{"type": "tool_use", "id": "t", "name": "f", "input": {}}]"#,
            ),
            "messages[1].content[0]: \"tool_use\" blocks may only appear in assistant messages",
        ),
        (
            turn(
                "assistant",
                r#"[{"type": "tool_result", "tool_use_id": "t"}]"#,
            ),
            "messages[1].content[0]: \"tool_result\" blocks may only appear in user messages",
        ),
        (
            turn(
                "assistant",
                r#"[{"type": "tool_use", "name": "f", "input": {}}]"#,
            ),
            "messages[1].content[0]: a tool_use block needs a non-empty string `id`",
        ),
        (
            turn(
                "assistant",
                r#"[{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]"#,
            ),
            "messages[1].content[0]: \"server_tool_use\" blocks are not supported: claw carries text, image, tool_use, tool_result, thinking and redacted_thinking blocks",
        ),
        (
            turn(
                "user",
                r#"[{"type": "web_search_tool_result", "tool_use_id": "s", "content": []}]"#,
            ),
            "messages[1].content[0]: \"web_search_tool_result\" blocks are not supported: claw carries text, image, tool_use, tool_result, thinking and redacted_thinking blocks",
        ),
        (
            turn("assistant", r#"[{"type": "redacted_thinking"}]"#),
            "messages[1].content[0]: a redacted_thinking block needs a string `data`",
        ),
        (
            turn(
                "user",
                r#"[{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": 60}}]"#,
            ),
            "messages[1].content[0].cache_control.ttl must be a string like \"1h\", got 60",
        ),
        (
            called(
                r#"[{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "document", "source": {}}]}]"#,
            ),
            "messages[2].content[0].content[0]: \"document\" blocks are not supported in a tool result: claw carries text and image blocks there",
        ),
        (
            called(r#"[{"type": "tool_result", "tool_use_id": "t1", "content": 5}]"#),
            "messages[2].content[0].content must be a string or an array of text and image blocks, got a number",
        ),
        (
            called(r#"[{"type": "tool_result", "tool_use_id": "t1", "is_error": "no"}]"#),
            "messages[2].content[0].is_error must be true or false, got \"no\"",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse_error(&Messages, &body), expected, "body: {body}");
    }
}
