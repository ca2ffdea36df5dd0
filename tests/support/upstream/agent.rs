// Included by upstream.rs as `mod agent` (the bench includes upstream.rs by
// path, so the file cannot be a plain child module).
//
// A tool-using assistant for the stand-in, in each wire format: it asks for
// its tool calls (after some reasoning, when scripted) and, once the
// conversation ends in their results, answers with the results' text. It
// checks what a real upstream checks on the way back: every result answers a
// call it made, and a reasoning block comes back with the signature it gave.
// The Responses API's shapes are in responses.rs.

use serde_json::{Value, json};

use super::{
    Api, Ctx, Out, Response, Step, full_message, json_response, responses, sse, stream_steps,
};

/// The script of `Behavior::Agent`. A request without tools gets the plain
/// answer (as side requests of agent clients do).
#[derive(Clone, Debug, PartialEq)]
pub struct ToolScript {
    /// Tool name and input of each call, asked for in one reply (parallel).
    pub calls: Vec<(String, Value)>,
    /// Reasoning shown before the calls (Anthropic `thinking` with a
    /// signature; OpenAI-style `reasoning_content`; a Responses `reasoning`
    /// item, its summary and encrypted content as the request asks).
    pub thinking: Option<String>,
    /// The final answer starts with this, then each result's text.
    pub answer: String,
}

impl ToolScript {
    pub fn call(name: &str, input: Value) -> ToolScript {
        ToolScript {
            calls: vec![(name.into(), input)],
            thinking: None,
            answer: "The tool said: ".into(),
        }
    }
}

/// The id of call `i` in the API's style.
pub fn call_id(api: Api, i: usize) -> String {
    match api {
        Api::Anthropic => format!("toolu_stand_{i}"),
        _ => format!("call_stand_{i}"),
    }
}

/// The signature the stand-in gives `thinking` (and expects back).
pub fn signature(thinking: &str) -> String {
    let sum = thinking
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    format!("stand-sig-{sum:016x}")
}

pub(super) fn answer(ctx: &Ctx, script: &ToolScript) -> Response<Out> {
    let results = match tool_results(ctx.api, &ctx.body) {
        Ok(results) => results,
        Err(message) => return refuse(ctx.api, &message),
    };
    if let Err(message) = check_signatures(ctx.api, &ctx.body) {
        return refuse(ctx.api, &message);
    }
    let no_tools = ctx.body["tools"].as_array().is_none_or(Vec::is_empty);
    if !results.is_empty() || no_tools {
        let text = format!("{}{}", script.answer, results.join(" | "));
        return if ctx.stream {
            sse(ctx, stream_steps(ctx, &text, true))
        } else {
            json_response(200, full_message(ctx, &text))
        };
    }
    match (ctx.api, ctx.stream) {
        (Api::Anthropic, false) => json_response(200, anthropic_message(ctx, script)),
        (Api::Anthropic, true) => sse(ctx, steps(anthropic_events(ctx, script))),
        (Api::Responses, false) => json_response(200, responses::agent_whole(ctx, script)),
        (Api::Responses, true) => sse(ctx, steps(responses::agent_events(ctx, script))),
        (_, false) => json_response(200, openai_completion(ctx, script)),
        (_, true) => sse(ctx, steps(openai_chunks(ctx, script))),
    }
}

/// The texts of the tool results that end the conversation, checked against
/// the calls the stand-in makes.
fn tool_results(api: Api, body: &Value) -> Result<Vec<String>, String> {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let known = |id: &str| (0..8).any(|i| call_id(api, i) == id);
    let mut texts = Vec::new();
    match api {
        Api::Responses => return responses::tool_outputs(body),
        Api::Anthropic => {
            let Some(last) = messages.last() else {
                return Ok(texts);
            };
            for block in last["content"].as_array().into_iter().flatten() {
                if block["type"] != "tool_result" {
                    continue;
                }
                let id = block["tool_use_id"].as_str().unwrap_or_default();
                if !known(id) {
                    return Err(format!("unexpected `tool_use_id` found in `tool_result` blocks: {id}"));
                }
                texts.push(text_of(&block["content"]));
            }
        }
        _ => {
            for m in messages.iter().rev().take_while(|m| m["role"] == "tool") {
                let id = m["tool_call_id"].as_str().unwrap_or_default();
                if !known(id) {
                    return Err(format!("Invalid parameter: tool_call_id {id} has no matching tool call"));
                }
                texts.insert(0, text_of(&m["content"]));
            }
        }
    }
    Ok(texts)
}

/// A string, or the text blocks of an array, joined.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.trim().to_string(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("")
            .trim()
            .to_string(),
        _ => String::new(),
    }
}

/// Every thinking block sent back carries the signature given with it.
fn check_signatures(api: Api, body: &Value) -> Result<(), String> {
    if api == Api::Responses {
        return responses::check_reasoning(body);
    }
    let blocks = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().into_iter().flatten());
    for block in blocks.filter(|b| b["type"] == "thinking") {
        let thinking = block["thinking"].as_str().unwrap_or_default();
        if block["signature"].as_str() != Some(signature(thinking).as_str()) {
            return Err("messages: Invalid `signature` in `thinking` block".into());
        }
    }
    Ok(())
}

