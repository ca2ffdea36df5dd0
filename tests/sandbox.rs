//! End to end: hostile plugins in a running gateway. Each misbehaviour ends its
//! own request with a reason, within the configured limit; the next candidate
//! (and the next request) is served by another plugin; memory comes back.

mod support;

use std::time::Instant;

use serde_json::{Value, json};
use support::gateway::GatewayProc;
use support::{Claw, fixture, fixture_manifest};

const HOSTILE: &[&str] = &[
    "loop-forever",
    "memory-bomb",
    "panicker",
    "huge-output",
    "stream-forever",
    "sneaky",
    "log-flood",
];

/// A gateway with every hostile plugin installed, tight limits, echo as the
/// fallback, and no cooldown (so repeated faults reach the plugin).
fn hostile_gateway() -> (Claw, GatewayProc) {
    let claw = Claw::new();
    for id in HOSTILE.iter().chain(&["net-plugin"]) {
        let component = format!("{}.wasm", id.replace('-', "_"));
        claw.place_plugin(
            id,
            Some(&fixture_manifest(id)),
            Some((&component, &fixture(&component))),
        );
    }
    claw.write_config(
        &json!({
            "plugins": {
                "limits": {"callTimeoutMs": 2000, "memoryMb": 128, "maxEventBytes": 1_048_576, "maxOutputBytes": 4_194_304, "logLinesPerCall": 50},
                "entries": {
                    "sneaky": {"network": ["api.example.com"]},
                    "net-plugin": {"network": ["api.example.com"]},
                },
            },
            "models": {"providers": {
                "sneaky": {"baseUrl": "http://127.0.0.1:9"},
                "net-plugin": {"baseUrl": "http://127.0.0.1:9", "api": "net-test", "models": [{"id": "net-1"}]},
            }},
            "agents": {"defaults": {"model": {"fallbacks": ["echo/echo-1"]}, "failover": {"cooldownMs": 0}}},
        })
        .to_string(),
    );
    let gw = GatewayProc::start(&claw, &[]);
    (claw, gw)
}

