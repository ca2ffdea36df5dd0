//! Scoped client tokens and device pairing (issue 17): a device pairs with
//! the scopes it needs, the owner approves it with `claw devices`, its token
//! works for those scopes only, revoke cuts it off, per-device limits answer
//! 429 with Retry-After, and the pairing state survives restarts and kill -9.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Claw;
use crate::support::gateway::GatewayProc;

/// A request with `token` (or none) on a fresh connection: status, headers, JSON.
fn send(
    gw: &GatewayProc,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = gw.request(method, path, &headers, &body);
    let retry = r.headers.get("retry-after").cloned();
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::String(r.body)),
        retry,
    )
}

fn pair(gw: &GatewayProc, token: Option<&str>, device: &str, scopes: &[&str]) -> String {
    let (status, body, _) = send(
        gw,
        "POST",
        "/pair",
        token,
        &json!({"deviceId": device, "name": format!("{device} device"), "scopes": scopes}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending", "{body}");
    body["requestId"].as_str().unwrap().to_string()
}

fn poll(gw: &GatewayProc, request: &str) -> Value {
    let (status, body, _) = send(gw, "GET", &format!("/pair/{request}"), None, &Value::Null);
    assert_eq!(status, 200, "{body}");
    body
}

/// Pair `device` with `scopes`, approved by the owner with the CLI; its token.
fn paired(claw: &Claw, gw: &GatewayProc, device: &str, scopes: &[&str]) -> String {
    let request = pair(gw, None, device, scopes);
    claw.run(&["devices", "approve", &request]).ok();
    let body = poll(gw, &request);
    assert_eq!(body["status"], "approved", "{body}");
    body["token"].as_str().expect("the token, once").to_string()
}

fn chat(gw: &GatewayProc, token: &str, text: &str) -> (u16, Value, Option<String>) {
    send(
        gw,
        "POST",
        "/v1/chat/completions",
        Some(token),
        &json!({"model": "echo/echo-1", "messages": [{"role": "user", "content": text}]}),
    )
}

#[test]
fn a_paired_client_asking_for_more_every_50_ms_is_approved_the_first_time_with_one_pending_row() {
    let claw = Claw::new();
    let gw = Arc::new(GatewayProc::start(&claw, &[]));
    let first = paired(&claw, &gw, "phone", &["operator.read"]);
    let (status, _, _) = send(&gw, "GET", "/admin/status", Some(&first), &Value::Null);
    assert_eq!(status, 200);

    let ids = Arc::new(Mutex::new(BTreeSet::new()));
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let askers: Vec<_> = (0..4)
        .map(|_| {
            let (gw, ids, tokens, done, first) = (gw.clone(), ids.clone(), tokens.clone(), done.clone(), first.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut mine: Option<String> = None;
                while !done.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                    let (status, body, _) = send(&gw, "POST", "/pair", Some(&first),
                        &json!({"deviceId": "phone", "name": "phone device", "scopes": ["operator.read", "operator.approvals"]}));
                    assert_eq!(status, 200, "{body}");
                    if body["status"] == "pending" {
                        let id = body["requestId"].as_str().unwrap().to_string();
                        ids.lock().unwrap().insert(id.clone());
                        mine = Some(id);
                    }
                    // The client polls its request for the decision.
                    if let Some(id) = &mine {
                        let polled = poll(&gw, id);
                        if let Some(t) = polled["token"].as_str() {
                            tokens.lock().unwrap().push(t.to_string());
                            done.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    // While it waits, its current token keeps its current scopes.
    assert_eq!(
        send(&gw, "GET", "/admin/status", Some(&first), &Value::Null).0,
        200
    );
    let mut pending_id = None;
    for _ in 0..3 {
        let list = claw.run(&["devices", "list", "--json"]).json();
        let rows = list["pending"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1, "one pending row, never more: {list:#}");
        assert_eq!(rows[0]["deviceId"], "phone");
        pending_id = Some(rows[0]["requestId"].as_str().unwrap().to_string());
        std::thread::sleep(Duration::from_millis(120));
    }
    let pending_id = pending_id.unwrap();
    let approve = claw.run(&["devices", "approve", &pending_id]);
    assert!(
        approve.ok().contains("Approved phone"),
        "{}",
        approve.stdout
    );
    for a in askers {
        a.join().unwrap();
    }
    assert_eq!(
        *ids.lock().unwrap(),
        BTreeSet::from([pending_id.clone()]),
        "every ask got the same request id"
    );
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 1, "the token is handed over once");
    let list = claw.run(&["devices", "list", "--json"]).json();
    assert_eq!(list["pending"], json!([]));
    let phone = list["paired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == "phone")
        .unwrap()
        .clone();
    assert_eq!(
        phone["scopes"],
        json!(["operator.read", "operator.approvals"]),
        "{phone:#}"
    );
    assert_eq!(
        send(&gw, "GET", "/admin/status", Some(&tokens[0]), &Value::Null).0,
        200
    );
    let log = gw.log();
    let approvals = log
        .lines()
        .filter(|l| l.contains("pairing decision") && l.contains("approve"))
        .count();
    assert_eq!(
        approvals, 2,
        "one log line per decision (the first pairing, the upgrade):\n{log}"
    );
    assert!(
        !list.to_string().contains(&tokens[0]),
        "list never shows a token"
    );
}

#[test]
fn an_inference_token_chats_is_refused_the_admin_api_by_scope_and_revoke_cuts_it_off() {
    let claw = Claw::new();
    let gw = GatewayProc::start(&claw, &[]);
    let token = paired(&claw, &gw, "bot", &["inference"]);
    let (status, body, _) = chat(&gw, &token, "hello there");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "hello there");
    let (status, body, _) = send(&gw, "GET", "/admin/status", Some(&token), &Value::Null);
    assert_eq!(status, 403, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("lacks the `operator.read` scope that GET /admin/status needs"),
        "{message}"
    );
    // An unknown scope is named.
    let (status, body, _) = send(
        &gw,
        "POST",
        "/pair",
        None,
        &json!({"deviceId": "x", "name": "x", "scopes": ["root"]}),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown scope \"root\""),
        "{body}"
    );
    // Another client cannot take over a paired id.
    let (status, _, _) = send(
        &gw,
        "POST",
        "/pair",
        None,
        &json!({"deviceId": "bot", "name": "evil", "scopes": ["operator.admin"]}),
    );
    assert_eq!(status, 403);

    claw.run(&["devices", "revoke", "bot"]).ok();
    let (status, body, _) = chat(&gw, &token, "again");
    assert_eq!(status, 401, "{body}");
    // The owner's token of before keeps every scope.
    assert_eq!(
        send(&gw, "GET", "/admin/status", Some(&gw.token), &Value::Null).0,
        200
    );
}

#[test]
fn a_client_over_its_request_rate_gets_429_with_retry_after_while_another_is_served() {
    let claw = Claw::new();
    claw.write_config(
        &json!({"gateway": {"clients": {"devices": {"slow": {"requestsPerMinute": 3}}}}})
            .to_string(),
    );
    let gw = GatewayProc::start(&claw, &[]);
    let slow = paired(&claw, &gw, "slow", &["inference"]);
    let fast = paired(&claw, &gw, "fast", &["inference"]);
    for n in 0..3 {
        assert_eq!(chat(&gw, &slow, &format!("slow {n}")).0, 200);
    }
    let (status, body, retry) = chat(&gw, &slow, "one too many");
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body["error"]["code"], "rate_limit_exceeded",
        "OpenAI's error shape: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over its limit of 3 requests a minute"),
        "{body}"
    );
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    for n in 0..5 {
        assert_eq!(
            chat(&gw, &fast, &format!("fast {n}")).0,
            200,
            "the other client is served"
        );
    }
    let list = claw.run(&["devices", "list", "--json"]).json();
    let slow_row = list["paired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == "slow")
        .unwrap()
        .clone();
    assert_eq!(slow_row["usage"]["requestsLastMinute"], 3, "{slow_row:#}");
    assert_eq!(
        slow_row["usage"]["limits"]["requestsPerMinute"], 3,
        "{slow_row:#}"
    );
    let table = claw.run(&["devices", "list"]);
    assert!(table.ok().contains("3/3 req/min"), "{}", table.stdout);
}

#[test]
fn pairing_state_survives_a_restart_and_kill_9_in_the_middle_of_approvals() {
    let claw = Claw::new();
    let gw = GatewayProc::start(&claw, &[]);
    let requests: Vec<String> = (0..12)
        .map(|n| pair(&gw, None, &format!("dev-{n}"), &["inference"]))
        .collect();
    drop(gw);
    // Approvals by the CLI (no gateway), each killed at some point of its run.
    for (n, request) in requests.iter().enumerate() {
        let mut child = std::process::Command::new(crate::support::CLAW)
            .args(["devices", "approve", request])
            .env("CLAW_STATE_DIR", claw.dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis((n as u64 * 3) % 25));
        let _ = child.kill();
        let _ = child.wait();
    }
    // The store is whole: every request is pending or paired, none lost.
    let list = claw.run(&["devices", "list", "--json"]).json();
    let pending = list["pending"].as_array().unwrap().len();
    let paired = list["paired"].as_array().unwrap().len();
    assert_eq!(pending + paired, 12, "{list:#}");
    for request in &requests {
        let _ = claw.run(&["devices", "approve", request]);
    }
    let gw = GatewayProc::start(&claw, &[]);
    let tokens: Vec<String> = requests
        .iter()
        .map(|r| {
            poll(&gw, r)["token"]
                .as_str()
                .expect("each approved token, once")
                .to_string()
        })
        .collect();
    for t in &tokens {
        assert_eq!(chat(&gw, t, "still here").0, 200);
    }
    // A restart keeps every pairing.
    let gw = {
        drop(gw);
        GatewayProc::start(&claw, &[])
    };
    for t in &tokens {
        assert_eq!(chat(&gw, t, "after restart").0, 200);
    }
    assert_eq!(claw.mode("devices"), 0o700);
    assert_eq!(claw.mode("devices/devices.json"), 0o600);
}
