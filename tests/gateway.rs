//! End to end: the real gateway on loopback, driven by raw HTTP, by the official
//! `openai` and `anthropic` Python packages, and by `claw` itself.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::Claw;
use support::gateway::{GatewayProc, python_clients, signal};
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
    let python = python_clients();
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
    assert_eq!(status["plugins"]["loaded"], 4);

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
