//! End to end: the real gateway on loopback, driven by raw HTTP, by the official
//! `openai` and `anthropic` Python packages, and by `claw` itself.

#[path = "gateway/devices.rs"]
mod devices;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::Claw;
use support::clients::python_sdks;
use support::gateway::{GatewayProc, signal};
use support::upstream::{Behavior, Upstream, cut_text, exchange};

/// minimax (Anthropic API) primary with lmstudio (OpenAI API) as fallback, both
/// on the stand-in; echo needs nothing.
fn config(upstream: &Upstream) -> Value {
    json!({
        "models": {"providers": {
            "minimax": {"baseUrl": format!("{}/anthropic", upstream.url()), "apiKey": "sk-upstream-secret"},
            "lmstudio": {"baseUrl": format!("{}/v1", upstream.url()), "models": [{"id": "qwen3-8b"}]},
        }},
        "agents": {"defaults": {"model": {"primary": "minimax/MiniMax-M2.1", "fallbacks": ["lmstudio/qwen3-8b"]}}},
        "gateway": {"maxBodyBytes": 65536},
    })
}

fn gateway_with(upstream: &Upstream) -> (Claw, GatewayProc) {
    let claw = Claw::new();
    claw.write_config(&config(upstream).to_string());
    let gw = GatewayProc::start(&claw, &[]);
    (claw, gw)
}

/// The `data:` payloads of an SSE body, with their `event:` names.
fn sse(body: &str) -> Vec<(Option<String>, String)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty() && !block.starts_with(':'))
        .map(|block| {
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .map(String::from);
            let data = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect::<Vec<_>>()
                .join("\n");
            (event, data)
        })
        .collect()
}

