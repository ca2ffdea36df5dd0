use super::*;
use claw_plugin_sdk::testing::{
    assert_any_split, assert_decodes, assert_nothing_read_after_end, drive,
};
use claw_plugin_sdk::upstream::SseDriver;
use serde_json::json;

pub(super) const RESP: &str = "resp_68af1c2e4b8c8190a2d5e0f2c9f6a1b30c1d2e3f4a5b6c7d";
pub(super) const MSG: &str = "msg_68af1c2f9e2481909bb2c3a8d1e0f4a70c1d2e3f4a5b6c7d";
pub(super) const RS: &str = "rs_68af1c2f1a6c8190b5e3d7c2a9f0e1b20c1d2e3f4a5b6c7d";

/// The `response` object as events carry it, with `status`, `output` and
/// `usage` (and other fields) from `fields`.
pub(super) fn response(fields: Value) -> Value {
    let mut r = json!({
        "id": RESP, "object": "response", "created_at": 1756306478, "status": "in_progress",
        "background": false, "error": null, "incomplete_details": null, "instructions": null,
        "max_output_tokens": null, "model": "gpt-5-2025-08-07", "output": [],
        "parallel_tool_calls": true, "previous_response_id": null,
        "reasoning": {"effort": "medium", "summary": "auto"}, "store": false, "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto",
        "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": null, "user": null, "metadata": {}
    });
    for (key, value) in fields.as_object().unwrap() {
        r[key] = value.clone();
    }
    r
}

/// Events as OpenAI sends them: `event: <type>` and the data, numbered.
pub(super) fn sse(events: &[Value]) -> String {
    events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let mut e = e.clone();
            e["sequence_number"] = n.into();
            format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())
        })
        .collect()
}

pub(super) fn created() -> Vec<Value> {
    vec![
        json!({"type": "response.created", "response": response(json!({}))}),
        json!({"type": "response.in_progress", "response": response(json!({}))}),
    ]
}

/// A message item at `index` whose text streams in `pieces`.
pub(super) fn message(index: u64, pieces: &[&str]) -> Vec<Value> {
    let whole: String = pieces.concat();
    let mut events = vec![
        json!({"type": "response.output_item.added", "output_index": index,
               "item": {"id": MSG, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}}),
        json!({"type": "response.content_part.added", "item_id": MSG, "output_index": index, "content_index": 0,
               "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
    ];
    for piece in pieces {
        events.push(
            json!({"type": "response.output_text.delta", "item_id": MSG, "output_index": index,
            "content_index": 0, "delta": piece, "logprobs": [], "obfuscation": "k3Jd9"}),
        );
    }
    events.extend([
        json!({"type": "response.output_text.done", "item_id": MSG, "output_index": index, "content_index": 0,
               "text": whole, "logprobs": []}),
        json!({"type": "response.content_part.done", "item_id": MSG, "output_index": index, "content_index": 0,
               "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": whole}}),
        json!({"type": "response.output_item.done", "output_index": index, "item": message_item(&whole)}),
    ]);
    events
}

pub(super) fn message_item(text: &str) -> Value {
    json!({"id": MSG, "type": "message", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]})
}

/// A reasoning item at `index` with these summary parts and encrypted content.
pub(super) fn reasoning(index: u64, parts: &[&[&str]], encrypted: &str) -> Vec<Value> {
    let mut events = vec![
        json!({"type": "response.output_item.added", "output_index": index,
        "item": {"id": RS, "type": "reasoning", "summary": []}}),
    ];
    let mut summary = Vec::new();
    for (n, pieces) in parts.iter().enumerate() {
        let text: String = pieces.concat();
        events.push(json!({"type": "response.reasoning_summary_part.added", "item_id": RS, "output_index": index,
            "summary_index": n, "part": {"type": "summary_text", "text": ""}}));
        for piece in *pieces {
            events.push(
                json!({"type": "response.reasoning_summary_text.delta", "item_id": RS,
                "output_index": index, "summary_index": n, "delta": piece, "obfuscation": "Qm2x"}),
            );
        }
        events.push(json!({"type": "response.reasoning_summary_text.done", "item_id": RS, "output_index": index,
            "summary_index": n, "text": text}));
        events.push(json!({"type": "response.reasoning_summary_part.done", "item_id": RS, "output_index": index,
            "summary_index": n, "part": {"type": "summary_text", "text": text}}));
        summary.push(json!({"type": "summary_text", "text": text}));
    }
    events.push(json!({"type": "response.output_item.done", "output_index": index,
        "item": {"id": RS, "type": "reasoning", "encrypted_content": encrypted, "summary": summary}}));
    events
}

