//! The reply: a stream of `chat.completion.chunk`s ending in `data: [DONE]`, or
//! a whole `chat.completion`, turned into `ChatEvent`s. Pure logic, no host
//! calls: the body's bytes come from a closure.

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

/// The stream's state between body chunks.
#[derive(Default)]
pub struct StreamDecoder {
    parser: SseParser,
    started: bool,
    saw_text: bool,
    saw_thinking: bool,
    finish_reason: Option<String>,
    /// `[DONE]` arrived, or the stream failed: nothing more to read.
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
                .and_then(|()| self.end_of_body(&mut out)),
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
                break; // anything after [DONE] is not part of the reply
            }
            self.on_event(event, out)?;
        }
        Ok(())
    }

    fn on_event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.finished = true;
            if !self.saw_text {
                return Err(self.no_text_error());
            }
            out.push(ChatEvent::Done(
                self.finish_reason.clone().unwrap_or_else(|| "stop".into()),
            ));
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| {
            PluginError::new(
                ErrorReason::Format,
                format!("{API}: the upstream sent malformed JSON in the event stream"),
            )
        })?;
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
            self.saw_thinking = true;
            out.push(ChatEvent::Thinking(thinking.to_string()));
        }
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            self.saw_text = true;
            out.push(ChatEvent::Text(text.to_string()));
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.finish_reason = Some(reason.to_string());
        }
        // Moonshot reports usage inside the choice rather than beside it.
        if let Some(usage) = usage(&chunk["usage"]).or_else(|| usage(&choice["usage"])) {
            out.push(ChatEvent::Usage(usage));
        }
        Ok(())
    }

    fn end_of_body(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        // A finish_reason is the last choice chunk: only [DONE] (and maybe the
        // usage chunk) is missing, so the reply itself is complete.
        if let (true, Some(reason)) = (self.saw_text, &self.finish_reason) {
            out.push(ChatEvent::Done(reason.clone()));
            return Ok(());
        }
        Err(if self.saw_text || self.saw_thinking {
            PluginError::new(
                ErrorReason::Network,
                format!("{API}: the stream was cut off before [DONE]"),
            )
        } else {
            PluginError::new(
                ErrorReason::EmptyResponse,
                format!("{API}: the upstream ended the stream without any content"),
            )
        })
    }

    fn no_text_error(&self) -> PluginError {
        let stop = self.finish_reason.as_deref().unwrap_or("stop");
        let what = if self.saw_thinking {
            "only reasoning, no text"
        } else {
            "no content"
        };
        PluginError::new(
            ErrorReason::EmptyResponse,
            format!("{API}: the reply had {what} (finish reason {stop})"),
        )
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
    let completion: Value = serde_json::from_slice(body).map_err(|_| {
        PluginError::new(
            ErrorReason::Format,
            format!("{API}: the upstream sent a reply that is not valid JSON"),
        )
    })?;
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
            return Err(PluginError::new(
                ErrorReason::EmptyResponse,
                format!("{API}: the reply had no text (finish reason {finish})"),
            ));
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
