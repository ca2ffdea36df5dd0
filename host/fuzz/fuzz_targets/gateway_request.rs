//! Request bodies a client POSTs to the gateway, in both wire formats.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = claw::gateway::openai::parse_request(data);
    let _ = claw::gateway::anthropic::parse_request(data);
});
