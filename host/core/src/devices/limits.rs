//! A device's limits. The gateway counts use (in memory) and enforces them;
//! the store only keeps each device's own values.

use serde::{Deserialize, Serialize};

/// Per-device limits; `None` = unlimited (or, as a device's own value, "use
/// the default"). Defaults come from config (the caller passes them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Limits {
    pub requests_per_minute: Option<u32>,
    pub concurrent_streams: Option<u32>,
    pub tokens_per_day: Option<u64>,
}

impl Limits {
    /// These limits field by field, each unset one taken from `defaults`.
    pub fn or(self, defaults: Limits) -> Limits {
        Limits {
            requests_per_minute: self.requests_per_minute.or(defaults.requests_per_minute),
            concurrent_streams: self.concurrent_streams.or(defaults.concurrent_streams),
            tokens_per_day: self.tokens_per_day.or(defaults.tokens_per_day),
        }
    }

    /// No field set.
    pub fn is_unset(&self) -> bool {
        *self == Limits::default()
    }
}