pub(super) fn usage_json(input: u64, cached: u64, output: u64, reasoning: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
           "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
           "total_tokens": input + output})
}

pub(super) fn completed(usage: Value) -> Value {
    json!({"type": "response.completed",
           "response": response(json!({"status": "completed", "usage": usage}))})
}

pub(super) fn used(input: u32, output: u32, read: u32, reasoning: u32) -> ChatEvent {
    ChatEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: 0,
        reasoning_tokens: reasoning,
    })
}

pub(super) fn done(reason: StopReason, raw: &str) -> ChatEvent {
    ChatEvent::Done(Done::new(reason, raw))
}

pub(super) fn started() -> ChatEvent {
    ChatEvent::Started(RESP.into())
}

pub(super) fn driver() -> SseDriver<StreamDecoder> {
    SseDriver::new(API, StreamDecoder::default())
}

pub(super) fn run(body: &str) -> (Vec<ChatEvent>, Option<PluginError>) {
    drive(driver(), &[body.as_bytes()])
}

fn text_stream() -> String {
    let mut events = created();
    events.extend(message(0, &["Hi", ", wörld 🌍"]));
    events.push(completed(usage_json(1200, 1024, 9, 0)));
    sse(&events)
}

fn text_expected() -> Vec<ChatEvent> {
    vec![
        started(),
        ChatEvent::Text("Hi".into()),
        ChatEvent::Text(", wörld 🌍".into()),
        used(176, 9, 1024, 0),
        done(StopReason::EndTurn, "completed"),
    ]
}

#[test]
fn a_text_stream_maps_to_events() {
    assert_decodes(driver(), text_stream().as_bytes(), &text_expected());
}

#[test]
fn chunking_never_changes_the_events() {
    let body = text_stream().replace('\n', "\r\n");
    assert_any_split(driver, body.as_bytes(), &text_expected());
}

#[test]
fn nothing_is_read_after_the_response_completes() {
    let body =
        text_stream() + &sse(&[json!({"type": "response.output_text.delta", "delta": "late"})]);
    assert_nothing_read_after_end(driver(), body.as_bytes(), &text_expected());
}

#[test]
fn reasoning_summaries_stream_and_close_with_their_encrypted_content() {
    let mut events = created();
    events.extend(reasoning(
        0,
        &[
            &["**Greeting the user**", "\n\nThe user said hi."],
            &["I'll answer briefly."],
        ],
        "gAAAAABor1c3-encrypted",
    ));
    events.extend(message(1, &["Hello!"]));
    events.push(completed(usage_json(40, 0, 90, 64)));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        [
            started(),
            ChatEvent::Reasoning("**Greeting the user**".into()),
            ChatEvent::Reasoning("\n\nThe user said hi.".into()),
            ChatEvent::Reasoning("\n\n".into()),
            ChatEvent::Reasoning("I'll answer briefly.".into()),
            ChatEvent::ReasoningSignature("gAAAAABor1c3-encrypted".into()),
            ChatEvent::Text("Hello!".into()),
            used(40, 90, 0, 64),
            done(StopReason::EndTurn, "completed"),
        ]
    );
}

#[test]
fn hidden_reasoning_is_a_bare_signature_and_raw_reasoning_text_counts() {
    // No summary asked for: the item has only its encrypted content.
    let mut events = created();
    events.extend(reasoning(0, &[], "gAAAAABo-hidden"));
    // Open models (gpt-oss on vLLM) stream their reasoning text itself.
    events.push(
        json!({"type": "response.output_item.added", "output_index": 1,
        "item": {"id": "rs_2", "type": "reasoning", "summary": []}}),
    );
    events.push(
        json!({"type": "response.reasoning_text.delta", "item_id": "rs_2", "output_index": 1,
        "content_index": 0, "delta": "Think."}),
    );
    events.push(
        json!({"type": "response.output_item.done", "output_index": 1,
        "item": {"id": "rs_2", "type": "reasoning", "summary": [],
                 "content": [{"type": "reasoning_text", "text": "Think."}]}}),
    );
    events.extend(message(2, &["Ok."]));
    events.push(completed(usage_json(5, 0, 7, 3)));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events[..4],
        [
            started(),
            ChatEvent::ReasoningSignature("gAAAAABo-hidden".into()),
            ChatEvent::Reasoning("Think.".into()),
            ChatEvent::Text("Ok.".into()),
        ]
    );
}