fn infer(gw: &GatewayProc, model: &str) -> (Value, u128) {
    let started = Instant::now();
    let (status, outcome) = gw.call(
        "POST",
        "/admin/infer",
        &json!({"model": model, "prompt": "hello"}),
    );
    assert_eq!(status, 200, "{outcome}");
    (outcome, started.elapsed().as_millis())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn every_hostile_plugin_fails_alone_with_its_reason_and_the_gateway_keeps_serving() {
    let (claw, gw) = hostile_gateway();
    let list = claw.run(&["plugins", "list", "--json"]).json();
    for id in HOSTILE {
        let p = list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == *id)
            .unwrap();
        assert_eq!(
            p["status"], "loaded",
            "{id} must load: it misbehaves only when called: {p:#}"
        );
    }
    // Warm up, then note memory.
    for _ in 0..3 {
        assert_eq!(infer(&gw, "echo/echo-1").0["ok"], true);
    }
    let baseline = rss_kib(gw.child.id());

    // Each case fails its attempt with the expected reason, and echo answers.
    for (model, reason, error_part) in [
        (
            "loop-forever/loop-forever",
            "plugin_timeout",
            "within 2000 ms",
        ),
        (
            "memory-bomb/memory-bomb",
            "plugin_memory",
            "memory limit of 128 MiB",
        ),
        ("panicker/panicker", "plugin_trap", "crashed during chat"),
        (
            "huge-output/huge-output",
            "plugin_output",
            "more than 1048576 bytes in one event",
        ),
        ("net-plugin/net-1", "network", "127.0.0.1"),
    ] {
        let (outcome, ms) = infer(&gw, model);
        let attempts = outcome["attempts"].as_array().unwrap();
        assert_eq!(attempts[0]["reason"], reason, "{model}: {outcome:#}");
        let error = attempts[0]["error"].as_str().unwrap();
        let plugin = model.split('/').next().unwrap();
        assert!(
            error.contains(&format!("plugin \"{plugin}\"")) && error.contains(error_part),
            "{model}: {error}"
        );
        assert_eq!(
            attempts[1]["outcome"], "success",
            "{model}: the fallback answers: {outcome:#}"
        );
        assert_eq!(outcome["outputs"][0]["text"], "hello");
        assert!(ms < 15_000, "{model} took {ms} ms to fail over");
        println!(
            "hostile {model}: reason {reason}, failed after {} ms (request {ms} ms)",
            attempts[0]["latencyMs"]
        );
        // The next request is served normally.
        assert_eq!(infer(&gw, "echo/echo-1").0["ok"], true);
    }

    // A stream that never returns after its first text: an error after content,
    // no switch to the fallback.
    let (outcome, _) = infer(&gw, "stream-forever/stream-forever");
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(outcome["attempts"][0]["reason"], "plugin_timeout");
    assert_eq!(outcome["outputs"][0]["text"], "tick ");
    println!(
        "hostile stream-forever: reason plugin_timeout after content, after {} ms",
        outcome["attempts"][0]["latencyMs"]
    );

    // What a plugin cannot reach.
    let (outcome, _) = infer(&gw, "sneaky/sneaky");
    let seen: Value =
        serde_json::from_str(outcome["outputs"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(seen["env"], 0, "{seen}");
    assert_eq!(seen["args"], 0, "{seen}");
    assert_eq!(seen["read_file"], false, "{seen}");
    assert_eq!(seen["list_root"], false, "{seen}");
    assert_eq!(seen["tcp"], false, "{seen}");
    assert!(
        seen["denied_http"].as_str().unwrap().contains("denied"),
        "{seen}"
    );

    // A log flood is cut at the limit.
    let (outcome, _) = infer(&gw, "log-flood/log-flood");
    assert_eq!(outcome["outputs"][0]["text"], "flooded");
    let log = gw.log();
    assert!(
        log.contains("too many log lines in one request"),
        "no flood notice in the log"
    );
    let flood_lines = log
        .lines()
        .filter(|l| l.contains("log-flood log-flood"))
        .count();
    assert!(
        flood_lines <= 50,
        "{flood_lines} flood lines reached the log"
    );

    // A plugin that keeps failing is reported as degraded.
    for _ in 0..3 {
        infer(&gw, "panicker/panicker");
    }
    let list = claw.run(&["plugins", "list", "--json"]).json();
    let panicker = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "panicker")
        .unwrap()
        .clone();
    assert_eq!(panicker["health"], "degraded", "{panicker:#}");
    assert!(
        panicker["degradedReason"]
            .as_str()
            .unwrap()
            .contains("crashed during chat")
    );
    let echo = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "echo")
        .unwrap()
        .clone();
    assert_eq!(echo["health"], "ok");
    let table = claw.run(&["plugins", "list"]);
    assert!(
        table
            .ok()
            .lines()
            .any(|l| l.starts_with("panicker") && l.contains("degraded")),
        "{}",
        table.stdout
    );

    // Memory comes back once the hostile requests are over.
    for _ in 0..3 {
        assert_eq!(infer(&gw, "echo/echo-1").0["ok"], true);
    }
    let after = rss_kib(gw.child.id());
    println!(
        "gateway RSS: {} MiB before the hostile requests, {} MiB after",
        baseline / 1024,
        after / 1024
    );
    assert!(
        after < baseline + 64 * 1024,
        "RSS grew from {baseline} KiB to {after} KiB"
    );
}

/// Place the fixture plugin built from `tests/fixtures/<id>`.
fn place(claw: &Claw, id: &str) {
    let component = format!("{}.wasm", id.replace('-', "_"));
    claw.place_plugin(
        id,
        Some(&fixture_manifest(id)),
        Some((&component, &fixture(&component))),
    );
}

/// Start a streamed chat of `model` and read until its first text arrives;
/// the connection (and the stream in the gateway) stays open.
fn open_stream(gw: &GatewayProc, model: &str) -> std::io::BufReader<std::net::TcpStream> {
    use std::io::{BufRead, Write};
    let mut conn = gw.connect();
    let body =
        json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hello"}]})
            .to_string();
    write!(
        conn.get_mut(),
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        gw.port,
        gw.auth(),
        body.len()
    )
    .unwrap();
    conn.get_mut().flush().unwrap();
    let mut seen = String::new();
    while !seen.contains("tick") {
        let mut line = String::new();
        assert!(
            conn.read_line(&mut line).unwrap() > 0,
            "the stream ended before its first text: {seen}"
        );
        seen.push_str(&line);
    }
    conn
}

