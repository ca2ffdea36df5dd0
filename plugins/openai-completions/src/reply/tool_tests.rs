//! Tool calls, reasoning, usage and finish reasons, on streams shaped as
//! OpenAI and compatible servers send them.

use super::tests::{USAGE, chunk, content, done, driver, run, sse, usage};
use super::*;
use claw_plugin_sdk::testing::{assert_any_split, assert_decodes, tool_calls};
use claw_plugin_sdk::types::{ToolCall, ToolCallDelta, ToolCallStart};

/// An OpenAI chunk whose delta carries these tool-call fragments.
fn calls(fragments: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or("null".to_string(), |f| format!("\"{f}\""));
    format!(
        r#"{{"id":"chatcmpl-9xQ","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{{"index":0,"delta":{{"tool_calls":{fragments}}},"logprobs":null,"finish_reason":{finish}}}]}}"#
    )
}
fn first(index: u32, id: &str, name: &str) -> String {
    format!(
        r#"[{{"index":{index},"id":"{id}","type":"function","function":{{"name":"{name}","arguments":""}}}}]"#
    )
}
fn args(index: u32, piece: &str) -> String {
    format!(
        r#"[{{"index":{index},"function":{{"arguments":{}}}}}]"#,
        Value::from(piece)
    )
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
fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

const OPENAI_USAGE: &str = r#"{"id":"chatcmpl-9xQ","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#;

/// Two parallel calls, as OpenAI streams them: id and name first, then the
/// arguments in small pieces, then a chunk with only the finish reason.
fn parallel() -> String {
    let role = chunk(
        r#"{"role":"assistant","content":null,"refusal":null}"#,
        None,
    );
    sse(&[
        &role,
        &calls(
            &first(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"),
            None,
        ),
        &calls(&args(0, r#"{"lo"#), None),
        &calls(&args(0, r#"cation": "Paris"}"#), None),
        &calls(
            &first(1, "call_ABGKyzCSjDdGvtg4eL2Qr29f", "get_weather"),
            None,
        ),
        &calls(&args(1, r#"{"location": "#), None),
        &calls(&args(1, r#""Boston"}"#), None),
        &chunk("{}", Some("tool_calls")),
        OPENAI_USAGE,
        "[DONE]",
    ])
}

fn expected_parallel() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("gen-1".into()),
        start(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"),
        delta(0, r#"{"lo"#),
        delta(0, r#"cation": "Paris"}"#),
        start(1, "call_ABGKyzCSjDdGvtg4eL2Qr29f", "get_weather"),
        delta(1, r#"{"location": "#),
        delta(1, r#""Boston"}"#),
        ChatEvent::ToolCallEnd(0),
        ChatEvent::ToolCallEnd(1),
        usage(93, 46, 1024),
        done("tool_calls"),
    ]
}

#[test]
fn parallel_calls_stream_in_pieces() {
    let body = parallel();
    assert_decodes(driver(), body.as_bytes(), &expected_parallel());
    assert_any_split(driver, body.as_bytes(), &expected_parallel());
    assert_eq!(
        tool_calls(&expected_parallel()),
        [
            call(
                "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                "get_weather",
                r#"{"location": "Paris"}"#
            ),
            call(
                "call_ABGKyzCSjDdGvtg4eL2Qr29f",
                "get_weather",
                r#"{"location": "Boston"}"#
            ),
        ]
    );
    let last = ChatEvent::Done(Done::new(StopReason::ToolUse, "tool_calls"));
    assert_eq!(expected_parallel().last(), Some(&last));
}

#[test]
fn a_whole_call_in_one_chunk_with_its_finish() {
    let whole = r#"[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]"#;
    let body = sse(&[&calls(whole, Some("tool_calls")), "[DONE]"]);
    let expected = [
        ChatEvent::Started("chatcmpl-9xQ".into()),
        start(0, "call_1", "get_weather"),
        delta(0, r#"{"location":"Paris"}"#),
        ChatEvent::ToolCallEnd(0),
        done("tool_calls"),
    ];
    assert_decodes(driver(), body.as_bytes(), &expected);
}

#[test]
fn calls_without_an_index_follow_their_ids() {
    // Ollama: each call whole, no index, finish "stop" (still a tool use).
    let a = r#"[{"id":"call_a1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]"#;
    let b =
        r#"[{"id":"call_b2","type":"function","function":{"name":"get_time","arguments":"{}"}}]"#;
    let more = r#"[{"function":{"arguments":""}}]"#;
    let body = sse(&[
        &calls(a, None),
        &calls(b, None),
        &calls(more, None),
        &calls("[]", Some("stop")),
        "[DONE]",
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        tool_calls(&events),
        [
            call("call_a1", "get_weather", r#"{"location":"Paris"}"#),
            call("call_b2", "get_time", "{}")
        ]
    );
    let last = ChatEvent::Done(Done::new(StopReason::ToolUse, "stop"));
    assert_eq!(events.last(), Some(&last));

    // Pieces without index or id continue the last call.
    let first =
        r#"[{"id":"call_x","type":"function","function":{"name":"f","arguments":"{\"a\""}}]"#;
    let rest = r#"[{"function":{"arguments":":1}"}}]"#;
    let body = sse(&[
        &calls(first, None),
        &calls(rest, Some("tool_calls")),
        "[DONE]",
    ]);
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(tool_calls(&events), [call("call_x", "f", r#"{"a":1}"#)]);
}

#[test]
fn every_call_at_index_zero_is_told_apart_by_its_id() {
    let a =
        r#"[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]"#;
    let b = r#"[{"index":0,"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"x\":"}}]"#;
    let b_rest = r#"[{"index":0,"id":"call_b","function":{"arguments":"2}"}}]"#;
    let body = sse(&[
        &calls(a, None),
        &calls(b, None),
        &calls(b_rest, Some("tool_calls")),
        "[DONE]",
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events[1..6],
        [
            start(0, "call_a", "f"),
            delta(0, "{}"),
            ChatEvent::ToolCallEnd(0),
            start(1, "call_b", "g"),
            delta(1, r#"{"x":"#),
        ]
    );
    assert_eq!(tool_calls(&events)[1], call("call_b", "g", r#"{"x":2}"#));
}

#[test]
fn a_call_starts_once_its_name_comes() {
    let id_only =
        r#"[{"index":0,"id":"call_late","type":"function","function":{"arguments":"{\"q\":"}}]"#;
    let named = r#"[{"index":0,"function":{"name":"search","arguments":"\"rust\"}"}}]"#;
    let body = sse(&[
        &calls(id_only, None),
        &calls(named, Some("tool_calls")),
        "[DONE]",
    ]);
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(
        events[1..4],
        [
            start(0, "call_late", "search"),
            delta(0, r#"{"q":"rust"}"#),
            ChatEvent::ToolCallEnd(0)
        ]
    );
    // A name that never comes: the call still starts and ends, without one.
    let body = sse(&[
        &calls(r#"[{"index":0,"function":{"arguments":"{}"}}]"#, None),
        "[DONE]",
    ]);
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(
        events[1..4],
        [
            start(0, "call_0", ""),
            delta(0, "{}"),
            ChatEvent::ToolCallEnd(0)
        ]
    );
}

#[test]
fn deepseek_reasons_then_calls_and_counts_cache_and_reasoning() {
    let think = chunk(
        r#"{"role":"assistant","content":null,"reasoning_content":"Need the weather."}"#,
        None,
    );
    let tool = calls(&first(0, "call_00_QE2hR6", "get_weather"), None);
    let piece = calls(&args(0, r#"{"location":"Hangzhou"}"#), None);
    let usage_chunk = r#"{"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":410,"completion_tokens":160,"total_tokens":570,"prompt_tokens_details":{"cached_tokens":384},"completion_tokens_details":{"reasoning_tokens":120},"prompt_cache_hit_tokens":384,"prompt_cache_miss_tokens":26}}"#;
    let body = sse(&[&think, &tool, &piece, usage_chunk, "[DONE]"]);
    let expected = [
        ChatEvent::Started("gen-1".into()),
        ChatEvent::Reasoning("Need the weather.".into()),
        start(0, "call_00_QE2hR6", "get_weather"),
        delta(0, r#"{"location":"Hangzhou"}"#),
        ChatEvent::ToolCallEnd(0),
        ChatEvent::Usage(Usage {
            input_tokens: 26,
            output_tokens: 160,
            cache_read_tokens: 384,
            cache_write_tokens: 0,
            reasoning_tokens: 120,
        }),
        done("tool_calls"),
    ];
    assert_decodes(driver(), body.as_bytes(), &expected);

    // DeepSeek's own cache fields alone, and reasoning tokens never above the output.
    let json = serde_json::json!({"prompt_tokens": 100, "completion_tokens": 5,
        "prompt_cache_hit_tokens": 60, "completion_tokens_details": {"reasoning_tokens": 9}});
    let counted = super::usage(&json).unwrap();
    assert_eq!(
        (
            counted.input_tokens,
            counted.cache_read_tokens,
            counted.reasoning_tokens
        ),
        (40, 60, 5)
    );
}

#[test]
fn every_finish_reason_is_normalized() {
    let cases = [
        ("stop", StopReason::EndTurn),
        ("length", StopReason::MaxTokens),
        ("tool_calls", StopReason::ToolUse),
        ("function_call", StopReason::ToolUse),
        ("content_filter", StopReason::Refusal),
        ("eos", StopReason::EndTurn),
        ("error", StopReason::Other),
    ];
    for (raw, reason) in cases {
        let body = sse(&[&content("Hi"), &chunk("{}", Some(raw)), USAGE, "[DONE]"]);
        let (events, error) = run(&[body.as_bytes()]);
        assert!(error.is_none(), "{raw}: {error:?}");
        assert_eq!(
            events.last(),
            Some(&ChatEvent::Done(Done::new(reason, raw)))
        );
    }
    // A filtered reply may have no text: it declined, it is not empty.
    let body = sse(&[
        &chunk(
            r#"{"role":"assistant","content":""}"#,
            Some("content_filter"),
        ),
        "[DONE]",
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events.last(), Some(&done("content_filter")));
}

#[test]
fn a_refusal_is_text() {
    let refusal = chunk(
        r#"{"role":"assistant","content":null,"refusal":"I can't help with that."}"#,
        None,
    );
    let body = sse(&[&refusal, &chunk("{}", Some("stop")), "[DONE]"]);
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(events[1], ChatEvent::Text("I can't help with that.".into()));
}

#[test]
fn whole_completions_carry_tool_calls() {
    let body = br#"{"id":"chatcmpl-abc123","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"Two lookups.","tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}},{"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"completion_tokens_details":{"reasoning_tokens":4}}}"#;
    let events = parse_completion(body).unwrap();
    let expected = [
        ChatEvent::Started("chatcmpl-abc123".into()),
        ChatEvent::Reasoning("Two lookups.".into()),
        start(0, "call_abc123", "get_current_weather"),
        delta(0, "{\n\"location\": \"Boston, MA\"\n}"),
        start(1, "call_def", "get_time"),
        delta(1, "{}"),
        ChatEvent::ToolCallEnd(0),
        ChatEvent::ToolCallEnd(1),
        ChatEvent::Usage(Usage {
            input_tokens: 82,
            output_tokens: 17,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 4,
        }),
        done("tool_calls"),
    ];
    assert_eq!(events, expected);
}

#[test]
fn odd_tool_call_fragments_never_panic() {
    let odd = [
        r#"[null, 7, "x", {"index": -1}, {"index": 1e30, "function": null}]"#,
        r#"[{"index":0,"id":5,"function":{"name":[],"arguments":{"a":1}}}]"#,
        r#"{"not":"a list"}"#,
    ];
    for fragments in odd {
        let body = sse(&[&calls(fragments, Some("tool_calls")), "[DONE]"]);
        let _ = run(&[body.as_bytes()]);
    }
    // Arguments sent as an object (not a string) still arrive as JSON text.
    let object = r#"[{"index":0,"id":"c","function":{"name":"f","arguments":{"a":1}}}]"#;
    let body = sse(&[&calls(object, Some("tool_calls")), "[DONE]"]);
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(tool_calls(&events), [call("c", "f", r#"{"a":1}"#)]);
}
