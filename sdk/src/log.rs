//! Logging into the host's log. The host prefixes every line with the plugin id.
//!
//! `claw_plugin_sdk::info!("sent {} bytes", n)` or `log::info("plain text")`.

use crate::bindings::claw::plugin::log::Level;

pub fn trace(message: &str) {
    emit(Level::Trace, message)
}
pub fn debug(message: &str) {
    emit(Level::Debug, message)
}
pub fn info(message: &str) {
    emit(Level::Info, message)
}
pub fn warn(message: &str) {
    emit(Level::Warn, message)
}
pub fn error(message: &str) {
    emit(Level::Error, message)
}

#[cfg(target_arch = "wasm32")]
fn emit(level: Level, message: &str) {
    crate::bindings::claw::plugin::log::log(level, message)
}

#[cfg(not(target_arch = "wasm32"))]
fn emit(level: Level, message: &str) {
    // The native ABI numbers the levels 0 trace .. 4 error.
    let level = match level {
        Level::Trace => 0,
        Level::Debug => 1,
        Level::Info => 2,
        Level::Warn => 3,
        Level::Error => 4,
    };
    crate::native::host::log(level, message)
}

/// `debug!("format {}", args)` into the host log.
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::debug(&format!($($t)*)) } }
/// `info!("format {}", args)` into the host log.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::info(&format!($($t)*)) } }
/// `warn!("format {}", args)` into the host log.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::warn(&format!($($t)*)) } }
/// `error!("format {}", args)` into the host log.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::error(&format!($($t)*)) } }
