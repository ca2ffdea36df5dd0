//! What a reply said, gathered from the router's deliveries: the same events a
//! stream encoder sees, so a whole reply and a streamed one cannot disagree.

use std::borrow::Cow;

use claw_types::{ChatEvent, Done, StopReason, ToolCall, Usage};

/// One piece of a reply's content, in the order it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    RedactedReasoning(String),
    Text(String),
    ToolCall(ToolCall),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The upstream's id for the message, for the request log.
    pub upstream_id: Option<String>,
    pub blocks: Vec<Block>,
    /// The latest report wins.
    pub usage: Option<Usage>,
    pub done: Option<Done>,
    /// The upstream's index of each tool call, in the order they started.
    calls: Vec<u32>,
    /// For ids of tool calls an upstream sent without one.
    tool_id_prefix: &'static str,
}

impl Default for Reply {
    fn default() -> Reply {
        Reply::new("call_")
    }
}

impl Reply {
    pub fn new(tool_id_prefix: &'static str) -> Reply {
        Reply {
            upstream_id: None,
            blocks: Vec::new(),
            usage: None,
            done: None,
            calls: Vec::new(),
            tool_id_prefix,
        }
    }

    /// Records `event`, and returns it as clients are shown it: a tool call
    /// gets an id if the upstream gave none, and tool-call indexes become the
    /// call's place among the reply's calls (0, 1, ...) whatever the upstream
    /// numbered. `None`: nothing to show (a second start of a tool call, a
    /// fragment or end of a call that never started).
    pub fn push<'e>(&mut self, event: &'e ChatEvent) -> Option<Cow<'e, ChatEvent>> {
        match event {
            ChatEvent::Started(id) => self.upstream_id = Some(id.clone()),
            ChatEvent::Text(t) if t.is_empty() => {}
            ChatEvent::Text(t) => match self.blocks.last_mut() {
                Some(Block::Text(text)) => text.push_str(t),
                _ => self.blocks.push(Block::Text(t.clone())),
            },
            ChatEvent::Reasoning(t) if t.is_empty() => {}
            ChatEvent::Reasoning(t) => match self.blocks.last_mut() {
                Some(Block::Reasoning {
                    text,
                    signature: None,
                }) => text.push_str(t),
                _ => self.blocks.push(Block::Reasoning {
                    text: t.clone(),
                    signature: None,
                }),
            },
            // A signature without reasoning before it still closes a
            // (then empty) block: upstreams that hide reasoning send that.
            ChatEvent::ReasoningSignature(s) => match self.blocks.last_mut() {
                Some(Block::Reasoning {
                    signature: signature @ None,
                    ..
                }) => *signature = Some(s.clone()),
                _ => self.blocks.push(Block::Reasoning {
                    text: String::new(),
                    signature: Some(s.clone()),
                }),
            },
            ChatEvent::RedactedReasoning(d) => {
                self.blocks.push(Block::RedactedReasoning(d.clone()))
            }
            ChatEvent::ToolCallStart { index, id, name } => {
                if self.calls.contains(index) {
                    return None;
                }
                let id = if id.is_empty() {
                    format!("{}{}", self.tool_id_prefix, crate::unique_id())
                } else {
                    id.clone()
                };
                let position = self.calls.len() as u32;
                self.calls.push(*index);
                self.blocks.push(Block::ToolCall(ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                }));
                return Some(Cow::Owned(ChatEvent::ToolCallStart {
                    index: position,
                    id,
                    name: name.clone(),
                }));
            }
            ChatEvent::ToolCallDelta { index, arguments } => {
                let position = self.position(*index)?;
                if let Some(call) = self.tool_calls_mut().nth(position as usize) {
                    call.arguments.push_str(arguments);
                }
                return Some(renumbered(event, *index, position, || {
                    ChatEvent::ToolCallDelta {
                        index: position,
                        arguments: arguments.clone(),
                    }
                }));
            }
            ChatEvent::ToolCallEnd(index) => {
                let position = self.position(*index)?;
                return Some(renumbered(event, *index, position, || {
                    ChatEvent::ToolCallEnd(position)
                }));
            }
            ChatEvent::Usage(u) => self.usage = Some(*u),
            ChatEvent::Done(d) => self.done = Some(d.clone()),
        }
        Some(Cow::Borrowed(event))
    }

    /// Where the upstream's tool call `index` is among the reply's calls.
    fn position(&self, index: u32) -> Option<u32> {
        self.calls
            .iter()
            .position(|&i| i == index)
            .map(|p| p as u32)
    }

    fn tool_calls_mut(&mut self) -> impl Iterator<Item = &mut ToolCall> {
        self.blocks.iter_mut().filter_map(|b| match b {
            Block::ToolCall(c) => Some(c),
            _ => None,
        })
    }

    /// The tool calls, in the order they started.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.blocks.iter().filter_map(|b| match b {
            Block::ToolCall(c) => Some(c),
            _ => None,
        })
    }

    /// All visible text.
    pub fn text(&self) -> String {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// All reasoning text.
    pub fn reasoning(&self) -> String {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Reasoning { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Why the reply ended. A reply with tool calls that "just ended" ended
    /// for its tool calls: some upstreams say `stop` there, and clients wait
    /// for `tool_calls`/`tool_use` to run them.
    pub fn stop_reason(&self) -> StopReason {
        let reason = self.done.as_ref().map_or(StopReason::EndTurn, |d| d.reason);
        let calls = self.tool_calls().next().is_some();
        match reason {
            StopReason::EndTurn | StopReason::Other if calls => StopReason::ToolUse,
            reason => reason,
        }
    }
}

/// `event` if the upstream's index already is the position, else `made()`.
fn renumbered<'e>(
    event: &'e ChatEvent,
    index: u32,
    position: u32,
    made: impl FnOnce() -> ChatEvent,
) -> Cow<'e, ChatEvent> {
    if index == position {
        Cow::Borrowed(event)
    } else {
        Cow::Owned(made())
    }
}

