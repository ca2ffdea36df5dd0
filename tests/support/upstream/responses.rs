// Included by upstream.rs as `mod responses` (the bench includes upstream.rs by
// path, so the file cannot be a plain child module).
//
// The OpenAI Responses API's shapes (`POST .../responses`), for every
// behaviour: a `response` object when the request does not stream, else the
// real event sequence, each event as OpenAI sends it (an `event:` line named
// like its `type`, and a `sequence_number` counting from 0):
//
//   response.created, response.in_progress,
//   per output item: response.output_item.added, its content
//     (message: response.content_part.added, response.output_text.delta...,
//      response.output_text.done, response.content_part.done;
//      reasoning: response.reasoning_summary_part.added,
//      response.reasoning_summary_text.delta..., response.reasoning_summary_text.done,
//      response.reasoning_summary_part.done;
//      function_call: response.function_call_arguments.delta...,
//      response.function_call_arguments.done),
//     response.output_item.done,
//   response.completed (with the whole output and the usage).
//
// Like OpenAI with `store: false`, it gives a reasoning item's
// `encrypted_content` only when `include` asks for
// "reasoning.encrypted_content", shows a summary only when `reasoning.summary`
// asks for one, and refuses a reasoning item sent back by `id` alone. Errors
// have OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`).
// (A Flood repeats one delta event, its `sequence_number` with it.)

use serde_json::{Value, json};

use super::agent::{ToolScript, call_id, fragments, signature};
use super::{Api, Ctx, deltas};

/// The `id` of the reply's response object.
pub(super) fn response_id(ctx: &Ctx) -> String {
    format!("resp_stand{:016x}", ctx.id)
}

fn message_id(ctx: &Ctx) -> String {
    format!("msg_stand{:016x}", ctx.id)
}

fn reasoning_id(ctx: &Ctx) -> String {
    format!("rs_stand{:016x}", ctx.id)
}

/// The `id` of function-call item `i` (its `call_id` is `agent::call_id`).
pub(super) fn call_item_id(ctx: &Ctx, i: usize) -> String {
    format!("fc_stand{:016x}_{i}", ctx.id)
}

/// Events numbered as they are made, formatted as OpenAI sends them.
#[derive(Default)]
struct Events {
    out: Vec<String>,
}

impl Events {
    /// `data` with its `sequence_number` after its `type`, where OpenAI puts it.
    fn push(&mut self, data: Value) {
        let kind = data["type"].as_str().unwrap_or("").to_string();
        let mut event = json!({"type": kind, "sequence_number": self.out.len()});
        for (key, value) in data.as_object().into_iter().flatten() {
            event[key] = value.clone();
        }
        self.out.push(format!("event: {kind}\ndata: {event}\n\n"));
    }
}

/// The request asked for reasoning's encrypted content (`include`).
fn wants_encrypted(ctx: &Ctx) -> bool {
    let include = ctx.body["include"].as_array();
    include.is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content"))
}

/// The request asked for a reasoning summary (`reasoning.summary`).
fn wants_summary(ctx: &Ctx) -> bool {
    !ctx.body["reasoning"]["summary"].is_null()
}

/// `usage`: `input_tokens` counts the cached ones too.
fn usage(input: usize, cached: usize, output: usize, reasoning: usize) -> Value {
    json!({"input_tokens": input + cached, "input_tokens_details": {"cached_tokens": cached},
           "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
           "total_tokens": input + cached + output})
}

/// The response object, with the request's settings echoed as OpenAI does.
fn response(ctx: &Ctx, status: &str, output: Value, usage: Value) -> Value {
    let body = &ctx.body;
    let or = |key: &str, default: Value| {
        let value = &body[key];
        if value.is_null() {
            default
        } else {
            value.clone()
        }
    };
    json!({
        "id": response_id(ctx), "object": "response", "created_at": ctx.created, "status": status,
        "background": false, "error": null, "incomplete_details": null,
        "instructions": or("instructions", Value::Null),
        "max_output_tokens": or("max_output_tokens", Value::Null), "model": ctx.model,
        "output": output, "parallel_tool_calls": or("parallel_tool_calls", json!(true)),
        "previous_response_id": null,
        "reasoning": {"effort": body["reasoning"]["effort"], "summary": body["reasoning"]["summary"]},
        "store": or("store", json!(true)), "temperature": or("temperature", json!(1.0)),
        "text": or("text", json!({"format": {"type": "text"}})),
        "tool_choice": or("tool_choice", json!("auto")), "tools": or("tools", json!([])),
        "top_p": or("top_p", json!(1.0)), "truncation": "disabled", "usage": usage,
        "user": null, "metadata": {},
    })
}

