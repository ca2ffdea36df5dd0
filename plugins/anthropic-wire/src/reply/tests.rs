use super::*;
use claw_plugin_sdk::testing::{
    assert_any_split, assert_decodes, assert_nothing_read_after_end, drive, same,
};
use claw_plugin_sdk::upstream::SseDriver;

/// A stream as the upstream sends it, message by message.
pub(super) fn sse(events: &[(&str, &str)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

pub(super) const START: (&str, &str) = (
    "message_start",
    r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":25,"cache_read_input_tokens":100,"cache_creation_input_tokens":7,"output_tokens":1}}}"#,
);
pub(super) const TEXT_START: (&str, &str) = (
    "content_block_start",
    r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
);
pub(super) const THINK_START: (&str, &str) = (
    "content_block_start",
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
);
pub(super) const PING: (&str, &str) = ("ping", r#"{"type": "ping"}"#);
pub(super) const STOP_BLOCK: (&str, &str) = (
    "content_block_stop",
    r#"{"type":"content_block_stop","index":0}"#,
);
pub(super) const DELTA: (&str, &str) = (
    "message_delta",
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
);
pub(super) const STOP: (&str, &str) = ("message_stop", r#"{"type":"message_stop"}"#);

pub(super) fn text(t: &str) -> String {
    format!(
        r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"text_delta","text":{}}}}}"#,
        Value::from(t)
    )
}
pub(super) fn thinking(t: &str) -> String {
    format!(
        r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":{}}}}}"#,
        Value::from(t)
    )
}

fn full_stream() -> String {
    let (hello, world, think) = (text("Hello"), text(", wörld 🌍"), thinking("Let me think."));
    let sig = r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}"#;
    sse(&[
        START,
        THINK_START,
        ("content_block_delta", &think),
        ("content_block_delta", sig),
        STOP_BLOCK,
        TEXT_START,
        PING,
        ("content_block_delta", &hello),
        ("content_block_delta", &world),
        STOP_BLOCK,
        DELTA,
        STOP,
    ])
}

/// A decoder as `chat` drives it.
pub(super) fn driver() -> SseDriver<StreamDecoder> {
    SseDriver::new(API, StreamDecoder::default())
}

/// Drive a decoder like the ChatStream does; collects events until the end or
/// the first error.
pub(super) fn run(chunks: &[&[u8]]) -> (Vec<ChatEvent>, Option<PluginError>) {
    drive(driver(), chunks)
}

pub(super) fn usage(input: u32, output: u32, read: u32, write: u32) -> ChatEvent {
    ChatEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: 0,
    })
}

pub(super) fn done(raw: &str) -> ChatEvent {
    ChatEvent::Done(Done::from_raw(raw))
}

fn expected_full() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("msg_1".into()),
        ChatEvent::Reasoning("Let me think.".into()),
        ChatEvent::ReasoningSignature("abc".into()),
        ChatEvent::Text("Hello".into()),
        ChatEvent::Text(", wörld 🌍".into()),
        usage(25, 15, 100, 7),
        done("end_turn"),
    ]
}

#[test]
fn a_full_stream_maps_to_events() {
    assert_decodes(driver(), full_stream().as_bytes(), &expected_full());
}

#[test]
fn chunking_never_changes_the_events() {
    let body = full_stream().replace('\n', "\r\n");
    assert_any_split(driver, body.as_bytes(), &expected_full());
}

#[test]
fn initial_block_text_counts_and_stop_reason_defaults() {
    let block =
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}"#;
    let body = sse(&[START, ("content_block_start", block), STOP]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    // Usage from message_start is still reported when no message_delta came.
    let expected = [
        ChatEvent::Started("msg_1".into()),
        ChatEvent::Text("Hi".into()),
        usage(25, 1, 100, 7),
        done("end_turn"),
    ];
    assert!(same(&events, &expected), "{events:?}");
}

#[test]
fn message_stop_without_text_is_an_empty_response() {
    let body = sse(&[START, TEXT_START, STOP_BLOCK, DELTA, STOP]);
    let (_, error) = run(&[body.as_bytes()]);
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::EmptyResponse);
    assert!(
        error.message.starts_with("anthropic-messages: "),
        "{}",
        error.message
    );

    let think = thinking("hmm");
    let body = sse(&[
        START,
        THINK_START,
        ("content_block_delta", &think),
        DELTA,
        STOP,
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(
        matches!(events.last(), Some(ChatEvent::Usage(_))),
        "thinking and usage still arrive first: {events:?}"
    );
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::EmptyResponse);
    assert!(
        error.message.contains("only reasoning"),
        "{}",
        error.message
    );
}

