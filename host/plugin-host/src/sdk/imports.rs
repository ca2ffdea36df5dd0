//! The host side of imports whose behaviour is the same in every SDK version;
//! each version module maps its generated types onto these.

use crate::state::{HostState, PROMPTS_PER_CALL};

/// Longest log line a plugin may write; longer ones are cut (a plugin cannot
/// flood the host log with one call).
const MAX_LOG_LINE: usize = 4096;

/// Longest text of one prompt; longer ones are cut.
const MAX_PROMPT_TEXT: usize = 2048;

pub(crate) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// A plugin's log line into the host log, with the plugin id, within the call's budget.
pub(crate) fn log(state: &mut HostState, level: Level, message: String) {
    log_line(&state.plugin, &mut state.log_budget, level, message)
}

/// [`log`] for any plugin kind: `budget` is the lines its call may still write.
pub(crate) fn log_line(plugin: &str, budget: &mut u32, level: Level, mut message: String) {
    match *budget {
        0 => return,
        1 => {
            *budget = 0;
            tracing::warn!(target: "claw::plugin", plugin, "too many log lines in one request (plugins.limits.logLinesPerCall); dropping the rest");
            return;
        }
        _ => *budget -= 1,
    }
    cut(&mut message, MAX_LOG_LINE);
    match level {
        Level::Trace => tracing::trace!(target: "claw::plugin", plugin, "{message}"),
        Level::Debug => tracing::debug!(target: "claw::plugin", plugin, "{message}"),
        Level::Info => tracing::info!(target: "claw::plugin", plugin, "{message}"),
        Level::Warn => tracing::warn!(target: "claw::plugin", plugin, "{message}"),
        Level::Error => tracing::error!(target: "claw::plugin", plugin, "{message}"),
    }
}

/// Cut `text` to at most `max` bytes (on a character boundary), marked.
fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
        text.push_str(" [cut]");
    }
}

/// Take one prompt from the call's budget: `Some` with the texts cut to size
/// while it lasts, `None` (and one warning) once it is spent.
pub(crate) fn prompt<const N: usize>(
    state: &mut HostState,
    texts: [String; N],
) -> Option<[String; N]> {
    prompt_texts(&state.plugin, &mut state.prompt_budget, texts)
}

/// [`prompt`] for any plugin kind: `budget` is the prompts its call may still show.
pub(crate) fn prompt_texts<const N: usize>(
    plugin: &str,
    budget: &mut u32,
    mut texts: [String; N],
) -> Option<[String; N]> {
    match *budget {
        0 => return None,
        1 => {
            *budget = 0;
            tracing::warn!(target: "claw::plugin", plugin, "too many prompts in one call (more than {PROMPTS_PER_CALL}); dropping the rest");
            return None;
        }
        _ => *budget -= 1,
    }
    for text in &mut texts {
        cut(text, MAX_PROMPT_TEXT);
    }
    Some(texts)
}
