//! The SDK's SSE parser on an upstream's body, cut into chunks where the input
//! says. Besides never panicking, the events must not depend on the cuts.
#![no_main]

use claw_plugin_sdk::sse::{DEFAULT_MAX_LEN, SseEvent, SseParser};
use claw_plugin_sdk::types::PluginError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Byte 0 picks the length limit: the default when its high bit is clear,
    // else 1 to 128 bytes, so the limit checks run too. The rest: see `chunked`.
    let Some((&limit, rest)) = data.split_first() else {
        return;
    };
    let max_len = match limit & 0x80 {
        0 => DEFAULT_MAX_LEN,
        _ => usize::from(limit & 0x7f) + 1,
    };
    let (body, chunks) = claw_fuzz::chunked(rest);
    let whole = parse(max_len, &[body]);
    let split = parse(max_len, &chunks);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "events differ when the body is chunked"),
        _ => assert_eq!(whole.is_ok(), split.is_ok(), "{whole:?} vs {split:?}"),
    }
});

fn parse(max_len: usize, chunks: &[&[u8]]) -> Result<Vec<SseEvent>, PluginError> {
    let mut parser = SseParser::with_max_len(max_len);
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(parser.push(chunk)?);
    }
    events.extend(parser.finish()?);
    Ok(events)
}
