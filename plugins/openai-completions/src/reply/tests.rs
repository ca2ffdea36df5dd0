use super::*;
use claw_plugin_sdk::testing::{
    assert_any_split, assert_decodes, assert_nothing_read_after_end, drive, same,
};
use claw_plugin_sdk::upstream::SseDriver;

pub(super) fn chunk(delta: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or("null".to_string(), |f| format!("\"{f}\""));
    format!(
        r#"{{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
    )
}
pub(super) fn content(t: &str) -> String {
    chunk(
        &format!(r#"{{"role":"assistant","content":{}}}"#, Value::from(t)),
        None,
    )
}
fn reasoning_chunk(t: &str) -> String {
    chunk(
        &format!(r#"{{"content":"","reasoning":{}}}"#, Value::from(t)),
        None,
    )
}
pub(super) const USAGE: &str = r#"{"id":"gen-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":9,"total_tokens":129,"prompt_tokens_details":{"cached_tokens":100}}}"#;

pub(super) fn sse(datas: &[&str]) -> String {
    datas.iter().map(|d| format!("data: {d}\n\n")).collect()
}

fn full_stream() -> String {
    let (think, hi, world, stop) = (
        reasoning_chunk("Thinking…"),
        content("Hi"),
        content(", wörld 🌍"),
        chunk("{}", Some("stop")),
    );
    // OpenRouter sends comments while it waits for the model.
    ": OPENROUTER PROCESSING\n\n".to_string() + &sse(&[&think, &hi, &world, &stop, USAGE, "[DONE]"])
}

pub(super) fn usage(input: u32, output: u32, read: u32) -> ChatEvent {
    ChatEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
    })
}

pub(super) fn done(raw: &str) -> ChatEvent {
    ChatEvent::Done(Done::from_raw(raw))
}

fn expected_full() -> Vec<ChatEvent> {
    vec![
        ChatEvent::Started("gen-1".into()),
        ChatEvent::Reasoning("Thinking…".into()),
        ChatEvent::Text("Hi".into()),
        ChatEvent::Text(", wörld 🌍".into()),
        usage(20, 9, 100),
        done("stop"),
    ]
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
fn reasoning_content_is_preferred_over_reasoning() {
    let both = chunk(r#"{"reasoning_content":"a","reasoning":"a"}"#, None);
    let body = sse(&[&both, &content("b"), "[DONE]"]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none());
    let expected = [
        ChatEvent::Started("gen-1".into()),
        ChatEvent::Reasoning("a".into()),
        ChatEvent::Text("b".into()),
        done("stop"),
    ];
    assert!(same(&events, &expected), "{events:?}");
}

#[test]
fn moonshot_usage_inside_the_choice_counts() {
    let last = r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"length","usage":{"prompt_tokens":19,"completion_tokens":13,"cached_tokens":4}}]}"#;
    let body = sse(&[&content("x"), last, "[DONE]"]);
    let (events, _) = run(&[body.as_bytes()]);
    assert!(
        same(&events[2..], &[usage(15, 13, 4), done("length")]),
        "{events:?}"
    );
}

