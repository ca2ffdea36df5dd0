//! The plugin side of an Anthropic reply (plugins/anthropic-wire): the event
//! stream decoder fed the body in chunks (see `chunked`) through the SDK's SSE
//! parser, and the parsers of a whole JSON message and of an error body, all
//! on the same bytes.
#![no_main]

use anthropic_wire::errors::upstream_error;
use anthropic_wire::reply::{StreamDecoder, parse_message};
use claw_plugin_sdk::sse::SseParser;
use claw_plugin_sdk::types::ChatEvent;
use claw_plugin_sdk::upstream::{Flow, SseDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (body, chunks) = claw_fuzz::chunked(data);
    let _ = parse_message(body);
    let _ = upstream_error(None, &String::from_utf8_lossy(body), None);

    // Nothing may follow `Done`, and the decoder stops at its end marker.
    let mut parser = SseParser::default();
    let mut decoder = StreamDecoder::default();
    let mut out = Vec::new();
    for chunk in chunks {
        let Ok(events) = parser.push(chunk) else {
            return;
        };
        for event in events {
            match decoder.event(event, &mut out) {
                Ok(Flow::Continue) => {}
                Ok(Flow::End) | Err(_) => return check(&out),
            }
        }
    }
    let _ = decoder.end(&mut out);
    check(&out);
});

fn check(events: &[ChatEvent]) {
    if let Some(at) = events.iter().position(|e| matches!(e, ChatEvent::Done(_))) {
        assert_eq!(at + 1, events.len(), "an event after Done: {events:?}");
    }
}
