//! The reply: Anthropic's event stream, or a whole JSON message, turned into
//! `ChatEvent`s. Pure logic, no host calls: the SDK's `SseDriver` feeds the
//! decoder the stream's events.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::sse::SseEvent;
use claw_plugin_sdk::upstream::{self, Flow, Seen, SseDecoder};
use serde_json::Value;

use crate::errors::{API, upstream_error};

/// The event stream's state between events.
#[derive(Default)]
pub struct StreamDecoder {
    started: bool,
    seen: Seen,
    stop_reason: Option<String>,
    usage: Option<Usage>,
    usage_sent: bool,
}

impl SseDecoder for StreamDecoder {
    fn event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let data = upstream::event_json(API, &event.data)?;
        // The JSON's `type` is authoritative; the SSE event name is the fallback.
        let kind = data["type"]
            .as_str()
            .or(event.event.as_deref())
            .unwrap_or("");
        match kind {
            "message_start" => {
                let message = &data["message"];
                if !self.started {
                    self.started = true;
                    out.push(ChatEvent::Started(
                        message["id"].as_str().unwrap_or("").to_string(),
                    ));
                }
                self.usage = Some(merge_usage(NO_USAGE, &message["usage"]));
            }
            "content_block_start" => self.content(&data["content_block"], "text", "thinking", out),
            "content_block_delta" => {
                self.content(&data["delta"], "text_delta", "thinking_delta", out)
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_string());
                }
                let usage = merge_usage(self.usage.unwrap_or(NO_USAGE), &data["usage"]);
                self.usage = Some(usage);
                self.usage_sent = true;
                out.push(ChatEvent::Usage(usage));
            }
            "message_stop" => return self.message_stop(out),
            "error" => return Err(upstream_error(None, &event.data, None)),
            _ => {} // ping, content_block_stop, signature/tool deltas, future events
        }
        Ok(Flow::Continue)
    }

    fn end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        Err(self.seen.ended_early(API, "message_stop"))
    }
}

impl StreamDecoder {
    /// The end of the reply: it must have had text; usage not yet reported
    /// (no `message_delta` came) goes out before `Done`.
    fn message_stop(&mut self, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let reason = self
            .stop_reason
            .clone()
            .unwrap_or_else(|| "end_turn".into());
        if !self.seen.text {
            return Err(self.seen.no_text(API, &format!("stop reason {reason}")));
        }
        if let (Some(usage), false) = (self.usage, self.usage_sent) {
            out.push(ChatEvent::Usage(usage));
        }
        out.push(ChatEvent::Done(reason));
        Ok(Flow::End)
    }

    /// A text or thinking block start (initial text) or delta.
    fn content(
        &mut self,
        block: &Value,
        text_kind: &str,
        thinking_kind: &str,
        out: &mut Vec<ChatEvent>,
    ) {
        let kind = block["type"].as_str().unwrap_or("");
        let non_empty = |key: &str| {
            block[key]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        if kind == text_kind
            && let Some(text) = non_empty("text")
        {
            self.seen.text = true;
            out.push(ChatEvent::Text(text));
        } else if kind == thinking_kind
            && let Some(thinking) = non_empty("thinking")
        {
            self.seen.thinking = true;
            out.push(ChatEvent::Thinking(thinking));
        }
    }
}

/// A whole (non-streaming) Message object, as events.
pub fn parse_message(body: &[u8]) -> Result<Vec<ChatEvent>, PluginError> {
    let message = upstream::reply_json(API, body)?;
    if message["type"] == "error" || message["error"].is_object() {
        return Err(upstream_error(None, &String::from_utf8_lossy(body), None));
    }
    let mut events = vec![ChatEvent::Started(
        message["id"].as_str().unwrap_or("").to_string(),
    )];
    let mut saw_text = false;
    for block in message["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        match (
            block["type"].as_str(),
            block["text"].as_str(),
            block["thinking"].as_str(),
        ) {
            (Some("text"), Some(text), _) if !text.is_empty() => {
                saw_text = true;
                events.push(ChatEvent::Text(text.to_string()));
            }
            (Some("thinking"), _, Some(thinking)) if !thinking.is_empty() => {
                events.push(ChatEvent::Thinking(thinking.to_string()));
            }
            _ => {}
        }
    }
    let stop = message["stop_reason"].as_str().unwrap_or("end_turn");
    if !saw_text {
        let stop = format!("stop reason {stop}");
        return Err(upstream::empty_reply(API, "no text", &stop));
    }
    if message["usage"].is_object() {
        events.push(ChatEvent::Usage(merge_usage(NO_USAGE, &message["usage"])));
    }
    events.push(ChatEvent::Done(stop.to_string()));
    Ok(events)
}

const NO_USAGE: Usage = Usage {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
};

/// Fields present in an Anthropic `usage` object replace those in `usage`;
/// `message_delta` may repeat only some of them.
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
