//! Streamed tool calls, both ways: [`ToolCallTracker`] turns an upstream's
//! tool-call fragments into the contract's start/delta/end events, and
//! [`ToolCallAccumulator`] collects such events back into whole calls.

use std::collections::BTreeMap;

use crate::types::{ChatEvent, ToolCall, ToolCallDelta, ToolCallStart};

/// Numbers an upstream's tool calls as the contract does (0, 1, ... in the
/// order they start) and emits their events. The upstream names a call by a
/// `key` of its own: Anthropic's content-block index, OpenAI's tool-call
/// index. A key may be reused once its call has ended.
#[derive(Debug, Default, Clone)]
pub struct ToolCallTracker {
    /// Every call of the reply; a call's index is its position.
    calls: Vec<Tracked>,
}

#[derive(Debug, Clone)]
struct Tracked {
    key: u64,
    id: String,
    open: bool,
}

impl ToolCallTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A call begins: pushes `ToolCallStart` and returns its index. A key
    /// whose call is still open returns that call's index and pushes nothing.
    pub fn start(
        &mut self,
        key: u64,
        id: impl Into<String>,
        name: impl Into<String>,
        out: &mut Vec<ChatEvent>,
    ) -> u32 {
        if let Some(index) = self.open_index(key) {
            return index;
        }
        let index = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        let id = id.into();
        self.calls.push(Tracked {
            key,
            id: id.clone(),
            open: true,
        });
        out.push(ChatEvent::ToolCallStart(ToolCallStart {
            index,
            id,
            name: name.into(),
        }));
        index
    }

    /// A fragment of the open call `key`'s arguments: pushes `ToolCallDelta`
    /// unless it is empty. False when no call of that key is open.
    pub fn delta(&mut self, key: u64, arguments: &str, out: &mut Vec<ChatEvent>) -> bool {
        let Some(index) = self.open_index(key) else {
            return false;
        };
        if !arguments.is_empty() {
            out.push(ChatEvent::ToolCallDelta(ToolCallDelta {
                index,
                arguments: arguments.to_string(),
            }));
        }
        true
    }

    /// The call `key` is complete: pushes `ToolCallEnd` once. False when no
    /// call of that key is open.
    pub fn end(&mut self, key: u64, out: &mut Vec<ChatEvent>) -> bool {
        let Some(index) = self.open_index(key) else {
            return false;
        };
        self.calls[index as usize].open = false;
        out.push(ChatEvent::ToolCallEnd(index));
        true
    }

    /// Ends every open call, in index order (at the end of the reply).
    pub fn end_all(&mut self, out: &mut Vec<ChatEvent>) {
        for (index, call) in self.calls.iter_mut().enumerate() {
            if std::mem::replace(&mut call.open, false) {
                out.push(ChatEvent::ToolCallEnd(index as u32));
            }
        }
    }

    /// Whether a call of this key is open.
    pub fn is_open(&self, key: u64) -> bool {
        self.open_index(key).is_some()
    }

    /// The key of the latest call with this upstream id.
    pub fn key_of_id(&self, id: &str) -> Option<u64> {
        self.calls.iter().rev().find(|c| c.id == id).map(|c| c.key)
    }

    /// The key of the latest call to start.
    pub fn last_key(&self) -> Option<u64> {
        self.calls.last().map(|c| c.key)
    }

    /// How many calls have started.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    fn open_index(&self, key: u64) -> Option<u32> {
        let position = self.calls.iter().rposition(|c| c.key == key && c.open)?;
        u32::try_from(position).ok()
    }
}

/// Collects a reply's tool-call events into whole [`ToolCall`]s: the
/// fragments of each index concatenated in order. Events of other kinds are
/// ignored, so a whole reply can be pushed through it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ToolCallAccumulator {
    calls: BTreeMap<u32, Pending>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pending {
    call: ToolCall,
    ended: bool,
}

