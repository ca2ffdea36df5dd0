//! Real agent clients through claw, unchanged, against the stand-in upstream:
//! Claude Code and Codex CLI completing a tool loop, and the official `openai`
//! and `anthropic` Python SDKs doing function calling, thinking and caching
//! (and the Responses API), each on upstreams of more than one API kind
//! (translated). The clients
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
                "up-responses": {"baseUrl": format!("{}/v1", upstream.url()), "api": "openai-responses",
                                 "apiKey": "sk-upstream-r", "models": [model("agent-r")]},
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

/// Codex CLI in `exec` mode, with a model provider pointing at claw's
/// Responses endpoint: the stand-in asks it to run a shell command, it runs it
/// and sends the output back through claw, and the answer built from that
/// output is its last message.
fn codex_tool_loop(model: &str) {
    let codex = support::clients::codex();
    let upstream = Upstream::start();
    upstream.behave(
        model.split('/').nth(1).unwrap(),
        Behavior::Agent(ToolScript {
            calls: vec![(
                "exec_command".into(),
                json!({"cmd": "echo claw-tool-ok-$((6*7))"}),
            )],
            thinking: None,
            answer: "The tool printed: ".into(),
        }),
    );
    let (claw, gw) = gateway_with(&upstream);
    let home = claw.dir().join("codex-home");
    let work = claw.dir().join("codex-work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model = \"{model}\"\nmodel_provider = \"claw\"\n\n[model_providers.claw]\nname = \"claw\"\nbase_url = \"{}/v1\"\nenv_key = \"CLAW_TOKEN\"\nwire_api = \"responses\"\n",
            gw.url()
        ),
    )
    .unwrap();
    let out = Command::new(&codex)
        .args([
            "exec",
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            "Run the marker command and tell me what it printed.",
        ])
        .current_dir(&work)
        .env("CODEX_HOME", &home)
        .env("HOME", &home)
        .env("CLAW_TOKEN", &gw.token)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("codex exec ({model}):\n{stdout}\n{stderr}");
    assert!(out.status.success(), "{stdout}\n{stderr}\n{}", gw.log());
    assert!(
        stdout.contains("The tool printed: ") && stdout.contains("claw-tool-ok-42"),
        "{stdout}\n{}",
        gw.log()
    );
}

#[test]
fn codex_completes_a_tool_loop_through_a_responses_upstream() {
    codex_tool_loop("up-responses/agent-r");
}

#[test]
fn codex_completes_a_tool_loop_through_an_anthropic_upstream() {
    codex_tool_loop("up-anthropic/agent-a");
}

/// The `openai` SDK's Responses API through claw, on a Chat Completions upstream.
#[test]
fn the_openai_sdk_responses_api_calls_functions_through_an_openai_upstream() {
    let upstream = Upstream::start();
    weather_agent(&upstream, "agent-o");
    let (_claw, gw) = gateway_with(&upstream);
    let steps = run_script("openai_responses.py", &gw, "up-openai/agent-o");
    println!("{steps:#?}");
    for (calls, answer) in [("calls", "answer"), ("stream-calls", "stream-answer")] {
        let c = &steps[calls];
        let calls = c["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 2, "{c}");
        assert_eq!(calls[0][1], "get_weather");
        assert_eq!(calls[0][2], json!({"city": "Paris"}));
        assert_eq!(calls[1][2], json!({"city": "Rome"}));
        assert_eq!(
            steps[answer]["text"], "Weather: sunny in Paris | rainy in Rome",
            "{}",
            steps[answer]
        );
    }
    let bad = &steps["previous-response"];
    assert_eq!(bad["status"], 400, "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("full input"),
        "{bad}"
    );
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
