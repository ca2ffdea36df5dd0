//! Helpers for a plugin's native unit tests (`cargo test` on the host target):
//! drive an event-stream decoder as the host drives a
//! [`ChatStream`](crate::ChatStream), compare what came out, build messages,
//! and build or read headers.

use crate::types::{ChatEvent, ContentPart, Image, KeyValue, Message, PluginError, Role};
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

/// Whether two event lists are the same. `ChatEvent` has no `PartialEq` (it
/// is generated from the WIT), so this compares the `Debug` forms.
pub fn same(a: &[ChatEvent], b: &[ChatEvent]) -> bool {
    format!("{a:?}") == format!("{b:?}")
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

/// A message with one text part.
pub fn text_message(role: Role, text: &str) -> Message {
    Message {
        role,
        content: vec![ContentPart::Text(text.into())],
    }
}

/// A user message with a text part and an image (`data` in base64): the
/// case where request bodies need content parts rather than plain text.
pub fn image_message(text: &str, media_type: &str, data: &str) -> Message {
    let image = Image {
        media_type: media_type.into(),
        data: data.into(),
    };
    Message {
        role: Role::User,
        content: vec![ContentPart::Text(text.into()), ContentPart::Image(image)],
    }
}
