//! Helpers for a plugin's native unit tests (`cargo test` on the host target):
//! drive an event-stream decoder as the host drives a
//! [`ChatStream`](crate::ChatStream), compare what came out, build requests
//! and messages, and build or read headers.

use crate::ToolCallAccumulator;
use crate::types::{
    ChatEvent, ChatRequest, ContentPart, Endpoint, ImageData, ImagePart, ImageSource, KeyValue,
    Message, PluginError, RequestCredential, Role, ToolCall, ToolOutput, ToolResult,
};
use crate::upstream::{SseDecoder, SseDriver};

/// Drive `driver` over `chunks` as a `ChatStream` would: the events until the
/// end, and the error that ended the stream, if one did. Panics if the stream
/// never ends.
pub fn drive<D: SseDecoder>(
    mut driver: SseDriver<D>,
    chunks: &[&[u8]],
) -> (Vec<ChatEvent>, Option<PluginError>) {
    let mut chunks = chunks.iter().map(|c| c.to_vec());
    let mut events = Vec::new();
    for _ in 0..10_000 {
        match driver.step(|| Ok(chunks.next())) {
            Ok(Some(batch)) => events.extend(batch),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
    panic!("the decoder never ended");
}

/// Whether two event lists are the same (`a == b`; kept from 0.1, when the
/// generated types had no `PartialEq`).
pub fn same(a: &[ChatEvent], b: &[ChatEvent]) -> bool {
    a == b
}

/// The whole tool calls among `events` (see [`ToolCallAccumulator`]).
pub fn tool_calls(events: &[ChatEvent]) -> Vec<ToolCall> {
    ToolCallAccumulator::from_events(events).calls()
}

/// Asserts that `body`, arriving in one chunk, decodes to `expected` without
/// an error.
pub fn assert_decodes<D: SseDecoder>(driver: SseDriver<D>, body: &[u8], expected: &[ChatEvent]) {
    let (events, error) = drive(driver, &[body]);
    assert!(error.is_none(), "{error:?}");
    assert!(same(&events, expected), "{events:?}");
}

/// Asserts that a body whose end marker is followed by more events gives the
/// reply's events (`expected`) in one step, and that nothing is read after.
pub fn assert_nothing_read_after_end<D: SseDecoder>(
    mut driver: SseDriver<D>,
    body: &[u8],
    expected: &[ChatEvent],
) {
    let batch = driver.step(|| Ok(Some(body.to_vec()))).unwrap().unwrap();
    assert!(same(&batch, expected), "{batch:?}");
    let after = driver.step(|| panic!("no read after the end marker"));
    assert!(after.unwrap().is_none());
}

/// Asserts that `body` decodes to `expected`, without an error, however the
/// network cuts it: in two at every byte, and one byte at a time. `driver`
/// makes a fresh driver for each run.
pub fn assert_any_split<D: SseDecoder>(
    driver: impl Fn() -> SseDriver<D>,
    body: &[u8],
    expected: &[ChatEvent],
) {
    for i in 0..=body.len() {
        let (events, error) = drive(driver(), &[&body[..i], &body[i..]]);
        assert!(
            error.is_none() && same(&events, expected),
            "split at {i}: {events:?} {error:?}"
        );
    }
    let singles: Vec<&[u8]> = body.chunks(1).collect();
    let (events, error) = drive(driver(), &singles);
    assert!(
        error.is_none() && same(&events, expected),
        "one byte at a time: {events:?} {error:?}"
    );
}

/// The values of header `name` (any case), in order: empty when absent, two
/// when it was sent twice.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Configured headers (an `Endpoint`'s `headers`) from name/value pairs.
pub fn key_values(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(key, value)| KeyValue {
            key: key.to_string(),
            value: value.to_string(),
        })
        .collect()
}

/// A streamed request with these messages and nothing else set: endpoint
/// `test` (API `test`, base URL `https://upstream.test/v1`), no credential,
/// model `test-model`. Set the fields a test is about.
pub fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        endpoint: Endpoint {
            provider: "test".into(),
            api: "test".into(),
            base_url: "https://upstream.test/v1".into(),
            headers: Vec::new(),
            auth_header: false,
        },
        credential: RequestCredential::None,
        model: "test-model".into(),
        system: Vec::new(),
        messages,
        tools: Vec::new(),
        tool_choice: None,
        parallel_tool_calls: None,
        stop: Vec::new(),
        max_tokens: None,
        temperature: None,
        top_p: None,
        reasoning: None,
        response_format: None,
        passthrough: None,
        streaming: true,
    }
}

/// A message with one text part.
pub fn text_message(role: Role, text: &str) -> Message {
    Message::new(role, text)
}

/// A user message with a text part and an image (`data` in base64): the
/// case where request bodies need content parts rather than plain text.
pub fn image_message(text: &str, media_type: &str, data: &str) -> Message {
    let image = ImageSource::Base64(ImageData {
        media_type: media_type.into(),
        data: data.into(),
    });
    Message {
        role: Role::User,
        content: vec![
            ContentPart::text(text),
            ContentPart::Image(ImagePart {
                source: image,
                cache: None,
            }),
        ],
    }
}

/// A tool-call part (for an assistant message).
pub fn tool_call(id: &str, name: &str, arguments: &str) -> ContentPart {
    ContentPart::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    })
}

/// A successful tool-result part with one text output (for a user message).
pub fn tool_result(call_id: &str, text: &str) -> ContentPart {
    ContentPart::ToolResult(ToolResult {
        call_id: call_id.into(),
        content: vec![ToolOutput::Text(text.into())],
        is_error: false,
        cache: None,
    })
}