fn message_item(ctx: &Ctx, text: &str, status: &str) -> Value {
    let content = if status == "completed" {
        json!([{"type": "output_text", "annotations": [], "logprobs": [], "text": text}])
    } else {
        json!([])
    };
    json!({"id": message_id(ctx), "type": "message", "status": status, "content": content, "role": "assistant"})
}

/// The non-streaming body of a plain reply (no output items when `text` is empty).
pub(super) fn whole(ctx: &Ctx, text: &str) -> Value {
    let output = if text.is_empty() {
        json!([])
    } else {
        json!([message_item(ctx, text, "completed")])
    };
    let used = usage(ctx.input_tokens, 0, text.split_whitespace().count(), 0);
    response(ctx, "completed", output, used)
}

/// The events of a plain reply: a message item whose text streams two words
/// per delta. Empty text gives the content-free sequence (no item at all);
/// `finish: false` stops after the deltas.
pub(super) fn events(ctx: &Ctx, text: &str, finish: bool) -> Vec<String> {
    let mut events = Events::default();
    opening(ctx, &mut events);
    if !text.is_empty() || !finish {
        message(ctx, 0, text, finish, &mut events);
    }
    if finish {
        let output = if text.is_empty() {
            json!([])
        } else {
            json!([message_item(ctx, text, "completed")])
        };
        let used = usage(ctx.input_tokens, 0, text.split_whitespace().count(), 0);
        let done = response(ctx, "completed", output, used);
        events.push(json!({"type": "response.completed", "response": done}));
    }
    events.out
}

/// What a Malformed stream sends after its opening event: a delta that is
/// not JSON.
pub const MALFORMED: &str =
    "event: response.output_text.delta\ndata: {\"type\": \"response.output_text.delta\", oops\n\n";

fn opening(ctx: &Ctx, events: &mut Events) {
    let opened = response(ctx, "in_progress", json!([]), Value::Null);
    events.push(json!({"type": "response.created", "response": opened}));
    events.push(json!({"type": "response.in_progress", "response": opened}));
}

/// A message item at `index` with `text` in deltas; `finish: false` leaves it open.
fn message(ctx: &Ctx, index: usize, text: &str, finish: bool, events: &mut Events) {
    let id = message_id(ctx);
    events.push(
        json!({"type": "response.output_item.added", "output_index": index,
        "item": message_item(ctx, "", "in_progress")}),
    );
    let part = |text: &str| json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text});
    events.push(
        json!({"type": "response.content_part.added", "item_id": id, "output_index": index,
        "content_index": 0, "part": part("")}),
    );
    for delta in deltas(text) {
        events.push(
            json!({"type": "response.output_text.delta", "item_id": id, "output_index": index,
            "content_index": 0, "delta": delta, "logprobs": []}),
        );
    }
    if !finish {
        return;
    }
    events.push(
        json!({"type": "response.output_text.done", "item_id": id, "output_index": index,
        "content_index": 0, "text": text, "logprobs": []}),
    );
    events.push(
        json!({"type": "response.content_part.done", "item_id": id, "output_index": index,
        "content_index": 0, "part": part(text)}),
    );
    events.push(
        json!({"type": "response.output_item.done", "output_index": index,
        "item": message_item(ctx, text, "completed")}),
    );
}

// ---- the tool-using assistant (agent.rs) in the Responses API ----

/// The reasoning item of `thinking`, as done: its summary when asked for, its
/// encrypted content (the signature the agent checks) when asked for.
fn reasoning_item(ctx: &Ctx, thinking: &str) -> Value {
    let summary = if wants_summary(ctx) {
        json!([{"type": "summary_text", "text": thinking}])
    } else {
        json!([])
    };
    let mut item = json!({"id": reasoning_id(ctx), "type": "reasoning", "summary": summary});
    if wants_encrypted(ctx) {
        item["encrypted_content"] = json!(signature(thinking));
    }
    item
}

fn call_item(ctx: &Ctx, i: usize, name: &str, arguments: &str, status: &str) -> Value {
    json!({"id": call_item_id(ctx, i), "type": "function_call", "status": status,
           "arguments": arguments, "call_id": call_id(Api::Responses, i), "name": name})
}

/// The output of the agent's tool-calling reply: reasoning (when scripted),
/// then its calls.
fn agent_output(ctx: &Ctx, script: &ToolScript) -> Vec<Value> {
    let mut output = Vec::new();
    if let Some(t) = &script.thinking {
        output.push(reasoning_item(ctx, t));
    }
    for (i, (name, input)) in script.calls.iter().enumerate() {
        output.push(call_item(ctx, i, name, &input.to_string(), "completed"));
    }
    output
}

