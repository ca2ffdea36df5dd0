//! The system prompt and the messages in Chat Completions' shape. Pure logic.
//!
//! - The system blocks become one `system` message.
//! - Text-only content is a plain string (many local servers take nothing
//!   else); with images, content parts (`image_url`, inline images as `data:`
//!   URLs).
//! - An assistant message carries its tool calls as `tool_calls` and its
//!   reasoning as `reasoning_content`, which DeepSeek, Moonshot, Qwen and
//!   MiniMax expect back during a tool-calling turn and others ignore.
//!   Signatures and redacted reasoning are Anthropic's and are dropped.
//! - Tool results become `tool` messages, right after the assistant's call
//!   and before the rest of the user's message. Tool messages take only text,
//!   so images in a result follow in a user message (after all of that turn's
//!   tool messages, which must stay together); a result of only images says so
//!   in its text. The API has no error flag: the result's text says what failed.

use claw_plugin_sdk::prelude::*;
use serde_json::{Value, json};

/// Opens the user message that carries tool results' images.
const TOOL_IMAGES: &str = "Images returned by the tool calls above:";
/// The text of a tool result that has only images.
const IMAGE_ONLY: &str = "(the result is an image, attached in the next message)";

pub fn messages(request: &ChatRequest) -> Vec<Value> {
    let mut out = Vec::new();
    let system: Vec<&str> = request
        .system
        .iter()
        .map(|b| b.text.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    if !system.is_empty() {
        out.push(json!({ "role": "system", "content": system.join("\n\n") }));
    }
    for m in &request.messages {
        match m.role {
            Role::User => user(m, &mut out),
            Role::Assistant => out.push(assistant(m)),
        }
    }
    out
}

fn user(m: &Message, out: &mut Vec<Value>) {
    let mut parts: Vec<&ContentPart> = Vec::new();
    let mut tool_images: Vec<&ImageSource> = Vec::new();
    let mut had_results = false;
    for part in &m.content {
        match part {
            ContentPart::ToolResult(result) => {
                had_results = true;
                let mut text = result.text();
                let images: Vec<&ImageSource> = result.images().collect();
                if text.is_empty() && !images.is_empty() {
                    text = IMAGE_ONLY.into();
                }
                tool_images.extend(images);
                out.push(
                    json!({ "role": "tool", "tool_call_id": result.call_id, "content": text }),
                );
            }
            ContentPart::Text(_) | ContentPart::Image(_) => parts.push(part),
            _ => {} // calls and reasoning are the assistant's
        }
    }
    let mut content: Vec<Value> = Vec::new();
    if !tool_images.is_empty() {
        content.push(json!({ "type": "text", "text": TOOL_IMAGES }));
        content.extend(tool_images.into_iter().map(image_url));
    }
    for part in parts {
        match part {
            ContentPart::Text(t) => content.push(json!({ "type": "text", "text": t.text })),
            ContentPart::Image(i) => content.push(image_url(&i.source)),
            _ => {}
        }
    }
    // A message of only tool results needs no user message after them.
    if had_results && content.is_empty() {
        return;
    }
    out.push(json!({ "role": "user", "content": plain_if_text(content) }));
}

fn assistant(m: &Message) -> Value {
    let texts: Vec<&str> = m.content.iter().filter_map(ContentPart::as_text).collect();
    let text = texts.join("\n");
    let calls: Vec<Value> = m
        .tool_calls()
        .map(|call| {
            // Some servers cannot parse an empty arguments string.
            let arguments = if call.arguments.trim().is_empty() {
                "{}"
            } else {
                call.arguments.as_str()
            };
            json!({
                "id": call.id,
                "type": "function",
                "function": { "name": call.name, "arguments": arguments },
            })
        })
        .collect();
    let reasoning: String = m
        .content
        .iter()
        .filter_map(|part| match part {
            ContentPart::Reasoning(r) => Some(r.text.as_str()),
            _ => None,
        })
        .collect();
    let mut message = json!({ "role": "assistant" });
    // With tool calls and no text the content is null, as OpenAI sends it.
    message["content"] = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        text.into()
    };
    if !calls.is_empty() {
        message["tool_calls"] = calls.into();
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = reasoning.into();
    }
    message
}

fn image_url(source: &ImageSource) -> Value {
    json!({ "type": "image_url", "image_url": { "url": source.to_url() } })
}

/// Text parts alone as one string (joined by newlines), else the parts.
fn plain_if_text(content: Vec<Value>) -> Value {
    if content.iter().all(|p| p["type"] == "text") {
        let texts: Vec<&str> = content.iter().filter_map(|p| p["text"].as_str()).collect();
        texts.join("\n").into()
    } else {
        content.into()
    }
}
