//! Tools, reasoning, images by URL, the modeled settings and passthrough.

use super::*;
use crate::test_support::*;
use claw_types::{CacheHint, ReasoningEffort, ReasoningSetting, ResponseFormat, Tool, ToolChoice};

fn parse(body: &str) -> ApiRequest {
    parse_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {body}", e.message))
}

#[test]
fn parses_a_tool_conversation_with_ids_unchanged() {
    let req = parse(
        r#"{"model": "a/b", "messages": [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": [{"type": "text", "text": "Weather?", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/sky.png"}}]},
        {"role": "assistant", "reasoning_content": "Need both cities.", "content": "Checking.", "tool_calls": [
            {"id": "call_abc", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Oslo\"}"}},
            {"id": "call_def", "type": "function", "function": {"name": "weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "12C"},
        {"role": "tool", "tool_call_id": "call_def", "content": [{"type": "text", "text": "9C"}]},
        {"role": "developer", "content": [{"type": "text", "text": "Be short."}]},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": null, "reasoning": "Done.", "tool_calls": [{"id": "call_x", "function": {"name": "noop", "arguments": {"a": 1}}}]},
        {"role": "tool", "tool_call_id": "call_x", "content": null}],
      "tools": [
        {"type": "function", "function": {"name": "weather", "description": "Weather by city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}},
        {"type": "function", "function": {"name": "noop"}}],
      "tool_choice": {"type": "function", "function": {"name": "weather"}},
      "parallel_tool_calls": false, "stop": "END", "reasoning_effort": "low",
      "response_format": {"type": "json_schema", "json_schema": {"name": "w", "description": "d", "schema": {"type": "object"}, "strict": true}}}"#,
    );
    let p = &req.prompt;
    let system: Vec<&str> = p.system.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        system,
        ["Use tools.", "Be short."],
        "a system message mid-way is a block too"
    );
    assert_eq!(
        show(&p.messages),
        [
            "User: text(Weather?)[cache Some(3600)] image(https://example.com/sky.png)",
            "Assistant: reasoning(Need both cities., -) text(Checking.) call(call_abc, weather, {\"city\": \"Oslo\"}) call(call_def, weather, {})",
            "User: result(call_abc: 12C) result(call_def: 9C)",
            "User: text(Thanks)",
            "Assistant: reasoning(Done., -) call(call_x, noop, {\"a\":1})",
            "User: result(call_x: )",
        ]
    );
    assert_eq!(
        p.tools,
        [
            Tool {
                name: "weather".into(),
                description: Some("Weather by city".into()),
                input_schema: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
                cache: None,
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
    assert_eq!(p.stop, ["END"]);
    assert_eq!(
        p.reasoning,
        Some(ReasoningSetting::Effort(ReasoningEffort::Low))
    );
    assert_eq!(
        p.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "w".into(),
            description: Some("d".into()),
            schema: r#"{"type":"object"}"#.into(),
            strict: true,
        })
    );
    assert_eq!(p.passthrough, None);
    assert!(p.needs().tools && p.needs().images && p.needs().reasoning_parts);
}

#[test]
fn settings_map_to_the_domain() {
    let base = r#""model": "a/b", "messages": [{"role": "user", "content": "hi"}]"#;
    let with = |extra: &str| parse(&format!("{{{base}, {extra}}}")).prompt;
    use ReasoningEffort::*;
    for (given, setting) in [
        ("none", ReasoningSetting::Disabled),
        ("minimal", ReasoningSetting::Effort(Minimal)),
        ("medium", ReasoningSetting::Effort(Medium)),
        ("high", ReasoningSetting::Effort(High)),
    ] {
        let p = with(&format!(r#""reasoning_effort": "{given}""#));
        assert_eq!(p.reasoning, Some(setting), "{given}");
    }
    assert_eq!(
        with(r#""response_format": {"type": "text"}"#).response_format,
        Some(ResponseFormat::Text)
    );
    assert_eq!(
        with(r#""response_format": {"type": "json_object"}"#).response_format,
        Some(ResponseFormat::Json)
    );
    assert_eq!(with(r#""stop": ["a", "", "b"]"#).stop, ["a", "b"]);
    assert_eq!(with(r#""tool_choice": "required", "tools": [{"type": "function", "function": {"name": "f"}}]"#).tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        with(r#""tool_choice": "auto""#).tool_choice,
        Some(ToolChoice::Auto)
    );
    assert_eq!(
        with(r#""function_call": "none", "functions": []"#).tools,
        []
    );
    let tool = with(
        r#""tools": [{"type": "function", "cache_control": {"type": "ephemeral"}, "function": {"name": "f", "parameters": {}}}]"#,
    );
    assert_eq!(tool.tools[0].cache, Some(CacheHint::default()));
    assert_eq!(tool.tools[0].input_schema, "{}");
}

#[test]
fn unmodeled_fields_pass_through_and_nothing_else() {
    let p = parse(
        r#"{"model": "a/b", "messages": [{"role": "user", "content": "hi"}], "user": "u", "seed": 7,
        "store": false, "service_tier": "flex", "prediction": {"type": "content", "content": "x"},
        "frequency_penalty": 0.5, "presence_penalty": -1, "logit_bias": {"50256": -100}, "metadata": null,
        "logprobs": false, "top_logprobs": 0, "n": 1, "stream": false, "temperature": 1, "modalities": ["text"]}"#,
    )
    .prompt;
    let body: Vec<String> = p
        .passthrough
        .unwrap()
        .body
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    assert_eq!(
        body,
        [
            "user=\"u\"",
            "seed=7",
            "store=false",
            "service_tier=\"flex\"",
            "prediction={\"type\":\"content\",\"content\":\"x\"}",
            "frequency_penalty=0.5",
            "presence_penalty=-1",
            "logit_bias={\"50256\":-100}",
        ]
    );
}

#[test]
fn each_malformed_tool_request_gets_a_clear_400() {
    let user = r#"{"role": "user", "content": "hi"}"#;
    let with = |extra: &str| format!(r#"{{"model": "a/b", "messages": [{user}], {extra}}}"#);
    let msgs = |m: &str| format!(r#"{{"model": "a/b", "messages": [{user}, {m}]}}"#);
    let call = |args: &str| {
        format!(
            r#"{{"role": "assistant", "tool_calls": [{{"id": "c1", "type": "function", "function": {{"name": "f", "arguments": {args}}}}}]}}"#
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (
            with(
                r#""tools": [{"type": "function", "function": {"name": "get", "parameters": "{}"}}]"#,
            ),
            "tools[0] (\"get\").function.parameters must be a JSON Schema object, got a string",
        ),
        (
            with(
                r#""tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]"#,
            ),
            "tools[1]: the tool name \"f\" is used twice; tool names must be unique",
        ),
        (
            with(r#""tools": [{"type": "custom", "custom": {"name": "f"}}]"#),
            "tools[0]: \"custom\" tools are not supported; claw carries function tools only ({\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}})",
        ),
        (
            with(r#""tools": [{"type": "function"}]"#),
            "tools[0].function is required: {\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}",
        ),
        (
            with(r#""tools": [{"type": "function", "function": {"name": ""}}]"#),
            "tools[0].function.name must be a non-empty string",
        ),
        (
            with(r#""tools": {}"#),
            "`tools` must be an array of {\"type\": \"function\", \"function\": {...}} objects, got an object",
        ),
        (
            with(
                r#""tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}"#,
            ),
            "`tool_choice` names the tool \"g\", which is not in `tools`",
        ),
        (
            with(r#""tool_choice": "required""#),
            "`tool_choice` requires a tool call, but `tools` is empty; send the tools or leave `tool_choice` out",
        ),
        (
            with(r#""tool_choice": "any""#),
            "`tool_choice` must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": \"...\"}}, got \"any\"",
        ),
        (
            with(r#""parallel_tool_calls": "no""#),
            "`parallel_tool_calls` must be true or false, got \"no\"",
        ),
        (
            msgs(&call("\"{\\\"city\\\": \"")),
            "messages[1].tool_calls[0].function.arguments of the call \"c1\" is not valid JSON (EOF while parsing a value at line 1 column 9)",
        ),
        (
            msgs(&call("[1]")),
            "messages[1].tool_calls[0].function.arguments of the call \"c1\" must be a JSON object as text, got an array",
        ),
        (
            msgs(
                r#"{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}"#,
            ),
            "messages[1].tool_calls[0].id is required: the tool call's id",
        ),
        (
            msgs(
                r#"{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]}"#,
            ),
            "messages[1].tool_calls[0].type: \"custom\" tool calls are not supported; claw carries function tool calls only",
        ),
        (
            msgs(r#"{"role": "assistant", "tool_calls": {}}"#),
            "messages[1].tool_calls must be an array, got an object",
        ),
        (
            msgs(r#"{"role": "assistant", "reasoning_content": 5}"#),
            "messages[1].reasoning_content must be a string, got a number",
        ),
        (
            msgs(r#"{"role": "tool", "content": "x"}"#),
            "messages[1].tool_call_id is required: the id of the tool call this message answers",
        ),
        (
            format!(
                r#"{{"model": "a/b", "messages": [{user}, {}, {{"role": "tool", "tool_call_id": "c2", "content": "x"}}]}}"#,
                call("\"{}\"")
            ),
            "messages[2].tool_call_id: the tool call id \"c2\" matches no tool call in an earlier assistant message",
        ),
        (
            msgs(r#"{"role": "function", "name": "f", "content": "x"}"#),
            "messages[1]: role \"function\": the legacy functions API is not supported; send `tools` (type \"function\"), `tool_choice`, assistant `tool_calls` and role \"tool\" messages instead",
        ),
        (
            msgs(
                r#"{"role": "assistant", "content": null, "function_call": {"name": "f", "arguments": "{}"}}"#,
            ),
            "messages[1].function_call: the legacy functions API is not supported; send `tools` (type \"function\"), `tool_choice`, assistant `tool_calls` and role \"tool\" messages instead",
        ),
        (
            with(r#""function_call": {"name": "f"}"#),
            "`function_call`: the legacy functions API is not supported; send `tools` (type \"function\"), `tool_choice`, assistant `tool_calls` and role \"tool\" messages instead",
        ),
        (
            msgs(r#"{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}"#),
            "messages[1].content[0]: \"file\" parts are not supported: claw carries text and images only",
        ),
        (
            msgs(
                r#"{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]}"#,
            ),
            "messages[1].content[0].cache_control must be {\"type\": \"ephemeral\"} (with an optional \"ttl\": \"5m\" or \"1h\")",
        ),
        (
            msgs(
                r#"{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1d"}}]}"#,
            ),
            "messages[1].content[0].cache_control.ttl must be a duration like \"5m\" or \"1h\", got \"1d\"",
        ),
        (
            with(r#""reasoning_effort": "max""#),
            "`reasoning_effort` must be \"none\", \"minimal\", \"low\", \"medium\" or \"high\", got \"max\"",
        ),
        (
            with(r#""response_format": {"type": "yaml"}"#),
            "`response_format` must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or {\"type\": \"json_schema\", \"json_schema\": {\"name\", \"schema\"}}",
        ),
        (
            with(r#""response_format": {"type": "json_schema", "json_schema": {"name": "x"}}"#),
            "`response_format`.json_schema.schema must be a JSON Schema object",
        ),
        (
            with(r#""response_format": {"type": "json_schema", "json_schema": {"schema": {}}}"#),
            "`response_format`.json_schema.name must be a non-empty string",
        ),
        (
            with(r#""audio": {"voice": "alloy"}"#),
            "`modalities`/`audio`: claw returns text only; leave `audio` out and send `modalities` [\"text\"] (or leave it out)",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            parse_error(&ChatCompletions, &body),
            expected,
            "body: {body}"
        );
    }
}