#[test]
fn openai_chat_completions_answer_with_and_without_streaming() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    let (status, body) = gw.call(
        "POST",
        "/v1/chat/completions",
        &json!({"model": "minimax/MiniMax-M2.1", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "minimax/MiniMax-M2.1");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from MiniMax-M2.1"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    let auth = gw.auth();
    let r = gw.request("POST", "/v1/chat/completions", &[("authorization", &auth)],
        &json!({"model": "minimax/MiniMax-M2.1", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]}).to_string());
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("text/event-stream")
    );
    let frames = sse(&r.body);
    assert_eq!(frames.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = frames
        .iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from MiniMax-M2.1");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    assert!(
        chunks.last().unwrap()["usage"]["total_tokens"]
            .as_u64()
            .unwrap()
            > 0,
        "usage chunk last"
    );
    assert!(r.chunks.len() > 2, "the reply streamed in several chunks");

    let (status, models) = gw.call("GET", "/v1/models", &Value::Null);
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    for id in ["echo/echo-1", "minimax/MiniMax-M2.1", "lmstudio/qwen3-8b"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn plugins_reuse_kept_alive_upstream_connections() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    // Both plugins talk to the same stand-in, so they share its connections.
    for model in ["minimax/MiniMax-M2.1", "lmstudio/qwen3-8b"].repeat(4) {
        let (status, body) = gw.call(
            "POST",
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(upstream.requests().len(), 8);
    // One connection, or two if a request starts before the previous one's
    // connection is back in the pool; never one per request.
    let connections = upstream.connections();
    assert!(
        (1..=2).contains(&connections),
        "8 upstream requests used {connections} connections"
    );
}

#[test]
fn anthropic_messages_answer_with_and_without_streaming_and_accept_x_api_key() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    let request = json!({"model": "minimax/MiniMax-M2.1", "max_tokens": 64, "system": "be brief", "messages": [{"role": "user", "content": "hi"}]});
    let r = gw.request(
        "POST",
        "/v1/messages",
        &[
            ("x-api-key", &gw.token),
            ("anthropic-version", "2023-06-01"),
        ],
        &request.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(
        body["content"][0],
        json!({"type": "text", "text": "Hello from MiniMax-M2.1"})
    );
    assert_eq!(body["stop_reason"], "end_turn");
    // The system prompt reached the upstream.
    assert_eq!(
        upstream.requests().last().unwrap().body["system"],
        "be brief"
    );

    let mut streaming = request.clone();
    streaming["stream"] = json!(true);
    let r = gw.request(
        "POST",
        "/v1/messages",
        &[("x-api-key", &gw.token)],
        &streaming.to_string(),
    );
    assert_eq!(r.status, 200);
    let events: Vec<String> = sse(&r.body)
        .into_iter()
        .filter_map(|(e, _)| e)
        .filter(|e| e != "ping")
        .collect();
    assert_eq!(events.first().map(String::as_str), Some("message_start"));
    assert_eq!(events.last().map(String::as_str), Some("message_stop"));
    assert!(
        events.contains(&"content_block_delta".to_string())
            && events.contains(&"message_delta".to_string()),
        "{events:?}"
    );
    let text: String = sse(&r.body)
        .iter()
        .filter(|(e, _)| e.as_deref() == Some("content_block_delta"))
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["delta"]["text"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(text, "Hello from MiniMax-M2.1");
}

#[test]
fn requests_fail_over_through_the_gateway_before_content_only() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    let (claw, gw) = gateway_with(&upstream);
    let (status, body) = gw.call("POST", "/v1/chat/completions", &json!({"model": "minimax/MiniMax-M2.1", "stream": false, "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from qwen3-8b"
    );
    assert!(
        gw.log().contains("minimax/MiniMax-M2.1=overloaded"),
        "the request log names the attempts:\n{}",
        gw.log()
    );

    drop((claw, gw));
}

#[test]
fn a_stream_cut_after_content_ends_with_an_error_event_and_total_failure_gets_a_status() {
    // Cut after content: the stream ends with an error event, no switch.
    let upstream2 = Upstream::start();
    upstream2.behave("MiniMax-M2.1", Behavior::CutAfter { words: 3 });
    let (_claw, gw) = gateway_with(&upstream2);
    let r = gw.request("POST", "/v1/messages", &[("x-api-key", &gw.token)],
        &json!({"model": "minimax/MiniMax-M2.1", "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string());
    assert_eq!(r.status, 200);
    let frames = sse(&r.body);
    let (last_event, last_data) = frames.last().unwrap();
    assert_eq!(last_event.as_deref(), Some("error"), "{}", r.body);
    assert_eq!(
        serde_json::from_str::<Value>(last_data).unwrap()["type"],
        "error"
    );
    let text: String = frames
        .iter()
        .filter(|(e, _)| e.as_deref() == Some("content_block_delta"))
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["delta"]["text"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(text, cut_text(3));
    assert_eq!(
        upstream2.count("qwen3-8b"),
        0,
        "no silent switch after content"
    );

    // Everything failing before content: a real error status, in the API's shape.
    upstream2.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    upstream2.behave(
        "qwen3-8b",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    let r = gw.request("POST", "/v1/messages", &[("x-api-key", &gw.token)],
        &json!({"model": "minimax/MiniMax-M2.1", "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string());
    assert_eq!(r.status, 529, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("All models failed (2)"),
        "{body}"
    );
    assert!(!r.body.contains("sk-upstream-secret"));
}

#[test]
fn bad_requests_get_clear_errors_in_each_apis_shape() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    let chat = json!({"model": "echo/echo-1", "messages": [{"role": "user", "content": "hi"}]})
        .to_string();

    let r = gw.request("POST", "/v1/chat/completions", &[], &chat);
    assert_eq!(r.status, 401);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing or wrong gateway token"),
        "{body}"
    );
    let r = gw.request("POST", "/v1/messages", &[("x-api-key", "wrong")], &chat);
    assert_eq!(r.status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["error"]["type"],
        "authentication_error"
    );
    assert_eq!(
        gw.request("GET", "/health", &[], "").status,
        200,
        "health needs no token"
    );

    let auth = gw.auth();
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth)],
        "{\"model\": ",
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("body is not valid JSON"), "{}", r.body);
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &json!({"messages": []}).to_string(),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("`model`"), "{}", r.body);
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &json!({"model": "nope/x", "messages": [{"role": "user", "content": "hi"}]}).to_string(),
    );
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains("Unknown model \\\"nope/x\\\""),
        "{}",
        r.body
    );
    let big = json!({"model": "echo/echo-1", "messages": [{"role": "user", "content": "x".repeat(100_000)}]}).to_string();
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &big,
    );
    assert_eq!(r.status, 413);
    assert!(r.body.contains("larger than 65536 bytes"), "{}", r.body);
}

#[test]
fn the_official_python_sdks_work_unchanged() {
    let python = python_sdks();
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    let script = r#"
import sys, openai, anthropic
url, token = sys.argv[1], sys.argv[2]
o = openai.OpenAI(base_url=url + "/v1", api_key=token)
r = o.chat.completions.create(model="minimax/MiniMax-M2.1", messages=[{"role": "user", "content": "hi"}])
print("openai:", r.choices[0].message.content)
s = o.chat.completions.create(model="echo/echo-1", messages=[{"role": "user", "content": "streamed words here"}], stream=True, stream_options={"include_usage": True})
print("openai-stream:", "".join(c.choices[0].delta.content or "" for c in s if c.choices))
print("models:", len(o.models.list().data) > 0)
a = anthropic.Anthropic(base_url=url, api_key=token)
m = a.messages.create(model="minimax/MiniMax-M2.1", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
print("anthropic:", m.content[0].text)
with a.messages.stream(model="echo/echo-1", max_tokens=64, messages=[{"role": "user", "content": "more streamed words"}]) as st:
    print("anthropic-stream:", "".join(st.text_stream))
try:
    openai.OpenAI(base_url=url + "/v1", api_key="wrong").chat.completions.create(model="echo/echo-1", messages=[{"role": "user", "content": "x"}])
except openai.AuthenticationError as e:
    print("openai-401:", e.status_code)
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(gw.url())
        .arg(&gw.token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "openai: Hello from MiniMax-M2.1",
        "openai-stream: streamed words here",
        "models: True",
        "anthropic: Hello from MiniMax-M2.1",
        "anthropic-stream: more streamed words",
        "openai-401: 401",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in:\n{stdout}"
        );
    }
}

#[test]
fn reload_under_load_drops_no_request_while_a_plugin_breaks_and_is_fixed() {
    let claw = Claw::new();
    // A second provider plugin, installed, that will break and be fixed.
    let net = support::fixture("net_plugin.wasm");
    let dir = claw.place_plugin(
        "net-plugin",
        Some(&support::fixture_manifest("net-plugin")),
        Some(("net_plugin.wasm", &net)),
    );
    let gw = GatewayProc::start(&claw, &[]);
    let url = format!("127.0.0.1:{}", gw.port);
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::new()));
    const TOTAL: usize = 2_000;
    const CLIENTS: usize = 8;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (url, auth, done, failed) = (url.clone(), gw.auth(), done.clone(), failed.clone());
            std::thread::spawn(move || {
                let stream = std::net::TcpStream::connect(&url).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut conn = std::io::BufReader::new(stream);
                for n in (i..TOTAL).step_by(CLIENTS) {
                    let body = json!({"model": "echo/echo-1", "messages": [{"role": "user", "content": format!("request {n}")}]}).to_string();
                    let r = exchange(&mut conn, &url, "POST", "/v1/chat/completions", &[("authorization", &auth)], &body);
                    let text = serde_json::from_str::<Value>(&r.body).ok().and_then(|v| v["choices"][0]["message"]["content"].as_str().map(String::from));
                    if r.status != 200 || text.as_deref() != Some(format!("request {n}").as_str()) {
                        failed.lock().unwrap().push(format!("#{n}: HTTP {} {}", r.status, r.body));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let wait_for = |n: usize| {
        while done.load(Ordering::Relaxed) < n {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let restart = |expect_ok: bool| -> Value {
        let run = claw.run(&["gateway", "restart", "--json"]);
        let summary = run.json();
        assert_eq!(summary["ok"], expect_ok, "{summary:#}");
        summary
    };
    wait_for(300);
    restart(true);
    // Break the installed plugin: it is reported, the rest keep serving.
    std::fs::write(dir.join("net_plugin.wasm"), b"not wasm at all").unwrap();
    wait_for(700);
    let broken = restart(false);
    assert_eq!(broken["errors"][0]["id"], "net-plugin");
    assert!(
        broken["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not WebAssembly"),
        "{broken:#}"
    );
    // SIGHUP reloads too.
    wait_for(1_100);
    signal(&gw.child, 1);
    // Fix it: the rebuilt plugin comes back as changed.
    wait_for(1_400);
    std::fs::write(dir.join("net_plugin.wasm"), &net).unwrap();
    let fixed = restart(true);
    assert!(
        fixed["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "net-plugin")
            || fixed["added"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == "net-plugin"),
        "{fixed:#}"
    );
    assert!(fixed["tookMs"].as_f64().is_some());
    for w in workers {
        w.join().unwrap();
    }
    let failed = failed.lock().unwrap();
    assert!(
        failed.is_empty(),
        "{} of {TOTAL} requests failed during reloads, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(done.load(Ordering::Relaxed), TOTAL);
    assert!(gw.log().contains("SIGHUP: reloading"), "{}", gw.log());
}

#[test]
fn the_cli_manages_the_background_gateway_and_uses_it() {
    let claw = Claw::new();
    claw.write_config(r#"{"gateway": {"port": 0}}"#);
    let start = claw.run(&["gateway", "start"]);
    assert!(
        start.ok().contains("Gateway started at http://127.0.0.1:"),
        "{}",
        start.stdout
    );
    let status = claw.run(&["gateway", "status", "--json"]).json();
    assert_eq!(status["running"], true);
    assert_eq!(status["plugins"]["loaded"], 5);

    // Commands go through the running gateway, and say so with --verbose.
    let list = claw.run(&["plugins", "list", "--verbose"]);
    assert!(list.ok().contains("echo"), "{}", list.stdout);
    assert!(
        list.stderr
            .contains("(via the gateway at http://127.0.0.1:"),
        "{}",
        list.stderr
    );
    let infer = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "echo/echo-1",
        "--prompt",
        "via the gateway",
        "--json",
        "--verbose",
    ]);
    assert_eq!(infer.json()["outputs"][0]["text"], "via the gateway");
    assert!(
        infer.stderr.contains("(via the gateway"),
        "{}",
        infer.stderr
    );
    let disable = claw.run(&["plugins", "disable", "echo"]);
    assert!(
        disable.ok().contains("the gateway reloaded"),
        "{}",
        disable.stdout
    );
    let list = claw.run(&["plugins", "list", "--json"]).json();
    let echo = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "echo")
        .unwrap()
        .clone();
    assert_eq!(echo["status"], "disabled");

    let stop = claw.run(&["gateway", "stop"]);
    assert!(stop.ok().contains("Stopped the gateway"), "{}", stop.stdout);
    let status = claw.run(&["gateway", "status"]);
    assert_eq!(status.code, 1);
    assert!(status.stdout.contains("No gateway is running"));
    let restart = claw.run(&["gateway", "restart"]);
    assert_eq!(restart.code, 1);
    assert!(
        restart
            .stderr
            .contains("no gateway is running; start one with `claw gateway start`")
    );
    // Without a gateway the CLI works in-process.
    let list = claw.run(&["plugins", "list", "--verbose"]);
    assert!(list.stderr.contains("(in-process"), "{}", list.stderr);
}

#[test]
fn a_non_loopback_bind_needs_a_configured_token() {
    let claw = Claw::new();
    let run = claw.run(&["gateway", "run", "--bind", "0.0.0.0", "--port", "0"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "refusing to listen on 0.0.0.0: a non-loopback address needs a configured token"
        ),
        "{}",
        run.stderr
    );
}

// ---- Hardening (issue 12): connections, streams, hosts, limits, file modes ----

/// The gateway of `config(upstream)` with these `gateway` settings added.
fn gateway_configured(upstream: &Upstream, gateway: Value, extra: &[&str]) -> (Claw, GatewayProc) {
    let claw = Claw::new();
    let mut cfg = config(upstream);
    for (k, v) in gateway.as_object().unwrap() {
        cfg["gateway"][k] = v.clone();
    }
    claw.write_config(&cfg.to_string());
    let gw = GatewayProc::start(&claw, extra);
    (claw, gw)
}

/// Wait until the peer closes `conn` (EOF or reset); how long that took, or
/// None if it was still open after `limit`.
fn closed_within(conn: &mut std::net::TcpStream, limit: Duration) -> Option<Duration> {
    use std::io::Read;
    let start = std::time::Instant::now();
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return None;
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

#[test]
fn half_open_and_idle_connections_are_closed_after_the_header_timeout() {
    use std::io::Write;
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_configured(&upstream, json!({"headerTimeoutMs": 500}), &[]);
    let mut conns = Vec::new();
    for i in 0..25 {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
        // 20 send half a request head, 5 send nothing at all.
        if i < 20 {
            c.write_all(
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: appl",
            )
            .unwrap();
        }
        conns.push(c);
    }
    // And one that is kept alive after a request, then idles.
    let mut kept = gw.connect();
    let auth = gw.auth();
    let r = exchange(
        &mut kept,
        &format!("127.0.0.1:{}", gw.port),
        "GET",
        "/v1/models",
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(r.status, 200);
    conns.push(kept.into_inner());
    let mut slowest = Duration::ZERO;
    for (i, c) in conns.iter_mut().enumerate() {
        let took = closed_within(c, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("connection {i} was still open after 5 s"));
        slowest = slowest.max(took);
    }
    eprintln!("26 half-open/idle connections closed; the last after {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
    let (status, _) = gw.call("GET", "/v1/models", &Value::Null);
    assert_eq!(status, 200, "the gateway still serves");
}

#[test]
fn connections_past_the_cap_get_a_503_and_are_closed() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_configured(
        &upstream,
        json!({"maxConnections": 8, "headerTimeoutMs": 30000}),
        &[],
    );
    let mut held: Vec<_> = (0..8)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let auth = gw.auth();
    let host = format!("127.0.0.1:{}", gw.port);
    for _ in 0..3 {
        let mut conn = gw.connect();
        let r = exchange(
            &mut conn,
            &host,
            "GET",
            "/v1/models",
            &[("authorization", &auth)],
            "",
        );
        assert_eq!(r.status, 503, "{}", r.body);
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("gateway.maxConnections"), "{message}");
        assert!(
            closed_within(conn.get_mut(), Duration::from_secs(2)).is_some(),
            "a refused connection is closed, not held"
        );
    }
    // A free slot serves again.
    held.pop();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut conn = gw.connect();
        let r = exchange(
            &mut conn,
            &host,
            "GET",
            "/v1/models",
            &[("authorization", &auth)],
            "",
        );
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no slot came free: {}",
            r.status
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gw.log().contains("refused a connection"), "{}", gw.log());
}

#[test]
fn out_of_file_descriptors_the_gateway_backs_off_logs_little_and_recovers() {
    let upstream = Upstream::start();
    let claw = Claw::new();
    claw.write_config(&config(&upstream).to_string());
    let gw = GatewayProc::start_with_fd_limit(&claw, 64, &[]);
    // Far more than 64: the rest wait in the listen backlog while accept fails.
    let conns: Vec<_> = (0..150)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let log = gw.log();
    let lines = log.lines().filter(|l| l.contains("accept failed")).count();
    eprintln!("accept lines in 3 s out of file descriptors: {lines}");
    assert!(
        lines >= 1,
        "accept never failed; raise the connection count:\n{log}"
    );
    assert!(lines <= 5, "{lines} accept lines in 3 s");
    drop(conns);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = std::net::TcpStream::connect(("127.0.0.1", gw.port))
            .ok()
            .map(|s| {
                s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                let mut conn = std::io::BufReader::new(s);
                let auth = gw.auth();
                exchange(
                    &mut conn,
                    &format!("127.0.0.1:{}", gw.port),
                    "GET",
                    "/v1/models",
                    &[("authorization", &auth)],
                    "",
                )
                .status
            });
        if r == Some(200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gateway did not recover"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A streaming request for `model` on a raw connection; returns the socket
/// once `first` bytes of the reply arrived (0: nothing is read at all).
fn open_stream(gw: &GatewayProc, model: &str, first: usize) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let body =
        json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]})
            .to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nauthorization: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        gw.port,
        gw.auth(),
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = 0;
    let mut buf = [0u8; 4096];
    while got < first {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended early");
        got += n;
    }
    s
}

#[test]
fn a_client_that_leaves_mid_stream_ends_the_upstream_stream() {
    let upstream = Upstream::start();
    // 1000 deltas, 15 ms apart: 15 s if nobody stops it.
    upstream.behave("MiniMax-M2.1", Behavior::Reply(cut_text(2000)));
    let (_claw, gw) = gateway_with(&upstream);
    let conn = open_stream(&gw, "minimax/MiniMax-M2.1", 2000);
    let left = std::time::Instant::now();
    drop(conn);
    let deadline = left + Duration::from_secs(10);
    let ended = loop {
        if let Some(&at) = upstream.cancelled_streams().first() {
            break at;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upstream stream ran on"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = ended.saturating_duration_since(left);
    eprintln!("the upstream stream ended {took:?} after the client left");
    assert_eq!(upstream.finished_streams(), 0);
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(gw.log().contains("the client went away"), "{}", gw.log());
}

#[test]
fn clients_that_do_not_read_cost_the_gateway_little_memory() {
    let upstream = Upstream::start();
    upstream.behave("MiniMax-M2.1", Behavior::Reply("warm".into()));
    upstream.behave("qwen3-8b", Behavior::Reply("warm".into()));
    let (_claw, gw) = gateway_with(&upstream);
    // Warm up both plugins: instances, pools, the upstream connections.
    for model in ["lmstudio/qwen3-8b", "minimax/MiniMax-M2.1"] {
        let (status, _) = gw.call("POST", "/v1/chat/completions",
            &json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(status, 200);
    }
    // ~200 MB per request if the gateway buffered it all.
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Flood {
            events: 200_000,
            bytes: 1024,
        },
    );
    // The stand-in counts a stream finished after its last pause.
    std::thread::sleep(Duration::from_millis(300));
    let (before, warm) = (gw.rss_kib(), upstream.finished_streams());
    let clients: Vec<_> = (0..10)
        .map(|_| open_stream(&gw, "minimax/MiniMax-M2.1", 0))
        .collect();
    // The first seconds pay for ten plugin instances and their buffers (longer
    // in a debug build under load); a gateway that buffers what nobody reads
    // keeps growing (~100 MB/s here), one that holds the upstream back levels
    // off: wait for a second without growth.
    let started = std::time::Instant::now();
    let mut samples = vec![gw.rss_kib()];
    while samples.len() < 3 || samples[samples.len() - 1] > samples[samples.len() - 3] + 1024 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway kept growing: {samples:?} KiB"
        );
        std::thread::sleep(Duration::from_millis(500));
        samples.push(gw.rss_kib());
    }
    let after = *samples.last().unwrap();
    let grown_mib = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "10 clients that read nothing: gateway RSS {before} KiB -> {after} KiB (+{grown_mib:.1} MiB), level after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        upstream.finished_streams(),
        warm,
        "the upstream streams were held back"
    );
    assert!(grown_mib < 100.0, "+{grown_mib:.1} MiB");
    drop(clients);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while upstream.cancelled_streams().len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of 10 upstream streams ended",
            upstream.cancelled_streams().len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn overloaded_everywhere_answers_with_retry_after_in_each_apis_shape() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 529,
            retry_after: Some(7),
        },
    );
    upstream.behave(
        "qwen3-8b",
        Behavior::Status {
            code: 503,
            retry_after: Some(9),
        },
    );
    let claw = Claw::new();
    let mut cfg = config(&upstream);
    cfg["agents"]["defaults"]["model"]["fallbacks"] = json!([]);
    claw.write_config(&cfg.to_string());
    let gw = GatewayProc::start(&claw, &[]);
    let auth = gw.auth();
    let r = gw.request("POST", "/v1/messages", &[("x-api-key", &gw.token)],
        &json!({"model": "minimax/MiniMax-M2.1", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}).to_string());
    assert_eq!(r.status, 529, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");
    let secs: u64 = r
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((7..=120).contains(&secs), "Retry-After: {secs}");

    let r = gw.request("POST", "/v1/chat/completions", &[("authorization", &auth)],
        &json!({"model": "lmstudio/qwen3-8b", "stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string());
    assert_eq!(r.status, 503, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
    let secs: u64 = r
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((9..=120).contains(&secs), "Retry-After: {secs}");
}

#[test]
fn hosts_and_origins_outside_the_allowlist_are_refused_with_a_valid_token() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_configured(
        &upstream,
        json!({"allowedHosts": ["gateway.lan"], "allowedOrigins": ["https://app.example.com"]}),
        &[],
    );
    let auth = gw.auth();
    let port = gw.port;
    let get = |host: &str, path: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        let mut conn = gw.connect();
        exchange(&mut conn, host, "GET", path, &headers, "")
    };
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("gateway.lan:{port}"),
    ] {
        assert_eq!(get(&host, "/v1/models", &[]).status, 200, "{host}");
    }
    let r = get(&format!("evil.example:{port}"), "/v1/models", &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gateway.allowedHosts"),
        "{body}"
    );
    // In the Anthropic shape on its path.
    let mut conn = gw.connect();
    let r = exchange(&mut conn, &format!("evil.example:{port}"), "POST", "/v1/messages", &[("x-api-key", &gw.token)],
        &json!({"model": "echo/echo-1", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}).to_string());
    assert_eq!(r.status, 403, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["error"]["type"].as_str()),
        (Some("error"), Some("permission_error")),
        "{body}"
    );

    let here = format!("127.0.0.1:{port}");
    for origin in [
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "https://app.example.com",
    ] {
        assert_eq!(
            get(&here, "/v1/models", &[("origin", origin)]).status,
            200,
            "{origin}"
        );
    }
    for origin in ["https://evil.example", "null"] {
        let r = get(&here, "/v1/models", &[("origin", origin)]);
        assert_eq!(r.status, 403, "{origin}: {}", r.body);
        assert!(r.body.contains("gateway.allowedOrigins"), "{}", r.body);
    }
}

#[test]
fn a_non_loopback_bind_serves_configured_hosts_only() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_configured(
        &upstream,
        json!({"allowedHosts": ["gateway.lan"], "auth": {"token": "claw-test-token-0123456789"}}),
        &["--bind", "0.0.0.0"],
    );
    let port = gw.port;
    let auth = "Bearer claw-test-token-0123456789";
    let get = |host: &str| {
        let mut conn = gw.connect();
        exchange(
            &mut conn,
            host,
            "GET",
            "/v1/models",
            &[("authorization", auth)],
            "",
        )
        .status
    };
    assert_eq!(get(&format!("gateway.lan:{port}")), 200);
    assert_eq!(get(&format!("127.0.0.1:{port}")), 200);
    assert_eq!(get(&format!("evil.example:{port}")), 403);
}

#[test]
fn too_many_messages_get_a_400_in_each_apis_shape() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_configured(&upstream, json!({"maxMessages": 5}), &[]);
    let turns = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": "hi"}))
            .collect()
    };
    let (status, body) = gw.call(
        "POST",
        "/v1/chat/completions",
        &json!({"model": "echo/echo-1", "messages": turns(6)}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gateway.maxMessages"),
        "{body}"
    );
    let (status, body) = gw.call(
        "POST",
        "/v1/messages",
        &json!({"model": "echo/echo-1", "max_tokens": 8, "messages": turns(7)}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "error");
    let (status, body) = gw.call(
        "POST",
        "/v1/chat/completions",
        &json!({"model": "echo/echo-1", "messages": turns(5)}),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_10_mb_request_costs_bounded_memory() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_configured(&upstream, json!({"maxBodyBytes": 16 << 20}), &[]);
    let (status, _) = gw.call(
        "POST",
        "/v1/chat/completions",
        &json!({"model": "echo/echo-1", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 200);
    let before = gw.rss_kib();
    // 5000 messages of 2 KB: 10 MB.
    let text = "lorem ipsum ".repeat(170);
    let messages: Vec<Value> = (0..5000)
        .map(|i| json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": text}))
        .collect();
    let body = json!({"model": "echo/echo-1", "messages": messages});
    let size = body.to_string().len();
    let (status, reply) = gw.call("POST", "/v1/chat/completions", &body);
    assert!(
        status == 200 || status == 400 || status == 502,
        "{status} {reply}"
    );
    let after = gw.rss_kib();
    let grown_mib = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "a {:.1} MB request ({status}): gateway RSS {before} KiB -> {after} KiB (+{grown_mib:.1} MiB)",
        size as f64 / 1e6
    );
    assert!(grown_mib < 150.0, "+{grown_mib:.1} MiB");
}

#[test]
fn the_gateway_dir_and_log_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let claw = Claw::new();
    let mode = |rel: &str| {
        std::fs::metadata(claw.dir().join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    // A log left world-readable by an older version is tightened too.
    std::fs::create_dir_all(claw.dir().join("gateway")).unwrap();
    std::fs::set_permissions(
        claw.dir().join("gateway"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let start = claw.run(&["gateway", "start", "--port", "0"]);
    assert_eq!(start.code, 0, "{}", start.stderr);
    let log_mode = mode("gateway/gateway.log");
    let dir_mode = mode("gateway");
    let stop = claw.run(&["gateway", "stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert_eq!(log_mode, 0o600, "gateway.log is {log_mode:o}");
    assert_eq!(dir_mode, 0o700, "gateway/ is {dir_mode:o}");
}

/// Issue 13: what a client gets wrong about tools, images and content blocks
/// is a 400 in its API's own shape that says what to change; nothing crashes
/// and the gateway keeps serving.
#[test]
fn bad_tool_requests_get_a_clear_400_in_each_apis_shape() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    let tool = |parameters: Value| json!([{"type": "function", "function": {"name": "lookup", "parameters": parameters}}]);
    let user = json!({"role": "user", "content": "hi"});
    let openai_cases = [
        (
            json!({"model": "echo/echo-1", "tools": tool(json!("a string")), "messages": [user]}),
            "lookup",
        ),
        (
            json!({"model": "echo/echo-1", "messages": [user, {"role": "tool", "tool_call_id": "call_nobody", "content": "x"}]}),
            "call_nobody",
        ),
        (
            json!({"model": "echo/echo-1", "tools": tool(json!({"type": "object"})), "messages": [user,
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                 "function": {"name": "lookup", "arguments": "{not json"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "x"}]}),
            "call_1",
        ),
        (
            json!({"model": "lmstudio/qwen3-8b", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}),
            "does not take images",
        ),
    ];
    for (body, says) in openai_cases {
        let (status, reply) = gw.call("POST", "/v1/chat/completions", &body);
        println!("OpenAI {status}: {reply}");
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    let anthropic_cases = [
        (
            json!({"model": "echo/echo-1", "max_tokens": 8, "messages": [
                {"role": "user", "content": [{"type": "telepathy", "data": "?"}]}]}),
            "telepathy",
        ),
        (
            json!({"model": "echo/echo-1", "max_tokens": 8, "messages": [
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nobody", "content": "x"}]}]}),
            "toolu_nobody",
        ),
        (
            json!({"model": "echo/echo-1", "max_tokens": 8, "tools": [{"name": "lookup", "input_schema": 7}],
                   "messages": [{"role": "user", "content": "hi"}]}),
            "lookup",
        ),
    ];
    for (body, says) in anthropic_cases {
        let (status, reply) = gw.call("POST", "/v1/messages", &body);
        println!("Anthropic {status}: {reply}");
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["type"], "error", "{reply}");
        assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    // The Responses API's own shape, for an item type claw does not know.
    let (status, reply) = gw.call(
        "POST",
        "/v1/responses",
        &json!({"model": "echo/echo-1", "input": [{"type": "telepathy", "id": "t_1"}]}),
    );
    println!("Responses {status}: {reply}");
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("telepathy"),
        "{reply}"
    );
    // The image request was refused before any upstream call.
    assert_eq!(upstream.count("qwen3-8b"), 0);
    let (status, _) = gw.call(
        "POST",
        "/v1/chat/completions",
        &json!({"model": "echo/echo-1", "messages": [user]}),
    );
    assert_eq!(status, 200);
}

/// Issue 13: `anthropic-beta` and fields claw does not model reach an
/// Anthropic-kind upstream; `count_tokens` answers in Anthropic's shape.
#[test]
fn anthropic_headers_and_extra_fields_reach_the_upstream_and_tokens_are_counted() {
    let upstream = Upstream::start();
    let (_claw, gw) = gateway_with(&upstream);
    let auth = gw.auth();
    let body = json!({"model": "minimax/MiniMax-M2.1", "max_tokens": 16,
        "metadata": {"user_id": "u-1"}, "context_management": {"edits": []},
        "messages": [{"role": "user", "content": "hi"}]});
    let r = gw.request(
        "POST",
        "/v1/messages?beta=true",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "interleaved-thinking-2025-05-14"),
        ],
        &body.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = upstream
        .requests()
        .into_iter()
        .find(|r| r.model.as_deref() == Some("MiniMax-M2.1"))
        .unwrap();
    assert_eq!(
        seen.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14"),
        "{:?}",
        seen.headers
    );
    assert_eq!(seen.body["metadata"]["user_id"], "u-1", "{}", seen.body);
    assert_eq!(
        seen.body["context_management"],
        json!({"edits": []}),
        "{}",
        seen.body
    );
    assert_eq!(
        seen.header("authorization"),
        None,
        "the client's token stays with claw"
    );

    let count = json!({"model": "minimax/MiniMax-M2.1",
        "system": "You are terse.",
        "tools": [{"name": "lookup", "description": "Look a word up.", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "x".repeat(400)}]});
    let (status, reply) = gw.call("POST", "/v1/messages/count_tokens", &count);
    assert_eq!(status, 200, "{reply}");
    let n = reply["input_tokens"].as_u64().unwrap();
    println!("count_tokens for ~450 bytes: {n}");
    assert!((100..400).contains(&n), "{reply}");
    let (status, reply) = gw.call("POST", "/v1/messages/count_tokens", &json!({"model": "x"}));
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["type"], "error", "{reply}");
}
