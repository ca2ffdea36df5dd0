//! The reply: the Responses API's event stream, or a whole `response`
//! object, turned into `ChatEvent`s. Pure logic, no host calls: the SDK's
//! `SseDriver` feeds the decoder the stream's events.
//!
//! A reply is a list of output items, each announced by
//! `response.output_item.added` and closed by `response.output_item.done`;
//! events in between name their item by `output_index` (and `item_id`):
//! - `message` items: `response.output_text.delta` is text (a refusal's
//!   `response.refusal.delta` too), cut at the request's stop sequences
//!   (see `stop`).
//! - `function_call` items are tool calls, numbered from 0 in the order they
//!   start: the item's `call_id` and `name`, then the
//!   `response.function_call_arguments.delta`s, ended with the item.
//! - `reasoning` items: `response.reasoning_summary_text.delta` (summary
//!   parts apart by a blank line) and `response.reasoning_text.delta` (the
//!   raw reasoning open models show) are reasoning; the item's
//!   `encrypted_content` closes it as its signature, which clients send
//!   back so that the model continues from it.
//! - An item whose content never came in deltas (servers that send items
//!   whole) gives its content when it is done.
//!
//! `response.completed` and `response.incomplete` end the reply with its
//! usage and stop reason; `response.failed` and `error` events are errors.
//! Built-in tools' items (web search and such) are the upstream's own and
//! are skipped.

mod stop;
mod whole;

use std::collections::{HashMap, HashSet};

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::sse::SseEvent;
use claw_plugin_sdk::upstream::{self, Flow, Seen, SseDecoder};
use serde_json::Value;

use crate::errors::{API, stream_error};
use stop::StopFilter;
pub use whole::parse_response;

/// The stream's state between events.
#[derive(Default)]
pub struct StreamDecoder {
    started: bool,
    seen: Seen,
    /// The model declined, in a refusal part.
    refused: bool,
    /// Tool calls, keyed by their item's output index.
    tools: ToolCallTracker,
    /// Output indexes of function calls that have started.
    calls: HashSet<u64>,
    /// The output index of each item id, for events that name only the item.
    items: HashMap<String, u64>,
    /// The latest item's output index, for events that name none.
    last: u64,
    /// Some output item has been seen.
    any_item: bool,
    /// Items whose content came in deltas: their `done` must not repeat it.
    streamed: HashSet<u64>,
    /// The summary part each reasoning item's deltas are in.
    summary_parts: HashMap<u64, u64>,
    stop: StopFilter,
}

impl StreamDecoder {
    /// A decoder that ends the text at any of `stops`.
    pub fn new(stops: &[String]) -> Self {
        StreamDecoder {
            stop: StopFilter::new(stops),
            ..StreamDecoder::default()
        }
    }

    /// The output index an event is about.
    fn index(&self, data: &Value) -> u64 {
        data["output_index"]
            .as_u64()
            .or_else(|| {
                data["item_id"]
                    .as_str()
                    .and_then(|id| self.items.get(id).copied())
            })
            .unwrap_or(self.last)
    }

    /// An item began (or, from a server that sends items whole, ended).
    fn item_added(&mut self, index: u64, item: &Value, out: &mut Vec<ChatEvent>) {
        self.last = index;
        self.any_item = true;
        if let Some(id) = item["id"].as_str() {
            self.items.insert(id.to_string(), index);
        }
        if item["type"] == "function_call" && self.calls.insert(index) {
            // A result must name its call: make an id when none came.
            let id = [&item["call_id"], &item["id"]]
                .into_iter()
                .filter_map(Value::as_str)
                .find(|id| !id.is_empty())
                .map_or_else(|| format!("call_{}", self.tools.len()), str::to_string);
            let name = item["name"].as_str().unwrap_or("");
            self.tools.start(index, id, name, out);
            self.seen.tool_calls = true;
            let arguments = arguments(&item["arguments"]);
            if !arguments.is_empty() {
                self.streamed.insert(index);
                self.tools.delta(index, &arguments, out);
            }
        }
    }

