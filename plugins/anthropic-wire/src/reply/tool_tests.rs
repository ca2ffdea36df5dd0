//! Tool calls, reasoning blocks and stop reasons, on streams shaped as
//! Anthropic sends them.

use super::tests::{DELTA, PING, START, STOP, STOP_BLOCK, done, driver, run, sse, text, usage};
use super::*;
use claw_plugin_sdk::testing::{assert_any_split, assert_decodes, tool_calls};
use claw_plugin_sdk::types::{ToolCall, ToolCallDelta, ToolCallStart};

fn block_start(index: u32, block: &str) -> String {
    format!(r#"{{"type":"content_block_start","index":{index},"content_block":{block}}}"#)
}
fn block_stop(index: u32) -> String {
    format!(r#"{{"type":"content_block_stop","index":{index}}}"#)
}
fn json_delta(index: u32, partial: &str) -> String {
    format!(
        r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"input_json_delta","partial_json":{}}}}}"#,
        Value::from(partial)
    )
}
fn message_delta(stop: &str, usage: &str) -> String {
    format!(
        r#"{{"type":"message_delta","delta":{{"stop_reason":"{stop}","stop_sequence":null}},"usage":{usage}}}"#
    )
}
fn tool_start(index: u32, id: &str, name: &str) -> ChatEvent {
    ChatEvent::ToolCallStart(ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    })
}
fn tool_delta(index: u32, arguments: &str) -> ChatEvent {
    ChatEvent::ToolCallDelta(ToolCallDelta {
        index,
        arguments: arguments.into(),
    })
}

const WEATHER: &str =
    r#"{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}"#;
const TIME: &str =
    r#"{"type":"tool_use","id":"toolu_01FLBHxLoBgGr5i9o6BJhxfe","name":"get_time","input":{}}"#;

