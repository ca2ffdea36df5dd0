//! Whole responses: items in order, status, usage, the request echoed, and
//! that output items sent back as input restore the turn; errors.

use serde_json::{Value, json};

use super::*;
use crate::test_support::*;
use claw_types::{Done, StopReason, Usage};

pub(super) fn parse(body: &str) -> ApiRequest {
    parse_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {body}", e.message))
}

/// `values` with the ids claw made up numbered by first appearance per
/// prefix (`msg_1`, `fc_2`, ...) and times zeroed, for exact comparisons.
pub(super) fn normalized(values: &[Value]) -> Vec<Value> {
    let mut seen = Vec::new();
    values.iter().map(|v| walk(v, &mut seen)).collect()
}

fn walk(v: &Value, seen: &mut Vec<String>) -> Value {
    match v {
        Value::String(s) => match made(s) {
            Some(prefix) => {
                if !seen.contains(s) {
                    seen.push(s.clone());
                }
                let position = seen.iter().position(|x| x == s).unwrap_or_default();
                let n = seen[..=position]
                    .iter()
                    .filter(|x| made(x) == Some(prefix))
                    .count();
                format!("{prefix}_{n}").into()
            }
            None => v.clone(),
        },
        Value::Array(a) => a.iter().map(|v| walk(v, seen)).collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match k.as_str() {
                "created_at" => (k.clone(), json!(0)),
                _ => (k.clone(), walk(v, seen)),
            })
            .collect(),
        _ => v.clone(),
    }
}

/// The prefix of an id claw made (a prefix, `_` and 24 hex digits).
fn made(s: &str) -> Option<&str> {
    let (prefix, rest) = s.split_once('_')?;
    let ours = ["resp", "msg", "rs", "fc", "call"].contains(&prefix)
        && rest.len() == 24
        && rest.bytes().all(|b| b.is_ascii_hexdigit());
    ours.then_some(prefix)
}

/// The response object of `{"model": "m", "input": "hi"}`, normalized.
pub(super) fn object(status: &str, output: Value, usage: Value) -> Value {
    json!({
        "id": "resp_1", "object": "response", "created_at": 0, "status": status,
        "error": null, "incomplete_details": null, "background": false, "instructions": null,
        "max_output_tokens": null, "metadata": {}, "model": "m", "parallel_tool_calls": true,
        "previous_response_id": null, "reasoning": {"effort": null, "summary": null},
        "store": false, "temperature": null, "text": {"format": {"type": "text"}},
        "tool_choice": "auto", "tools": [], "top_p": null, "truncation": "disabled",
        "output": output, "usage": usage,
    })
}

pub(super) fn usage_json(input: u32, cached: u32, output: u32, reasoning: u32) -> Value {
    json!({
        "input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input + output,
    })
}

/// Signed reasoning, a redacted block, text, two tool calls (the second
/// without an id or arguments), usage and a tool-use stop.
fn tool_events() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("up".into()),
        ChatEvent::Reasoning("Look it up.".into()),
        ChatEvent::ReasoningSignature("sig".into()),
        ChatEvent::RedactedReasoning("enc".into()),
        ChatEvent::Text("Checking".into()),
        ChatEvent::ToolCallStart {
            index: 0,
            id: "call_up".into(),
            name: "weather".into(),
        },
        ChatEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":\"Paris\"}".into(),
        },
        ChatEvent::ToolCallEnd(0),
        ChatEvent::ToolCallStart {
            index: 1,
            id: String::new(),
            name: "noop".into(),
        },
        ChatEvent::Usage(Usage {
            reasoning_tokens: 4,
            ..usage_of(10, 7, 2, 1)
        }),
        ChatEvent::Done(Done::new(StopReason::ToolUse, "tool_use")),
    ]
}

