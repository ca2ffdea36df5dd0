//! No client body makes the parsers panic: every value of a full request,
//! in turn, replaced by a value of each other kind.

use http::HeaderMap;
use serde_json::{Value, json};

use crate::anthropic::Messages;
use crate::openai::ChatCompletions;
use crate::responses::Responses;
use crate::wire::WireApi;

/// Copies of `body`, each with one node replaced by one of `odd`.
fn mutations(body: &Value) -> Vec<Value> {
    let odd = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("é"),
        json!([]),
        json!([null]),
        json!({}),
        json!({"type": "x"}),
    ];
    let mut out = Vec::new();
    let mut paths = Vec::new();
    collect(body, String::new(), &mut paths);
    for path in paths {
        for v in &odd {
            let mut copy = body.clone();
            if let Some(node) = copy.pointer_mut(&path) {
                *node = v.clone();
            }
            out.push(copy);
        }
    }
    out
}

fn collect(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                collect(child, format!("{path}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                collect(child, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(path);
}

fn survives(api: &dyn WireApi, body: Value) {
    let all = mutations(&body);
    assert!(all.len() > 300, "{}", all.len());
    for m in all {
        let _ = api.parse(m.to_string().as_bytes(), &HeaderMap::new());
    }
}

#[test]
fn odd_values_anywhere_in_an_openai_request_never_panic() {
    survives(
        &ChatCompletions,
        json!({"model": "a/b", "messages": [
            {"role": "system", "content": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral", "ttl": "5m"}}]},
            {"role": "user", "content": [{"type": "text", "text": "t"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
            {"role": "assistant", "reasoning_content": "r", "content": "c", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]}],
          "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}],
          "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": true,
          "stop": ["x"], "max_tokens": 5, "temperature": 1, "top_p": 0.5, "reasoning_effort": "low",
          "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}, "strict": true}},
          "stream": true, "stream_options": {"include_usage": true}, "n": 1, "seed": 1}),
    );
}

#[test]
fn odd_values_anywhere_in_an_anthropic_request_never_panic() {
    survives(
        &Messages,
        json!({"model": "a/b", "max_tokens": 5, "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
          "messages": [
            {"role": "user", "content": [{"type": "text", "text": "t"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "r", "signature": "s"}, {"type": "redacted_thinking", "data": "d"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": false, "content": [
                {"type": "text", "text": "ok"}, {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]}],
          "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
          "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true},
          "stop_sequences": ["x"], "temperature": 1, "top_p": 0.5, "top_k": 3,
          "thinking": {"type": "enabled", "budget_tokens": 100}, "stream": true, "metadata": {"user_id": "u"}}),
    );
}

#[test]
fn odd_values_anywhere_in_a_responses_request_never_panic() {
    survives(
        &Responses,
        json!({"model": "a/b", "instructions": "i", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "s"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "t"}, {"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "r"}],
             "content": [{"type": "reasoning_text", "text": "r"}], "encrypted_content": "claw-redacted:e"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "c", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "ok"}]}],
          "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": true},
                    {"type": "web_search"}],
          "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]},
          "parallel_tool_calls": true, "max_output_tokens": 5, "temperature": 1, "top_p": 0.5,
          "reasoning": {"effort": "low", "summary": "auto"},
          "text": {"format": {"type": "json_schema", "name": "n", "schema": {}, "strict": true}, "verbosity": "low"},
          "stream": true, "store": false, "include": ["reasoning.encrypted_content"], "metadata": {"k": "v"}}),
    );
}