fn refuse(api: Api, message: &str) -> Response<Out> {
    let body = match api {
        Api::Anthropic => {
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
        }
        Api::Responses => json!({"error": {"message": message, "type": "invalid_request_error", "param": "input", "code": null}}),
        _ => json!({"error": {"message": message, "type": "invalid_request_error", "param": "messages", "code": null}}),
    };
    json_response(400, body)
}

/// A JSON text in three fragments, as upstreams stream arguments.
pub(super) fn fragments(input: &Value) -> Vec<String> {
    let text = input.to_string();
    let chars: Vec<char> = text.chars().collect();
    let third = chars.len().div_ceil(3).max(1);
    chars.chunks(third).map(|c| c.iter().collect()).collect()
}

fn steps(events: Vec<String>) -> Vec<Step> {
    events.into_iter().map(Step::Send).collect()
}

fn anthropic_message(ctx: &Ctx, script: &ToolScript) -> Value {
    let mut content = Vec::new();
    if let Some(t) = &script.thinking {
        content.push(json!({"type": "thinking", "thinking": t, "signature": signature(t)}));
    }
    for (i, (name, input)) in script.calls.iter().enumerate() {
        content.push(json!({"type": "tool_use", "id": call_id(Api::Anthropic, i), "name": name, "input": input}));
    }
    json!({
        "id": format!("msg_stand{:016x}", ctx.id), "type": "message", "role": "assistant",
        "model": ctx.model, "content": content, "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": ctx.input_tokens, "output_tokens": 20,
                  "cache_read_input_tokens": 7, "cache_creation_input_tokens": 3},
    })
}

fn anthropic_events(ctx: &Ctx, script: &ToolScript) -> Vec<String> {
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_stand{:016x}", ctx.id), "type": "message", "role": "assistant",
            "model": ctx.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": ctx.input_tokens, "output_tokens": 1,
                      "cache_read_input_tokens": 7, "cache_creation_input_tokens": 3}}}),
    )];
    let mut index = 0;
    if let Some(t) = &script.thinking {
        events.push(event("content_block_start", json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""}})));
        for piece in t.split_inclusive(' ') {
            events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "thinking_delta", "thinking": piece}})));
        }
        events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index,
            "delta": {"type": "signature_delta", "signature": signature(t)}})));
        events.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        index += 1;
    }
    for (i, (name, input)) in script.calls.iter().enumerate() {
        events.push(event("content_block_start", json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": call_id(Api::Anthropic, i), "name": name, "input": {}}})));
        for piece in fragments(input) {
            events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": piece}})));
        }
        events.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        index += 1;
    }
    events.push(event("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 20}})));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    events
}

fn openai_calls(script: &ToolScript) -> Value {
    script
        .calls
        .iter()
        .enumerate()
        .map(|(i, (name, input))| {
            json!({"id": call_id(Api::OpenAi, i), "type": "function",
                   "function": {"name": name, "arguments": input.to_string()}})
        })
        .collect()
}

fn openai_usage(ctx: &Ctx) -> Value {
    json!({"prompt_tokens": ctx.input_tokens + 7, "completion_tokens": 20,
           "total_tokens": ctx.input_tokens + 27,
           "prompt_tokens_details": {"cached_tokens": 7},
           "completion_tokens_details": {"reasoning_tokens": 5}})
}

fn openai_completion(ctx: &Ctx, script: &ToolScript) -> Value {
    let mut message = json!({"role": "assistant", "content": null, "tool_calls": openai_calls(script)});
    if let Some(t) = &script.thinking {
        message["reasoning_content"] = json!(t);
    }
    json!({
        "id": format!("chatcmpl-stand{:x}", ctx.id), "object": "chat.completion",
        "created": ctx.created, "model": ctx.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": openai_usage(ctx),
    })
}

fn openai_chunks(ctx: &Ctx, script: &ToolScript) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": format!("chatcmpl-stand{:x}", ctx.id),
            "object": "chat.completion.chunk", "created": ctx.created, "model": ctx.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        if ctx.include_usage {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": null}), Value::Null)];
    if let Some(t) = &script.thinking {
        for piece in t.split_inclusive(' ') {
            events.push(chunk(json!({"reasoning_content": piece}), Value::Null));
        }
    }
    for (i, (name, input)) in script.calls.iter().enumerate() {
        events.push(chunk(json!({"tool_calls": [{"index": i, "id": call_id(Api::OpenAi, i), "type": "function",
            "function": {"name": name, "arguments": ""}}]}), Value::Null));
        for piece in fragments(input) {
            events.push(chunk(json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}), Value::Null));
        }
    }
    events.push(chunk(json!({}), json!("tool_calls")));
    if ctx.include_usage {
        let c = json!({"id": format!("chatcmpl-stand{:x}", ctx.id), "object": "chat.completion.chunk",
            "created": ctx.created, "model": ctx.model, "choices": [], "usage": openai_usage(ctx)});
        events.push(format!("data: {c}\n\n"));
    }
    events.push("data: [DONE]\n\n".into());
    events
}
