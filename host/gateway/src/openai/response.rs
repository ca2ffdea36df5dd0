//! A whole `chat.completion`, and the pieces the stream shares with it.

use serde_json::{Value, json};

use crate::reply::Reply;
use crate::{ApiRequest, unique_id, unix_secs};
use claw_types::{StopReason, ToolCall, Usage};

pub(super) fn response(req: &ApiRequest, reply: &Reply) -> Value {
    let text = reply.text();
    let calls: Vec<Value> = reply.tool_calls().map(tool_call).collect();
    // Content is null when the turn only called tools, as OpenAI sends it.
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::from(text)
    };
    let mut message = json!({"role": "assistant", "content": content});
    let reasoning = reply.reasoning();
    if !reasoning.is_empty() {
        message["reasoning_content"] = reasoning.into();
    }
    if !calls.is_empty() {
        message["tool_calls"] = calls.into();
    }
    json!({
        "id": format!("chatcmpl-{}", unique_id()),
        "object": "chat.completion",
        "created": unix_secs(),
        "model": req.model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": finish_reason(reply.stop_reason()),
        }],
        "usage": usage(reply.usage),
    })
}

fn tool_call(call: &ToolCall) -> Value {
    json!({
        "id": call.id, "type": "function",
        "function": {"name": call.name, "arguments": arguments(call)},
    })
}

/// Arguments as clients parse them: a call without any is `{}`, since
/// `JSON.parse("")` fails.
pub(super) fn arguments(call: &ToolCall) -> &str {
    if call.arguments.trim().is_empty() {
        "{}"
    } else {
        &call.arguments
    }
}

pub(super) fn finish_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        StopReason::ToolUse => "tool_calls",
        StopReason::Refusal => "content_filter",
        StopReason::EndTurn | StopReason::StopSequence | StopReason::Other => "stop",
    }
}

/// OpenAI's `prompt_tokens` includes cached tokens; ours does not.
pub(super) fn usage(u: Option<Usage>) -> Value {
    let u = u.unwrap_or_default();
    let prompt = u64::from(u.input_tokens)
        + u64::from(u.cache_read_tokens)
        + u64::from(u.cache_write_tokens);
    let completion = u64::from(u.output_tokens);
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    })
}