#[test]
fn an_error_event_is_classified() {
    let body = sse(&[
        START,
        PING,
        (
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(
        same(&events, &[ChatEvent::Started("msg_1".into())]),
        "{events:?}"
    );
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::Overloaded);
    assert_eq!(
        error.message,
        "anthropic-messages: stream error overloaded_error: Overloaded"
    );
}

#[test]
fn malformed_json_is_a_format_error() {
    let (_, error) = run(&[b"event: message_start\ndata: {\"type\":\n\n"]);
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::Format);
    assert_eq!(
        error.message,
        "anthropic-messages: the upstream sent malformed JSON in the event stream"
    );
}

#[test]
fn a_body_ending_early_is_classified() {
    // Nothing at all, or only the start: empty.
    for body in [String::new(), sse(&[START, PING])] {
        let (_, error) = run(&[body.as_bytes()]);
        assert_eq!(error.unwrap().reason, ErrorReason::EmptyResponse, "{body}");
    }
    // Some text, then the connection closes: cut off.
    let hello = text("Hello");
    let body = sse(&[START, TEXT_START, ("content_block_delta", &hello)]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(same(
        &events,
        &[
            ChatEvent::Started("msg_1".into()),
            ChatEvent::Text("Hello".into())
        ]
    ));
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::Network);
    assert_eq!(
        error.message,
        "anthropic-messages: the stream was cut off before message_stop"
    );
}

#[test]
fn a_read_error_is_prefixed_and_ends_the_stream() {
    let mut decoder = driver();
    let error = decoder
        .step(|| {
            Err(PluginError::new(
                ErrorReason::Network,
                "reading response from x: reset",
            ))
        })
        .unwrap_err();
    assert_eq!(
        error.message,
        "anthropic-messages: reading response from x: reset"
    );
    assert!(
        decoder
            .step(|| panic!("no read after the end"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn nothing_is_read_after_message_stop() {
    let body = full_stream() + &sse(&[("content_block_delta", &text("late"))]);
    assert_nothing_read_after_end(driver(), body.as_bytes(), &expected_full());
}

#[test]
fn a_final_event_without_blank_line_still_counts() {
    let body = full_stream();
    let body = body.trim_end();
    let (events, error) = run(&[body.as_bytes()]);
    assert!(
        error.is_none() && same(&events, &expected_full()),
        "{events:?} {error:?}"
    );
}

#[test]
fn odd_but_valid_json_never_panics() {
    let odd = [
        r#"{"type":"message_start","message":null}"#,
        r#"{"type":"message_start","message":{"usage":{"input_tokens":-1,"output_tokens":1e99}}}"#,
        r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":42}}"#,
        r#"{"type":"message_delta","delta":[],"usage":"many"}"#,
        r#"{"type":"content_block_start","content_block":"text"}"#,
        r#"[1,2,3]"#,
        r#""message_stop""#,
        r#"{"type":"error"}"#,
    ];
    for data in odd {
        let body = format!("data: {data}\n\n");
        let _ = run(&[body.as_bytes()]);
    }
    let body = format!(
        "data: {}\n\n",
        r#"{"type":"message_delta","usage":{"output_tokens":99999999999}}"#
    );
    let (events, _) = run(&[body.as_bytes()]);
    assert!(matches!(events.first(), Some(ChatEvent::Usage(u)) if u.output_tokens == u32::MAX));
}

#[test]
fn whole_messages_parse() {
    let body = br#"{"id":"msg_2","type":"message","role":"assistant","content":[{"type":"thinking","thinking":"Hmm.","signature":"s"},{"type":"text","text":"Bonjour"}],"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":4}}"#;
    let events = parse_message(body).unwrap();
    let expected = [
        ChatEvent::Started("msg_2".into()),
        ChatEvent::Reasoning("Hmm.".into()),
        ChatEvent::ReasoningSignature("s".into()),
        ChatEvent::Text("Bonjour".into()),
        usage(3, 4, 0, 0),
        done("max_tokens"),
    ];
    assert!(same(&events, &expected), "{events:?}");

    let empty = br#"{"id":"m","type":"message","content":[],"stop_reason":"end_turn"}"#;
    assert_eq!(
        parse_message(empty).unwrap_err().reason,
        ErrorReason::EmptyResponse
    );
    assert_eq!(
        parse_message(b"<html>").unwrap_err().reason,
        ErrorReason::Format
    );
    let error = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}"#;
    assert_eq!(
        parse_message(error).unwrap_err().reason,
        ErrorReason::RateLimit
    );
    assert_eq!(
        parse_message(b"null").unwrap_err().reason,
        ErrorReason::EmptyResponse
    );
}
