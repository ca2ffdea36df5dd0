use super::tests::{
    completed, created, done, driver, message, reasoning, response, run, sse, started, usage_json,
    used,
};
use super::*;
use claw_plugin_sdk::testing::{assert_any_split, tool_calls};
use serde_json::json;

/// A function call item at `index` whose arguments stream in `pieces`.
fn call(index: u64, item: &str, call_id: &str, name: &str, pieces: &[&str]) -> Vec<Value> {
    let arguments: String = pieces.concat();
    let mut events = vec![
        json!({"type": "response.output_item.added", "output_index": index,
        "item": {"id": item, "type": "function_call", "status": "in_progress", "arguments": "",
                 "call_id": call_id, "name": name}}),
    ];
    for piece in pieces {
        events.push(
            json!({"type": "response.function_call_arguments.delta", "item_id": item,
            "output_index": index, "delta": piece, "obfuscation": "b7"}),
        );
    }
    events.push(
        json!({"type": "response.function_call_arguments.done", "item_id": item,
        "output_index": index, "arguments": arguments}),
    );
    events.push(
        json!({"type": "response.output_item.done", "output_index": index,
        "item": {"id": item, "type": "function_call", "status": "completed", "arguments": arguments,
                 "call_id": call_id, "name": name}}),
    );
    events
}

fn start(index: u32, id: &str, name: &str) -> ChatEvent {
    ChatEvent::ToolCallStart(ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    })
}

fn delta(index: u32, arguments: &str) -> ChatEvent {
    ChatEvent::ToolCallDelta(ToolCallDelta {
        index,
        arguments: arguments.into(),
    })
}

fn one_call_stream() -> String {
    let mut events = created();
    events.extend(call(
        0,
        "fc_68af1c30b1d88190a4c3e2f1d0c9b8a7",
        "call_x7Kq2mVn9LpR4sT1",
        "get_weather",
        &["{\"", "location", "\":\"", "Paris, France", "\"}"],
    ));
    events.push(completed(usage_json(80, 0, 18, 0)));
    sse(&events)
}

#[test]
fn a_function_call_streams_its_arguments_in_fragments() {
    let expected = vec![
        started(),
        start(0, "call_x7Kq2mVn9LpR4sT1", "get_weather"),
        delta(0, "{\""),
        delta(0, "location"),
        delta(0, "\":\""),
        delta(0, "Paris, France"),
        delta(0, "\"}"),
        ChatEvent::ToolCallEnd(0),
        used(80, 18, 0, 0),
        done(StopReason::ToolUse, "completed"),
    ];
    assert_any_split(driver, one_call_stream().as_bytes(), &expected);
}

#[test]
fn parallel_calls_after_reasoning_are_numbered_from_zero() {
    let mut events = created();
    events.extend(reasoning(
        0,
        &[&["Two cities: two calls."]],
        "gAAAAABo-calls",
    ));
    events.extend(call(
        1,
        "fc_1",
        "call_paris",
        "get_weather",
        &["{\"location\":", "\"Paris\"}"],
    ));
    events.extend(call(
        2,
        "fc_2",
        "call_boston",
        "get_weather",
        &["{\"location\":\"Boston\"}"],
    ));
    events.push(completed(usage_json(120, 100, 60, 32)));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        [
            started(),
            ChatEvent::Reasoning("Two cities: two calls.".into()),
            ChatEvent::ReasoningSignature("gAAAAABo-calls".into()),
            start(0, "call_paris", "get_weather"),
            delta(0, "{\"location\":"),
            delta(0, "\"Paris\"}"),
            ChatEvent::ToolCallEnd(0),
            start(1, "call_boston", "get_weather"),
            delta(1, "{\"location\":\"Boston\"}"),
            ChatEvent::ToolCallEnd(1),
            used(20, 60, 100, 32),
            done(StopReason::ToolUse, "completed"),
        ]
    );
    let calls = tool_calls(&events);
    assert_eq!(calls[1].arguments, r#"{"location":"Boston"}"#);
}

