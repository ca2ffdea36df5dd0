//! The named SSE events of a streamed response. Each piece of the reply (a
//! reasoning block, a stretch of text, each tool call) is an output item,
//! indexed in the order it started; every event carries a sequence number.
//! Text and reasoning items end when anything else starts; a tool call ends
//! at its own end (or the reply's), so parallel calls whose argument
//! fragments interleave each still reach their own item.

use serde_json::{Map, Value, json};

use super::response::{
    Head, Status, arguments, function_call, message, new_id, output_text, reasoning, redacted,
    status, summary_text, usage,
};
use super::{Responses, frame};
use crate::reply::Reply;
use crate::wire::{Frames, WireApi};
use crate::{ApiError, ApiRequest};
use claw_types::ChatEvent;

pub struct Events {
    head: Head,
    /// The next event's sequence number.
    seq: u64,
    /// The next item's output index.
    next_index: usize,
    /// The text or reasoning item being written.
    open: Option<Open>,
    /// Each tool call by its place among the reply's calls.
    calls: Vec<Call>,
    /// Finished items with their output index.
    done: Vec<(usize, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    Reasoning,
}

struct Open {
    kind: Kind,
    index: usize,
    id: String,
    text: String,
}

struct Call {
    index: usize,
    id: String,
    call_id: String,
    name: String,
    arguments: String,
    done: bool,
}

impl Events {
    pub fn new(req: &ApiRequest) -> Self {
        Events {
            head: Head::new(req),
            seq: 0,
            next_index: 0,
            open: None,
            calls: Vec::new(),
            done: Vec::new(),
        }
    }

    /// One event: its type and sequence number, then `fields`.
    fn emit(&mut self, kind: &str, fields: Value) -> String {
        let out = event(kind, self.seq, fields);
        self.seq += 1;
        out
    }

    /// Starts an item at the next output index.
    fn add(&mut self, item: Value) -> (usize, String) {
        let index = self.next_index;
        self.next_index += 1;
        let out = self.emit(
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
        );
        (index, out)
    }

    fn item_done(&mut self, index: usize, item: Value) -> String {
        self.done.push((index, item.clone()));
        self.emit(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        )
    }

    /// An item that is complete as it starts (a bare signature, redacted
    /// reasoning).
    fn whole(&mut self, item: Value) -> String {
        let (index, out) = self.add(item.clone());
        out + &self.item_done(index, item)
    }

    /// A text or reasoning item, unless one of that kind is open.
    fn ensure(&mut self, kind: Kind) -> String {
        if self.open.as_ref().is_some_and(|o| o.kind == kind) {
            return String::new();
        }
        let mut out = self.close(None);
        let (id, item, part_event, part) = match kind {
            Kind::Message => {
                let id = new_id("msg");
                let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
                let part = json!({"content_index": 0, "part": output_text("")});
                (id, item, "response.content_part.added", part)
            }
            Kind::Reasoning => {
                let id = new_id("rs");
                let item = json!({"id": id, "type": "reasoning", "summary": []});
                let part = json!({"summary_index": 0, "part": summary_text("")});
                (id, item, "response.reasoning_summary_part.added", part)
            }
        };
        let (index, added) = self.add(item);
        out += &added;
        out += &self.emit(part_event, located(&id, index, part));
        self.open = Some(Open {
            kind,
            index,
            id,
            text: String::new(),
        });
        out
    }

    /// Ends the open text or reasoning item; `signature` signs reasoning.
    fn close(&mut self, signature: Option<&str>) -> String {
        let Some(Open {
            kind,
            index,
            id,
            text,
        }) = self.open.take()
        else {
            return String::new();
        };
        let (text_event, part_event, fields, part, item) = match kind {
            Kind::Message => (
                "response.output_text.done",
                "response.content_part.done",
                json!({"content_index": 0, "text": text, "logprobs": []}),
                json!({"content_index": 0, "part": output_text(&text)}),
                message(&id, &text, "completed"),
            ),
            Kind::Reasoning => (
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                json!({"summary_index": 0, "text": text}),
                json!({"summary_index": 0, "part": summary_text(&text)}),
                reasoning(&id, &text, signature),
            ),
        };
        self.emit(text_event, located(&id, index, fields))
            + &self.emit(part_event, located(&id, index, part))
            + &self.item_done(index, item)
    }

    /// Ends tool call `position` (once), with `{}` for a call that streamed
    /// no arguments, as the whole response has them.
    fn close_call(&mut self, position: usize) -> String {
        let Some(call) = self.calls.get_mut(position).filter(|c| !c.done) else {
            return String::new();
        };
        call.done = true;
        let (index, id, call_id, name) = (
            call.index,
            call.id.clone(),
            call.call_id.clone(),
            call.name.clone(),
        );
        let given = std::mem::take(&mut call.arguments);
        let args = arguments(&given);
        let mut out = String::new();
        if given.trim().is_empty() {
            out += &self.emit(
                "response.function_call_arguments.delta",
                located(&id, index, json!({"delta": args})),
            );
        }
        out += &self.emit(
            "response.function_call_arguments.done",
            located(&id, index, json!({"name": name, "arguments": args})),
        );
        let item = function_call(&id, &call_id, &name, args, "completed");
        out + &self.item_done(index, item)
    }

