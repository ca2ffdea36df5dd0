//! The reply: Anthropic's event stream, or a whole JSON message, turned into
//! `ChatEvent`s. Pure logic, no host calls: the SDK's `SseDriver` feeds the
//! decoder the stream's events.
//!
//! Content blocks map one to one: `text` → text, `thinking` → reasoning (its
//! `signature_delta` → reasoning-signature), `redacted_thinking` →
//! redacted-reasoning, `tool_use` → tool-call start, its `input_json_delta`s
//! → tool-call deltas, its `content_block_stop` → tool-call end. Tool calls
//! are numbered from 0 in the order their blocks start. Server-side tool
//! blocks (`server_tool_use`, search results) are not the client's and are
//! skipped.

mod whole;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::sse::SseEvent;
use claw_plugin_sdk::upstream::{self, Flow, Seen, SseDecoder};
use serde_json::Value;

use crate::errors::{API, upstream_error};
pub use whole::parse_message;

/// The event stream's state between events.
#[derive(Default)]
pub struct StreamDecoder {
    started: bool,
    seen: Seen,
    stop_reason: Option<String>,
    usage: Option<Usage>,
    usage_sent: bool,
    /// Tool calls by content-block index.
    tools: ToolCallTracker,
    /// A signature that came with a thinking block's start (not Anthropic's
    /// way, but compatible endpoints may): sent when the block stops.
    start_signature: Option<(u64, String)>,
}

impl SseDecoder for StreamDecoder {
    fn event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let data = upstream::event_json(API, &event.data)?;
        // The JSON's `type` is authoritative; the SSE event name is the fallback.
        let kind = data["type"]
            .as_str()
            .or(event.event.as_deref())
            .unwrap_or("");
        let index = data["index"].as_u64().unwrap_or(0);
        match kind {
            "message_start" => {
                let message = &data["message"];
                if !self.started {
                    self.started = true;
                    out.push(ChatEvent::Started(
                        message["id"].as_str().unwrap_or("").to_string(),
                    ));
                }
                self.usage = Some(merge_usage(Usage::default(), &message["usage"]));
            }
            "content_block_start" => self.block_start(index, &data["content_block"], out),
            "content_block_delta" => self.block_delta(index, &data["delta"], out),
            "content_block_stop" => {
                self.tools.end(index, out);
                if let Some((_, signature)) =
                    self.start_signature.take_if(|(block, _)| *block == index)
                {
                    out.push(ChatEvent::ReasoningSignature(signature));
                }
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_string());
                }
                let usage = merge_usage(self.usage.unwrap_or_default(), &data["usage"]);
                self.usage = Some(usage);
                self.usage_sent = true;
                out.push(ChatEvent::Usage(usage));
            }
            "message_stop" => return self.message_stop(out),
            "error" => return Err(upstream_error(None, &event.data, None)),
            _ => {} // ping, future events
        }
        Ok(Flow::Continue)
    }

    fn end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        Err(self.seen.ended_early(API, "message_stop"))
    }
}

impl StreamDecoder {
    /// The end of the reply: it must have answered (text or a tool call);
    /// calls still open end, and usage not yet reported (no `message_delta`
    /// came) goes out before `Done`.
    fn message_stop(&mut self, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let reason = self.stop_reason.as_deref().unwrap_or("end_turn");
        let done = self.seen.done(API, "stop reason", reason)?;
        self.tools.end_all(out);
        if let (Some(usage), false) = (self.usage, self.usage_sent) {
            out.push(ChatEvent::Usage(usage));
        }
        out.push(ChatEvent::Done(done));
        Ok(Flow::End)
    }

    /// A block starts; text and thinking may already carry some.
    fn block_start(&mut self, index: u64, block: &Value, out: &mut Vec<ChatEvent>) {
        match block["type"].as_str().unwrap_or("") {
            "text" => self.text(non_empty(&block["text"]), out),
            "thinking" => {
                self.reasoning(non_empty(&block["thinking"]), out);
                if let Some(signature) = non_empty(&block["signature"]) {
                    self.start_signature = Some((index, signature.to_string()));
                }
            }
            "redacted_thinking" => {
                if let Some(data) = non_empty(&block["data"]) {
                    self.seen.reasoning = true;
                    out.push(ChatEvent::RedactedReasoning(data.to_string()));
                }
            }
            "tool_use" => {
                self.seen.tool_calls = true;
                let field = |key: &str| block[key].as_str().unwrap_or("").to_string();
                self.tools.start(index, field("id"), field("name"), out);
                // Anthropic streams the input; a whole one here is a compatible
                // endpoint's shortcut.
                if let Some(input) = block["input"].as_object().filter(|i| !i.is_empty()) {
                    self.tools
                        .delta(index, &Value::from(input.clone()).to_string(), out);
                }
            }
            _ => {}
        }
    }

    fn block_delta(&mut self, index: u64, delta: &Value, out: &mut Vec<ChatEvent>) {
        match delta["type"].as_str().unwrap_or("") {
            "text_delta" => self.text(non_empty(&delta["text"]), out),
            "thinking_delta" => self.reasoning(non_empty(&delta["thinking"]), out),
            "signature_delta" => {
                if let Some(signature) = non_empty(&delta["signature"]) {
                    out.push(ChatEvent::ReasoningSignature(signature.to_string()));
                }
            }
            "input_json_delta" => {
                let fragment = delta["partial_json"].as_str().unwrap_or("");
                self.tools.delta(index, fragment, out);
            }
            _ => {} // citations, future deltas
        }
    }

    fn text(&mut self, text: Option<&str>, out: &mut Vec<ChatEvent>) {
        if let Some(text) = text {
            self.seen.text = true;
            out.push(ChatEvent::Text(text.to_string()));
        }
    }

    fn reasoning(&mut self, text: Option<&str>, out: &mut Vec<ChatEvent>) {
        if let Some(text) = text {
            self.seen.reasoning = true;
            out.push(ChatEvent::Reasoning(text.to_string()));
        }
    }
}

/// A non-empty string, else `None` (also for other JSON kinds).
fn non_empty(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

/// Fields present in an Anthropic `usage` object replace those in `usage`;
/// `message_delta` may repeat only some of them. Anthropic's `input_tokens`
/// already leaves out cache reads and writes, as the contract's does.
fn merge_usage(mut usage: Usage, json: &Value) -> Usage {
    let count = |key: &str| {
        json[key]
            .as_u64()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    if let Some(n) = count("input_tokens") {
        usage.input_tokens = n;
    }
    if let Some(n) = count("output_tokens") {
        usage.output_tokens = n;
    }
    if let Some(n) = count("cache_read_input_tokens") {
        usage.cache_read_tokens = n;
    }
    if let Some(n) = count("cache_creation_input_tokens") {
        usage.cache_write_tokens = n;
    }
    usage
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
