//! Request bodies a client POSTs to the gateway, in each wire format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = claw_gateway::openai::parse_request(data);
    let _ = claw_gateway::anthropic::parse_request(data);
    let _ = claw_gateway::responses::parse_request(data);
});