#[test]
fn renders_reasoning_text_and_function_calls_in_order_with_usage() {
    let req = parse(r#"{"model": "m", "input": "hi"}"#);
    let reply = gathered(&Responses, &tool_events());
    let made = reply.tool_calls().nth(1).unwrap().id.clone();
    assert!(made.starts_with("call_") && made.len() == 29, "{made}");
    let r = normalized(&[Responses.response(&req, &reply)]).remove(0);
    let output = json!([
        {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Look it up."}],
         "encrypted_content": "sig"},
        {"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "claw-redacted:enc"},
        {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Checking", "annotations": []}]},
        {"id": "fc_1", "type": "function_call", "status": "completed", "arguments": "{\"city\":\"Paris\"}",
         "call_id": "call_up", "name": "weather"},
        // No arguments are `{}`; the missing id is made up.
        {"id": "fc_2", "type": "function_call", "status": "completed", "arguments": "{}",
         "call_id": "call_1", "name": "noop"},
    ]);
    // Input counts cache reads and writes, as OpenAI's does.
    assert_eq!(r, object("completed", output, usage_json(13, 2, 7, 4)));
}

#[test]
fn a_cut_or_filtered_reply_is_incomplete() {
    let req = parse(r#"{"model": "m", "input": "hi"}"#);
    for (stop, status, reason) in [
        (
            "max_tokens",
            "incomplete",
            json!({"reason": "max_output_tokens"}),
        ),
        ("refusal", "incomplete", json!({"reason": "content_filter"})),
        ("stop_sequence", "completed", Value::Null),
        ("end_turn", "completed", Value::Null),
    ] {
        let r = Responses.response(&req, &reply("Hel", None, Some(stop)));
        assert_eq!(
            (r["status"].as_str(), &r["incomplete_details"]),
            (Some(status), &reason),
            "{stop}"
        );
    }
    // Without a reported usage, zeros.
    let r = Responses.response(&req, &reply("x", None, None));
    assert_eq!(r["usage"], usage_json(0, 0, 0, 0));
}

#[test]
fn echoes_the_request_settings() {
    let req = parse(
        r#"{"model": "fast", "input": "hi", "max_output_tokens": 50, "temperature": 0.7, "top_p": 0.9,
        "parallel_tool_calls": false, "reasoning": {"effort": "low"}, "metadata": {"run": "7"}, "store": true,
        "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": true}}}"#,
    );
    let r = Responses.response(&req, &reply("{}", None, None));
    let echoed: Vec<(&str, Value)> = [
        "model",
        "max_output_tokens",
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "reasoning",
        "metadata",
        "store",
        "tools",
        "tool_choice",
        "text",
    ]
    .into_iter()
    .map(|k| (k, r[k].clone()))
    .collect();
    assert_eq!(
        echoed,
        [
            ("model", json!("fast")),
            ("max_output_tokens", json!(50)),
            ("temperature", json!(0.7)),
            ("top_p", json!(0.9)),
            ("parallel_tool_calls", json!(false)),
            ("reasoning", json!({"effort": "low", "summary": null})),
            ("metadata", json!({"run": "7"})),
            // Nothing is stored, whatever the client asked.
            ("store", json!(false)),
            (
                "tools",
                json!([{"type": "function", "name": "f", "description": "d",
                              "parameters": {"type": "object"}, "strict": null}])
            ),
            ("tool_choice", json!({"type": "function", "name": "f"})),
            (
                "text",
                json!({"format": {"type": "json_schema", "name": "n", "description": null,
                                       "schema": {"type": "object"}, "strict": true}})
            ),
        ]
    );
}

#[test]
fn output_items_sent_back_restore_the_turn_exactly() {
    let req = parse(r#"{"model": "m", "input": "hi"}"#);
    let mut events = vec![ChatEvent::ReasoningSignature("bare".into())];
    events.extend(tool_events());
    let reply = gathered(&Responses, &events);
    let made = reply.tool_calls().nth(1).unwrap().id.clone();
    let output = Responses.response(&req, &reply)["output"].clone();
    let mut input = vec![json!({"role": "user", "content": "hi"})];
    input.extend(output.as_array().unwrap().iter().cloned());
    for call in ["call_up", made.as_str()] {
        input.push(json!({"type": "function_call_output", "call_id": call, "output": "ok"}));
    }
    let back = parse(&json!({"model": "m", "input": input}).to_string());
    assert_eq!(
        show(&back.prompt.messages),
        [
            "User: text(hi)".to_string(),
            format!(
                "Assistant: reasoning(, bare) reasoning(Look it up., sig) redacted(enc) text(Checking) \
                 call(call_up, weather, {{\"city\":\"Paris\"}}) call({made}, noop, {{}})"
            ),
            format!("User: result(call_up: ok) result({made}: ok)"),
        ]
    );
}

#[test]
fn errors_use_the_openai_shape_and_statuses() {
    let e = ApiError::new(429, "rate_limit_error", "slow down");
    assert_eq!(
        Responses.error_body(&e),
        json!({"error": {"message": "slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}})
    );
    assert_eq!(
        Responses.error_body(&ApiError::invalid("bad")),
        crate::openai::ChatCompletions.error_body(&ApiError::invalid("bad"))
    );
    let overloaded = failed(&[(Reason::Overloaded, Some(529))]);
    assert_eq!(Responses.failure(&overloaded).status, 503);
    assert_eq!(
        Responses
            .failure(&failed(&[(Reason::Auth, Some(401))]))
            .status,
        502
    );
    assert_eq!(Responses.path(), "/v1/responses");
    assert_eq!(
        Responses.token_header(),
        None,
        "a Bearer token, as OpenAI's"
    );
}
