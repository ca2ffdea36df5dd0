//! Streamed responses: the exact event sequence for text, parallel function
//! calls and reasoning; the end of a cut reply; a failure mid-stream.

use serde_json::{Map, Value, json};

use super::reply_tests::{normalized, object, parse, usage_json};
use super::*;
use crate::test_support::*;
use claw_types::{Done, StopReason};

fn encoder() -> Encoder<Events> {
    let req = parse(r#"{"model": "m", "input": "hi", "stream": true}"#);
    Encoder::new(Events::new(&req), "call_")
}

/// The data of each event of `sse`, checked against its `event:` line and
/// numbered in order, then normalized.
fn events(sse: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for frame in sse.split_terminator("\n\n") {
        let (name, data) = frame
            .strip_prefix("event: ")
            .and_then(|f| f.split_once("\ndata: "))
            .unwrap_or_else(|| panic!("not an SSE event: {frame:?}"));
        assert!(!data.contains('\n') && !data.contains('\r'), "{frame}");
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["type"], name, "{frame}");
        assert_eq!(data["sequence_number"], out.len(), "{frame}");
        out.push(data);
    }
    normalized(&out)
}

/// An expected event: its type and number, then `fields`.
fn ev(kind: &str, seq: usize, fields: Value) -> Value {
    let mut data = Map::new();
    data.insert("type".into(), kind.into());
    data.insert("sequence_number".into(), seq.into());
    if let Value::Object(fields) = fields {
        data.extend(fields);
    }
    data.into()
}

fn opening() -> Vec<Value> {
    let response = object("in_progress", json!([]), Value::Null);
    vec![
        ev("response.created", 0, json!({"response": response})),
        ev("response.in_progress", 1, json!({"response": response})),
    ]
}

fn message(text: &str, status: &str, id: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    };
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

fn call(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "arguments": arguments,
           "call_id": call_id, "name": name})
}

#[test]
fn streams_the_exact_events_of_a_text_reply() {
    let mut enc = encoder();
    let sse = run(&mut enc, &[ChatEvent::Started("up".into())]).concat();
    assert_eq!(events(&sse).len(), 3, "an empty reply still completes");
    let mut enc = encoder();
    let stream = [
        ChatEvent::Started("up".into()),
        ChatEvent::Text("Hello".into()),
        ChatEvent::Text(String::new()),
        ChatEvent::Text(" there".into()),
        ChatEvent::Usage(usage_of(10, 5, 2, 0)),
        ChatEvent::Done(Done::from_raw("end_turn")),
    ];
    let sse = run(&mut enc, &stream).concat();
    let at = |fields: Value| {
        let mut f = json!({"item_id": "msg_1", "output_index": 0, "content_index": 0});
        f.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        f
    };
    let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
    let done = message("Hello there", "completed", "msg_1");
    let mut expected = opening();
    expected.extend([
        ev(
            "response.output_item.added",
            2,
            json!({"output_index": 0, "item": message("", "in_progress", "msg_1")}),
        ),
        ev(
            "response.content_part.added",
            3,
            at(json!({"part": part("")})),
        ),
        ev(
            "response.output_text.delta",
            4,
            at(json!({"delta": "Hello", "logprobs": []})),
        ),
        ev(
            "response.output_text.delta",
            5,
            at(json!({"delta": " there", "logprobs": []})),
        ),
        ev(
            "response.output_text.done",
            6,
            at(json!({"text": "Hello there", "logprobs": []})),
        ),
        ev(
            "response.content_part.done",
            7,
            at(json!({"part": part("Hello there")})),
        ),
        ev(
            "response.output_item.done",
            8,
            json!({"output_index": 0, "item": done}),
        ),
        ev(
            "response.completed",
            9,
            json!({"response": object("completed", json!([done]), usage_json(12, 2, 5, 0))}),
        ),
    ]);
    assert_eq!(events(&sse), expected);
    assert_ended(&mut enc);
}

