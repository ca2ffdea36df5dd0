//! Replies with tool calls and reasoning, whole and streamed.

use serde_json::{Value, json};

use super::*;
use crate::test_support::*;
use crate::wire::Encoder;
use claw_types::{Done, StopReason, Usage};

fn parse(body: &str) -> ApiRequest {
    parse_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {body}", e.message))
}

/// A reply with reasoning, text, two tool calls (the second without an id
/// and without arguments), usage and a tool-use stop.
fn tool_events() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("up".into()),
        ChatEvent::Reasoning("Look it up.".into()),
        ChatEvent::ReasoningSignature("sig".into()),
        ChatEvent::Text("Checking".into()),
        ChatEvent::ToolCallStart {
            index: 0,
            id: "call_up1".into(),
            name: "weather".into(),
        },
        ChatEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":".into(),
        },
        ChatEvent::ToolCallDelta {
            index: 0,
            arguments: "\"Oslo\"}".into(),
        },
        ChatEvent::ToolCallEnd(0),
        ChatEvent::ToolCallStart {
            index: 1,
            id: String::new(),
            name: "noop".into(),
        },
        ChatEvent::ToolCallEnd(1),
        ChatEvent::Usage(Usage {
            reasoning_tokens: 4,
            ..usage_of(10, 7, 2, 0)
        }),
        ChatEvent::Done(Done::new(StopReason::ToolUse, "tool_calls")),
    ]
}

#[test]
fn renders_tool_calls_and_reasoning() {
    let req = parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#);
    let reply = gathered(&ChatCompletions, &tool_events());
    let made = reply.tool_calls().nth(1).unwrap().id.clone();
    assert!(made.starts_with("call_") && made.len() > 20, "{made}");
    let r = ChatCompletions.response(&req, &reply);
    assert_eq!(
        r["choices"][0],
        json!({"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Checking", "reasoning_content": "Look it up.",
            "tool_calls": [
                {"id": "call_up1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
                {"id": made, "type": "function", "function": {"name": "noop", "arguments": "{}"}}]}})
    );
    assert_eq!(
        r["usage"],
        json!({"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19,
            "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 4}})
    );
    // Only tool calls: content is null.
    let only = gathered(&ChatCompletions, &tool_events()[4..8]);
    let message = &ChatCompletions.response(&req, &only)["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert!(message.get("reasoning_content").is_none());
}

#[test]
fn streams_the_exact_tool_call_chunks() {
    let req =
        parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#);
    let chunks = Chunks {
        id: "chatcmpl-1".into(),
        created: 1,
        ..Chunks::new(&req)
    };
    let mut enc = Encoder::new(chunks, "call_");
    let frames = run(&mut enc, &tool_events());
    let made = enc.reply().tool_calls().nth(1).unwrap().id.clone();
    assert!(made.starts_with("call_"), "{made}");
    let chunk = |delta: &str, finish: &str| {
        format!(
            r#"data: {{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
        ) + "\n\n"
    };
    let delta = |d: &str| chunk(d, "null");
    assert_eq!(
        frames,
        [
            delta(r#"{"role":"assistant","content":""}"#),
            String::new(),
            delta(r#"{"reasoning_content":"Look it up."}"#),
            String::new(),
            delta(r#"{"content":"Checking"}"#),
            delta(
                r#"{"tool_calls":[{"index":0,"id":"call_up1","type":"function","function":{"name":"weather","arguments":""}}]}"#
            ),
            delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}"#),
            delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]}"#),
            String::new(),
            delta(&format!(
                r#"{{"tool_calls":[{{"index":1,"id":"{made}","type":"function","function":{{"name":"noop","arguments":""}}}}]}}"#
            )),
            String::new(),
            String::new(),
            String::new(),
            // The call that streamed no arguments gets `{}`, as the whole reply has.
            delta(r#"{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}"#)
                + &chunk("{}", "\"tool_calls\"")
                + "data: [DONE]\n\n",
        ]
    );
    // The whole reply shows the same id the stream did.
    let whole = ChatCompletions.response(&req, enc.reply());
    assert_eq!(
        whole["choices"][0]["message"]["tool_calls"][1]["id"],
        made.as_str()
    );
}

#[test]
fn upstream_tool_indexes_become_places_in_the_reply() {
    let req =
        parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#);
    let mut enc = Encoder::new(Chunks::new(&req), "call_");
    let out = enc.event(&ChatEvent::ToolCallStart {
        index: 7,
        id: "c7".into(),
        name: "f".into(),
    }) + &enc.event(&ChatEvent::ToolCallDelta {
        index: 7,
        arguments: "{}".into(),
    }) + &enc.event(&ChatEvent::ToolCallDelta {
        index: 3,
        arguments: "lost".into(),
    });
    let indexes: Vec<Value> = out
        .split_terminator("\n\n")
        .filter_map(|f| serde_json::from_str::<Value>(f.strip_prefix("data: ")?).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]
                .get("index")
                .cloned()
        })
        .collect();
    assert_eq!(indexes, [json!(0), json!(0)], "{out}");
    assert!(!out.contains("lost"));
}

#[test]
fn redacted_reasoning_and_signatures_show_nothing_here() {
    let req =
        parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#);
    let mut enc = Encoder::new(Chunks::new(&req), "call_");
    assert_eq!(enc.event(&ChatEvent::RedactedReasoning("x".into())), "");
    assert_eq!(enc.event(&ChatEvent::ReasoningSignature("s".into())), "");
    assert!(
        enc.event(&ChatEvent::Text("hi".into()))
            .contains("\"role\":\"assistant\"")
    );
}