#[test]
fn usage_leaves_cached_tokens_out_of_input_and_keeps_reasoning_tokens() {
    let json = usage_json(2006, 1920, 300, 256);
    assert_eq!(
        ChatEvent::Usage(usage(&json).unwrap()),
        used(86, 300, 1920, 256)
    );
    // Nonsense counts never underflow or exceed.
    let odd = json!({"input_tokens": 5, "input_tokens_details": {"cached_tokens": 9},
                     "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 7}});
    assert_eq!(ChatEvent::Usage(usage(&odd).unwrap()), used(0, 2, 5, 2));
    assert!(usage(&Value::Null).is_none());
    assert_eq!(usage(&json!({})).unwrap(), Usage::default());
}

/// A stream of `message` with text (or none) that ends as `end` says.
fn ending(text: &[&str], end: Value) -> (Vec<ChatEvent>, Option<PluginError>) {
    let mut events = created();
    if !text.is_empty() {
        events.extend(message(0, text));
    }
    events.push(end);
    run(&sse(&events))
}

fn incomplete(reason: &str) -> Value {
    json!({"type": "response.incomplete", "response": response(json!({
        "status": "incomplete", "incomplete_details": {"reason": reason},
        "usage": usage_json(10, 0, 16, 0)}))})
}

#[test]
fn each_terminal_state_has_its_stop_reason() {
    let (events, error) = ending(&["Once upon"], incomplete("max_output_tokens"));
    assert!(error.is_none());
    assert_eq!(
        events.last(),
        Some(&done(StopReason::MaxTokens, "max_output_tokens"))
    );
    assert_eq!(events[events.len() - 2], used(10, 16, 0, 0));

    let (events, error) = ending(&["I can"], incomplete("content_filter"));
    assert!(error.is_none());
    assert_eq!(
        events.last(),
        Some(&done(StopReason::Refusal, "content_filter"))
    );
    // A filter may stop a reply before any text: still a whole (declined) answer.
    let (events, error) = ending(&[], incomplete("content_filter"));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            started(),
            used(10, 16, 0, 0),
            done(StopReason::Refusal, "content_filter")
        ]
    );

    let (events, _) = ending(&["x"], incomplete("something_new"));
    assert_eq!(
        events.last(),
        Some(&done(StopReason::Other, "something_new"))
    );
}

#[test]
fn a_refusal_is_text_and_ends_as_one() {
    let mut events = created();
    events.push(json!({"type": "response.output_item.added", "output_index": 0,
        "item": {"id": MSG, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}}));
    events.push(
        json!({"type": "response.refusal.delta", "item_id": MSG, "output_index": 0,
        "content_index": 0, "delta": "I'm sorry, I can't help with that."}),
    );
    events.push(
        json!({"type": "response.refusal.done", "item_id": MSG, "output_index": 0,
        "content_index": 0, "refusal": "I'm sorry, I can't help with that."}),
    );
    events.push(
        json!({"type": "response.output_item.done", "output_index": 0, "item": {
        "id": MSG, "type": "message", "status": "completed", "role": "assistant",
        "content": [{"type": "refusal", "refusal": "I'm sorry, I can't help with that."}]}}),
    );
    events.push(completed(usage_json(10, 0, 9, 0)));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none());
    assert_eq!(
        events[1],
        ChatEvent::Text("I'm sorry, I can't help with that.".into())
    );
    assert_eq!(events.last(), Some(&done(StopReason::Refusal, "completed")));
}