    /// The finished items in output order.
    fn output(&self) -> Vec<Value> {
        let mut done = self.done.clone();
        done.sort_by_key(|(index, _)| *index);
        done.into_iter().map(|(_, item)| item).collect()
    }
}

/// `fields` after the item they belong to.
fn located(item_id: &str, output_index: usize, fields: Value) -> Value {
    let mut out = json!({"item_id": item_id, "output_index": output_index});
    if let (Some(out), Value::Object(fields)) = (out.as_object_mut(), fields) {
        out.extend(fields);
    }
    out
}

fn event(kind: &str, seq: u64, fields: Value) -> String {
    let mut data = Map::new();
    data.insert("type".into(), kind.into());
    data.insert("sequence_number".into(), seq.into());
    if let Value::Object(fields) = fields {
        data.extend(fields);
    }
    frame(kind, &data.into())
}

impl Frames for Events {
    /// `response.created` and `response.in_progress`, with no output yet.
    fn start(&mut self, _: &Reply) -> String {
        let response = self
            .head
            .object(Status::InProgress, Vec::new(), Value::Null);
        self.emit("response.created", json!({"response": response}))
            + &self.emit("response.in_progress", json!({"response": response}))
    }

    fn event(&mut self, event: &ChatEvent) -> String {
        match event {
            ChatEvent::Text(t) if !t.is_empty() => {
                let out = self.ensure(Kind::Message);
                let Some(open) = self.open.as_mut() else {
                    return out;
                };
                open.text.push_str(t);
                let (id, index) = (open.id.clone(), open.index);
                let fields = json!({"content_index": 0, "delta": t, "logprobs": []});
                out + &self.emit("response.output_text.delta", located(&id, index, fields))
            }
            ChatEvent::Reasoning(t) if !t.is_empty() => {
                let out = self.ensure(Kind::Reasoning);
                let Some(open) = self.open.as_mut() else {
                    return out;
                };
                open.text.push_str(t);
                let (id, index) = (open.id.clone(), open.index);
                let fields = json!({"summary_index": 0, "delta": t});
                out + &self.emit(
                    "response.reasoning_summary_text.delta",
                    located(&id, index, fields),
                )
            }
            // The signature ends its reasoning item (one of its own when the
            // upstream showed no reasoning), as the whole reply has it.
            ChatEvent::ReasoningSignature(s) => {
                if self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.kind == Kind::Reasoning)
                {
                    return self.close(Some(s));
                }
                self.close(None) + &self.whole(reasoning(&new_id("rs"), "", Some(s)))
            }
            ChatEvent::RedactedReasoning(data) => {
                self.close(None) + &self.whole(redacted(&new_id("rs"), data))
            }
            ChatEvent::ToolCallStart { id, name, .. } => {
                let out = self.close(None);
                let item_id = new_id("fc");
                let item = function_call(&item_id, id, name, "", "in_progress");
                let (index, added) = self.add(item);
                self.calls.push(Call {
                    index,
                    id: item_id,
                    call_id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    done: false,
                });
                out + &added
            }
            ChatEvent::ToolCallDelta { index, arguments } if !arguments.is_empty() => {
                let Some(call) = self.calls.get_mut(*index as usize).filter(|c| !c.done) else {
                    return String::new();
                };
                call.arguments.push_str(arguments);
                let (id, index) = (call.id.clone(), call.index);
                self.emit(
                    "response.function_call_arguments.delta",
                    located(&id, index, json!({"delta": arguments})),
                )
            }
            ChatEvent::ToolCallEnd(index) => self.close_call(*index as usize),
            _ => String::new(),
        }
    }

    /// Ends every open item, then `response.completed` (or
    /// `response.incomplete`) with the whole response and its usage.
    fn finish(&mut self, reply: &Reply) -> String {
        let mut out = self.close(None);
        for position in 0..self.calls.len() {
            out += &self.close_call(position);
        }
        let status = status(reply);
        let kind = match status {
            Status::Incomplete(_) => "response.incomplete",
            _ => "response.completed",
        };
        let response = self.head.object(status, self.output(), usage(reply.usage));
        out + &self.emit(kind, json!({"response": response}))
    }

    /// `response.failed` with `{code, message}` (the code as Chat
    /// Completions names it, else its type) and the items finished so far.
    fn error(&self, e: &ApiError) -> String {
        let body = Responses.error_body(e);
        let error = &body["error"];
        let code = match &error["code"] {
            Value::Null => error["type"].clone(),
            code => code.clone(),
        };
        let error = json!({"code": code, "message": error["message"]});
        let response = self
            .head
            .object(Status::Failed(error), self.output(), Value::Null);
        event("response.failed", self.seq, json!({"response": response}))
    }

    /// An SSE comment, ignored by parsers.
    fn keepalive(&self) -> String {
        ": keep-alive\n\n".into()
    }
}
