//! `claw usage`: requests, tokens and cost from the usage ledger, grouped,
//! with how often each requested model fell back. Reads the file, so it works
//! whether or not a gateway runs.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use super::table::print_table;
use claw_core::state::StateDir;
use claw_core::usage::{GroupBy, Ledger, Row, Summary, ledger_path, now_ms, parse_since};

#[derive(clap::Args)]
pub struct UsageArgs {
    /// From then on: 24h, 7d, 30m, or a UTC date (2026-11-01). Default: all kept.
    #[arg(long)]
    since: Option<String>,
    /// Group by model, provider, client or day.
    #[arg(long, default_value = "model")]
    by: String,
    #[arg(long)]
    json: bool,
}

pub async fn run(args: UsageArgs) -> anyhow::Result<ExitCode> {
    let Some(by) = GroupBy::parse(&args.by) else {
        bail!(
            "`--by {}` is not a grouping: use model, provider, client or day",
            args.by
        );
    };
    let since_ms = match &args.since {
        Some(s) => Some(parse_since(s, now_ms())?),
        None => None,
    };
    let state = StateDir::from_env()?;
    let path = ledger_path(&state);
    let summary = match Ledger::open_read(&path)? {
        Some(ledger) => ledger.summary(since_ms, by)?,
        None => Summary::empty(since_ms),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&summary, by))?);
        return Ok(ExitCode::SUCCESS);
    }
    if summary.totals.requests == 0 {
        println!(
            "No requests recorded{} (the gateway records each one in {}).",
            args.since
                .as_deref()
                .map(|s| format!(" since {s}"))
                .unwrap_or_default(),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        by.as_str().to_uppercase(),
        "REQUESTS".into(),
        "FAILED".into(),
        "INPUT".into(),
        "OUTPUT".into(),
        "CACHE READ".into(),
        "CACHE WRITE".into(),
        "COST USD".into(),
    ];
    let row = |key: &str, r: &Row| {
        [
            key.to_string(),
            r.requests.to_string(),
            r.failed.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.cache_read_tokens.to_string(),
            r.cache_write_tokens.to_string(),
            format!("{:.4}", r.cost_usd),
        ]
    };
    let mut rows: Vec<[String; 8]> = summary
        .groups
        .iter()
        .map(|g| row(g.key.as_deref().unwrap_or("-"), g))
        .collect();
    rows.push(row("total", &summary.totals));
    print_table(&header.each_ref().map(String::as_str), &rows);
    println!();
    let rates: Vec<[String; 5]> = summary
        .fallback_rates
        .iter()
        .map(|f| {
            [
                f.requested.clone(),
                f.requests.to_string(),
                f.fell_back.to_string(),
                f.failed.to_string(),
                format!("{:.1}%", f.rate * 100.0),
            ]
        })
        .collect();
    print_table(
        &[
            "REQUESTED MODEL",
            "REQUESTS",
            "FELL BACK",
            "FAILED",
            "FALLBACK RATE",
        ],
        &rates,
    );
    Ok(ExitCode::SUCCESS)
}

/// `{"since", "by", "totals": {...}, "groups": [{"key", ...}], "fallbackRates": [...]}`.
fn to_json(s: &Summary, by: GroupBy) -> serde_json::Value {
    json!({
        "since": s.since_ms,
        "by": by.as_str(),
        "totals": s.totals,
        "groups": s.groups,
        "fallbackRates": s.fallback_rates,
    })
}
