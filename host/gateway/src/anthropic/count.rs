//! `POST /v1/messages/count_tokens`, estimated: no plugin API counts tokens,
//! and the upstream that would serve the request is not known until it is
//! routed, so the count is an estimate from the request alone.

use serde_json::{Value, json};

use claw_core::router::Prompt;
use claw_types::{ContentPart, ToolOutput};

/// UTF-8 bytes per token: about right for English and code, high for CJK.
const BYTES_PER_TOKEN: usize = 4;
/// Tokens per image: the most Anthropic charges for one (about 1.15 megapixels).
const IMAGE_TOKENS: usize = 1_600;
/// Tokens each message adds around its content (role, separators).
const MESSAGE_TOKENS: usize = 3;

/// `{"input_tokens": N}`: one token per 4 bytes of system text, message
/// text, reasoning, tool calls and results, and tool definitions (name,
/// description, schema JSON); 1,600 per image; 3 per message. Signatures
/// and redacted reasoning are opaque and not counted.
pub fn count_tokens(prompt: &Prompt) -> Value {
    let mut bytes = 0;
    let mut images = 0;
    for s in &prompt.system {
        bytes += s.text.len();
    }
    for t in &prompt.tools {
        bytes +=
            t.name.len() + t.description.as_ref().map_or(0, String::len) + t.input_schema.len();
    }
    for part in prompt.messages.iter().flat_map(|m| &m.content) {
        match part {
            ContentPart::Text { text, .. } | ContentPart::Reasoning { text, .. } => {
                bytes += text.len()
            }
            ContentPart::Image { .. } => images += 1,
            ContentPart::ToolCall(c) => bytes += c.id.len() + c.name.len() + c.arguments.len(),
            ContentPart::ToolResult(r) => {
                bytes += r.call_id.len();
                for o in &r.content {
                    match o {
                        ToolOutput::Text(t) => bytes += t.len(),
                        ToolOutput::Image(_) => images += 1,
                    }
                }
            }
            ContentPart::RedactedReasoning(_) => {}
        }
    }
    let tokens = bytes.div_ceil(BYTES_PER_TOKEN)
        + images * IMAGE_TOKENS
        + prompt.messages.len() * MESSAGE_TOKENS;
    json!({ "input_tokens": tokens })
}
