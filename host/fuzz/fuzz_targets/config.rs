//! `claw.json`, and every typed section read from it: an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(config) = claw_core::config::ConfigFile::parse(Path::new("claw.json"), &text) else {
        return;
    };
    let _ = config.plugins();
    let _ = config.models();
    let _ = config.agents();
    let _ = config.section::<claw_core::auth::AuthSection>("auth");
    let _ = config.section::<claw_gateway::daemon::GatewaySection>("gateway");
});
