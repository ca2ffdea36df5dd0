//! A whole `message`, and the pieces the stream shares with it.

use serde_json::{Value, json};

use crate::reply::{Block, Reply, arguments_object};
use crate::{ApiRequest, unique_id};
use claw_types::{StopReason, Usage};

/// Its content blocks in the order they came.
pub(super) fn response(req: &ApiRequest, reply: &Reply) -> Value {
    let content: Vec<Value> = reply.blocks.iter().map(block).collect();
    json!({
        "id": format!("msg_{}", unique_id()),
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": content,
        "stop_reason": stop_reason(reply.stop_reason()),
        "stop_sequence": null,
        "usage": usage(reply.usage),
    })
}

fn block(b: &Block) -> Value {
    match b {
        // Reasoning from upstreams that do not sign it has an empty signature.
        Block::Reasoning { text, signature } => json!({
            "type": "thinking", "thinking": text, "signature": signature.as_deref().unwrap_or(""),
        }),
        Block::RedactedReasoning(data) => json!({"type": "redacted_thinking", "data": data}),
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::ToolCall(call) => json!({
            "type": "tool_use", "id": call.id, "name": call.name, "input": arguments_object(call),
        }),
    }
}

pub(super) fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "max_tokens",
        // The sequence itself is not carried through, but the reason is.
        StopReason::StopSequence => "stop_sequence",
        StopReason::ToolUse => "tool_use",
        StopReason::Refusal => "refusal",
        StopReason::EndTurn | StopReason::Other => "end_turn",
    }
}

/// Our `input_tokens` excludes cache reads and writes, as Anthropic's does.
pub(super) fn usage(u: Option<Usage>) -> Value {
    let u = u.unwrap_or_default();
    json!({
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    })
}
