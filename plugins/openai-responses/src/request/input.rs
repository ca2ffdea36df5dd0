//! The conversation as the Responses API's `input` items. Pure logic.
//!
//! - User text and images are one `message` item of `input_text` and
//!   `input_image` parts (inline images as `data:` URLs).
//! - Assistant text is a `message` item of `output_text` parts; each tool
//!   call is a `function_call` item, each reasoning block a `reasoning` item,
//!   in the order the message has them (a reasoning item must come before
//!   the call it led to).
//! - Reasoning goes back as OpenAI needs it to continue: its encrypted
//!   content (the signature it gave, or a redacted block's data) with the
//!   summary text. Reasoning without a signature cannot be resumed by the
//!   API (which, storing nothing, has no item to look up) and is left out.
//!   A signature from another upstream (an Anthropic thinking signature) is
//!   not OpenAI's and will be refused by it; the contract does not say
//!   where a signature came from.
//! - Tool results become `function_call_output` items, right after the
//!   assistant's calls and before the rest of the user's message. Their
//!   output is text, so images in a result follow in a user message (after
//!   all of that turn's outputs); a result of only images says so in its
//!   text. The API has no error flag: the result's text says what failed.

use claw_plugin_sdk::prelude::*;
use serde_json::{Value, json};

/// Opens the user message that carries tool results' images.
const TOOL_IMAGES: &str = "Images returned by the tool calls above:";
/// The text of a tool result that has only images.
const IMAGE_ONLY: &str = "(the result is an image, attached in the next message)";

pub fn input(request: &ChatRequest) -> Vec<Value> {
    let mut out = Vec::new();
    for m in &request.messages {
        match m.role {
            Role::User => user(m, &mut out),
            Role::Assistant => assistant(m, &mut out),
        }
    }
    out
}

fn user(m: &Message, out: &mut Vec<Value>) {
    let mut content: Vec<Value> = Vec::new();
    let mut tool_images: Vec<&ImageSource> = Vec::new();
    for part in &m.content {
        if let ContentPart::ToolResult(result) = part {
            let mut text = result.text();
            let images: Vec<&ImageSource> = result.images().collect();
            if text.is_empty() && !images.is_empty() {
                text = IMAGE_ONLY.into();
            }
            tool_images.extend(images);
            out.push(json!({
                "type": "function_call_output",
                "call_id": result.call_id,
                "output": text,
            }));
        }
    }
    if !tool_images.is_empty() {
        content.push(input_text(TOOL_IMAGES));
        content.extend(tool_images.into_iter().map(input_image));
    }
    for part in &m.content {
        match part {
            ContentPart::Text(t) if !t.text.is_empty() => content.push(input_text(&t.text)),
            ContentPart::Image(i) => content.push(input_image(&i.source)),
            _ => {} // results are above; calls and reasoning are the assistant's
        }
    }
    if !content.is_empty() {
        out.push(json!({ "type": "message", "role": "user", "content": content }));
    }
}

fn assistant(m: &Message, out: &mut Vec<Value>) {
    // Text parts gather into one message item until another item comes.
    let mut text: Vec<Value> = Vec::new();
    let flush = |text: &mut Vec<Value>, out: &mut Vec<Value>| {
        if !text.is_empty() {
            let content = std::mem::take(text);
            out.push(json!({ "type": "message", "role": "assistant", "content": content }));
        }
    };
    for part in &m.content {
        match part {
            ContentPart::Text(t) if !t.text.is_empty() => {
                text.push(json!({ "type": "output_text", "text": t.text }));
            }
            ContentPart::ToolCall(call) => {
                flush(&mut text, out);
                // Some servers cannot parse an empty arguments string.
                let arguments = if call.arguments.trim().is_empty() {
                    "{}"
                } else {
                    call.arguments.as_str()
                };
                out.push(json!({
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": arguments,
                }));
            }
            ContentPart::Reasoning(ReasoningPart {
                text: summary,
                signature: Some(signature),
            }) if !signature.is_empty() => {
                flush(&mut text, out);
                out.push(reasoning(summary, signature));
            }
            ContentPart::RedactedReasoning(data) if !data.is_empty() => {
                flush(&mut text, out);
                out.push(reasoning("", data));
            }
            _ => {} // images and results are the user's; unsigned reasoning: see above
        }
    }
    flush(&mut text, out);
}

/// A reasoning item: its summary (none when the text is empty) and its
/// encrypted content, which is what the model continues from.
fn reasoning(summary: &str, encrypted: &str) -> Value {
    let summary: Vec<Value> = (!summary.is_empty())
        .then(|| json!({ "type": "summary_text", "text": summary }))
        .into_iter()
        .collect();
    json!({ "type": "reasoning", "summary": summary, "encrypted_content": encrypted })
}

fn input_text(text: &str) -> Value {
    json!({ "type": "input_text", "text": text })
}

fn input_image(source: &ImageSource) -> Value {
    json!({ "type": "input_image", "image_url": source.to_url(), "detail": "auto" })
}
