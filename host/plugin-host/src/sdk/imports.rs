//! The host side of imports whose behaviour is the same in every SDK version;
//! each version module maps its generated types onto these.

use crate::state::HostState;

/// Longest log line a plugin may write; longer ones are cut (a plugin cannot
/// flood the host log with one call).
const MAX_LOG_LINE: usize = 4096;

pub(crate) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// A plugin's log line into the host log, with the plugin id, within the call's budget.
pub(crate) fn log(state: &mut HostState, level: Level, mut message: String) {
    match state.log_budget {
        0 => return,
        1 => {
            state.log_budget = 0;
            tracing::warn!(target: "claw::plugin", plugin = &*state.plugin, "too many log lines in one request (plugins.limits.logLinesPerCall); dropping the rest");
            return;
        }
        _ => state.log_budget -= 1,
    }
    if message.len() > MAX_LOG_LINE {
        let mut cut = MAX_LOG_LINE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" [cut]");
    }
    let plugin = &*state.plugin;
    match level {
        Level::Trace => tracing::trace!(target: "claw::plugin", plugin, "{message}"),
        Level::Debug => tracing::debug!(target: "claw::plugin", plugin, "{message}"),
        Level::Info => tracing::info!(target: "claw::plugin", plugin, "{message}"),
        Level::Warn => tracing::warn!(target: "claw::plugin", plugin, "{message}"),
        Level::Error => tracing::error!(target: "claw::plugin", plugin, "{message}"),
    }
}
