//! The usage ledger: one row per model request (who asked, which model
//! answered, tokens, cost from the model's configured prices, timings, how it
//! ended) in SQLite under the state dir. Prompts and replies are never stored.
//!
//! The gateway hands each finished request to a [`Recorder`], which writes
//! off the request path; `claw usage` reads the file with [`Ledger::summary`],
//! whether or not a gateway runs.

mod ledger;
mod recorder;
mod since;
mod summary;

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::models::CostEntry;
use crate::state::StateDir;
use claw_types::Usage;

pub use ledger::{Ledger, LedgerError};
pub use recorder::Recorder;
pub use since::{SinceError, parse_since, parse_timestamp};
pub use summary::{FallbackRate, GroupBy, Row, Summary};

/// `usage` in claw.json.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageSection {
    /// Record requests at all.
    pub enabled: bool,
    /// Rows older than this many days are deleted.
    pub retention_days: u32,
}

impl Default for UsageSection {
    fn default() -> UsageSection {
        UsageSection {
            enabled: true,
            retention_days: 90,
        }
    }
}

impl UsageSection {
    pub fn retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.retention_days.max(1)) * 86_400)
    }
}

/// `usage/usage.sqlite` in the state dir.
pub fn ledger_path(state: &StateDir) -> PathBuf {
    state.root().join("usage").join("usage.sqlite")
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Every candidate failed, or the reply broke off after it had started.
    Error,
    /// The client went away before the reply ended.
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// One finished request, as the ledger stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it arrived, in Unix milliseconds.
    pub at_ms: i64,
    pub request_id: String,
    /// `owner`, or the paired device's name.
    pub client: String,
    /// The client API (`openai-chat`, `openai-responses`, `anthropic-messages`, `infer`).
    pub api: &'static str,
    pub stream: bool,
    /// The first candidate: the model asked for, aliases resolved (`provider/model`).
    pub requested: String,
    /// Who answered, when someone did.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// Candidates tried or skipped.
    pub attempts: u32,
    /// Answered by a candidate after the first.
    pub fallback: bool,
    /// Why candidates before the answer failed: `provider/model=reason`, comma-separated.
    pub reasons: String,
    pub usage: Usage,
    /// USD, when the answering model has prices.
    pub cost_usd: Option<f64>,
    pub ttft_ms: Option<u64>,
    pub duration_ms: u64,
    pub outcome: Outcome,
}

/// What `usage` cost at `prices` (USD per million tokens), to the micro-dollar.
/// One place for the sum, used by the ledger, metrics and `--json` outputs.
pub fn cost_usd(u: &Usage, prices: &CostEntry) -> f64 {
    let usd = (f64::from(u.input_tokens) * prices.input
        + f64::from(u.output_tokens) * prices.output
        + f64::from(u.cache_read_tokens) * prices.cache_read
        + f64::from(u.cache_write_tokens) * prices.cache_write)
        / 1e6;
    (usd * 1e6).round() / 1e6
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    claw_types::now_ms() as i64
}

#[cfg(test)]
mod tests;