#[test]
fn replies_without_an_answer_are_empty_or_cut_off() {
    // Completed with nothing: empty, so the router may try another model.
    let (events, error) = ending(&[], completed(usage_json(10, 0, 0, 0)));
    let e = error.unwrap();
    assert_eq!(e.reason, ErrorReason::EmptyResponse);
    assert_eq!(
        e.message,
        "openai-responses: the reply had no content (status completed)"
    );
    assert_eq!(events, [started()]);

    // Only reasoning before the limit.
    let mut events = created();
    events.extend(reasoning(0, &[&["Hmm."]], "gAAAA"));
    events.push(incomplete("max_output_tokens"));
    let (_, error) = run(&sse(&events));
    let e = error.unwrap();
    assert_eq!(e.reason, ErrorReason::EmptyResponse);
    assert_eq!(
        e.message,
        "openai-responses: the reply had only reasoning, no text (status incomplete, max_output_tokens)"
    );

    // The body ends after some text: cut off.
    let mut events = created();
    events.extend(message(0, &["Half"]).into_iter().take(3));
    let (events, error) = run(&sse(&events));
    assert_eq!(events, [started(), ChatEvent::Text("Half".into())]);
    let e = error.unwrap();
    assert_eq!(e.reason, ErrorReason::Network);
    assert_eq!(
        e.message,
        "openai-responses: the stream was cut off before response.completed"
    );

    // Nothing at all.
    let (events, error) = run("");
    assert!(events.is_empty());
    assert_eq!(error.unwrap().reason, ErrorReason::EmptyResponse);
    let (_, error) = run(&sse(&created()));
    assert_eq!(error.unwrap().reason, ErrorReason::EmptyResponse);
}

#[test]
fn error_events_and_failed_responses_are_classified_errors() {
    // An error first: nothing was accepted, no Started.
    let body = "event: error\ndata: {\"type\":\"error\",\"sequence_number\":0,\"error\":{\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\",\"message\":\"Your input exceeds the context window of this model. Please adjust your input and try again.\",\"param\":\"input\"}}\n\n";
    let (events, error) = run(body);
    assert!(events.is_empty(), "{events:?}");
    let e = error.unwrap();
    assert_eq!(e.reason, ErrorReason::Format);
    assert!(
        e.message
            .starts_with("openai-responses: stream error context_length_exceeded: Your input"),
        "{}",
        e.message
    );

    // The documented shape, mid-stream: the text before it still arrives.
    let mut events = created();
    events.extend(message(0, &["Par"]).into_iter().take(3));
    events.push(json!({"type": "error", "code": "rate_limit_exceeded",
        "message": "Rate limit reached for gpt-5 on tokens per min (TPM).", "param": null}));
    let (events, error) = run(&sse(&events));
    assert_eq!(events, [started(), ChatEvent::Text("Par".into())]);
    assert_eq!(error.unwrap().reason, ErrorReason::RateLimit);

    // response.failed carries the error in the response.
    let mut events = created();
    events.push(json!({"type": "response.failed", "response": response(json!({
        "status": "failed", "error": {"code": "server_error", "message": "The model failed to generate a response."}}))}));
    let (events, error) = run(&sse(&events));
    assert_eq!(events, [started()]);
    let e = error.unwrap();
    assert_eq!((e.reason, e.status), (ErrorReason::Overloaded, None));
    assert_eq!(
        e.message,
        "openai-responses: stream error server_error: The model failed to generate a response."
    );
}

#[test]
fn malformed_json_is_a_format_error() {
    let body = sse(&created())
        + "event: response.output_text.delta\ndata: {\"type\": \"response.output_text.delta\", oops\n\n";
    let (events, error) = run(&body);
    assert_eq!(events, [started()]);
    let e = error.unwrap();
    assert_eq!(e.reason, ErrorReason::Format);
    assert_eq!(
        e.message,
        "openai-responses: the upstream sent malformed JSON in the event stream"
    );
}

#[test]
fn the_event_name_stands_in_for_a_missing_type() {
    let body = "event: response.created\ndata: {\"response\":{\"id\":\"resp_1\"}}\n\n\
                event: response.output_text.delta\ndata: {\"output_index\":0,\"delta\":\"Hi\"}\n\n\
                event: response.completed\ndata: {\"response\":{\"status\":\"completed\"}}\n\n";
    let (events, error) = run(body);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        [
            ChatEvent::Started("resp_1".into()),
            ChatEvent::Text("Hi".into()),
            done(StopReason::EndTurn, "completed")
        ]
    );
}