/// Text, then two parallel tool calls whose inputs arrive in fragments
/// (the first fragment empty, as Anthropic sends it).
fn parallel_calls() -> String {
    let text_start = block_start(0, r#"{"type":"text","text":""}"#);
    let okay = text("Okay, let me check.");
    let (weather, time) = (block_start(1, WEATHER), block_start(2, TIME));
    let (stop0, stop1, stop2) = (block_stop(0), block_stop(1), block_stop(2));
    let deltas = [
        json_delta(1, ""),
        json_delta(1, r#"{"location":"#),
        json_delta(1, r#" "San Francisco, CA"}"#),
        json_delta(2, r#"{"timezone": "America/Los_Angeles"}"#),
    ];
    let end = message_delta("tool_use", r#"{"output_tokens":89}"#);
    sse(&[
        START,
        ("content_block_start", &text_start),
        PING,
        ("content_block_delta", &okay),
        ("content_block_stop", &stop0),
        ("content_block_start", &weather),
        ("content_block_delta", &deltas[0]),
        ("content_block_delta", &deltas[1]),
        ("content_block_delta", &deltas[2]),
        ("content_block_stop", &stop1),
        ("content_block_start", &time),
        ("content_block_delta", &deltas[3]),
        ("content_block_stop", &stop2),
        ("message_delta", &end),
        STOP,
    ])
}

fn expected_parallel() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("msg_1".into()),
        ChatEvent::Text("Okay, let me check.".into()),
        tool_start(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        tool_delta(0, r#"{"location":"#),
        tool_delta(0, r#" "San Francisco, CA"}"#),
        ChatEvent::ToolCallEnd(0),
        tool_start(1, "toolu_01FLBHxLoBgGr5i9o6BJhxfe", "get_time"),
        tool_delta(1, r#"{"timezone": "America/Los_Angeles"}"#),
        ChatEvent::ToolCallEnd(1),
        usage(25, 89, 100, 7),
        done("tool_use"),
    ]
}

#[test]
fn parallel_tool_calls_stream_in_fragments() {
    let body = parallel_calls();
    assert_decodes(driver(), body.as_bytes(), &expected_parallel());
    assert_any_split(driver, body.as_bytes(), &expected_parallel());
    let calls = tool_calls(&expected_parallel());
    let whole = |id: &str, name: &str, arguments: &str| ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    };
    assert_eq!(
        calls,
        [
            whole(
                "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "get_weather",
                r#"{"location": "San Francisco, CA"}"#
            ),
            whole(
                "toolu_01FLBHxLoBgGr5i9o6BJhxfe",
                "get_time",
                r#"{"timezone": "America/Los_Angeles"}"#
            ),
        ]
    );
    let last = ChatEvent::Done(Done::new(StopReason::ToolUse, "tool_use"));
    assert_eq!(expected_parallel().last(), Some(&last));
}

#[test]
fn a_reply_of_only_a_tool_call_is_not_empty() {
    let start = block_start(0, WEATHER);
    let args = json_delta(0, r#"{"location":"Paris"}"#);
    let end = message_delta("tool_use", r#"{"output_tokens":30}"#);
    let body = sse(&[
        START,
        ("content_block_start", &start),
        ("content_block_delta", &args),
        // No content_block_stop: message_stop still ends the call.
        ("message_delta", &end),
        STOP,
    ]);
    let expected = [
        ChatEvent::Started("msg_1".into()),
        tool_start(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        tool_delta(0, r#"{"location":"Paris"}"#),
        usage(25, 30, 100, 7),
        ChatEvent::ToolCallEnd(0),
        done("tool_use"),
    ];
    assert_decodes(driver(), body.as_bytes(), &expected);
}

#[test]
fn a_whole_input_in_the_block_start_is_one_delta() {
    let start = block_start(
        0,
        r#"{"type":"tool_use","id":"call_function_1","name":"get_weather","input":{"location":"Paris"}}"#,
    );
    let stop0 = block_stop(0);
    let end = message_delta("tool_use", r#"{"output_tokens":30}"#);
    let body = sse(&[
        START,
        ("content_block_start", &start),
        ("content_block_stop", &stop0),
        ("message_delta", &end),
        STOP,
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events[2], tool_delta(0, r#"{"location":"Paris"}"#));
    assert_eq!(events[3], ChatEvent::ToolCallEnd(0));
}

#[test]
fn thinking_signatures_and_redacted_thinking_round_trip() {
    let think_start = block_start(0, r#"{"type":"thinking","thinking":""}"#);
    let think = r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I need the weather tool."}}"#;
    let signature = r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#;
    let redacted = block_start(
        1,
        r#"{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}"#,
    );
    let tool = block_start(2, WEATHER);
    let args = json_delta(2, r#"{"location": "Paris"}"#);
    let (stop0, stop1, stop2) = (block_stop(0), block_stop(1), block_stop(2));
    let end = message_delta("tool_use", r#"{"output_tokens":120}"#);
    let body = sse(&[
        START,
        ("content_block_start", &think_start),
        ("content_block_delta", think),
        ("content_block_delta", signature),
        ("content_block_stop", &stop0),
        ("content_block_start", &redacted),
        ("content_block_stop", &stop1),
        ("content_block_start", &tool),
        ("content_block_delta", &args),
        ("content_block_stop", &stop2),
        ("message_delta", &end),
        STOP,
    ]);
    let expected = [
        ChatEvent::Started("msg_1".into()),
        ChatEvent::Reasoning("I need the weather tool.".into()),
        ChatEvent::ReasoningSignature(
            "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into(),
        ),
        ChatEvent::RedactedReasoning(
            "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into(),
        ),
        tool_start(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        tool_delta(0, r#"{"location": "Paris"}"#),
        ChatEvent::ToolCallEnd(0),
        usage(25, 120, 100, 7),
        done("tool_use"),
    ];
    assert_decodes(driver(), body.as_bytes(), &expected);

    // A signature in the block's start goes out when the block stops.
    let start = block_start(
        0,
        r#"{"type":"thinking","thinking":"Hmm.","signature":"sig-1"}"#,
    );
    let body = sse(&[
        START,
        ("content_block_start", &start),
        ("content_block_stop", &stop0),
        ("content_block_delta", &text("Hi")),
        DELTA,
        STOP,
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events[1..3],
        [
            ChatEvent::Reasoning("Hmm.".into()),
            ChatEvent::ReasoningSignature("sig-1".into())
        ]
    );
}

#[test]
fn every_stop_reason_is_normalized() {
    let cases = [
        ("end_turn", StopReason::EndTurn),
        ("max_tokens", StopReason::MaxTokens),
        ("stop_sequence", StopReason::StopSequence),
        ("tool_use", StopReason::ToolUse),
        ("refusal", StopReason::Refusal),
        ("pause_turn", StopReason::EndTurn),
        ("model_context_window_exceeded", StopReason::MaxTokens),
        ("something_new", StopReason::Other),
    ];
    for (raw, reason) in cases {
        let end = message_delta(raw, r#"{"output_tokens":5}"#);
        let hi = text("Hi");
        let body = sse(&[
            START,
            ("content_block_delta", &hi),
            STOP_BLOCK,
            ("message_delta", &end),
            STOP,
        ]);
        let (events, error) = run(&[body.as_bytes()]);
        assert!(error.is_none(), "{raw}: {error:?}");
        assert_eq!(
            events.last(),
            Some(&ChatEvent::Done(Done::new(reason, raw)))
        );
    }
    // A refusal may come without any text: still a reply, not an empty one.
    let end = message_delta("refusal", r#"{"output_tokens":0}"#);
    let body = sse(&[START, ("message_delta", &end), STOP]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events.last(), Some(&done("refusal")));
}

#[test]
fn usage_in_message_delta_may_carry_every_count() {
    let end = message_delta(
        "end_turn",
        r#"{"input_tokens":2095,"cache_creation_input_tokens":2048,"cache_read_input_tokens":1800,"output_tokens":503}"#,
    );
    let hi = text("Hi");
    let body = sse(&[
        START,
        ("content_block_delta", &hi),
        ("message_delta", &end),
        STOP,
    ]);
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(events[2], usage(2095, 503, 1800, 2048));
}

#[test]
fn a_stream_cut_during_a_tool_call_is_a_network_error() {
    let start = block_start(0, WEATHER);
    let args = json_delta(0, r#"{"loc"#);
    let body = sse(&[
        START,
        ("content_block_start", &start),
        ("content_block_delta", &args),
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert_eq!(events.len(), 3, "{events:?}");
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::Network);
}

#[test]
fn whole_messages_carry_tool_calls_and_reasoning() {
    let body = br#"{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"Weather needed.","signature":"WaUjzkyp"},{"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"text","text":"I'll check."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}},{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":503}}"#;
    let events = parse_message(body).unwrap();
    let expected = [
        ChatEvent::Started("msg_01Aq9w938a90dw8q".into()),
        ChatEvent::Reasoning("Weather needed.".into()),
        ChatEvent::ReasoningSignature("WaUjzkyp".into()),
        ChatEvent::RedactedReasoning("EmwKAhgB".into()),
        ChatEvent::Text("I'll check.".into()),
        tool_start(0, "toolu_01A09q90qw90lq917835lq9", "get_weather"),
        tool_delta(0, r#"{"location":"San Francisco, CA","unit":"celsius"}"#),
        ChatEvent::ToolCallEnd(0),
        tool_start(1, "toolu_02", "get_time"),
        tool_delta(1, "{}"),
        ChatEvent::ToolCallEnd(1),
        usage(2095, 503, 1024, 0),
        done("tool_use"),
    ];
    assert_eq!(events, expected);

    let only_call = br#"{"id":"m","type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use"}"#;
    assert_eq!(
        parse_message(only_call).unwrap().last(),
        Some(&done("tool_use"))
    );
    let refusal = br#"{"id":"m","type":"message","content":[],"stop_reason":"refusal"}"#;
    assert_eq!(
        parse_message(refusal).unwrap().last(),
        Some(&done("refusal"))
    );
}
