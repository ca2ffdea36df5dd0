//! The reply: a stream of `chat.completion.chunk`s ending in `data: [DONE]`, or
//! a whole `chat.completion`, turned into `ChatEvent`s. Pure logic, no host
//! calls: the SDK's `SseDriver` feeds the decoder the stream's events.
//!
//! `delta.content` (and a `refusal`) is text; `reasoning_content` (DeepSeek,
//! Moonshot, Qwen, LM Studio) or `reasoning` (OpenRouter, Ollama) is
//! reasoning; `tool_calls` fragments become tool-call events (see `tools`),
//! all ended when the choice finishes. Only the first choice is read.

mod tools;
mod whole;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::sse::SseEvent;
use claw_plugin_sdk::upstream::{self, Flow, Seen, SseDecoder};
use serde_json::Value;

use crate::errors::{API, upstream_error};
use tools::ToolCalls;
pub use whole::parse_completion;

/// The stream's state between events.
#[derive(Default)]
pub struct StreamDecoder {
    started: bool,
    seen: Seen,
    finish_reason: Option<String>,
    tools: ToolCalls,
}

impl SseDecoder for StreamDecoder {
    fn event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.tools.end_all(out);
            let finish = self.finish_reason.as_deref().unwrap_or("stop");
            out.push(ChatEvent::Done(done(&self.seen, finish)?));
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
        if let Some(reasoning) = reasoning(delta) {
            self.seen.reasoning = true;
            out.push(ChatEvent::Reasoning(reasoning.to_string()));
        }
        if let Some(text) = text(delta) {
            self.seen.text = true;
            out.push(ChatEvent::Text(text.to_string()));
        }
        for call in delta["tool_calls"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            self.seen.tool_calls |= self.tools.fragment(call, out);
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.finish_reason = Some(reason.to_string());
            self.tools.end_all(out); // the choice's last chunk: its calls are whole
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
        match (self.seen.answered(), &self.finish_reason) {
            (true, Some(reason)) => {
                let done = done(&self.seen, reason)?;
                out.push(ChatEvent::Done(done));
                Ok(())
            }
            _ => Err(self.seen.ended_early(API, "[DONE]")),
        }
    }
}

/// The end of a reply that finished with `finish`. Some servers (Ollama,
/// older LM Studio) finish a tool-calling reply with "stop": it still asks
/// for its calls to run, whatever the raw reason says.
fn done(seen: &Seen, finish: &str) -> Result<Done, PluginError> {
    let mut done = seen.done(API, "finish reason", finish)?;
    if seen.tool_calls && done.reason == StopReason::EndTurn {
        done.reason = StopReason::ToolUse;
    }
    Ok(done)
}

/// Visible text: `content`, or a `refusal` (OpenAI's structured outputs).
fn text(delta: &Value) -> Option<&str> {
    let field = |key: &str| delta[key].as_str().filter(|t| !t.is_empty());
    field("content").or_else(|| field("refusal"))
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
    let cached = [
        &json["prompt_tokens_details"]["cached_tokens"],
        &json["cached_tokens"],           // Moonshot
        &json["prompt_cache_hit_tokens"], // DeepSeek
    ]
    .into_iter()
    .find(|v| !v.is_null())
    .map_or(0, count)
    .min(prompt);
    let output = count(&json["completion_tokens"]);
    Some(Usage {
        input_tokens: prompt - cached,
        output_tokens: output,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        reasoning_tokens: count(&json["completion_tokens_details"]["reasoning_tokens"]).min(output),
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