fn agent_usage(ctx: &Ctx) -> Value {
    usage(ctx.input_tokens, 7, 20, 5)
}

/// The agent's tool-calling reply, not streamed.
pub(super) fn agent_whole(ctx: &Ctx, script: &ToolScript) -> Value {
    response(
        ctx,
        "completed",
        json!(agent_output(ctx, script)),
        agent_usage(ctx),
    )
}

/// The agent's tool-calling reply as events: the reasoning summary word by
/// word, each call's arguments in fragments.
pub(super) fn agent_events(ctx: &Ctx, script: &ToolScript) -> Vec<String> {
    let mut events = Events::default();
    opening(ctx, &mut events);
    let mut index = 0;
    if let Some(t) = &script.thinking {
        let id = reasoning_id(ctx);
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
            "item": {"id": id, "type": "reasoning", "summary": []}}),
        );
        if wants_summary(ctx) {
            events.push(json!({"type": "response.reasoning_summary_part.added", "item_id": id,
                "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}));
            for piece in t.split_inclusive(' ') {
                events.push(
                    json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
                    "output_index": index, "summary_index": 0, "delta": piece}),
                );
            }
            events.push(
                json!({"type": "response.reasoning_summary_text.done", "item_id": id,
                "output_index": index, "summary_index": 0, "text": t}),
            );
            events.push(json!({"type": "response.reasoning_summary_part.done", "item_id": id,
                "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": t}}));
        }
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
            "item": reasoning_item(ctx, t)}),
        );
        index += 1;
    }
    for (i, (name, input)) in script.calls.iter().enumerate() {
        let id = call_item_id(ctx, i);
        let arguments = input.to_string();
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
            "item": call_item(ctx, i, name, "", "in_progress")}),
        );
        for piece in fragments(input) {
            events.push(
                json!({"type": "response.function_call_arguments.delta", "item_id": id,
                "output_index": index, "delta": piece}),
            );
        }
        events.push(
            json!({"type": "response.function_call_arguments.done", "item_id": id,
            "output_index": index, "arguments": arguments}),
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
            "item": call_item(ctx, i, name, &arguments, "completed")}),
        );
        index += 1;
    }
    let output = json!(agent_output(ctx, script));
    let done = response(ctx, "completed", output, agent_usage(ctx));
    events.push(json!({"type": "response.completed", "response": done}));
    events.out
}

/// The outputs of the `function_call_output` items that end the input, in
/// order, each checked against the calls the agent makes; `Err` is the
/// message of OpenAI's 400 for an output without its call.
pub fn tool_outputs(body: &Value) -> Result<Vec<String>, String> {
    let input = body["input"].as_array().cloned().unwrap_or_default();
    let known = |id: &str| (0..8).any(|i| call_id(Api::Responses, i) == id);
    let mut texts = Vec::new();
    for item in input
        .iter()
        .rev()
        .take_while(|i| i["type"] == "function_call_output")
    {
        let id = item["call_id"].as_str().unwrap_or_default();
        if !known(id) {
            return Err(format!(
                "No tool call found for function call output with call_id {id}."
            ));
        }
        texts.insert(0, output_text(&item["output"]));
    }
    Ok(texts)
}

/// An output: a string, or (newer clients) a list of content parts.
fn output_text(output: &Value) -> String {
    match output {
        Value::String(s) => s.trim().to_string(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("")
            .trim()
            .to_string(),
        _ => String::new(),
    }
}

/// Every reasoning item sent back carries the encrypted content given with
/// its summary (the summary parts joined by blank lines; one sent back
/// without its summary, any the stand-in gives); with `store: false` an item
/// named by `id` alone cannot be found.
pub fn check_reasoning(body: &Value) -> Result<(), String> {
    let input = body["input"].as_array().cloned().unwrap_or_default();
    for item in input.iter().filter(|i| i["type"] == "reasoning") {
        let encrypted = item["encrypted_content"].as_str();
        if encrypted.is_none() {
            if let Some(id) = item["id"].as_str().filter(|_| body["store"] == false) {
                return Err(format!(
                    "Item with id '{id}' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input."
                ));
            }
            continue;
        }
        let summary: Vec<&str> = item["summary"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["text"].as_str())
            .collect();
        // Without its summary it can only be checked for being the stand-in's.
        let valid = match encrypted {
            Some(e) if summary.is_empty() => e.starts_with("stand-sig-"),
            e => e == Some(signature(&summary.join("\n\n")).as_str()),
        };
        if !valid {
            return Err("The encrypted content for a reasoning item could not be verified.".into());
        }
    }
    Ok(())
}