#[test]
fn items_sent_whole_give_their_content_when_done() {
    // A server that sends no deltas, only done items.
    let mut events = created();
    events.push(
        json!({"type": "response.output_item.done", "output_index": 0,
        "item": {"id": "rs_1", "type": "reasoning", "summary": [
            {"type": "summary_text", "text": "A."}, {"type": "summary_text", "text": "B."}]}}),
    );
    events.push(json!({"type": "response.output_item.done", "output_index": 1, "item": message_item("Whole.")}));
    events.push(completed(usage_json(3, 0, 2, 0)));
    let (events, error) = run(&sse(&events));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        [
            started(),
            ChatEvent::Reasoning("A.\n\nB.".into()),
            ChatEvent::Text("Whole.".into()),
            used(3, 2, 0, 0),
            done(StopReason::EndTurn, "completed"),
        ]
    );
    // Only the final response, with its output.
    let body = sse(&[
        json!({"type": "response.completed", "response": response(json!({
        "status": "completed", "output": [message_item("All at once.")]}))}),
    ]);
    let (events, error) = run(&body);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        [
            started(),
            ChatEvent::Text("All at once.".into()),
            done(StopReason::EndTurn, "completed")
        ]
    );
}

#[test]
fn stop_sequences_end_the_text_and_the_reply() {
    let stops = vec!["\n\n".to_string(), "END".to_string()];
    let driver = || SseDriver::new(API, StreamDecoder::new(&stops));
    let mut events = created();
    events.extend(message(0, &["One, two", ", three E", "ND four", " five"]));
    events.push(completed(usage_json(10, 0, 9, 0)));
    let body = sse(&events);
    let expected = [
        started(),
        ChatEvent::Text("One, two".into()),
        ChatEvent::Text(", three ".into()),
        done(StopReason::StopSequence, "stop_sequence"),
    ];
    assert_decodes(driver(), body.as_bytes(), &expected);
    // Held text that was no stop sequence is shown when its part ends.
    let mut events = created();
    events.extend(message(0, &["Almost E", "N"]));
    events.push(completed(usage_json(10, 0, 2, 0)));
    let (events, error) = drive(driver(), &[sse(&events).as_bytes()]);
    assert!(error.is_none(), "{error:?}");
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Almost EN");
    assert_eq!(events.last(), Some(&done(StopReason::EndTurn, "completed")));
}

#[test]
fn a_whole_response_gives_the_same_events() {
    let body = response(json!({
        "status": "completed",
        "output": [
            {"id": RS, "type": "reasoning", "encrypted_content": "gAAAAB-whole",
             "summary": [{"type": "summary_text", "text": "**Plan**"}]},
            message_item("Hi, wörld 🌍"),
        ],
        "usage": usage_json(1200, 1024, 9, 4),
    }));
    let events = parse_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        events,
        [
            started(),
            ChatEvent::Reasoning("**Plan**".into()),
            ChatEvent::ReasoningSignature("gAAAAB-whole".into()),
            ChatEvent::Text("Hi, wörld 🌍".into()),
            used(176, 9, 1024, 4),
            done(StopReason::EndTurn, "completed"),
        ]
    );
}

#[test]
fn whole_responses_that_failed_or_are_not_responses_are_errors() {
    let failed = response(json!({"status": "failed",
        "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached"}}));
    let e = parse_response(failed.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.reason, ErrorReason::RateLimit);
    let cut = response(
        json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [message_item("Once")]}),
    );
    let events = parse_response(cut.to_string().as_bytes()).unwrap();
    assert_eq!(
        events.last(),
        Some(&done(StopReason::MaxTokens, "max_output_tokens"))
    );
    let empty = response(json!({"status": "completed", "output": []}));
    let e = parse_response(empty.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.reason, ErrorReason::EmptyResponse);
    let e = parse_response(b"<html>502</html>").unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert_eq!(
        e.message,
        "openai-responses: the upstream sent a reply that is not valid JSON"
    );
    let body = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    let e = parse_response(body).unwrap_err();
    assert_eq!(e.reason, ErrorReason::RateLimit);
}
