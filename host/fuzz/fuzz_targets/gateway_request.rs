//! Request bodies a client POSTs to the gateway, in both wire formats.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = claw_gateway::openai::parse_request(data);
    let _ = claw_gateway::anthropic::parse_request(data);
});