#[test]
fn streams_two_parallel_function_calls_with_interleaved_arguments() {
    let mut enc = encoder();
    let start = |index, id: &str, name: &str| ChatEvent::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    };
    let delta = |index, a: &str| ChatEvent::ToolCallDelta {
        index,
        arguments: a.into(),
    };
    let stream = [
        start(0, "call_a", "weather"),
        start(1, "", "time"),
        delta(0, "{\"city\":"),
        delta(1, "{\"tz\":\"CET\"}"),
        delta(0, "\"Paris\"}"),
        ChatEvent::ToolCallEnd(1),
        ChatEvent::ToolCallEnd(0),
        ChatEvent::Done(Done::new(StopReason::ToolUse, "tool_calls")),
    ];
    let sse = run(&mut enc, &stream).concat();
    let args = |id: &str, index: usize, fields: Value| {
        let mut f = json!({"item_id": id, "output_index": index});
        f.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        f
    };
    let weather = call(
        "fc_1",
        "call_a",
        "weather",
        "{\"city\":\"Paris\"}",
        "completed",
    );
    let time = call("fc_2", "call_1", "time", "{\"tz\":\"CET\"}", "completed");
    let mut expected = opening();
    expected.extend([
        ev("response.output_item.added", 2, json!({"output_index": 0, "item": call("fc_1", "call_a", "weather", "", "in_progress")})),
        ev("response.output_item.added", 3, json!({"output_index": 1, "item": call("fc_2", "call_1", "time", "", "in_progress")})),
        ev("response.function_call_arguments.delta", 4, args("fc_1", 0, json!({"delta": "{\"city\":"}))),
        ev("response.function_call_arguments.delta", 5, args("fc_2", 1, json!({"delta": "{\"tz\":\"CET\"}"}))),
        ev("response.function_call_arguments.delta", 6, args("fc_1", 0, json!({"delta": "\"Paris\"}"}))),
        ev("response.function_call_arguments.done", 7, args("fc_2", 1, json!({"name": "time", "arguments": "{\"tz\":\"CET\"}"}))),
        ev("response.output_item.done", 8, json!({"output_index": 1, "item": time})),
        ev("response.function_call_arguments.done", 9, args("fc_1", 0, json!({"name": "weather", "arguments": "{\"city\":\"Paris\"}"}))),
        ev("response.output_item.done", 10, json!({"output_index": 0, "item": weather})),
        // The whole response lists the items by output index.
        ev("response.completed", 11, json!({"response": object("completed", json!([weather, time]), usage_json(0, 0, 0, 0))})),
    ]);
    assert_eq!(events(&sse), expected);
}

