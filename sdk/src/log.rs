//! Logging into the host's log. The host prefixes every line with the plugin id.
//!
//! `claw_plugin_sdk::info!("sent {} bytes", n)` or `log::info("plain text")`.

use crate::bindings::claw::plugin::log::{Level, log};

pub fn trace(message: &str) {
    log(Level::Trace, message)
}
pub fn debug(message: &str) {
    log(Level::Debug, message)
}
pub fn info(message: &str) {
    log(Level::Info, message)
}
pub fn warn(message: &str) {
    log(Level::Warn, message)
}
pub fn error(message: &str) {
    log(Level::Error, message)
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