#[test]
fn done_without_text_is_an_empty_response() {
    let body = sse(&[
        &chunk(r#"{"role":"assistant","content":""}"#, Some("stop")),
        USAGE,
        "[DONE]",
    ]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(
        matches!(events.last(), Some(ChatEvent::Usage(_))),
        "{events:?}"
    );
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::EmptyResponse);
    assert!(
        error.message.starts_with("openai-completions: "),
        "{}",
        error.message
    );

    let body = sse(&[&reasoning_chunk("hmm"), "[DONE]"]);
    let error = run(&[body.as_bytes()]).1.unwrap();
    assert_eq!(error.reason, ErrorReason::EmptyResponse);
    assert!(
        error.message.contains("only reasoning"),
        "{}",
        error.message
    );
}

#[test]
fn an_error_chunk_is_classified() {
    let error_chunk = r#"{"id":"gen-1","error":{"code":502,"message":"Provider returned error"},"choices":[{"delta":{"content":""},"finish_reason":"error"}]}"#;
    let body = sse(&[&content("Hi"), error_chunk]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(
        same(
            &events,
            &[
                ChatEvent::Started("gen-1".into()),
                ChatEvent::Text("Hi".into())
            ]
        ),
        "{events:?}"
    );
    let error = error.unwrap();
    assert_eq!(error.status, Some(502));
    assert_eq!(
        error.message,
        "openai-completions: HTTP 502 Provider returned error"
    );

    let body = sse(&[r#"{"error":{"message":"quota","code":"insufficient_quota"}}"#]);
    let error = run(&[body.as_bytes()]).1.unwrap();
    assert_eq!(error.reason, ErrorReason::Billing);
}

#[test]
fn malformed_json_is_a_format_error() {
    let error = run(&[b"data: {\"id\":\n\n"]).1.unwrap();
    assert_eq!(error.reason, ErrorReason::Format);
    assert_eq!(
        error.message,
        "openai-completions: the upstream sent malformed JSON in the event stream"
    );
}

#[test]
fn a_body_ending_early_is_classified() {
    for body in [
        String::new(),
        sse(&[&chunk(r#"{"role":"assistant"}"#, None)]),
    ] {
        let error = run(&[body.as_bytes()]).1.unwrap();
        assert_eq!(error.reason, ErrorReason::EmptyResponse, "{body}");
    }
    let body = sse(&[&content("Hel")]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(same(
        &events,
        &[
            ChatEvent::Started("gen-1".into()),
            ChatEvent::Text("Hel".into())
        ]
    ));
    let error = error.unwrap();
    assert_eq!(error.reason, ErrorReason::Network);
    assert_eq!(
        error.message,
        "openai-completions: the stream was cut off before [DONE]"
    );
    // A finish_reason was the last choice: only [DONE] is missing, the reply is whole.
    let body = sse(&[&content("Hi"), &chunk("{}", Some("stop"))]);
    let (events, error) = run(&[body.as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events.last(), Some(&done("stop")));
}

#[test]
fn nothing_is_read_after_done() {
    let body = full_stream() + &sse(&[&content("late")]);
    assert_nothing_read_after_end(driver(), body.as_bytes(), &expected_full());
}

#[test]
fn odd_but_valid_json_never_panics() {
    let odd = [
        r#"{"choices":null}"#,
        r#"{"choices":[{"delta":null,"finish_reason":7}]}"#,
        r#"{"id":5,"choices":[{"delta":{"content":["a"]}}]}"#,
        r#"{"usage":{"prompt_tokens":-3,"completion_tokens":1e40,"prompt_tokens_details":{"cached_tokens":"9"}}}"#,
        r#"{"usage":{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":50}}}"#,
        r#"[]"#,
        r#"null"#,
        r#"{"error":null}"#,
        r#"{"error":[]}"#,
    ];
    for data in odd {
        let _ = run(&[format!("data: {data}\n\n").as_bytes()]);
    }
    // More cached than prompt tokens: clamped, never underflows.
    let (events, _) = run(&[format!("data: {}\n\n", odd[4]).as_bytes()]);
    assert!(same(&events[1..], &[usage(0, 0, 5)]), "{events:?}");
}

#[test]
fn whole_completions_parse() {
    let body = br#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello","reasoning_content":"Hmm."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#;
    let events = parse_completion(body).unwrap();
    let expected = [
        ChatEvent::Started("chatcmpl-1".into()),
        ChatEvent::Reasoning("Hmm.".into()),
        ChatEvent::Text("Hello".into()),
        usage(5, 2, 0),
        done("stop"),
    ];
    assert!(same(&events, &expected), "{events:?}");

    let empty = br#"{"id":"c","choices":[{"message":{"role":"assistant","content":null},"finish_reason":"length"}]}"#;
    let error = parse_completion(empty).unwrap_err();
    assert_eq!(error.reason, ErrorReason::EmptyResponse);
    assert!(error.message.contains("length"), "{}", error.message);
    assert_eq!(
        parse_completion(b"<html>").unwrap_err().reason,
        ErrorReason::Format
    );
    let error = br#"{"error":{"message":"no such model","code":"model_not_found"}}"#;
    assert_eq!(
        parse_completion(error).unwrap_err().reason,
        ErrorReason::ModelNotFound
    );
}
