//! `claw-plugin.toml` comes with a plugin someone else wrote.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = claw_plugin_host::manifest::Manifest::parse(&text);
});