#[test]
fn a_plugin_at_its_concurrency_limit_is_overloaded_and_others_keep_serving() {
    const LIMIT: usize = 4;
    let claw = Claw::new();
    place(&claw, "sleepy");
    claw.write_config(
        &json!({
            "plugins": {"limits": {"maxConcurrent": LIMIT}},
            "agents": {"defaults": {"failover": {"cooldownMs": 0}}},
        })
        .to_string(),
    );
    let gw = GatewayProc::start(&claw, &[]);

    // LIMIT streams stalled in the plugin, each holding an instance.
    let started = Instant::now();
    let held: Vec<_> = (0..LIMIT)
        .map(|_| open_stream(&gw, "sleepy/sleepy"))
        .collect();
    println!(
        "{LIMIT} stalled sleepy streams open after {} ms",
        started.elapsed().as_millis()
    );

    // One more is refused as overloaded, promptly, and names the plugin and the limit.
    let (outcome, ms) = infer(&gw, "sleepy/sleepy");
    assert_eq!(outcome["ok"], false, "{outcome:#}");
    let attempt = &outcome["attempts"][0];
    assert_eq!(attempt["reason"], "overloaded", "{outcome:#}");
    let error = attempt["error"].as_str().unwrap();
    assert!(
        error.contains("plugin \"sleepy\" is overloaded")
            && error.contains(&format!("all {LIMIT} of its concurrent calls are in use"))
            && error.contains("plugins.limits.maxConcurrent"),
        "{error}"
    );
    assert!(!error.contains("crashed"), "{error}");
    println!(
        "sleepy call {} of {LIMIT}: {error} (after {ms} ms)",
        LIMIT + 1
    );
    assert!(ms < 5_000, "the refusal took {ms} ms");

    // Through the API, it is an overload with a retry hint, not a server error.
    let auth = gw.auth();
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &json!({"model": "sleepy/sleepy", "messages": [{"role": "user", "content": "hello"}]})
            .to_string(),
    );
    println!(
        "/v1/chat/completions for sleepy: HTTP {} {}",
        r.status, r.body
    );
    assert!(
        matches!(r.status, 429 | 503 | 529),
        "HTTP {} {}",
        r.status,
        r.body
    );
    assert!(r.body.contains("overloaded"), "{}", r.body);

    // An unrelated plugin is served as usual, and the overloaded one is not
    // counted as faulty.
    for _ in 0..3 {
        let (outcome, _) = infer(&gw, "echo/echo-1");
        assert_eq!(outcome["ok"], true, "{outcome:#}");
        assert_eq!(outcome["outputs"][0]["text"], "hello");
    }
    let list = claw.run(&["plugins", "list", "--json"]).json();
    let sleepy = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "sleepy")
        .unwrap()
        .clone();
    assert_eq!(sleepy["health"], "ok", "{sleepy:#}");
    drop(held);
}

