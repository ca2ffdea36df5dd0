//! What `claw usage` shows: totals since a time, grouped by model, provider,
//! client or day, and how often each requested model fell back.

use serde::Serialize;

use super::{Ledger, LedgerError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The model that answered (the one asked for when none did).
    Model,
    Provider,
    Client,
    /// UTC day.
    Day,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "model" => GroupBy::Model,
            "provider" => GroupBy::Provider,
            "client" => GroupBy::Client,
            "day" => GroupBy::Day,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Client => "client",
            GroupBy::Day => "day",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            GroupBy::Model => "COALESCE(provider || '/' || model, requested)",
            GroupBy::Provider => {
                "COALESCE(provider, substr(requested, 1, instr(requested, '/') - 1))"
            }
            GroupBy::Client => "client",
            GroupBy::Day => "strftime('%Y-%m-%d', at_ms / 1000, 'unixepoch')",
        }
    }
}

/// Totals of a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub requests: u64,
    pub failed: u64,
    /// Answered by a fallback, not the model asked for.
    pub fallbacks: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: f64,
}

/// How often requests for a model were answered by another, or failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FallbackRate {
    pub requested: String,
    pub requests: u64,
    pub fell_back: u64,
    pub failed: u64,
    /// `fellBack / requests`.
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub since_ms: Option<i64>,
    pub totals: Row,
    pub groups: Vec<Row>,
    pub fallback_rates: Vec<FallbackRate>,
}

const SUMS: &str =
    "COUNT(*), SUM(outcome != 'ok'), SUM(fallback), SUM(input_tokens), SUM(output_tokens),
    SUM(cache_read_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens), SUM(cost_usd)";

impl Summary {
    /// The summary of an empty ledger.
    pub fn empty(since_ms: Option<i64>) -> Summary {
        Summary {
            since_ms,
            totals: Row::default(),
            groups: Vec::new(),
            fallback_rates: Vec::new(),
        }
    }
}

impl Ledger {
    /// Requests from `since_ms` on (all when `None`), grouped by `by`.
    pub fn summary(&self, since_ms: Option<i64>, by: GroupBy) -> Result<Summary, LedgerError> {
        let since = since_ms.unwrap_or(i64::MIN);
        let row = |key: Option<String>, r: &rusqlite::Row, at: usize| -> rusqlite::Result<Row> {
            let n = |i: usize| -> rusqlite::Result<u64> {
                Ok(r.get::<_, Option<i64>>(at + i)?.unwrap_or(0).max(0) as u64)
            };
            Ok(Row {
                key,
                requests: n(0)?,
                failed: n(1)?,
                fallbacks: n(2)?,
                input_tokens: n(3)?,
                output_tokens: n(4)?,
                cache_read_tokens: n(5)?,
                cache_write_tokens: n(6)?,
                reasoning_tokens: n(7)?,
                cost_usd: round_micro(r.get::<_, Option<f64>>(at + 8)?.unwrap_or(0.0)),
            })
        };
        let totals = self.sql(self.conn.query_row(
            &format!("SELECT {SUMS} FROM requests WHERE at_ms >= ?1"),
            [since],
            |r| row(None, r, 0),
        ))?;
        let key = by.sql();
        let mut stmt = self.sql(self.conn.prepare(&format!(
            "SELECT {key} AS k, {SUMS} FROM requests WHERE at_ms >= ?1 GROUP BY k ORDER BY k"
        )))?;
        let groups = self.sql(
            stmt.query_map([since], |r| {
                row(
                    Some(r.get::<_, Option<String>>(0)?.unwrap_or_default()),
                    r,
                    1,
                )
            })
            .and_then(Iterator::collect),
        )?;
        let mut stmt = self.sql(self.conn.prepare(
            "SELECT requested, COUNT(*), SUM(fallback), SUM(outcome != 'ok') FROM requests
             WHERE at_ms >= ?1 GROUP BY requested ORDER BY requested",
        ))?;
        let fallback_rates = self.sql(
            stmt.query_map([since], |r| {
                let (requests, fell_back, failed): (i64, i64, i64) =
                    (r.get(1)?, r.get(2)?, r.get(3)?);
                Ok(FallbackRate {
                    requested: r.get(0)?,
                    requests: requests as u64,
                    fell_back: fell_back as u64,
                    failed: failed as u64,
                    rate: if requests > 0 {
                        (fell_back as f64 / requests as f64 * 1e4).round() / 1e4
                    } else {
                        0.0
                    },
                })
            })
            .and_then(Iterator::collect),
        )?;
        Ok(Summary {
            since_ms,
            totals,
            groups,
            fallback_rates,
        })
    }
}

fn round_micro(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}
