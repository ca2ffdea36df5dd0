//! A whole (non-streamed) `chat.completion`, as the events a stream of it gives.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::{self, Seen};

use super::tools::ToolCalls;
use super::{done, reasoning, text, usage};
use crate::errors::{API, upstream_error};

pub fn parse_completion(body: &[u8]) -> Result<Vec<ChatEvent>, PluginError> {
    let completion = upstream::reply_json(API, body)?;
    if !completion["error"].is_null() {
        return Err(upstream_error(None, &String::from_utf8_lossy(body), None));
    }
    let choice = &completion["choices"][0];
    let message = &choice["message"];
    let mut events = vec![ChatEvent::Started(
        completion["id"].as_str().unwrap_or("").to_string(),
    )];
    let mut seen = Seen::default();
    if let Some(reasoning) = reasoning(message) {
        seen.reasoning = true;
        events.push(ChatEvent::Reasoning(reasoning.to_string()));
    }
    if let Some(text) = text(message) {
        seen.text = true;
        events.push(ChatEvent::Text(text.to_string()));
    }
    let mut tools = ToolCalls::default();
    let calls = message["tool_calls"].as_array().map(Vec::as_slice);
    for (position, call) in calls.unwrap_or_default().iter().enumerate() {
        // Whole calls: each its own, whatever index or id it carries.
        let mut call = call.clone();
        call["index"] = position.into();
        seen.tool_calls |= tools.fragment(&call, &mut events);
    }
    tools.end_all(&mut events);
    let finish = choice["finish_reason"].as_str().unwrap_or("stop");
    let done = done(&seen, finish)?;
    if let Some(usage) = usage(&completion["usage"]) {
        events.push(ChatEvent::Usage(usage));
    }
    events.push(ChatEvent::Done(done));
    Ok(events)
}