#[test]
fn text_then_a_call_and_interleaved_fragments_keep_their_calls() {
    let mut events = created();
    events.extend(message(0, &["Let me check."]));
    // Two calls open at once, fragments naming only their item.
    for (index, item, id) in [(1, "fc_a", "call_a"), (2, "fc_b", "call_b")] {
        events.push(json!({"type": "response.output_item.added", "output_index": index,
            "item": {"id": item, "type": "function_call", "arguments": "", "call_id": id, "name": "lookup"}}));
    }
    events.push(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_b", "delta": "{\"q\":\"b\"}"}));
    events.push(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_a", "delta": "{\"q\":"}));
    events.push(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_a", "delta": "\"a\"}"}));
    events.push(json!({"type": "response.output_item.done", "output_index": 2,
        "item": {"id": "fc_b", "type": "function_call", "arguments": "{\"q\":\"b\"}", "call_id": "call_b", "name": "lookup"}}));
    events.push(json!({"type": "response.output_item.done", "output_index": 1,
        "item": {"id": "fc_a", "type": "function_call", "arguments": "{\"q\":\"a\"}", "call_id": "call_a", "name": "lookup"}}));
    events.push(completed(usage_json(10, 0, 20, 0)));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events[1], ChatEvent::Text("Let me check.".into()));
    assert_eq!(
        events[events.len() - 4..events.len() - 2],
        [ChatEvent::ToolCallEnd(1), ChatEvent::ToolCallEnd(0)]
    );
    let calls = tool_calls(&events);
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.id.as_str(), c.arguments.as_str()))
            .collect::<Vec<_>>(),
        [("call_a", r#"{"q":"a"}"#), ("call_b", r#"{"q":"b"}"#)]
    );
    assert_eq!(events.last(), Some(&done(StopReason::ToolUse, "completed")));
}

#[test]
fn calls_sent_whole_or_without_ids_still_arrive_whole() {
    let mut events = created();
    // Arguments only in the `done` events, no deltas.
    events.push(json!({"type": "response.output_item.added", "output_index": 0,
        "item": {"id": "fc_1", "type": "function_call", "arguments": "", "call_id": "call_1", "name": "f"}}));
    events.push(json!({"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0,
        "arguments": "{\"a\":1}"}));
    events.push(json!({"type": "response.output_item.done", "output_index": 0,
        "item": {"id": "fc_1", "type": "function_call", "arguments": "{\"a\":1}", "call_id": "call_1", "name": "f"}}));
    // A whole call in its `done` only, without a call id: its item id names it.
    events.push(
        json!({"type": "response.output_item.done", "output_index": 1,
        "item": {"id": "fc_2", "type": "function_call", "arguments": {"b": 2}, "name": "g"}}),
    );
    // Neither: one is made up.
    events.push(
        json!({"type": "response.output_item.done", "output_index": 2,
        "item": {"type": "function_call", "arguments": "{}", "name": "h"}}),
    );
    events.push(completed(Value::Null));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        [
            started(),
            start(0, "call_1", "f"),
            delta(0, "{\"a\":1}"),
            ChatEvent::ToolCallEnd(0),
            start(1, "fc_2", "g"),
            delta(1, "{\"b\":2}"),
            ChatEvent::ToolCallEnd(1),
            start(2, "call_2", "h"),
            delta(2, "{}"),
            ChatEvent::ToolCallEnd(2),
            done(StopReason::ToolUse, "completed"),
        ]
    );
}

#[test]
fn a_call_cut_by_the_limit_ends_with_max_tokens_and_a_cut_stream_is_an_error() {
    let mut events = created();
    events.extend(
        call(0, "fc_1", "call_1", "write", &["{\"text\":\"lo"])
            .into_iter()
            .take(2),
    );
    events.push(
        json!({"type": "response.incomplete", "response": response(json!({
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}))}),
    );
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events[1..],
        [
            start(0, "call_1", "write"),
            delta(0, "{\"text\":\"lo"),
            ChatEvent::ToolCallEnd(0),
            done(StopReason::MaxTokens, "max_output_tokens"),
        ]
    );
    let body = one_call_stream();
    let cut = &body[..body.find("event: response.output_item.done").unwrap()];
    let (_, error) = run(cut);
    assert_eq!(error.unwrap().reason, ErrorReason::Network);
}

#[test]
fn a_whole_response_with_calls() {
    let body = response(json!({
        "status": "completed",
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "gAAAA-1"},
            {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1",
             "name": "get_weather", "arguments": "{\"location\":\"Paris\"}"},
            {"id": "fc_2", "type": "function_call", "status": "completed", "call_id": "call_2",
             "name": "get_weather", "arguments": "{\"location\":\"Boston\"}"},
        ],
        "usage": usage_json(50, 0, 40, 16),
    }));
    let events = parse_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        events,
        [
            started(),
            ChatEvent::ReasoningSignature("gAAAA-1".into()),
            start(0, "call_1", "get_weather"),
            delta(0, "{\"location\":\"Paris\"}"),
            ChatEvent::ToolCallEnd(0),
            start(1, "call_2", "get_weather"),
            delta(1, "{\"location\":\"Boston\"}"),
            ChatEvent::ToolCallEnd(1),
            used(50, 40, 0, 16),
            done(StopReason::ToolUse, "completed"),
        ]
    );
}
