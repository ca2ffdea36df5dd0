//! How a call into a plugin failed, whatever the plugin is built as, and the
//! failover reason each failure maps to.

use std::time::Duration;

use claw_types::{Failure, PluginError, Reason};

/// The retry hint of an overloaded call.
pub const OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A call into a plugin that did not return normally.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("plugin \"{plugin}\" did not finish {what} within {} ms (the call deadline)", limit.as_millis())]
    Timeout {
        plugin: String,
        what: &'static str,
        limit: Duration,
    },
    #[error("plugin \"{plugin}\" went over its memory limit of {} MiB during {what}", limit >> 20)]
    Memory {
        plugin: String,
        what: &'static str,
        limit: usize,
    },
    #[error("plugin \"{plugin}\" crashed during {what}: {detail}")]
    Trap {
        plugin: String,
        what: &'static str,
        detail: String,
    },
    #[error(
        "plugin \"{plugin}\" returned more than {limit} bytes {what} (plugins.limits); the reply was cut off"
    )]
    Output {
        plugin: String,
        what: &'static str,
        limit: usize,
    },
    /// The plugin is at its concurrency limit (or the host's instance pool is
    /// full): the call was not started. Not a fault of the plugin; retry later.
    #[error(
        "plugin \"{plugin}\" is overloaded: {detail}; {what} was not started, try again shortly"
    )]
    Overloaded {
        plugin: String,
        what: &'static str,
        detail: String,
    },
    /// Native calls past their deadline are still running, as many as the
    /// plugin may have: it gets no new call until one of them returns.
    #[error(
        "plugin \"{plugin}\" has {count} calls still running past their deadline (native code cannot be stopped); {what} was not started, try again once they finish"
    )]
    Stuck {
        plugin: String,
        what: &'static str,
        count: usize,
    },
    /// The plugin returned a classified error of its own.
    #[error("plugin \"{plugin}\": {}", error.message)]
    Plugin { plugin: String, error: PluginError },
}

impl CallError {
    /// A failure of the plugin itself (not of the upstream it talks to).
    pub fn is_plugin_fault(&self) -> bool {
        !matches!(
            self,
            CallError::Plugin { .. } | CallError::Overloaded { .. }
        )
    }

    /// The failover reason.
    pub fn reason(&self) -> Reason {
        match self {
            CallError::Plugin { error, .. } => error.reason,
            CallError::Timeout { .. } | CallError::Stuck { .. } => Reason::PluginTimeout,
            CallError::Memory { .. } => Reason::PluginMemory,
            CallError::Trap { .. } => Reason::PluginTrap,
            CallError::Output { .. } => Reason::PluginOutput,
            CallError::Overloaded { .. } => Reason::Overloaded,
        }
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Failure {
        let mut failure = Failure::new(e.reason(), e.to_string());
        match e {
            CallError::Plugin { error, .. } => {
                failure.status = error.status;
                failure.retry_after = error.retry_after_ms.map(Duration::from_millis);
            }
            CallError::Overloaded { .. } => failure.retry_after = Some(OVERLOAD_RETRY_AFTER),
            _ => {}
        }
        failure
    }
}
