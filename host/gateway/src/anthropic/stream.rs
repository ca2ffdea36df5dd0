//! The named SSE events of a streamed message: one content block per piece
//! of a kind (thinking, text, each tool call), indexes counted from 0.

use serde_json::{Value, json};

use super::response::{stop_reason, usage};
use super::{Messages, PING, frame};
use crate::reply::Reply;
use crate::wire::{Frames, WireApi};
use crate::{ApiError, ApiRequest, unique_id};
use claw_types::ChatEvent;

/// The kind of the block being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Open {
    Text,
    Thinking,
    /// A tool call, by its place among the reply's calls.
    Tool(u32),
}

pub struct Events {
    pub(super) id: String,
    pub(super) model: String,
    pub(super) open: Option<Open>,
    /// The index of the open block, or of the next one.
    pub(super) index: u32,
    /// The block index of each tool call, by its place among the calls.
    pub(super) tool_blocks: Vec<u32>,
}

impl Events {
    pub fn new(req: &ApiRequest) -> Self {
        Events {
            id: format!("msg_{}", unique_id()),
            model: req.model.clone(),
            open: None,
            index: 0,
            tool_blocks: Vec::new(),
        }
    }

    /// Closes the open block and starts `block` at the next index.
    fn start_block(&mut self, kind: Option<Open>, block: Value) -> String {
        let out = self.close_block();
        self.open = kind;
        out + &frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": self.index, "content_block": block}),
        )
    }

    /// A text or thinking block, unless one of that kind is open.
    fn ensure(&mut self, kind: Open) -> String {
        if self.open == Some(kind) {
            return String::new();
        }
        let block = match kind {
            Open::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            _ => json!({"type": "text", "text": ""}),
        };
        self.start_block(Some(kind), block)
    }

    fn close_block(&mut self) -> String {
        if self.open.take().is_none() {
            return String::new();
        }
        self.stop_frame()
    }

    fn stop_frame(&mut self) -> String {
        let out = frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": self.index}),
        );
        self.index += 1;
        out
    }

    fn delta(index: u32, delta: Value) -> String {
        frame(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    }
}

impl Frames for Events {
    /// `message_start` and a ping. Usage is not known yet: message_delta
    /// carries it.
    fn start(&mut self, reply: &Reply) -> String {
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(reply.usage),
        });
        frame(
            "message_start",
            &json!({"type": "message_start", "message": message}),
        ) + PING
    }

    fn event(&mut self, event: &ChatEvent) -> String {
        match event {
            ChatEvent::Text(t) if !t.is_empty() => {
                self.ensure(Open::Text)
                    + &Self::delta(self.index, json!({"type": "text_delta", "text": t}))
            }
            ChatEvent::Reasoning(t) if !t.is_empty() => {
                self.ensure(Open::Thinking)
                    + &Self::delta(self.index, json!({"type": "thinking_delta", "thinking": t}))
            }
            // The signature ends its thinking block (one of its own when the
            // upstream showed no reasoning).
            ChatEvent::ReasoningSignature(s) => {
                self.ensure(Open::Thinking)
                    + &Self::delta(
                        self.index,
                        json!({"type": "signature_delta", "signature": s}),
                    )
                    + &self.close_block()
            }
            ChatEvent::RedactedReasoning(data) => {
                self.start_block(None, json!({"type": "redacted_thinking", "data": data}))
                    + &self.stop_frame()
            }
            ChatEvent::ToolCallStart { index, id, name } => {
                let out = self.close_block();
                self.tool_blocks.push(self.index);
                let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
                out + &self.start_block(Some(Open::Tool(*index)), block)
            }
            // Fragments of a call whose block is no longer the open one (an
            // upstream interleaving parallel calls) still go to its own
            // index, which is how the SDKs gather them.
            ChatEvent::ToolCallDelta { index, arguments } if !arguments.is_empty() => {
                match self.tool_blocks.get(*index as usize) {
                    Some(&block) => Self::delta(
                        block,
                        json!({"type": "input_json_delta", "partial_json": arguments}),
                    ),
                    None => String::new(),
                }
            }
            ChatEvent::ToolCallEnd(index) if self.open == Some(Open::Tool(*index)) => {
                self.close_block()
            }
            _ => String::new(),
        }
    }

    /// Closes the open block, then `message_delta` (stop reason, usage) and
    /// `message_stop`.
    fn finish(&mut self, reply: &Reply) -> String {
        let delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(reply.stop_reason()), "stop_sequence": null},
            // All counts: the SDK copies them over message_start's zeros.
            "usage": usage(reply.usage),
        });
        self.close_block()
            + &frame("message_delta", &delta)
            + &frame("message_stop", &json!({"type": "message_stop"}))
    }

    /// An `error` event; the SDK raises it as an APIStatusError.
    fn error(&self, e: &ApiError) -> String {
        frame("error", &Messages.error_body(e))
    }

    fn keepalive(&self) -> String {
        PING.into()
    }
}
