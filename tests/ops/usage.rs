//! The usage ledger and `/metrics` (issue 18): requests through the gateway
//! to priced models, then `claw usage --json` and a Prometheus scrape agree
//! with what the stand-in reported; a failing ledger costs no request; a
//! gateway killed with -9 under load leaves a ledger with every request that
//! had been answered a second before.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Claw;
use crate::support::gateway::GatewayProc;
use crate::support::upstream::{Behavior, Upstream};

/// USD per million tokens: input, output.
const MINIMAX: (f64, f64) = (15.0, 60.0);
const LMSTUDIO: (f64, f64) = (1.0, 2.0);

/// minimax (Anthropic API) primary, lmstudio (OpenAI API) fallback, both priced.
pub(crate) fn priced(upstream: &Upstream) -> Value {
    json!({
        "models": {"providers": {
            "minimax": {"baseUrl": format!("{}/anthropic", upstream.url()), "apiKey": "sk-upstream-secret",
                "api": "anthropic-messages",
                "models": [{"id": "MiniMax-M2.1", "cost": {"input": MINIMAX.0, "output": MINIMAX.1, "cacheRead": 2, "cacheWrite": 10}}]},
            "lmstudio": {"baseUrl": format!("{}/v1", upstream.url()), "api": "openai-completions",
                "models": [{"id": "qwen3-8b", "cost": {"input": LMSTUDIO.0, "output": LMSTUDIO.1}}]},
        }},
        "agents": {"defaults": {"model": {"primary": "minimax/MiniMax-M2.1", "fallbacks": ["lmstudio/qwen3-8b"]}}},
    })
}

/// A non-streamed chat: status, `usage` as the client got it, the request id.
pub(crate) fn chat(gw: &GatewayProc, text: &str) -> (u16, Value, String) {
    let body =
        json!({"model": "minimax/MiniMax-M2.1", "messages": [{"role": "user", "content": text}]});
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &gw.auth())],
        &body.to_string(),
    );
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    let id = r.headers.get("x-request-id").cloned().unwrap_or_default();
    (r.status, v["usage"].clone(), id)
}

fn usage_json(claw: &Claw, args: &[&str]) -> Value {
    let mut all = vec!["usage", "--json"];
    all.extend_from_slice(args);
    claw.run(&all).json()
}

fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[test]
fn usage_and_metrics_match_what_the_upstream_reported_and_the_prices() {
    let upstream = Upstream::start();
    let claw = Claw::new();
    claw.write_config(&priced(&upstream).to_string());
    let n = 5;
    // n answers from minimax, then it fails and lmstudio answers.
    let mut script: Vec<Behavior> = (0..n)
        .map(|i| Behavior::Reply(format!("answer number {i} from minimax")))
        .collect();
    script.push(Behavior::Status {
        code: 429,
        retry_after: None,
    });
    upstream.behave_seq("MiniMax-M2.1", script);
    let gw = GatewayProc::start(&claw, &[]);

    let (mut minimax_in, mut minimax_out) = (0u64, 0u64);
    for i in 0..n {
        let (status, usage, id) = chat(&gw, &format!("question {i} has a few words"));
        assert_eq!(status, 200, "{usage}");
        assert!(!id.is_empty(), "every response names its request id");
        minimax_in += usage["prompt_tokens"].as_u64().unwrap();
        minimax_out += usage["completion_tokens"].as_u64().unwrap();
    }
    let (status, usage, _) = chat(&gw, "the last question falls back");
    assert_eq!(status, 200, "{usage}");
    let (lm_in, lm_out) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    let cost = |(i, o): (u64, u64), (pi, po): (f64, f64)| (i as f64 * pi + o as f64 * po) / 1e6;
    let minimax_cost = cost((minimax_in, minimax_out), MINIMAX);
    let lm_cost = cost((lm_in, lm_out), LMSTUDIO);

    // The ledger is written off the request path; it catches up within moments.
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        let report = usage_json(&claw, &[]);
        if report["totals"]["requests"] == n + 1 || Instant::now() > deadline {
            break report;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let totals = &report["totals"];
    assert_eq!(totals["requests"], n + 1, "{report}");
    assert_eq!(totals["inputTokens"], minimax_in + lm_in, "{report}");
    assert_eq!(totals["outputTokens"], minimax_out + lm_out, "{report}");
    assert_eq!(
        (
            totals["cacheReadTokens"].as_u64(),
            totals["cacheWriteTokens"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let to_cent = |v: &Value| (v.as_f64().unwrap() * 100.0).round() as i64;
    let cents = |usd: f64| (usd * 100.0).round() as i64;
    assert_eq!(
        to_cent(&totals["costUsd"]),
        cents(minimax_cost + lm_cost),
        "{report}"
    );
    assert!(
        (totals["costUsd"].as_f64().unwrap() - (minimax_cost + lm_cost)).abs() < 1e-5,
        "{report}"
    );
    let groups: BTreeMap<String, &Value> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_string(), g))
        .collect();
    assert_eq!(
        groups.keys().collect::<Vec<_>>(),
        ["lmstudio/qwen3-8b", "minimax/MiniMax-M2.1"]
    );
    let minimax = groups["minimax/MiniMax-M2.1"];
    assert_eq!(
        (
            minimax["requests"].as_u64(),
            minimax["inputTokens"].as_u64(),
            minimax["outputTokens"].as_u64()
        ),
        (Some(n), Some(minimax_in), Some(minimax_out))
    );
    assert_eq!(to_cent(&minimax["costUsd"]), cents(minimax_cost));
    let lm = groups["lmstudio/qwen3-8b"];
    assert_eq!(
        (lm["requests"].as_u64(), lm["fallbacks"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(to_cent(&lm["costUsd"]), cents(lm_cost));
    let rates = &report["fallbackRates"][0];
    assert_eq!(
        (
            rates["requested"].as_str(),
            rates["requests"].as_u64(),
            rates["fellBack"].as_u64()
        ),
        (Some("minimax/MiniMax-M2.1"), Some(n + 1), Some(1)),
        "{report}"
    );

    // Per day: all of it today (UTC); none since tomorrow.
    let by_day = usage_json(&claw, &["--by", "day"]);
    assert_eq!(by_day["groups"][0]["key"], today(), "{by_day}");
    assert_eq!(by_day["groups"][0]["requests"], n + 1);
    assert_eq!(
        to_cent(&by_day["groups"][0]["costUsd"]),
        cents(minimax_cost + lm_cost)
    );
    assert_eq!(
        usage_json(&claw, &["--by", "client"])["groups"][0]["key"],
        "owner"
    );
    assert_eq!(
        usage_json(&claw, &["--since", "1m"])["totals"]["requests"],
        n + 1
    );
    let table = claw.run(&["usage", "--by", "provider"]);
    let out = table.ok();
    assert!(
        out.contains("PROVIDER")
            && out.contains("minimax")
            && out.contains("lmstudio")
            && out.contains("FALLBACK RATE"),
        "{out}"
    );
    assert!(out.contains("16.7%"), "one of six fell back: {out}");
    let bad = claw.run(&["usage", "--since", "last tuesday"]);
    assert!(
        bad.code != 0 && bad.stderr.contains("is not a time to start from"),
        "{}",
        bad.stderr
    );

    // The scrape parses as Prometheus text, and its counters agree.
    let r = gw.request("GET", "/metrics", &[("authorization", &gw.auth())], "");
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"].starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers
    );
    let scrape = prometheus_parse::Scrape::parse(r.body.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                prometheus_parse::Value::Histogram(ref h) => {
                    h.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                _ => 0.0,
            })
            .sum()
    };
    let mm = [("provider", "minimax"), ("model", "MiniMax-M2.1")];
    let lms = [("provider", "lmstudio"), ("model", "qwen3-8b")];
    assert_eq!(
        value("claw_requests_total", &[mm[0], mm[1], ("outcome", "ok")]),
        n as f64
    );
    assert_eq!(
        value("claw_requests_total", &[lms[0], lms[1], ("outcome", "ok")]),
        1.0
    );
    assert_eq!(value("claw_fallbacks_total", &[]), 1.0);
    assert_eq!(
        value("claw_attempts_total", &[mm[0], mm[1], ("reason", "ok")]),
        n as f64
    );
    assert_eq!(
        value(
            "claw_attempts_total",
            &[mm[0], mm[1], ("reason", "rate_limit")]
        ),
        1.0,
        "{}",
        r.body
    );
    assert_eq!(
        value("claw_tokens_total", &[mm[0], mm[1], ("kind", "input")]),
        minimax_in as f64
    );
    assert_eq!(
        value("claw_tokens_total", &[mm[0], mm[1], ("kind", "output")]),
        minimax_out as f64
    );
    assert_eq!(
        value("claw_tokens_total", &[lms[0], lms[1], ("kind", "output")]),
        lm_out as f64
    );
    assert_eq!(
        cents(value("claw_cost_usd_total", &mm)),
        cents(minimax_cost)
    );
    assert_eq!(
        value("claw_request_duration_seconds", &mm),
        n as f64,
        "a histogram's count"
    );
    assert_eq!(value("claw_ttft_seconds", &lms), 1.0);
    assert_eq!(
        value(
            "claw_plugin_health",
            &[("plugin", "echo"), ("status", "loaded")]
        ),
        1.0
    );
    assert!(
        r.body.contains("claw_inflight_requests 1"),
        "the scrape itself is in flight"
    );
    // Without the owner's token: 401, and nothing leaks.
    let anon = gw.request("GET", "/metrics", &[], "");
    assert_eq!(anon.status, 401);
    assert!(!r.body.contains("sk-upstream-secret"));

    // A gateway that stopped leaves a ledger `claw usage` still reads.
    assert!(gw.stop().success());
    assert_eq!(usage_json(&claw, &[])["totals"]["requests"], n + 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(claw.dir().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!((mode("usage"), mode("usage/usage.sqlite")), (0o700, 0o600));
}

#[test]
fn a_ledger_that_cannot_be_written_costs_no_request_and_is_logged_once() {
    let upstream = Upstream::start();
    let claw = Claw::new();
    claw.write_config(&priced(&upstream).to_string());
    // A directory where the database file belongs: every open fails.
    std::fs::create_dir_all(claw.dir().join("usage/usage.sqlite")).unwrap();
    let gw = GatewayProc::start(&claw, &[]);
    for i in 0..4 {
        let (status, usage, _) = chat(&gw, &format!("still served {i}"));
        assert_eq!(status, 200, "{usage}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let log = gw.log();
    let warnings = log
        .matches("requests are still served, but their usage is not recorded")
        .count();
    assert_eq!(warnings, 1, "{log}");
    assert!(
        log.contains("cannot create the usage ledger")
            && log.contains("usage.sqlite: Is a directory"),
        "{log}"
    );
    let report = claw.run(&["usage", "--json"]);
    assert_ne!(report.code, 0);
    assert!(report.stderr.contains("usage.sqlite"), "{}", report.stderr);
}

#[test]
fn kill_9_under_load_keeps_every_request_answered_a_second_before() {
    let upstream = Upstream::start();
    upstream.set_gap_ms(0);
    let claw = Claw::new();
    claw.write_config(&priced(&upstream).to_string());
    let gw = Arc::new(GatewayProc::start(&claw, &[]));
    let answered: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4).map(|c| {
        let (gw, answered, stop) = (gw.clone(), answered.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 2000 {
                i += 1;
                let body = json!({"model": "minimax/MiniMax-M2.1", "messages": [{"role": "user", "content": format!("c{c} r{i}")}]});
                match answered_id(gw.port, &gw.auth(), &body.to_string()) {
                    Some(id) => answered.lock().unwrap().push((Instant::now(), id)),
                    None => return,
                }
            }
        })
    }).collect();
    std::thread::sleep(Duration::from_millis(2500));
    let killed_at = Instant::now();
    crate::support::gateway::signal(&gw.child, 9);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let before: BTreeSet<String> = answered
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| killed_at.duration_since(*at) > Duration::from_secs(1))
        .map(|(_, id)| id.clone())
        .collect();
    assert!(
        before.len() >= 20,
        "load ran: {} answered a second before the kill",
        before.len()
    );
    // The ledger opens, passes SQLite's own check, and holds each of them.
    let db = rusqlite::Connection::open(claw.dir().join("usage/usage.sqlite")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = db.prepare("SELECT request_id FROM requests").unwrap();
    let stored: BTreeSet<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let missing: Vec<_> = before.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} of {} missing: {missing:?}",
        missing.len(),
        before.len()
    );
    assert!(
        usage_json(&claw, &[])["totals"]["requests"]
            .as_u64()
            .unwrap()
            >= before.len() as u64
    );
}

/// POST a chat completion; the request id of a complete 200 answer, `None`
/// for anything else (the gateway may be killed mid-answer).
fn answered_id(port: u16, auth: &str, body: &str) -> Option<String> {
    use std::io::{BufRead, Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {auth}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut reader = std::io::BufReader::new(stream);
    let (mut line, mut id, mut length) = (String::new(), None, None);
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("HTTP/1.1 200") {
        return None;
    }
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "x-request-id" => id = Some(value.trim().to_string()),
            "content-length" => length = value.trim().parse::<usize>().ok(),
            _ => {}
        }
    }
    let mut rest = vec![0; length?];
    reader.read_exact(&mut rest).ok()?;
    id
}
