//! The plugin side of an Anthropic reply (plugins/anthropic-wire): the event
//! stream decoder fed the body in chunks (see `chunked`), and the parsers of a
//! whole JSON message and of an error body, all on the same bytes.
#![no_main]

use anthropic_wire::errors::upstream_error;
use anthropic_wire::reply::{StreamDecoder, parse_message};
use claw_plugin_sdk::types::ChatEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (body, chunks) = claw_fuzz::chunked(data);
    let _ = parse_message(body);
    let _ = upstream_error(None, &String::from_utf8_lossy(body), None);

    // Each chunk is one read, then the end of the body: the decoder must be
    // done within a few more steps, and send nothing after `Done`.
    let steps = chunks.len() + 3;
    let mut reads = chunks.into_iter();
    let mut decoder = StreamDecoder::default();
    let mut done = false;
    for _ in 0..steps {
        match decoder.step(|| Ok(reads.next().map(<[u8]>::to_vec))) {
            Ok(None) => return,
            Ok(Some(events)) => {
                for event in events {
                    assert!(!done, "an event after Done: {event:?}");
                    done = matches!(event, ChatEvent::Done(_));
                }
            }
            Err(_) => {}
        }
    }
    panic!("the decoder did not finish within {steps} steps");
});
