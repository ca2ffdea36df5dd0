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
