use std::time::Duration;

use super::*;

fn entry(at_ms: i64, model: &str, fallback: bool, input: u32, output: u32) -> Entry {
    let prices = CostEntry {
        input: 15.0,
        output: 60.0,
        cache_read: 2.0,
        cache_write: 10.0,
    };
    let usage = Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: 7,
        cache_write_tokens: 3,
        reasoning_tokens: 1,
    };
    Entry {
        at_ms,
        request_id: format!("r{at_ms}"),
        client: "owner".into(),
        api: "openai-chat",
        stream: false,
        requested: "minimax/MiniMax-M2.1".into(),
        provider: Some(model.split('/').next().unwrap().into()),
        model: Some(model.split('/').nth(1).unwrap().into()),
        attempts: 1 + u32::from(fallback),
        fallback,
        reasons: if fallback {
            "minimax/MiniMax-M2.1=rate_limit".into()
        } else {
            String::new()
        },
        usage,
        cost_usd: Some(cost_usd(&usage, &prices)),
        ttft_ms: Some(12),
        duration_ms: 40,
        outcome: Outcome::Ok,
    }
}

#[test]
fn costs_are_per_million_tokens_to_the_micro_dollar() {
    let u = Usage {
        input_tokens: 1000,
        output_tokens: 500,
        cache_read_tokens: 2000,
        cache_write_tokens: 100,
        reasoning_tokens: 0,
    };
    let prices = CostEntry {
        input: 15.0,
        output: 60.0,
        cache_read: 2.0,
        cache_write: 10.0,
    };
    // 0.015 + 0.03 + 0.004 + 0.001
    assert_eq!(cost_usd(&u, &prices), 0.05);
}

#[test]
fn recorded_requests_are_summed_by_model_day_and_requested_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage/usage.sqlite");
    let recorder = Recorder::start(path.clone(), Duration::from_secs(90 * 86_400)).unwrap();
    let day = 1_793_491_200_000; // 2026-11-01
    recorder.record(entry(day + 1000, "minimax/MiniMax-M2.1", false, 100, 10));
    recorder.record(entry(day + 2000, "minimax/MiniMax-M2.1", false, 200, 20));
    recorder.record(entry(day + 86_400_000, "lmstudio/qwen3-8b", true, 50, 5));
    assert!(recorder.flush(Duration::from_secs(5)));

    let ledger = Ledger::open_read(&path).unwrap().expect("a ledger");
    let s = ledger.summary(None, GroupBy::Model).unwrap();
    assert_eq!((s.totals.requests, s.totals.fallbacks), (3, 1));
    assert_eq!((s.totals.input_tokens, s.totals.output_tokens), (350, 35));
    assert_eq!(
        (s.totals.cache_read_tokens, s.totals.cache_write_tokens),
        (21, 9)
    );
    let keys: Vec<_> = s.groups.iter().map(|g| g.key.clone().unwrap()).collect();
    assert_eq!(keys, ["lmstudio/qwen3-8b", "minimax/MiniMax-M2.1"]);
    assert_eq!(s.groups[1].requests, 2);
    assert_eq!(s.fallback_rates.len(), 1);
    assert_eq!(s.fallback_rates[0].rate, 0.3333);

    let by_day = ledger.summary(None, GroupBy::Day).unwrap();
    let days: Vec<_> = by_day
        .groups
        .iter()
        .map(|g| (g.key.clone().unwrap(), g.requests))
        .collect();
    assert_eq!(
        days,
        [("2026-11-01".to_string(), 2), ("2026-11-02".to_string(), 1)]
    );
    let since = ledger
        .summary(Some(day + 86_400_000), GroupBy::Provider)
        .unwrap();
    assert_eq!(since.totals.requests, 1);
    assert_eq!(since.groups[0].key.as_deref(), Some("lmstudio"));
}

#[cfg(unix)]
#[test]
fn the_ledger_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage/usage.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.insert(&[entry(1, "a/b", false, 1, 1)]).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&path.with_extension("sqlite-wal")), 0o600);
}

#[test]
fn old_rows_are_pruned_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    ledger
        .insert(&[
            entry(1_000, "a/b", false, 1, 1),
            entry(5_000, "a/b", false, 1, 1),
        ])
        .unwrap();
    assert_eq!(ledger.prune(2_000).unwrap(), 1);
    assert_eq!(
        ledger
            .summary(None, GroupBy::Model)
            .unwrap()
            .totals
            .requests,
        1
    );
    drop(ledger);

    let junk = dir.path().join("junk.sqlite");
    let text = b"not a database at all, just some text that is long enough for a header".repeat(20);
    std::fs::write(&junk, &text).unwrap();
    let e = Ledger::open(&junk).err().unwrap().to_string();
    assert!(
        e.contains("is not a usage ledger claw can read") && e.contains("move it away"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&junk).unwrap(),
        text,
        "the file is left as it was"
    );

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version=7;").unwrap();
    drop(conn);
    let e = Ledger::open_read(&path).err().unwrap().to_string();
    assert!(
        e.contains("written by a newer claw (ledger schema 7; this claw knows 1)"),
        "{e}"
    );
}

#[test]
fn a_failing_ledger_loses_rows_but_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: every open fails.
    let path = dir.path().join("usage.sqlite");
    std::fs::create_dir(&path).unwrap();
    let recorder = Recorder::start(path, Duration::from_secs(86_400)).unwrap();
    for i in 0..5 {
        recorder.record(entry(i, "a/b", false, 1, 1));
    }
    assert!(recorder.flush(Duration::from_secs(5)));
    assert_eq!(recorder.lost(), 5);
}
