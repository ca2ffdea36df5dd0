//! Real agent clients through claw, unchanged, against the stand-in upstream:
//! Claude Code completing a tool loop, and the official `openai` and
//! `anthropic` Python SDKs doing function calling, thinking and caching, each
//! on an Anthropic-kind and an OpenAI-kind upstream (translated). The clients
//! are installed once per version into a cache outside the clone
//! (support/clients.rs).

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::Claw;
use support::clients::{claude_code, python_sdks};
use support::gateway::GatewayProc;
use support::upstream::agent::ToolScript;
use support::upstream::{Behavior, Upstream};

/// Two providers on the stand-in, one per upstream API kind, each with a
/// tool-capable reasoning model.
fn gateway_with(upstream: &Upstream) -> (Claw, GatewayProc) {
    let model = |id: &str| json!({"id": id, "reasoning": true, "input": ["text", "image"]});
    let claw = Claw::new();
    claw.write_config(
        &json!({
            "models": {"providers": {
                "up-anthropic": {"baseUrl": format!("{}/anthropic", upstream.url()), "api": "anthropic-messages",
                                 "apiKey": "sk-upstream-a", "models": [model("agent-a")]},
                "up-openai": {"baseUrl": format!("{}/v1", upstream.url()), "api": "openai-completions",
                              "apiKey": "sk-upstream-o", "models": [model("agent-o")]},
            }},
            "agents": {"defaults": {"model": {"primary": "up-anthropic/agent-a"}}},
        })
        .to_string(),
    );
    let gw = GatewayProc::start(&claw, &[]);
    (claw, gw)
}

/// The stand-in's weather agent for `model`: thinks, asks for the weather in
/// two cities at once, then answers with the results.
fn weather_agent(upstream: &Upstream, model: &str) {
    upstream.behave(
        model,
        Behavior::Agent(ToolScript {
            calls: vec![
                ("get_weather".into(), json!({"city": "Paris"})),
                ("get_weather".into(), json!({"city": "Rome"})),
            ],
            thinking: Some("Both cities, in parallel.".into()),
            answer: "Weather: ".into(),
        }),
    );
}

/// Run a client script from tests/clients and return its JSON lines by step.
fn run_script(
    script: &str,
    gw: &GatewayProc,
    model: &str,
) -> std::collections::BTreeMap<String, Value> {
    let path = support::root().join("tests/clients").join(script);
    let out = Command::new(python_sdks())
        .arg(&path)
        .args([&gw.url(), &gw.token, model])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{stderr}\n{}",
        gw.log()
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .map(|v| (v["step"].as_str().unwrap().to_string(), v))
        .collect()
}

fn check_openai_sdk(model: &str) {
    let upstream = Upstream::start();
    weather_agent(&upstream, model.split('/').nth(1).unwrap());
    let (_claw, gw) = gateway_with(&upstream);
    let steps = run_script("openai_tools.py", &gw, model);
    println!("{model}: {steps:#?}");
    for (calls, answer) in [("calls", "answer"), ("stream-calls", "stream-answer")] {
        let c = &steps[calls];
        assert_eq!(c["finish"], "tool_calls", "{c}");
        let calls = c["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 2, "{c}");
        assert_eq!(calls[0][1], "get_weather");
        assert_eq!(calls[0][2], json!({"city": "Paris"}));
        assert_eq!(calls[1][2], json!({"city": "Rome"}));
        assert_ne!(calls[0][0], calls[1][0], "call ids differ");
        assert_eq!(
            steps[answer]["content"],
            "Weather: sunny in Paris | rainy in Rome"
        );
    }
    assert_eq!(steps["stream-calls"]["indexes"], json!([0, 1]));
    assert!(steps["calls"]["content"].is_null(), "{}", steps["calls"]);
    let usage = &steps["calls"]["usage"];
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"], 7,
        "{usage}"
    );
    assert_eq!(steps["answer"]["finish"], "stop");
    let unknown = &steps["unknown-call"];
    assert_eq!(unknown["status"], 400, "{unknown}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("call_nobody_made"),
        "{unknown}"
    );
}

#[test]
fn the_openai_sdk_calls_functions_through_an_openai_upstream() {
    check_openai_sdk("up-openai/agent-o");
}

#[test]
fn the_openai_sdk_calls_functions_through_an_anthropic_upstream() {
    check_openai_sdk("up-anthropic/agent-a");
}

