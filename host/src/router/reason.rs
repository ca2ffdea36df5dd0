//! Why an attempt failed, and which failures fail over or cool a candidate down.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::runtime::types::ErrorReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Timeout,
    Auth,
    RateLimit,
    Billing,
    Overloaded,
    Format,
    ModelNotFound,
    Network,
    EmptyResponse,
    Unknown,
    /// The plugin crashed (trap or panic).
    PluginTrap,
    /// The plugin did not return within its call deadline.
    PluginTimeout,
    /// The plugin went over its memory limit.
    PluginMemory,
    /// The plugin returned more than its output limit.
    PluginOutput,
    /// Skipped: the candidate is cooling down after recent failures.
    Cooldown,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Timeout => "timeout",
            Reason::Auth => "auth",
            Reason::RateLimit => "rate_limit",
            Reason::Billing => "billing",
            Reason::Overloaded => "overloaded",
            Reason::Format => "format",
            Reason::ModelNotFound => "model_not_found",
            Reason::Network => "network",
            Reason::EmptyResponse => "empty_response",
            Reason::Unknown => "unknown",
            Reason::PluginTrap => "plugin_trap",
            Reason::PluginTimeout => "plugin_timeout",
            Reason::PluginMemory => "plugin_memory",
            Reason::PluginOutput => "plugin_output",
            Reason::Cooldown => "cooldown",
        }
    }

    /// Failures that say "this candidate will fail again soon": cool it down.
    pub fn cools_down(self) -> bool {
        matches!(
            self,
            Reason::RateLimit
                | Reason::Overloaded
                | Reason::Billing
                | Reason::Auth
                | Reason::Timeout
                | Reason::PluginTrap
                | Reason::PluginTimeout
                | Reason::PluginMemory
                | Reason::PluginOutput
        )
    }

    /// Auth and billing are about the account, so they cool the whole provider.
    pub fn is_provider_wide(self) -> bool {
        matches!(self, Reason::Auth | Reason::Billing)
    }
}

impl From<ErrorReason> for Reason {
    fn from(r: ErrorReason) -> Reason {
        match r {
            ErrorReason::Timeout => Reason::Timeout,
            ErrorReason::Auth => Reason::Auth,
            ErrorReason::RateLimit => Reason::RateLimit,
            ErrorReason::Billing => Reason::Billing,
            ErrorReason::Overloaded => Reason::Overloaded,
            ErrorReason::Format => Reason::Format,
            ErrorReason::ModelNotFound => Reason::ModelNotFound,
            ErrorReason::Network => Reason::Network,
            ErrorReason::EmptyResponse => Reason::EmptyResponse,
            ErrorReason::Unknown => Reason::Unknown,
        }
    }
}

/// Which failures move on to the next candidate. By default all do: a failure
/// on one provider says little about the next. `agents.defaults.failover.stopOn`
/// lists reasons that end the request instead.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub stop_on: BTreeSet<Reason>,
}

impl Policy {
    pub fn fails_over(&self, reason: Reason) -> bool {
        !self.stop_on.contains(&reason)
    }
}