#[test]
fn a_call_without_arguments_ends_with_empty_ones_when_the_reply_does() {
    let mut enc = encoder();
    let stream = [
        ChatEvent::Text("On it.".into()),
        ChatEvent::ToolCallStart {
            index: 0,
            id: "c".into(),
            name: "noop".into(),
        },
        ChatEvent::ToolCallEnd(0),
        ChatEvent::ToolCallEnd(0),
    ];
    let got = events(&run(&mut enc, &stream).concat());
    let kinds: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds[2..],
        [
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            // The call closes the message before it starts.
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(got[9]["delta"], "{}");
    assert_eq!(got[10]["arguments"], "{}");
    assert_eq!(got[12]["response"]["output"][1]["arguments"], "{}");
}

#[test]
fn streams_reasoning_as_a_summary_signed_by_its_encrypted_content() {
    let mut enc = encoder();
    let stream = [
        ChatEvent::Reasoning("Let me ".into()),
        ChatEvent::Reasoning("think.".into()),
        ChatEvent::ReasoningSignature("sig".into()),
        ChatEvent::RedactedReasoning("enc".into()),
        ChatEvent::ReasoningSignature("bare".into()),
        ChatEvent::Done(Done::from_raw("end_turn")),
    ];
    let sse = run(&mut enc, &stream).concat();
    let at = |fields: Value| {
        let mut f = json!({"item_id": "rs_1", "output_index": 0, "summary_index": 0});
        f.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        f
    };
    let summary = |text: &str| json!({"type": "summary_text", "text": text});
    let reasoning = json!({"id": "rs_1", "type": "reasoning", "summary": [summary("Let me think.")], "encrypted_content": "sig"});
    let redacted = json!({"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "claw-redacted:enc"});
    let bare =
        json!({"id": "rs_3", "type": "reasoning", "summary": [], "encrypted_content": "bare"});
    let mut expected = opening();
    expected.extend([
        ev("response.output_item.added", 2, json!({"output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}})),
        ev("response.reasoning_summary_part.added", 3, at(json!({"part": summary("")}))),
        ev("response.reasoning_summary_text.delta", 4, at(json!({"delta": "Let me "}))),
        ev("response.reasoning_summary_text.delta", 5, at(json!({"delta": "think."}))),
        ev("response.reasoning_summary_text.done", 6, at(json!({"text": "Let me think."}))),
        ev("response.reasoning_summary_part.done", 7, at(json!({"part": summary("Let me think.")}))),
        ev("response.output_item.done", 8, json!({"output_index": 0, "item": reasoning})),
        ev("response.output_item.added", 9, json!({"output_index": 1, "item": redacted})),
        ev("response.output_item.done", 10, json!({"output_index": 1, "item": redacted})),
        ev("response.output_item.added", 11, json!({"output_index": 2, "item": bare})),
        ev("response.output_item.done", 12, json!({"output_index": 2, "item": bare})),
        ev("response.completed", 13, json!({"response": object("completed", json!([reasoning, redacted, bare]), usage_json(0, 0, 0, 0))})),
    ]);
    assert_eq!(events(&sse), expected);
    // The same items as the whole response has.
    let whole = Responses.response(&parse(r#"{"model": "m", "input": "hi"}"#), enc.reply());
    assert_eq!(
        normalized(&[whole])[0]["output"],
        json!([reasoning, redacted, bare])
    );
}

#[test]
fn a_reply_cut_at_the_token_limit_ends_incomplete() {
    let mut enc = encoder();
    let got = events(&run(&mut enc, &full_stream(usage_of(3, 4, 0, 0), "max_tokens")).concat());
    let last = got.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    let output = &last["response"]["output"];
    assert_eq!(output[0]["summary"][0]["text"], "Hmm.");
    assert_eq!(output[1]["content"][0]["text"], "Hello there, friend");
    assert!(got.iter().all(|e| e["type"] != "response.completed"));
}

#[test]
fn a_failure_mid_stream_ends_it_with_response_failed() {
    let mut enc = encoder();
    enc.start();
    let frame = cut_after_content(&mut enc, "minimax/MiniMax-M2.1");
    let data = frame
        .strip_prefix("event: response.failed\ndata: ")
        .and_then(|f| f.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("{frame}"));
    let data: Value = serde_json::from_str(data).unwrap();
    // After created, in_progress, and the message's added, part and delta.
    assert_eq!(data["sequence_number"], 5);
    let response = &normalized(&[data["response"].clone()])[0];
    let mut expected = object("failed", json!([]), Value::Null);
    expected["error"] = json!({"code": "server_error", "message": "minimax/MiniMax-M2.1 failed after the reply had started: network: reset"});
    assert_eq!(response, &expected);
    // A rate limit keeps the code clients retry on.
    let mut enc = encoder();
    enc.start();
    let frame = enc.error(&ApiError::new(429, "rate_limit_error", "slow down"));
    assert!(
        frame.contains(r#""error":{"code":"rate_limit_exceeded","message":"slow down"}"#),
        "{frame}"
    );
    assert_eq!(enc.keepalive(), ": keep-alive\n\n");
}

#[test]
fn frames_stay_valid_sse_whatever_the_text() {
    let nasty = "line1\nline2\r\n\"quoted\" \\ </script> \u{2028} \u{0} é 🦀\n\nevent: fake";
    let mut enc = encoder();
    let sse = run(&mut enc, &[ChatEvent::Text(nasty.into())]).concat();
    let got = events(&sse);
    assert_eq!(got[4]["delta"], nasty);
    assert_eq!(
        got.last().unwrap()["response"]["output"][0]["content"][0]["text"],
        nasty
    );
}
