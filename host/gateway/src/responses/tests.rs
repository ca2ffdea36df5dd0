//! `/v1/responses` request bodies: what each becomes, and each 400.

use super::*;
use crate::test_support::*;
use claw_types::{
    KeyValue, ReasoningEffort, ReasoningSetting, ResponseFormat, SystemBlock, ToolChoice,
};

fn parse(body: &str) -> ApiRequest {
    parse_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {body}", e.message))
}

fn system(req: &ApiRequest) -> Vec<&str> {
    req.prompt.system.iter().map(|b| b.text.as_str()).collect()
}

#[test]
fn parses_a_request_as_codex_sends_it() {
    // Codex CLI: instructions, a developer message, reasoning and function
    // calls sent back with encrypted content, built-in tools beside function
    // tools, and the fields it always sends.
    let req = parse(
        r#"{"model": "up/agent", "instructions": "You are Codex.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Sandbox: none."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<env/>"}, {"type": "input_text", "text": "Run it."}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "I should run it."}], "content": null, "encrypted_content": "sig1"},
            {"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"echo hi\"}", "call_id": "call_1"},
            {"type": "function_call_output", "call_id": "call_1", "output": "hi\n"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It printed hi."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks"}]}],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Runs a command.", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "web_search", "external_web_access": false},
            {"type": "local_shell"},
            {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}],
        "tool_choice": "auto", "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"}, "store": false, "stream": true,
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "conv-1"}"#,
    );
    assert_eq!(req.model, "up/agent");
    assert!(req.stream && req.prompt.streaming && !req.include_usage);
    assert_eq!(system(&req), ["You are Codex.", "Sandbox: none."]);
    assert_eq!(
        show(&req.prompt.messages),
        [
            "User: text(<env/>) text(Run it.)",
            "Assistant: reasoning(I should run it., sig1) call(call_1, exec_command, {\"cmd\":\"echo hi\"})",
            "User: result(call_1: hi\n)",
            "Assistant: text(It printed hi.)",
            "User: text(Thanks)",
        ]
    );
    // Only the function tool is carried; the others are left out (logged).
    let names: Vec<&str> = req.prompt.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["exec_command"]);
    assert_eq!(
        req.prompt.tools[0].description.as_deref(),
        Some("Runs a command.")
    );
    assert!(
        req.prompt.tools[0]
            .input_schema
            .contains("\"required\":[\"cmd\"]")
    );
    assert_eq!(req.prompt.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(req.prompt.parallel_tool_calls, Some(false));
    assert_eq!(
        req.prompt.reasoning,
        Some(ReasoningSetting::Effort(ReasoningEffort::Medium))
    );
    // The summary setting has no place in the prompt: the field is passed
    // through whole, with the fields claw does not model.
    let passthrough = req.prompt.passthrough.unwrap();
    assert_eq!(passthrough.api, "openai-responses");
    assert_eq!(
        passthrough.body,
        [
            KeyValue::new("reasoning", r#"{"effort":"medium","summary":"auto"}"#),
            KeyValue::new("include", r#"["reasoning.encrypted_content"]"#),
            KeyValue::new("prompt_cache_key", "\"conv-1\""),
        ]
    );
}

#[test]
fn a_string_input_is_one_user_message_and_settings_are_read() {
    let req = parse(
        r#"{"model": "m", "input": "Hi", "max_output_tokens": 64, "temperature": 0.5, "top_p": 0.9,
        "stream": false, "store": true, "reasoning": {"effort": "xhigh"}, "metadata": {"k": "v"},
        "text": {"format": {"type": "json_schema", "name": "answer", "description": "d", "strict": true,
                            "schema": {"type": "object"}}}}"#,
    );
    assert_eq!(show(&req.prompt.messages), ["User: text(Hi)"]);
    assert!(!req.stream && req.prompt.system.is_empty());
    assert_eq!(req.prompt.max_tokens, Some(64));
    assert_eq!(
        (req.prompt.temperature, req.prompt.top_p),
        (Some(0.5), Some(0.9))
    );
    // xhigh is the most effort there is: claw's high.
    assert_eq!(
        req.prompt.reasoning,
        Some(ReasoningSetting::Effort(ReasoningEffort::High))
    );
    assert_eq!(
        req.prompt.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            description: Some("d".into()),
            schema: r#"{"type":"object"}"#.into(),
            strict: true,
        })
    );
    // `store` is accepted (nothing is stored); `reasoning` and `text` carry
    // nothing more, so only metadata passes through.
    assert_eq!(
        req.prompt.passthrough.unwrap().body,
        [KeyValue::new("metadata", r#"{"k":"v"}"#)]
    );
    let req = parse(
        r#"{"model": "m", "input": "x", "reasoning": {"effort": "none"}, "text": {"format": {"type": "json_object"}, "verbosity": "low"}}"#,
    );
    assert_eq!(req.prompt.reasoning, Some(ReasoningSetting::Disabled));
    assert_eq!(req.prompt.response_format, Some(ResponseFormat::Json));
    assert_eq!(
        req.prompt.passthrough.unwrap().body,
        [KeyValue::new(
            "text",
            r#"{"format":{"type":"json_object"},"verbosity":"low"}"#
        )]
    );
}

#[test]
fn output_items_sent_back_by_the_sdk_rebuild_the_turn() {
    // `model_dump(exclude_none=True)` of a response's output, then the
    // outputs of its calls (as text and as parts), images in every form.
    let req = parse(
        r#"{"model": "m", "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"},
                {"type": "input_image", "image_url": "https://example.com/a.png"}]},
            {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "A."}, {"type": "summary_text", "text": "B."}]},
            {"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "claw-redacted:enc"},
            {"id": "rs_3", "type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "raw"}]},
            {"id": "rs_4", "type": "reasoning", "summary": []},
            {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Checking", "annotations": []}, {"type": "refusal", "refusal": "no"}]},
            {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "c1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
            {"id": "fc_2", "type": "function_call", "status": "completed", "call_id": "c2", "name": "noop", "arguments": ""},
            {"type": "function_call_output", "call_id": "c1", "output": [
                {"type": "input_text", "text": "sunny"}, {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/"}]},
            {"type": "function_call_output", "call_id": "c2", "output": ""},
            {"type": "message", "role": "user", "content": "And Rome?"}]}"#,
    );
    assert_eq!(
        req.prompt.system,
        [SystemBlock {
            text: "Be brief.".into(),
            cache: None
        }]
    );
    assert_eq!(
        show(&req.prompt.messages),
        [
            "User: text(Weather?) image(image/png, iVBO) image(https://example.com/a.png)",
            // Summary parts joined; a marked block is redacted again; raw
            // reasoning when there is no summary; an empty item is nothing.
            "Assistant: reasoning(A.\n\nB., -) redacted(enc) reasoning(raw, -) text(Checking) text(no) \
             call(c1, weather, {\"city\":\"Paris\"}) call(c2, noop, {})",
            "User: result(c1: sunny image(image/jpeg, /9j/)) result(c2: )",
            "User: text(And Rome?)",
        ]
    );
    assert_eq!(req.prompt.passthrough, None);
}

#[test]
fn allowed_tools_narrow_the_tools_and_a_named_choice_is_kept() {
    let tools = r#""tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "b", "parameters": null}, {"type": "web_search"}]"#;
    let req = parse(&format!(
        r#"{{"model": "m", "input": "x", {tools}, "tool_choice": {{"type": "allowed_tools", "mode": "required",
            "tools": [{{"type": "function", "name": "b"}}, {{"type": "web_search"}}]}}}}"#
    ));
    let names: Vec<&str> = req.prompt.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["b"]);
    assert_eq!(req.prompt.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        req.prompt.tools[0].input_schema,
        r#"{"type":"object","properties":{}}"#
    );
    let req = parse(&format!(
        r#"{{"model": "m", "input": "x", {tools}, "tool_choice": {{"type": "function", "name": "a"}}}}"#
    ));
    assert_eq!(req.prompt.tool_choice, Some(ToolChoice::Named("a".into())));
    assert_eq!(req.prompt.tools.len(), 2);
}
