//! Chat Completions' tool-call fragments as the contract's events.
//!
//! Each `delta.tool_calls[]` item is a fragment: `index` names its call (per
//! choice, from 0), `id` and `function.name` usually come only in its first
//! fragment, `function.arguments` is a piece of the JSON. Servers differ:
//! some send a whole call in one fragment, some repeat the id in every one,
//! some (older LM Studio, Ollama) send no index, and some give every call
//! index 0 with its own id. So: a fragment without an index belongs to the
//! call with its id, or starts a new one when its id is new, or continues the
//! last call when it has no id; a new id on an open index starts a new call.
//! A call starts (tool-call-start) once its name is known; argument pieces
//! that came before are kept until then.

use claw_plugin_sdk::prelude::*;
use serde_json::Value;

/// Keys for calls without an upstream index, above any index a server sends.
const UNINDEXED: u64 = 1 << 32;

#[derive(Default)]
pub struct ToolCalls {
    tracker: ToolCallTracker,
    /// A call seen without a name yet: its key, id and arguments so far.
    waiting: Option<(u64, String, String)>,
    /// Keys handed out to calls without an index.
    unindexed: u64,
}

impl ToolCalls {
    /// One fragment; true when it was a tool call (pushes its events).
    pub fn fragment(&mut self, call: &Value, out: &mut Vec<ChatEvent>) -> bool {
        if !call.is_object() {
            return false;
        }
        let id = call["id"].as_str().filter(|s| !s.is_empty());
        let function = &call["function"];
        let name = function["name"].as_str().filter(|s| !s.is_empty());
        let arguments = match &function["arguments"] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(), // a server that sends the object itself
        };
        let key = self.key(call["index"].as_u64(), id);
        // A new id on an open call's key is another call (index 0 for all).
        if let Some(id) = id
            && self.tracker.is_open(key)
            && self.tracker.key_of_id(id) != Some(key)
        {
            self.tracker.end(key, out);
        }
        if self.tracker.is_open(key) {
            self.tracker.delta(key, &arguments, out);
            return true;
        }
        let (mut waiting_id, mut waiting_args) = match self.waiting.take() {
            Some((k, id, args)) if k == key => (id, args),
            Some(other) => {
                // Another call begins: the one without a name will not get one.
                self.start(other, "", out);
                (String::new(), String::new())
            }
            None => (String::new(), String::new()),
        };
        if let Some(id) = id {
            waiting_id = id.to_string();
        }
        waiting_args.push_str(&arguments);
        match name {
            Some(name) => self.start((key, waiting_id, waiting_args), name, out),
            None => self.waiting = Some((key, waiting_id, waiting_args)),
        }
        true
    }

    /// Ends every call (at the choice's finish or the end of the stream).
    pub fn end_all(&mut self, out: &mut Vec<ChatEvent>) {
        if let Some(waiting) = self.waiting.take() {
            self.start(waiting, "", out);
        }
        self.tracker.end_all(out);
    }

    fn start(
        &mut self,
        (key, id, arguments): (u64, String, String),
        name: &str,
        out: &mut Vec<ChatEvent>,
    ) {
        // A call needs an id for its result to name; make one when none came.
        let id = if id.is_empty() {
            format!("call_{}", self.tracker.len())
        } else {
            id
        };
        self.tracker.start(key, id, name, out);
        self.tracker.delta(key, &arguments, out);
    }

    /// The key of a fragment's call.
    fn key(&mut self, index: Option<u64>, id: Option<&str>) -> u64 {
        if let Some(index) = index {
            return index.min(UNINDEXED - 1);
        }
        let known = id.and_then(|id| self.tracker.key_of_id(id));
        let waiting = self.waiting.as_ref();
        let waiting_key = waiting
            .filter(|(_, wid, _)| id.is_none() || id == Some(wid.as_str()))
            .map(|(k, _, _)| *k);
        match (id, known.or(waiting_key)) {
            (_, Some(key)) => key,
            (None, None) => match self.tracker.last_key() {
                Some(key) => key,
                None => self.new_key(),
            },
            (Some(_), None) => self.new_key(),
        }
    }

    fn new_key(&mut self) -> u64 {
        self.unindexed += 1;
        UNINDEXED + self.unindexed
    }
}