fn check_anthropic_sdk(model: &str, signed: bool) -> Upstream {
    let upstream = Upstream::start();
    weather_agent(&upstream, model.split('/').nth(1).unwrap());
    let (_claw, gw) = gateway_with(&upstream);
    let steps = run_script("anthropic_tools.py", &gw, model);
    println!("{model}: {steps:#?}");
    for (calls, answer) in [("calls", "answer"), ("stream-calls", "stream-answer")] {
        let c = &steps[calls];
        assert_eq!(c["stop"], "tool_use", "{c}");
        assert_eq!(
            c["types"],
            json!(["thinking", "tool_use", "tool_use"]),
            "{c}"
        );
        assert_eq!(c["calls"][0][1], "get_weather");
        assert_eq!(c["calls"][0][2], json!({"city": "Paris"}));
        assert_eq!(c["calls"][1][2], json!({"city": "Rome"}));
        assert_eq!(c["thinking"][0][0], "Both cities, in parallel.");
        if signed {
            let sig = support::upstream::agent::signature("Both cities, in parallel.");
            assert_eq!(c["thinking"][0][1], sig, "{c}");
        }
        assert_eq!(c["usage"]["cache_read_input_tokens"], 7, "{c}");
        let a = &steps[answer];
        assert_eq!(a["stop"], "end_turn", "{a}");
        assert_eq!(a["text"], "Weather: sunny in Paris | rainy in Rome");
    }
    let bad = &steps["bad-input"];
    assert_eq!(bad["status"], 400, "{bad}");
    upstream
}

#[test]
fn the_anthropic_sdk_uses_tools_and_thinking_through_an_anthropic_upstream() {
    let upstream = check_anthropic_sdk("up-anthropic/agent-a", true);
    // Thinking went back with its signature, and the cache hints reached the upstream.
    let follow_up = upstream
        .requests()
        .into_iter()
        .filter(|r| r.model.as_deref() == Some("agent-a"))
        .nth(1)
        .unwrap();
    let body = &follow_up.body;
    assert_eq!(
        body["system"][0]["cache_control"]["type"], "ephemeral",
        "{body}"
    );
    assert_eq!(
        body["tools"][0]["cache_control"]["type"], "ephemeral",
        "{body}"
    );
    assert_eq!(body["thinking"]["budget_tokens"], 1024, "{body}");
    let assistant = &body["messages"][1]["content"];
    assert_eq!(assistant[0]["type"], "thinking", "{body}");
}

#[test]
fn the_anthropic_sdk_uses_tools_and_thinking_through_an_openai_upstream() {
    let upstream = check_anthropic_sdk("up-openai/agent-o", false);
    let follow_up = upstream
        .requests()
        .into_iter()
        .filter(|r| r.model.as_deref() == Some("agent-o"))
        .nth(1)
        .unwrap();
    let messages = follow_up.body["messages"].as_array().unwrap().clone();
    let tool: Vec<&Value> = messages.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool.len(), 2, "{messages:#?}");
    assert_eq!(tool[0]["content"], "sunny in Paris");
}

/// Claude Code in print mode: the stand-in asks it to run a shell command,
/// it runs it and sends the output back through claw, and the answer built
/// from that output reaches the terminal.
fn claude_code_tool_loop(model: &str) {
    let claude = claude_code();
    let upstream = Upstream::start();
    // 6*7 is worked out by the shell, so the number proves the tool ran.
    upstream.behave(
        model.split('/').nth(1).unwrap(),
        Behavior::Agent(ToolScript {
            calls: vec![(
                "Bash".into(),
                json!({"command": "echo claw-tool-ok-$((6*7))", "description": "Print a marker"}),
            )],
            thinking: None,
            answer: "The tool printed: ".into(),
        }),
    );
    let (claw, gw) = gateway_with(&upstream);
    let home = claw.dir().join("claude-home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new(&claude)
        .args([
            "-p",
            "Run the marker command and tell me what it printed.",
            "--allowedTools",
            "Bash",
        ])
        .current_dir(&home)
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", gw.url())
        .env("ANTHROPIC_AUTH_TOKEN", &gw.token)
        .env("ANTHROPIC_MODEL", model)
        .env("ANTHROPIC_SMALL_FAST_MODEL", "echo/echo-1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("claude -p ({model}):\n{stdout}\n{stderr}");
    assert!(out.status.success(), "{stdout}\n{stderr}\n{}", gw.log());
    assert!(
        stdout.contains("The tool printed: claw-tool-ok-42"),
        "{stdout}\n{}",
        gw.log()
    );
    let asked = upstream
        .requests()
        .into_iter()
        .filter(|r| r.model.as_deref() == model.split('/').nth(1))
        .count();
    assert!(asked >= 2, "the tool result did not go back upstream");
}

#[test]
fn claude_code_completes_a_tool_loop_through_an_anthropic_upstream() {
    claude_code_tool_loop("up-anthropic/agent-a");
}

#[test]
fn claude_code_completes_a_tool_loop_through_an_openai_upstream() {
    claude_code_tool_loop("up-openai/agent-o");
}