    /// A piece of visible text, through the stop sequences.
    fn text(&mut self, piece: &str, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let filtered = self.stop.push(piece);
        self.shown(filtered.text, out);
        if !filtered.stopped {
            return Ok(Flow::Continue);
        }
        self.tools.end_all(out);
        let done = self.seen.done(API, "status", "stop_sequence")?;
        out.push(ChatEvent::Done(done));
        Ok(Flow::End)
    }

    /// The end of a text part: what was held back for the stop sequences.
    fn flush_text(&mut self, out: &mut Vec<ChatEvent>) {
        let held = self.stop.flush();
        self.shown(held, out);
    }

    fn shown(&mut self, text: String, out: &mut Vec<ChatEvent>) {
        if !text.is_empty() {
            self.seen.text = true;
            out.push(ChatEvent::Text(text));
        }
    }

    fn reasoning(&mut self, text: &str, out: &mut Vec<ChatEvent>) {
        if !text.is_empty() {
            self.seen.reasoning = true;
            out.push(ChatEvent::Reasoning(text.to_string()));
        }
    }

    /// An item is complete: its content if it did not stream, and its end.
    fn item_done(
        &mut self,
        index: u64,
        item: &Value,
        out: &mut Vec<ChatEvent>,
    ) -> Result<Flow, PluginError> {
        self.flush_text(out);
        self.item_added(index, item, out);
        let whole = !self.streamed.contains(&index);
        match item["type"].as_str().unwrap_or("") {
            "function_call" => {
                if whole {
                    self.tools.delta(index, &arguments(&item["arguments"]), out);
                }
                self.tools.end(index, out);
            }
            "message" if whole => {
                for part in item["content"].as_array().into_iter().flatten() {
                    let text = match part["type"].as_str() {
                        Some("output_text") => part["text"].as_str(),
                        Some("refusal") => {
                            self.refused = true;
                            part["refusal"].as_str()
                        }
                        _ => None,
                    };
                    if self.text(text.unwrap_or(""), out)? == Flow::End {
                        return Ok(Flow::End);
                    }
                    self.flush_text(out);
                }
            }
            "reasoning" => {
                if whole {
                    let (summary, content) = (texts(&item["summary"]), texts(&item["content"]));
                    let parts: Vec<String> = [summary.join("\n\n"), content.concat()]
                        .into_iter()
                        .filter(|t| !t.is_empty())
                        .collect();
                    self.reasoning(&parts.join("\n\n"), out);
                }
                if let Some(encrypted) =
                    item["encrypted_content"].as_str().filter(|e| !e.is_empty())
                {
                    out.push(ChatEvent::ReasoningSignature(encrypted.to_string()));
                }
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }

    /// `response.completed` or `response.incomplete` (or a whole reply's end):
    /// the usage and the stop reason.
    fn finish(&mut self, response: &Value, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        if response["status"] == "failed" {
            return Err(stream_error(&response["error"]));
        }
        // A server that streamed no items: the response has them all.
        if !self.any_item {
            for (index, item) in response["output"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if self.item_done(index as u64, item, out)? == Flow::End {
                    return Ok(Flow::End);
                }
            }
        }
        self.flush_text(out);
        self.tools.end_all(out);
        let done = self.done(response)?;
        if let Some(usage) = usage(&response["usage"]) {
            out.push(ChatEvent::Usage(usage));
        }
        out.push(ChatEvent::Done(done));
        Ok(Flow::End)
    }

    /// The stop reason of a finished response: `completed` is the end of the
    /// turn (or a request for its tool calls to run, or a refusal);
    /// `incomplete` says why in `incomplete_details.reason`.
    fn done(&self, response: &Value) -> Result<Done, PluginError> {
        let status = response["status"].as_str().unwrap_or("completed");
        let done = match status {
            "completed" if self.refused && !self.seen.tool_calls => {
                Done::new(StopReason::Refusal, status)
            }
            "completed" if self.seen.tool_calls => Done::new(StopReason::ToolUse, status),
            "completed" => Done::new(StopReason::EndTurn, status),
            "incomplete" => {
                let why = response["incomplete_details"]["reason"]
                    .as_str()
                    .unwrap_or(status);
                let reason = match why {
                    "max_output_tokens" | "max_tokens" => StopReason::MaxTokens,
                    "content_filter" => StopReason::Refusal,
                    _ => StopReason::Other,
                };
                Done::new(reason, why)
            }
            other => Done::new(StopReason::Other, other),
        };
        if self.seen.answered() || done.reason == StopReason::Refusal {
            Ok(done)
        } else {
            let why = match status {
                "incomplete" => format!("status incomplete, {}", done.raw),
                _ => format!("status {status}"),
            };
            Err(self.seen.no_text(API, &why))
        }
    }
}

impl SseDecoder for StreamDecoder {
    fn event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError> {
        let data = upstream::event_json(API, &event.data)?;
        // The JSON's `type` is authoritative; the SSE event name is the fallback.
        let kind = data["type"]
            .as_str()
            .or(event.event.as_deref())
            .unwrap_or("")
            .to_string();
        match kind.as_str() {
            "error" => return Err(stream_error(&data)),
            "response.failed" => return Err(stream_error(&data["response"]["error"])),
            _ => {}
        }
        if !self.started {
            self.started = true;
            let id = data["response"]["id"]
                .as_str()
                .or(data["response_id"].as_str());
            out.push(ChatEvent::Started(id.unwrap_or("").to_string()));
        }
        let index = self.index(&data);
        let delta = data["delta"].as_str().unwrap_or("");
        match kind.as_str() {
            "response.output_item.added" => {
                self.flush_text(out);
                self.item_added(index, &data["item"], out);
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.refused |= kind == "response.refusal.delta";
                self.streamed.insert(index);
                return self.text(delta, out);
            }
            "response.output_text.done" | "response.refusal.done" => self.flush_text(out),
            "response.function_call_arguments.delta" => {
                self.streamed.insert(index);
                self.tools.delta(index, delta, out);
            }
            // Arguments that came whole, not in deltas.
            "response.function_call_arguments.done" if !self.streamed.contains(&index) => {
                self.streamed.insert(index);
                self.tools.delta(index, &arguments(&data["arguments"]), out);
            }
            "response.reasoning_summary_text.delta" => {
                self.streamed.insert(index);
                let part = data["summary_index"].as_u64().unwrap_or(0);
                if self
                    .summary_parts
                    .insert(index, part)
                    .is_some_and(|p| p != part)
                {
                    self.reasoning("\n\n", out);
                }
                self.reasoning(delta, out);
            }
            "response.reasoning_text.delta" => {
                self.streamed.insert(index);
                self.reasoning(delta, out);
            }
            "response.output_item.done" => return self.item_done(index, &data["item"], out),
            "response.completed" | "response.incomplete" => {
                return self.finish(&data["response"], out);
            }
            _ => {} // created, in_progress, content parts, built-in tools, future events
        }
        Ok(Flow::Continue)
    }

    fn end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        Err(self.seen.ended_early(API, "response.completed"))
    }
}

/// A call's arguments: the JSON text, or an object a server sent as itself.
fn arguments(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The non-empty `text` of each part of a list.
fn texts(parts: &Value) -> Vec<&str> {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The Responses API's `usage`. `input_tokens` includes cached tokens; the
/// contract's excludes them, as Anthropic's does, so cost is not counted
/// twice.
fn usage(json: &Value) -> Option<Usage> {
    if !json.is_object() {
        return None;
    }
    let count = |v: &Value| {
        v.as_u64()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let input = count(&json["input_tokens"]);
    let cached = count(&json["input_tokens_details"]["cached_tokens"]).min(input);
    let output = count(&json["output_tokens"]);
    Some(Usage {
        input_tokens: input - cached,
        output_tokens: output,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        reasoning_tokens: count(&json["output_tokens_details"]["reasoning_tokens"]).min(output),
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
