//! The system prompt and the messages as content blocks. Pure logic.
//!
//! Parts the API cannot take are left out rather than failing the request:
//! empty text (refused by the API), reasoning without a signature (from another
//! upstream; Anthropic only takes back what it signed). In user messages, tool
//! results go first, as the API requires.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream;
use serde_json::{Value, json};

use crate::errors::API;

/// `cache_control` for a cache hint: ephemeral, with a 1 h TTL when asked for
/// an hour or more (the default is 5 min).
pub fn cache_control(hint: &Option<CacheHint>) -> Option<Value> {
    let hint = hint.as_ref()?;
    Some(match hint.ttl_seconds {
        Some(ttl) if ttl >= 3600 => json!({ "type": "ephemeral", "ttl": "1h" }),
        _ => json!({ "type": "ephemeral" }),
    })
}

/// The system prompt: a plain string when no block carries a cache hint (what
/// every compatible endpoint takes), else text blocks. `None` when empty.
pub fn system(blocks: &[TextPart]) -> Option<Value> {
    let blocks: Vec<&TextPart> = blocks.iter().filter(|b| !b.text.is_empty()).collect();
    if blocks.is_empty() {
        return None;
    }
    if blocks.iter().all(|b| b.cache.is_none()) {
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        return Some(texts.join("\n\n").into());
    }
    Some(blocks.into_iter().map(text_block).collect())
}

/// The messages; one left without blocks is skipped (the API refuses it).
pub fn messages(messages: &[Message]) -> Result<Vec<Value>, PluginError> {
    let mut out = Vec::new();
    for m in messages {
        let mut blocks = Vec::new();
        for part in &m.content {
            blocks.extend(block(part)?);
        }
        if m.role == Role::User {
            // A stable sort: tool results first, the rest in order.
            blocks.sort_by_key(|b| b["type"] != "tool_result");
        }
        if blocks.is_empty() {
            continue;
        }
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        out.push(json!({ "role": role, "content": blocks }));
    }
    Ok(out)
}

fn block(part: &ContentPart) -> Result<Option<Value>, PluginError> {
    Ok(match part {
        ContentPart::Text(text) if text.text.is_empty() => None,
        ContentPart::Text(text) => Some(text_block(text)),
        ContentPart::Image(image) => {
            let mut block = image_block(&image.source);
            if let Some(cache) = cache_control(&image.cache) {
                block["cache_control"] = cache;
            }
            Some(block)
        }
        ContentPart::ToolCall(call) => {
            let what = format!("the arguments of tool call {}", call.id);
            let input = upstream::json_object(API, &what, &call.arguments)?;
            Some(json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": input }))
        }
        ContentPart::ToolResult(result) => Some(tool_result(result)),
        ContentPart::Reasoning(ReasoningPart {
            signature: Some(signature),
            text,
        }) => Some(json!({ "type": "thinking", "thinking": text, "signature": signature })),
        ContentPart::Reasoning(_) => None,
        ContentPart::RedactedReasoning(data) => {
            Some(json!({ "type": "redacted_thinking", "data": data }))
        }
    })
}

fn text_block(part: &TextPart) -> Value {
    let mut block = json!({ "type": "text", "text": part.text });
    if let Some(cache) = cache_control(&part.cache) {
        block["cache_control"] = cache;
    }
    block
}

fn image_block(source: &ImageSource) -> Value {
    let source = match source {
        ImageSource::Base64(image) => {
            json!({ "type": "base64", "media_type": image.media_type, "data": image.data })
        }
        ImageSource::Url(url) => json!({ "type": "url", "url": url }),
    };
    json!({ "type": "image", "source": source })
}

fn tool_result(result: &ToolResult) -> Value {
    let content: Vec<Value> = result
        .content
        .iter()
        .filter_map(|output| match output {
            ToolOutput::Text(text) if text.is_empty() => None,
            ToolOutput::Text(text) => Some(json!({ "type": "text", "text": text })),
            ToolOutput::Image(source) => Some(image_block(source)),
        })
        .collect();
    let mut block = json!({ "type": "tool_result", "tool_use_id": result.call_id });
    if !content.is_empty() {
        block["content"] = content.into();
    }
    if result.is_error {
        block["is_error"] = true.into();
    }
    if let Some(cache) = cache_control(&result.cache) {
        block["cache_control"] = cache;
    }
    block
}