/// Tool-call arguments as a JSON object for APIs that carry one (Anthropic's
/// `input`): no arguments are `{}`, and so are arguments that are not a JSON
/// object (a model's broken output; logged), since clients expect an object
/// there and fail on anything else.
pub fn arguments_object(call: &ToolCall) -> serde_json::Value {
    if call.arguments.trim().is_empty() {
        return serde_json::json!({});
    }
    match serde_json::from_str::<serde_json::Value>(&call.arguments) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            tracing::warn!(call = %call.id, tool = %call.name, "the tool call's arguments are not a JSON object; sent {{}} instead");
            serde_json::json!({})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::usage_of;

    fn gather(events: &[ChatEvent]) -> (Reply, Vec<Option<ChatEvent>>) {
        let mut reply = Reply::new("toolu_");
        let shown = events
            .iter()
            .map(|e| reply.push(e).map(Cow::into_owned))
            .collect();
        (reply, shown)
    }

    #[test]
    fn gathers_what_the_events_said() {
        let (reply, _) = gather(&[
            ChatEvent::Started("msg_up".into()),
            ChatEvent::Reasoning("Hm".into()),
            ChatEvent::Reasoning("m.".into()),
            ChatEvent::ReasoningSignature("sig".into()),
            ChatEvent::RedactedReasoning("enc".into()),
            ChatEvent::Text("Hel".into()),
            ChatEvent::Usage(usage_of(1, 1, 0, 0)),
            ChatEvent::Text("lo".into()),
            ChatEvent::Reasoning("again".into()),
            ChatEvent::Usage(usage_of(5, 2, 0, 0)),
            ChatEvent::Done(Done::from_raw("end_turn")),
        ]);
        assert_eq!(reply.upstream_id.as_deref(), Some("msg_up"));
        assert_eq!(
            reply.blocks,
            [
                Block::Reasoning {
                    text: "Hmm.".into(),
                    signature: Some("sig".into())
                },
                Block::RedactedReasoning("enc".into()),
                Block::Text("Hello".into()),
                Block::Reasoning {
                    text: "again".into(),
                    signature: None
                },
            ]
        );
        assert_eq!(
            (reply.text(), reply.reasoning()),
            ("Hello".into(), "Hmm.again".into())
        );
        assert_eq!(reply.usage, Some(usage_of(5, 2, 0, 0)));
        assert_eq!(reply.stop_reason(), StopReason::EndTurn);
    }

    #[test]
    fn a_signature_without_reasoning_makes_an_empty_signed_block() {
        let (reply, _) = gather(&[
            ChatEvent::Text("a".into()),
            ChatEvent::ReasoningSignature("s".into()),
        ]);
        assert_eq!(
            reply.blocks[1],
            Block::Reasoning {
                text: String::new(),
                signature: Some("s".into())
            }
        );
    }

    #[test]
    fn tool_calls_get_ids_and_indexes_in_reply_order() {
        let start = |index, id: &str| ChatEvent::ToolCallStart {
            index,
            id: id.into(),
            name: format!("f{index}"),
        };
        let delta = |index, a: &str| ChatEvent::ToolCallDelta {
            index,
            arguments: a.into(),
        };
        let (reply, shown) = gather(&[
            start(3, "call_up"),
            delta(3, "{\"a\":"),
            start(5, ""),
            delta(3, "1}"),
            delta(9, "lost"),
            start(3, "again"),
            ChatEvent::ToolCallEnd(5),
            ChatEvent::ToolCallEnd(7),
            ChatEvent::Done(Done::from_raw("stop")),
        ]);
        let calls: Vec<&ToolCall> = reply.tool_calls().collect();
        assert_eq!(
            (calls[0].id.as_str(), calls[0].name.as_str()),
            ("call_up", "f3")
        );
        assert_eq!(calls[0].arguments, "{\"a\":1}");
        let made = calls[1].id.clone();
        assert!(made.starts_with("toolu_") && made.len() > 20, "{made}");
        assert_eq!(calls[1].arguments, "");
        assert_eq!(
            shown,
            [
                Some(ChatEvent::ToolCallStart {
                    index: 0,
                    id: "call_up".into(),
                    name: "f3".into()
                }),
                Some(delta(0, "{\"a\":")),
                Some(ChatEvent::ToolCallStart {
                    index: 1,
                    id: made,
                    name: "f5".into()
                }),
                Some(delta(0, "1}")),
                None,
                None,
                Some(ChatEvent::ToolCallEnd(1)),
                None,
                Some(ChatEvent::Done(Done::from_raw("stop"))),
            ]
        );
        // "stop" with tool calls ended for them.
        assert_eq!(reply.stop_reason(), StopReason::ToolUse);
    }

    #[test]
    fn arguments_become_an_object_or_empty() {
        let call = |a: &str| ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: a.into(),
        };
        assert_eq!(
            arguments_object(&call("{\"x\": [1]}")),
            serde_json::json!({"x": [1]})
        );
        for broken in ["", "  ", "{\"x\":", "[1]", "\"s\""] {
            assert_eq!(
                arguments_object(&call(broken)),
                serde_json::json!({}),
                "{broken}"
            );
        }
    }
}