impl ToolCallAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// The tool calls among `events`.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a ChatEvent>) -> Self {
        let mut accumulator = Self::new();
        events.into_iter().for_each(|e| {
            accumulator.push(e);
        });
        accumulator
    }

    /// Takes one event; true when it was a tool-call event. A delta for an
    /// index that never started still collects (with an empty id and name).
    pub fn push(&mut self, event: &ChatEvent) -> bool {
        match event {
            ChatEvent::ToolCallStart(start) => {
                let pending = self.entry(start.index);
                pending.call.id = start.id.clone();
                pending.call.name = start.name.clone();
            }
            ChatEvent::ToolCallDelta(delta) => {
                self.entry(delta.index)
                    .call
                    .arguments
                    .push_str(&delta.arguments);
            }
            ChatEvent::ToolCallEnd(index) => self.entry(*index).ended = true,
            _ => return false,
        }
        true
    }

    /// Every call so far, by index (ended or not).
    pub fn calls(&self) -> Vec<ToolCall> {
        self.calls.values().map(|p| p.call.clone()).collect()
    }

    /// The indexes of calls that have not ended.
    pub fn open(&self) -> Vec<u32> {
        let open = self.calls.iter().filter(|(_, p)| !p.ended);
        open.map(|(index, _)| *index).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    fn entry(&mut self, index: u32) -> &mut Pending {
        self.calls.entry(index).or_insert_with(|| Pending {
            call: ToolCall {
                id: String::new(),
                name: String::new(),
                arguments: String::new(),
            },
            ended: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn parallel_calls_are_numbered_in_order_of_start() {
        let (mut tracker, mut out) = (ToolCallTracker::new(), Vec::new());
        assert_eq!(tracker.start(1, "toolu_a", "weather", &mut out), 0);
        assert_eq!(tracker.start(3, "toolu_b", "time", &mut out), 1);
        assert_eq!(tracker.start(1, "ignored", "ignored", &mut out), 0);
        assert!(tracker.delta(3, r#"{"tz":"#, &mut out));
        assert!(
            tracker.delta(1, "", &mut out),
            "empty fragments are not sent"
        );
        assert!(tracker.delta(1, r#"{"city":"Paris"}"#, &mut out));
        assert!(tracker.delta(3, r#""UTC"}"#, &mut out));
        assert!(!tracker.delta(7, "x", &mut out), "an unknown key");
        assert!(tracker.end(1, &mut out));
        assert!(!tracker.end(1, &mut out), "a call ends once");
        assert!(!tracker.delta(1, "late", &mut out));
        tracker.end_all(&mut out);
        tracker.end_all(&mut out);
        assert_eq!(tracker.len(), 2);
        assert_eq!(tracker.key_of_id("toolu_b"), Some(3));
        assert_eq!(tracker.last_key(), Some(3));

        let expected = vec![
            ChatEvent::ToolCallStart(ToolCallStart {
                index: 0,
                id: "toolu_a".into(),
                name: "weather".into(),
            }),
            ChatEvent::ToolCallStart(ToolCallStart {
                index: 1,
                id: "toolu_b".into(),
                name: "time".into(),
            }),
            ChatEvent::ToolCallDelta(ToolCallDelta {
                index: 1,
                arguments: r#"{"tz":"#.into(),
            }),
            ChatEvent::ToolCallDelta(ToolCallDelta {
                index: 0,
                arguments: r#"{"city":"Paris"}"#.into(),
            }),
            ChatEvent::ToolCallDelta(ToolCallDelta {
                index: 1,
                arguments: r#""UTC"}"#.into(),
            }),
            ChatEvent::ToolCallEnd(0),
            ChatEvent::ToolCallEnd(1),
        ];
        assert_eq!(out, expected);

        let calls = ToolCallAccumulator::from_events(&out);
        assert_eq!(
            calls.calls(),
            [
                call("toolu_a", "weather", r#"{"city":"Paris"}"#),
                call("toolu_b", "time", r#"{"tz":"UTC"}"#)
            ]
        );
        assert!(calls.open().is_empty());
    }

    #[test]
    fn a_reused_key_starts_a_new_call_once_the_old_one_ended() {
        let (mut tracker, mut out) = (ToolCallTracker::new(), Vec::new());
        tracker.start(0, "a", "f", &mut out);
        tracker.end(0, &mut out);
        assert_eq!(tracker.start(0, "b", "g", &mut out), 1);
        assert!(tracker.is_open(0));
        let calls = ToolCallAccumulator::from_events(&out);
        assert_eq!(calls.open(), [1]);
        assert_eq!(calls.calls()[1], call("b", "g", ""));
    }

    #[test]
    fn the_accumulator_ignores_other_events_and_tolerates_a_missing_start() {
        let mut calls = ToolCallAccumulator::new();
        assert!(!calls.push(&ChatEvent::Text("hi".into())));
        assert!(calls.is_empty());
        assert!(calls.push(&ChatEvent::ToolCallDelta(ToolCallDelta {
            index: 2,
            arguments: "{}".into(),
        })));
        assert_eq!(calls.calls(), [call("", "", "{}")]);
        assert_eq!(calls.open(), [2]);
    }
}
