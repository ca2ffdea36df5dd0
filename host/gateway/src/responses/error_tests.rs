//! `/v1/responses` bodies that get a 400, each with its exact message; none
//! makes the parser panic.

use super::*;
use crate::test_support::parse_error;

#[test]
fn each_malformed_request_gets_a_clear_400() {
    let with = |extra: &str| format!(r#"{{"model": "a/b", "input": "hi", {extra}}}"#);
    let input = |items: &str| format!(r#"{{"model": "a/b", "input": {items}}}"#);
    let call = r#"{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}"#;
    let cases: Vec<(String, &str)> = vec![
        ("[1]".into(), "body must be a JSON object, got an array"),
        (
            r#"{"input": "hi"}"#.into(),
            "`model` is required (a provider/model ref or an alias, see GET /v1/models)",
        ),
        (
            r#"{"model": "a/b"}"#.into(),
            "`input` must be a string or a non-empty array of input items (messages, function calls and their outputs)",
        ),
        (
            input("[]"),
            "`input` must be a string or a non-empty array of input items (messages, function calls and their outputs)",
        ),
        (
            input("7"),
            "`input` must be a string or a non-empty array of input items (messages, function calls and their outputs), got a number",
        ),
        (
            input("[\"hi\"]"),
            "input[0] must be an input item like {\"role\": \"user\", \"content\": \"...\"}, got a string",
        ),
        (
            input(r#"[{"content": "hi"}]"#),
            "input[0].type is required: \"message\", \"function_call\", \"function_call_output\" or \"reasoning\"",
        ),
        (
            input(r#"[{"type": "message", "content": "hi"}]"#),
            "input[0].role is required: user, assistant, system or developer",
        ),
        (
            input(r#"[{"role": "tool", "content": "hi"}]"#),
            "input[0].role: unknown role \"tool\"; use user, assistant, system or developer",
        ),
        (
            input(r#"[{"role": "user"}]"#),
            "input[0].content is required: a string or an array of content parts",
        ),
        (
            input(r#"[{"role": "user", "content": [{"type": "input_text"}]}]"#),
            "input[0].content[0]: a \"input_text\" part needs a string `text`",
        ),
        (
            input(
                r#"[{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]"#,
            ),
            "input[0].content[0]: \"input_file\" parts are not supported: claw carries text and images only; put the file's text in an input_text part",
        ),
        (
            input(
                r#"[{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]"#,
            ),
            "input[0].content[0]: an input_image with a file_id needs OpenAI's file store, which claw does not have; send image_url as a data: URL",
        ),
        (
            input(
                r#"[{"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x/y.png"}]}]"#,
            ),
            "input[0].content[0]: image_url must be a data: URL (base64) or an http(s) URL, like data:image/png;base64,<data>",
        ),
        (
            input(
                r#"[{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]"#,
            ),
            "input[0]: only user messages may contain images",
        ),
        (
            input(r#"[{"role": "user", "content": [{"type": "video"}]}]"#),
            "input[0].content[0]: unknown content part type \"video\"; use \"input_text\", \"output_text\" or \"input_image\"",
        ),
        (
            input(
                r#"[{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":"}]"#,
            ),
            "input[0].arguments of the call \"c1\" is not valid JSON (EOF while parsing a value at line 1 column 5)",
        ),
        (
            input(r#"[{"type": "function_call", "name": "f", "arguments": "{}"}]"#),
            "input[0].call_id is required: the id its function_call_output answers",
        ),
        (
            input(r#"[{"type": "function_call", "call_id": "c1", "arguments": "{}"}]"#),
            "input[0].name must be a non-empty string",
        ),
        (
            input(
                r#"[{"type": "function_call_output", "call_id": "call_nobody_made", "output": "x"}]"#,
            ),
            "input[0].call_id: \"call_nobody_made\" answers no function_call item before it; send that function_call item earlier in `input`",
        ),
        (
            input(&format!(
                r#"[{call}, {{"type": "function_call_output", "call_id": "c1"}}]"#
            )),
            "input[1].output is required: a string or an array of content parts",
        ),
        (
            input(&format!(
                r#"[{call}, {{"type": "function_call_output", "call_id": "c1", "output": 3}}]"#
            )),
            "input[1].output must be a string or an array of content parts, got a number",
        ),
        (
            input(r#"[{"type": "reasoning", "summary": [{"type": "text", "text": "x"}]}]"#),
            "input[0].summary[0] must be {\"type\": \"summary_text\", \"text\": \"...\"}",
        ),
        (
            input(r#"[{"type": "reasoning", "summary": [], "encrypted_content": 1}]"#),
            "input[0].encrypted_content must be a string, got a number",
        ),
        (
            input(r#"[{"type": "item_reference", "id": "msg_1"}]"#),
            "input[0]: \"item_reference\" items are not supported: claw keeps no items (it stores nothing); send the item itself in `input`",
        ),
        (
            input(
                r#"[{"type": "custom_tool_call", "call_id": "c", "name": "apply_patch", "input": "x"}]"#,
            ),
            "input[0]: \"custom_tool_call\" items are not supported: claw carries function tools only (custom tools are left out of `tools`); define the tool as a function tool",
        ),
        (
            input(r#"[{"type": "local_shell_call", "call_id": "c", "action": {}}]"#),
            "input[0]: \"local_shell_call\" items are not supported: claw carries function tools only, not built-in tools (local_shell, web_search, computer use, MCP, ...); leave the item out, or give its result as text in a message",
        ),
        (
            input(r#"[{"type": "web_search_call", "action": {}}]"#),
            "input[0]: \"web_search_call\" items are not supported: claw carries function tools only, not built-in tools (local_shell, web_search, computer use, MCP, ...); leave the item out, or give its result as text in a message",
        ),
        (
            input(r#"[{"type": "hologram"}]"#),
            "input[0].type: unknown item type \"hologram\"; use \"message\", \"function_call\", \"function_call_output\" or \"reasoning\"",
        ),
        (
            with(r#""previous_response_id": "resp_1""#),
            "`previous_response_id`: claw does not keep responses (it stores nothing), so it cannot continue one; \
             send the full input (every earlier item, as with store: false) and leave `previous_response_id` out",
        ),
        (
            with(r#""conversation": "conv_1""#),
            "`conversation`: claw does not keep conversations (it stores nothing); send the full input and leave `conversation` out",
        ),
        (
            with(r#""background": true"#),
            "`background`: claw answers while the request is open and keeps no response to poll; \
             leave `background` out (or send false), and stream if the reply takes long",
        ),
        (
            with(r#""store": "no""#),
            "`store` must be true or false, got \"no\"",
        ),
        (
            with(r#""instructions": ["a"]"#),
            "`instructions` must be a string, got an array",
        ),
        (
            with(r#""tools": {}"#),
            "`tools` must be an array of {\"type\": \"function\", \"name\", \"description\", \"parameters\"} objects, got an object",
        ),
        (
            with(r#""tools": [{"type": "function", "function": {"name": "f"}}]"#),
            "tools[0]: this is a Chat Completions tool; the Responses API takes {\"type\": \"function\", \"name\", \"description\", \"parameters\"}, with the name at the top level",
        ),
        (
            with(r#""tools": [{"type": "function", "name": ""}]"#),
            "tools[0].name must be a non-empty string",
        ),
        (
            with(r#""tools": [{"function": {"name": "f"}}]"#),
            "tools[0]: this is a Chat Completions tool; the Responses API takes {\"type\": \"function\", \"name\", \"description\", \"parameters\"}, with the name at the top level",
        ),
        (
            with(r#""tools": [{"name": "f"}]"#),
            "tools[0].type is required: {\"type\": \"function\", \"name\", \"description\", \"parameters\"}",
        ),
        (
            with(r#""tools": [{"type": "function", "name": "f", "parameters": []}]"#),
            "tools[0] (\"f\").parameters must be a JSON Schema object, got an array",
        ),
        (
            with(
                r#""tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "f"}]"#,
            ),
            "tools[1]: the tool name \"f\" is used twice; tool names must be unique",
        ),
        (
            with(r#""tool_choice": "any""#),
            "`tool_choice` must be \"auto\", \"none\", \"required\", {\"type\": \"function\", \"name\": \"...\"} \
             or {\"type\": \"allowed_tools\", \"mode\": \"auto\", \"tools\": [...]}, got \"any\"",
        ),
        (
            with(r#""tool_choice": {"type": "function", "name": "g"}"#),
            "`tool_choice` names the tool \"g\", which is not in `tools`",
        ),
        (
            with(r#""tool_choice": {"type": "web_search_preview"}"#),
            "`tool_choice` forces a \"web_search_preview\" tool, which claw cannot carry (it carries function tools only); \
             send \"auto\", \"required\" or {\"type\": \"function\", \"name\": \"...\"}",
        ),
        (
            with(r#""tool_choice": "required""#),
            "`tool_choice` requires a tool call, but `tools` is empty; send the tools or leave `tool_choice` out",
        ),
        (
            with(r#""reasoning": {"effort": "max"}"#),
            "`reasoning.effort` must be \"none\", \"minimal\", \"low\", \"medium\", \"high\" or \"xhigh\", got \"max\"",
        ),
        (
            with(r#""reasoning": "high""#),
            "`reasoning` must be an object like {\"effort\": \"medium\"}, got a string",
        ),
        (
            with(r#""text": {"format": {"type": "json_schema", "schema": {}}}"#),
            "`text.format`.name must be a non-empty string",
        ),
        (
            with(r#""text": {"format": {"type": "json_schema", "name": "n"}}"#),
            "`text.format`.schema must be a JSON Schema object",
        ),
        (
            with(r#""text": {"format": {"type": "xml"}}"#),
            "`text.format` must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or {\"type\": \"json_schema\", \"name\", \"schema\"}",
        ),
        (
            with(r#""max_output_tokens": 0"#),
            "`max_output_tokens` must be a positive whole number of tokens, got 0",
        ),
        (
            with(r#""temperature": 3"#),
            "`temperature` must be a number from 0 to 2, got 3",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse_error(&Responses, &body), expected, "body: {body}");
    }
}

#[test]
fn never_panics_on_any_prefix_or_odd_value() {
    let good = r#"{"model": "a/b", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hé"}, {"type": "input_image", "image_url": "DATA:image/png;base64,AA"}]}, {"type": "reasoning", "summary": [], "encrypted_content": "claw-redacted:"}], "max_output_tokens": 9, "stream": true}"#;
    assert!(parse_request(good.as_bytes()).is_ok());
    for cut in 0..good.len() {
        let _ = parse_request(&good.as_bytes()[..cut]);
    }
    for body in [
        "null",
        r#"{"model": "a/b", "input": [null]}"#,
        r#"{"model": "a/b", "input": [{"type": "message", "role": "user", "content": [null]}]}"#,
        r#"{"model": "a/b", "input": [{"type": "reasoning", "summary": [null], "content": {}}]}"#,
        r#"{"model": "a/b", "input": "x", "tools": [null, {"type": 1}], "tool_choice": {"type": "allowed_tools"}}"#,
        r#"{"model": "a/b", "input": "x", "text": {"format": null, "verbosity": null}, "reasoning": {}}"#,
    ] {
        let _ = parse_request(body.as_bytes());
    }
}
