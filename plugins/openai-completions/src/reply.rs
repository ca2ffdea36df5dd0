//! The reply: a stream of `chat.completion.chunk`s ending in `data: [DONE]`, or
//! a whole `chat.completion`, turned into `ChatEvent`s. Pure logic, no host
//! calls: the SDK's `SseDriver` feeds the decoder the stream's events.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::sse::SseEvent;
use claw_plugin_sdk::upstream::{self, Flow, Seen, SseDecoder};
use serde_json::Value;

use crate::errors::{API, upstream_error};

/// The stream's state between events.
#[derive(Default)]
pub struct StreamDecoder {
    started: bool,
    seen: Seen,
    finish_reason: Option<String>,
}

impl SseDecoder for StreamDecoder {
    fn event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            let finish = self.finish_reason.clone().unwrap_or_else(|| "stop".into());
            if !self.seen.text {
                return Err(self.seen.no_text(API, &format!("finish reason {finish}")));
            }
            out.push(ChatEvent::Done(finish));
            return Ok(Flow::End);
        }
        let chunk = upstream::event_json(API, data)?;
        if !chunk["error"].is_null() {
            return Err(upstream_error(None, data, None));
        }
        if !self.started {
            self.started = true;
            out.push(ChatEvent::Started(
                chunk["id"].as_str().unwrap_or("").to_string(),
            ));
        }
        let choice = &chunk["choices"][0];
        let delta = &choice["delta"];
        if let Some(thinking) = reasoning(delta) {
            self.seen.thinking = true;
            out.push(ChatEvent::Thinking(thinking.to_string()));
        }
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            self.seen.text = true;
            out.push(ChatEvent::Text(text.to_string()));
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.finish_reason = Some(reason.to_string());
        }
        // Moonshot reports usage inside the choice rather than beside it.
        if let Some(usage) = usage(&chunk["usage"]).or_else(|| usage(&choice["usage"])) {
            out.push(ChatEvent::Usage(usage));
        }
        Ok(Flow::Continue)
    }

    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        // A finish_reason is the last choice chunk: only [DONE] (and maybe the
        // usage chunk) is missing, so the reply itself is complete.
        match (self.seen.text, &self.finish_reason) {
            (true, Some(reason)) => {
                out.push(ChatEvent::Done(reason.clone()));
                Ok(())
            }
            _ => Err(self.seen.ended_early(API, "[DONE]")),
        }
    }
}

/// Reasoning text: `reasoning_content` (DeepSeek, Moonshot, LM Studio) or
/// `reasoning` (OpenRouter, Ollama); never both, they would repeat each other.
fn reasoning(delta: &Value) -> Option<&str> {
    let field = |key: &str| delta[key].as_str().filter(|t| !t.is_empty());
    field("reasoning_content").or_else(|| field("reasoning"))
}

/// OpenAI's `usage`. `prompt_tokens` includes cached tokens; `input_tokens`
/// excludes them, as Anthropic's does, so cost is not counted twice.
fn usage(json: &Value) -> Option<Usage> {
    if !json.is_object() {
        return None;
    }
    let count = |v: &Value| {
        v.as_u64()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let prompt = count(&json["prompt_tokens"]);
    let cached = match &json["prompt_tokens_details"]["cached_tokens"] {
        Value::Null => count(&json["cached_tokens"]), // Moonshot
        v => count(v),
    }
    .min(prompt);
    Some(Usage {
        input_tokens: prompt - cached,
        output_tokens: count(&json["completion_tokens"]),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
    })
}

/// A whole (non-streaming) `chat.completion`, as events.
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
    if let Some(thinking) = reasoning(message) {
        events.push(ChatEvent::Thinking(thinking.to_string()));
    }
    let finish = choice["finish_reason"].as_str().unwrap_or("stop");
    match message["content"].as_str().filter(|t| !t.is_empty()) {
        Some(text) => events.push(ChatEvent::Text(text.to_string())),
        None => {
            let finish = format!("finish reason {finish}");
            return Err(upstream::empty_reply(API, "no text", &finish));
        }
    }
    if let Some(usage) = usage(&completion["usage"]) {
        events.push(ChatEvent::Usage(usage));
    }
    events.push(ChatEvent::Done(finish.to_string()));
    Ok(events)
}

#[cfg(test)]
mod tests;
