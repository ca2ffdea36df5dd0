//! Replies with thinking, tool-use blocks, whole and streamed; count_tokens.

use serde_json::{Value, json};

use super::*;
use crate::test_support::*;
use crate::wire::Encoder;
use claw_types::{Done, StopReason};

fn parse(body: &str) -> ApiRequest {
    parse_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {body}", e.message))
}

/// Thinking with its signature, a redacted block, text, two tool calls (the
/// second without an id, with arguments that are not JSON), a tool-use stop.
fn tool_events() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("up".into()),
        ChatEvent::Reasoning("Look ".into()),
        ChatEvent::Reasoning("it up.".into()),
        ChatEvent::ReasoningSignature("sig".into()),
        ChatEvent::RedactedReasoning("enc".into()),
        ChatEvent::Text("Checking".into()),
        ChatEvent::ToolCallStart {
            index: 0,
            id: "toolu_up".into(),
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
        ChatEvent::ToolCallDelta {
            index: 1,
            arguments: "{broken".into(),
        },
        ChatEvent::Usage(usage_of(10, 7, 2, 1)),
        ChatEvent::Done(Done::new(StopReason::ToolUse, "tool_use")),
    ]
}

#[test]
fn renders_thinking_text_and_tool_use_blocks_in_order() {
    let req = parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#);
    let reply = gathered(&Messages, &tool_events());
    let made = reply.tool_calls().nth(1).unwrap().id.clone();
    assert!(made.starts_with("toolu_") && made.len() > 20, "{made}");
    let r = Messages.response(&req, &reply);
    assert_eq!(
        r["content"],
        json!([
            {"type": "thinking", "thinking": "Look it up.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "enc"},
            {"type": "text", "text": "Checking"},
            {"type": "tool_use", "id": "toolu_up", "name": "weather", "input": {"city": "Oslo"}},
            // Arguments that are not a JSON object: `{}` (and a warning logged).
            {"type": "tool_use", "id": made, "name": "noop", "input": {}},
        ])
    );
    assert_eq!(r["stop_reason"], "tool_use");
    assert_eq!(
        r["usage"],
        json!({"input_tokens": 10, "cache_creation_input_tokens": 1, "cache_read_input_tokens": 2, "output_tokens": 7})
    );
}

#[test]
fn streams_the_exact_thinking_signature_and_tool_use_events() {
    let req =
        parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#);
    let mut enc = Encoder::new(
        Events {
            id: "msg_1".into(),
            ..Events::new(&req)
        },
        "toolu_",
    );
    let frames = run(&mut enc, &tool_events());
    let made = enc.reply().tool_calls().nth(1).unwrap().id.clone();
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let start = |i: u32, block: Value| {
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": i, "content_block": block}),
        )
    };
    let delta = |i: u32, d: Value| {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": i, "delta": d}),
        )
    };
    let stop = |i: u32| {
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        )
    };
    assert!(frames[0].starts_with("event: message_start\n"));
    assert_eq!(
        frames[1..],
        [
            String::new(),
            start(
                0,
                json!({"type": "thinking", "thinking": "", "signature": ""})
            ) + &delta(0, json!({"type": "thinking_delta", "thinking": "Look "})),
            delta(0, json!({"type": "thinking_delta", "thinking": "it up."})),
            delta(0, json!({"type": "signature_delta", "signature": "sig"})) + &stop(0),
            start(1, json!({"type": "redacted_thinking", "data": "enc"})) + &stop(1),
            start(2, json!({"type": "text", "text": ""}))
                + &delta(2, json!({"type": "text_delta", "text": "Checking"})),
            stop(2)
                + &start(
                    3,
                    json!({"type": "tool_use", "id": "toolu_up", "name": "weather", "input": {}})
                ),
            delta(
                3,
                json!({"type": "input_json_delta", "partial_json": "{\"city\":"})
            ),
            delta(
                3,
                json!({"type": "input_json_delta", "partial_json": "\"Oslo\"}"})
            ),
            stop(3),
            start(
                4,
                json!({"type": "tool_use", "id": made, "name": "noop", "input": {}})
            ),
            delta(
                4,
                json!({"type": "input_json_delta", "partial_json": "{broken"})
            ),
            String::new(),
            String::new(),
            stop(4)
                + &ev(
                    "message_delta",
                    json!({"type": "message_delta",
                    "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                    "usage": {"input_tokens": 10, "cache_creation_input_tokens": 1, "cache_read_input_tokens": 2, "output_tokens": 7}})
                )
                + &ev("message_stop", json!({"type": "message_stop"})),
        ]
    );
    // The whole reply shows the same id the stream did.
    assert_eq!(
        Messages.response(&req, enc.reply())["content"][4]["id"],
        made.as_str()
    );
}

#[test]
fn a_signature_alone_and_interleaved_calls_keep_their_blocks() {
    let req =
        parse(r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#);
    let mut enc = Encoder::new(Events::new(&req), "toolu_");
    let call = |index: u32, id: &str| ChatEvent::ToolCallStart {
        index,
        id: id.into(),
        name: "f".into(),
    };
    let args = |index: u32, a: &str| ChatEvent::ToolCallDelta {
        index,
        arguments: a.into(),
    };
    let out: String = [
        ChatEvent::ReasoningSignature("s".into()),
        call(0, "a"),
        call(1, "b"),
        args(0, "{}"),
        args(1, "{}"),
        ChatEvent::Reasoning("later".into()),
    ]
    .iter()
    .map(|e| enc.event(e))
    .collect::<String>()
        + &enc.finish();
    let summary: Vec<String> = out
        .split_terminator("\n\n")
        .filter_map(|f| serde_json::from_str::<Value>(f.split_once("\ndata: ")?.1).ok())
        .filter(|d| {
            d["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("content_block"))
        })
        .map(|d| {
            let kind = d["content_block"]["type"]
                .as_str()
                .or(d["delta"]["type"].as_str())
                .unwrap_or("");
            format!(
                "{} {} {kind}",
                d["type"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("content_block_"),
                d["index"]
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "start 0 thinking",
            "delta 0 signature_delta",
            "stop 0 ",
            "start 1 tool_use",
            "stop 1 ",
            "start 2 tool_use",
            "delta 1 input_json_delta",
            "delta 2 input_json_delta",
            "stop 2 ",
            "start 3 thinking",
            "delta 3 thinking_delta",
            "stop 3 ",
        ]
    );
}

#[test]
fn counts_tokens_by_the_documented_estimate() {
    let req = parse(
        r#"{"model": "a/b", "system": "12345678", "tools": [{"name": "ab", "description": "cd", "input_schema": {}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "1234"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "xyz"}]}]}"#,
    );
    // Bytes: system 8 + tool 2+2+2 + text 4 + call 1+1+2 + result 1+3 = 26 → 7
    // tokens; one image 1,600; three messages 9.
    assert_eq!(
        count_tokens(&req.prompt),
        json!({"input_tokens": 7 + 1_600 + 9})
    );
}
