//! The reply: Anthropic's event stream, or a whole JSON message, turned into
//! `ChatEvent`s. Pure logic, no host calls: the body's bytes come from a closure.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::sse::{SseEvent, SseParser};
use serde_json::Value;

use crate::errors::{API, prefixed, upstream_error};

/// Whether to read the body as an event stream: by content type, else by what
/// we asked for.
pub fn is_event_stream(content_type: Option<&str>, streaming: bool) -> bool {
    let content_type = content_type.unwrap_or("").to_ascii_lowercase();
    if content_type.contains("text/event-stream") {
        true
    } else if content_type.contains("json") {
        false
    } else {
        streaming
    }
}

/// The event stream's state between body chunks.
#[derive(Default)]
pub struct StreamDecoder {
    parser: SseParser,
    started: bool,
    saw_text: bool,
    saw_thinking: bool,
    stop_reason: Option<String>,
    usage: Option<Usage>,
    usage_sent: bool,
    /// `message_stop` arrived, or the stream failed: nothing more to read.
    finished: bool,
    /// An error found after events of the same chunk: reported on the next
    /// step, so those events still reach the host first.
    pending_error: Option<PluginError>,
}

impl StreamDecoder {
    /// One `ChatStream` step: `read` gives the next body chunk (`None` at the
    /// end). Returns events (maybe none), `None` when done, or the error.
    pub fn step(
        &mut self,
        read: impl FnOnce() -> Result<Option<Vec<u8>>, PluginError>,
    ) -> Result<Option<Vec<ChatEvent>>, PluginError> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        if self.finished {
            return Ok(None);
        }
        let mut out = Vec::new();
        let result = match read().map_err(prefixed) {
            Ok(Some(bytes)) => self
                .parser
                .push(&bytes)
                .map_err(prefixed)
                .and_then(|events| self.handle(events, &mut out)),
            Ok(None) => self
                .parser
                .finish()
                .map_err(prefixed)
                .and_then(|events| self.handle(events, &mut out))
                .and_then(|()| self.end_of_body()),
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => Ok(Some(out)),
            Err(error) => {
                self.finished = true;
                if out.is_empty() {
                    return Err(error);
                }
                self.pending_error = Some(error);
                Ok(Some(out))
            }
        }
    }

    fn handle(
        &mut self,
        events: Vec<SseEvent>,
        out: &mut Vec<ChatEvent>,
    ) -> Result<(), PluginError> {
        for event in events {
            if self.finished {
                break; // anything after message_stop is not part of the reply
            }
            self.on_event(event, out)?;
        }
        Ok(())
    }

    fn on_event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        let data: Value = serde_json::from_str(&event.data).map_err(|_| {
            PluginError::new(
                ErrorReason::Format,
                format!("{API}: the upstream sent malformed JSON in the event stream"),
            )
        })?;
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
            "message_stop" => {
                self.finished = true;
                if !self.saw_text {
                    return Err(self.no_text_error());
                }
                if let (Some(usage), false) = (self.usage, self.usage_sent) {
                    out.push(ChatEvent::Usage(usage));
                }
                let reason = self
                    .stop_reason
                    .clone()
                    .unwrap_or_else(|| "end_turn".into());
                out.push(ChatEvent::Done(reason));
            }
            "error" => return Err(upstream_error(None, &event.data, None)),
            _ => {} // ping, content_block_stop, signature/tool deltas, future events
        }
        Ok(())
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
            self.saw_text = true;
            out.push(ChatEvent::Text(text));
        } else if kind == thinking_kind
            && let Some(thinking) = non_empty("thinking")
        {
            self.saw_thinking = true;
            out.push(ChatEvent::Thinking(thinking));
        }
    }

    fn end_of_body(&mut self) -> Result<(), PluginError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        Err(if self.saw_text || self.saw_thinking {
            PluginError::new(
                ErrorReason::Network,
                format!("{API}: the stream was cut off before message_stop"),
            )
        } else {
            PluginError::new(
                ErrorReason::EmptyResponse,
                format!("{API}: the upstream ended the stream without any content"),
            )
        })
    }

    fn no_text_error(&self) -> PluginError {
        let stop = self.stop_reason.as_deref().unwrap_or("end_turn");
        let what = if self.saw_thinking {
            "only reasoning, no text"
        } else {
            "no content"
        };
        PluginError::new(
            ErrorReason::EmptyResponse,
            format!("{API}: the reply had {what} (stop reason {stop})"),
        )
    }
}

/// A whole (non-streaming) Message object, as events.
pub fn parse_message(body: &[u8]) -> Result<Vec<ChatEvent>, PluginError> {
    let message: Value = serde_json::from_slice(body).map_err(|_| {
        PluginError::new(
            ErrorReason::Format,
            format!("{API}: the upstream sent a reply that is not valid JSON"),
        )
    })?;
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
        return Err(PluginError::new(
            ErrorReason::EmptyResponse,
            format!("{API}: the reply had no text (stop reason {stop})"),
        ));
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