/// 300 streams stalled on one plugin (its default limit held, the rest sent at
/// once): the rest are refused as overloaded, and another plugin keeps serving.
#[test]
fn three_hundred_stalled_streams_beside_a_healthy_plugin() {
    const LIMIT: usize = 64; // the default plugins.limits.maxConcurrent
    let claw = Claw::new();
    place(&claw, "sleepy");
    let gw = GatewayProc::start(&claw, &[]);
    let started = Instant::now();
    let held: Vec<_> = (0..LIMIT)
        .map(|_| open_stream(&gw, "sleepy/sleepy"))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (LIMIT..300)
            .map(|_| {
                s.spawn(|| {
                    let auth = gw.auth();
                    let body = json!({"model": "sleepy/sleepy", "stream": true,
                        "messages": [{"role": "user", "content": "hello"}]});
                    gw.request(
                        "POST",
                        "/v1/chat/completions",
                        &[
                            ("authorization", &auth),
                            ("content-type", "application/json"),
                        ],
                        &body.to_string(),
                    )
                    .status
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    println!(
        "300 sleepy streams: {LIMIT} held, {} refused with {:?}, in {} ms",
        statuses.len(),
        statuses.iter().collect::<std::collections::BTreeSet<_>>(),
        started.elapsed().as_millis()
    );
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    let echo = Instant::now();
    for _ in 0..3 {
        let (outcome, _) = infer(&gw, "echo/echo-1");
        assert_eq!(outcome["ok"], true, "{outcome:#}");
    }
    println!(
        "echo beside them: 3/3 ok in {} ms",
        echo.elapsed().as_millis()
    );
    drop(held);
}

#[test]
fn a_stack_overflow_in_a_plugin_says_it_ran_out_of_stack() {
    let claw = Claw::new();
    place(&claw, "recurse");
    claw.write_config(
        &json!({
            "agents": {"defaults": {"model": {"fallbacks": ["echo/echo-1"]}, "failover": {"cooldownMs": 0}}},
        })
        .to_string(),
    );
    let gw = GatewayProc::start(&claw, &[]);
    let (outcome, _) = infer(&gw, "recurse/recurse");
    let attempt = &outcome["attempts"][0];
    assert_eq!(attempt["reason"], "plugin_trap", "{outcome:#}");
    let error = attempt["error"].as_str().unwrap();
    assert_eq!(
        error,
        "plugin \"recurse\" crashed during chat: ran out of stack (infinite recursion?)"
    );
    println!("recurse: {error}");
    assert_eq!(outcome["attempts"][1]["outcome"], "success", "{outcome:#}");
    assert_eq!(outcome["outputs"][0]["text"], "hello");
}

/// A loopback stand-in that answers every request with `pong`, counting them.
fn pong_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = std::io::BufReader::new(conn);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = reader.get_mut().write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
            );
        }
    });
    (port, hits)
}

#[test]
fn a_granted_name_reaches_loopback_only_when_the_user_configured_that_url() {
    use std::sync::atomic::Ordering;
    let (port, hits) = pong_server();
    let claw = Claw::new();
    let wasm = fixture("fetch.wasm");
    let with_hosts = |hosts: &str| {
        let manifest = fixture_manifest("fetch").replace(r#"hosts = ["localhost"]"#, hosts);
        claw.place_plugin("fetch", Some(&manifest), Some(("fetch.wasm", &wasm)));
    };
    let url = format!("http://localhost:{port}/ping");
    // The provider must be configured; its base URL elsewhere grants nothing here.
    let elsewhere = json!({"models": {"providers": {"fetch": {
        "baseUrl": "https://api.example.com", "api": "fetch", "models": [{"id": "fetch-1"}],
    }}}});
    let fetch = |config: Value| -> Value {
        claw.write_config(&config.to_string());
        let run = claw.run(&[
            "infer",
            "model",
            "run",
            "--model",
            "fetch/fetch-1",
            "--prompt",
            &url,
            "--json",
        ]);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr))
    };
    let error_of = |outcome: &Value| -> String {
        assert_eq!(outcome["ok"], false, "{outcome:#}");
        assert_eq!(outcome["attempts"][0]["reason"], "network", "{outcome:#}");
        outcome["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // The manifest grants the name `localhost` on this very port, but the name
    // resolves to loopback, which a manifest alone never reaches.
    with_hosts(&format!(r#"hosts = ["localhost:{port}"]"#));
    let error = error_of(&fetch(elsewhere.clone()));
    println!("manifest grants localhost:{port} only: {error}");
    assert!(
        error.starts_with(
            "plugin \"fetch\": request to localhost failed: the claw host denied the request"
        ),
        "{error}"
    );
    assert!(
        error.contains(&format!("localhost on port {port} resolves to "))
            && error.contains("a loopback address")
            && (error.contains(&format!("127.0.0.1:{port}"))
                || error.contains(&format!("[::1]:{port}"))),
        "{error}"
    );
    // A declared host without a port means 443 and 80.
    with_hosts(r#"hosts = ["localhost"]"#);
    let error = error_of(&fetch(elsewhere.clone()));
    println!("manifest grants localhost: {error}");
    assert!(
        error.contains(&format!(
            "localhost on port {port}: that port is not granted"
        )),
        "{error}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the stand-in was reached");

    // The same URL, configured by the user as the provider's base URL, works.
    let outcome = fetch(json!({"models": {"providers": {"fetch": {
        "baseUrl": format!("http://localhost:{port}"), "api": "fetch", "models": [{"id": "fetch-1"}],
    }}}}));
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    assert_eq!(outcome["outputs"][0]["text"], "pong");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
