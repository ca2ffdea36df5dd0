//! The `chat.completion.chunk` frames of a streamed reply.

use serde_json::{Value, json};

use super::response::{arguments, finish_reason, usage};
use super::{ChatCompletions, frame};
use crate::reply::Reply;
use crate::wire::{Frames, WireApi};
use crate::{ApiError, ApiRequest, unique_id, unix_secs};
use claw_types::ChatEvent;

pub struct Chunks {
    pub(super) id: String,
    pub(super) created: u64,
    pub(super) model: String,
    pub(super) include_usage: bool,
}

impl Chunks {
    pub fn new(req: &ApiRequest) -> Self {
        Chunks {
            id: format!("chatcmpl-{}", unique_id()),
            created: unix_secs(),
            model: req.model.clone(),
            include_usage: req.include_usage,
        }
    }

    fn chunk(&self, delta: Value, finish_reason: Value) -> String {
        let mut chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        });
        // With include_usage, every chunk carries "usage": null until the last.
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        frame(&chunk)
    }

    fn delta(&self, delta: Value) -> String {
        self.chunk(delta, Value::Null)
    }
}

impl Frames for Chunks {
    /// The role chunk.
    fn start(&mut self, _: &Reply) -> String {
        self.delta(json!({"role": "assistant", "content": ""}))
    }

    /// Text, reasoning (`reasoning_content`, as DeepSeek and others stream
    /// it) and tool calls; signatures and redacted reasoning have no place
    /// in this API.
    fn event(&mut self, event: &ChatEvent) -> String {
        match event {
            ChatEvent::Text(t) if !t.is_empty() => self.delta(json!({"content": t})),
            ChatEvent::Reasoning(t) if !t.is_empty() => self.delta(json!({"reasoning_content": t})),
            ChatEvent::ToolCallStart { index, id, name } => self.delta(json!({"tool_calls": [{
                "index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""},
            }]})),
            ChatEvent::ToolCallDelta { index, arguments } if !arguments.is_empty() => self.delta(
                json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}),
            ),
            _ => String::new(),
        }
    }

    /// `{}` for calls that streamed no arguments (as the whole reply has
    /// them), the finish chunk, the usage chunk when asked for, `[DONE]`.
    fn finish(&mut self, reply: &Reply) -> String {
        let mut out = String::new();
        for (index, call) in reply.tool_calls().enumerate() {
            if call.arguments.trim().is_empty() {
                out += &self.delta(json!({"tool_calls": [{"index": index, "function": {"arguments": arguments(call)}}]}));
            }
        }
        out += &self.chunk(json!({}), finish_reason(reply.stop_reason()).into());
        if self.include_usage {
            out += &frame(&json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage(reply.usage),
            }));
        }
        out + "data: [DONE]\n\n"
    }

    /// An error frame; the SDK raises it as an APIError. No `[DONE]` follows.
    fn error(&self, e: &ApiError) -> String {
        frame(&ChatCompletions.error_body(e))
    }

    /// An SSE comment, ignored by parsers.
    fn keepalive(&self) -> String {
        ": keep-alive\n\n".into()
    }
}
