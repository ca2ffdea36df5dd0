//! A whole (non-streamed) Message object, as the events a stream of it gives.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::{self, Seen};
use serde_json::Value;

use super::{merge_usage, non_empty};
use crate::errors::{API, upstream_error};

pub fn parse_message(body: &[u8]) -> Result<Vec<ChatEvent>, PluginError> {
    let message = upstream::reply_json(API, body)?;
    if message["type"] == "error" || message["error"].is_object() {
        return Err(upstream_error(None, &String::from_utf8_lossy(body), None));
    }
    let mut events = vec![ChatEvent::Started(
        message["id"].as_str().unwrap_or("").to_string(),
    )];
    let (mut seen, mut tools) = (Seen::default(), ToolCallTracker::new());
    let blocks = message["content"].as_array().map(Vec::as_slice);
    for (position, block) in blocks.unwrap_or_default().iter().enumerate() {
        match block["type"].as_str().unwrap_or("") {
            "text" => {
                if let Some(text) = non_empty(&block["text"]) {
                    seen.text = true;
                    events.push(ChatEvent::Text(text.to_string()));
                }
            }
            "thinking" => {
                if let Some(text) = non_empty(&block["thinking"]) {
                    seen.reasoning = true;
                    events.push(ChatEvent::Reasoning(text.to_string()));
                }
                if let Some(signature) = non_empty(&block["signature"]) {
                    events.push(ChatEvent::ReasoningSignature(signature.to_string()));
                }
            }
            "redacted_thinking" => {
                if let Some(data) = non_empty(&block["data"]) {
                    seen.reasoning = true;
                    events.push(ChatEvent::RedactedReasoning(data.to_string()));
                }
            }
            "tool_use" => {
                seen.tool_calls = true;
                let key = position as u64;
                let field = |key: &str| block[key].as_str().unwrap_or("").to_string();
                tools.start(key, field("id"), field("name"), &mut events);
                let input = match &block["input"] {
                    Value::Object(input) if !input.is_empty() => Value::from(input.clone()),
                    _ => Value::Object(Default::default()),
                };
                tools.delta(key, &input.to_string(), &mut events);
                tools.end(key, &mut events);
            }
            _ => {}
        }
    }
    let stop = message["stop_reason"].as_str().unwrap_or("end_turn");
    let done = seen.done(API, "stop reason", stop)?;
    if message["usage"].is_object() {
        let usage = merge_usage(Usage::default(), &message["usage"]);
        events.push(ChatEvent::Usage(usage));
    }
    events.push(ChatEvent::Done(done));
    Ok(events)
}
