//! The JSON the CLI prints and the gateway's admin API returns, built in one
//! place so both always agree: a routed request's outcome, and model status
//! with probes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::app::{Agent, App, AppError};
use crate::catalog::ModelRef;
use crate::router::{Backend, Failure, Prompt, Reason, ReplyStream, RunOutcome};
use claw_types::{ChatEvent, Message, Role, Usage};

/// `{ok, provider, model, attempts, outputs, usage, stopReason, error?}`
pub fn outcome_json(app: &App, outcome: &RunOutcome) -> serde_json::Value {
    let outputs = if outcome.text.is_empty() {
        json!([])
    } else {
        json!([{ "text": outcome.text }])
    };
    let spec = outcome
        .provider
        .as_ref()
        .zip(outcome.model.as_ref())
        .and_then(|(p, m)| app.catalog.providers.get(p)?.model(m).cloned());
    let mut value = json!({
        "ok": outcome.ok,
        "provider": outcome.provider,
        "model": outcome.model,
        "attempts": outcome.attempts,
        "outputs": outputs,
        "usage": outcome.usage.map(|u| usage_json(&u, spec.as_ref())),
        "stopReason": outcome.stop_reason,
    });
    if let Some(error) = &outcome.error {
        value["error"] = json!(error);
    }
    value
}

/// Token counts, and the cost when the model's prices are known.
pub fn usage_json(u: &Usage, spec: Option<&crate::catalog::ModelSpec>) -> serde_json::Value {
    let mut value = json!({
        "inputTokens": u.input_tokens,
        "outputTokens": u.output_tokens,
        "cacheReadTokens": u.cache_read_tokens,
        "cacheWriteTokens": u.cache_write_tokens,
        "reasoningTokens": u.reasoning_tokens,
        "totalTokens": u.input_tokens + u.output_tokens,
    });
    if let Some(s) = spec {
        value["costUsd"] = json!(crate::usage::cost_usd(u, &s.cost));
    }
    value
}

/// `{primary, fallbacks, aliases, chain, probes?}` for an agent's chain.
pub async fn models_status(
    app: &App,
    agent: Agent,
    probe: Option<Duration>,
) -> Result<Value, AppError> {
    let chain = match app.chain(None, agent) {
        Ok((chain, _)) => chain,
        Err(AppError::NoModel) => Vec::new(),
        Err(e) => return Err(e),
    };
    let details: Vec<Value> = chain
        .iter()
        .filter_map(|r| {
            let p = app.catalog.providers.get(&r.provider)?;
            Some(json!({"ref": r.to_string(), "origin": p.origin, "api": p.api, "auth": p.credential.describe()}))
        })
        .collect();
    let mut out = json!({
        "primary": chain.first().map(ToString::to_string),
        "fallbacks": chain.iter().skip(1).map(ToString::to_string).collect::<Vec<_>>(),
        "aliases": app.catalog.aliases.iter().map(|(a, r)| (a.clone(), json!(r.to_string()))).collect::<serde_json::Map<_, _>>(),
        "chain": details,
    });
    // The main agent's status also shows whom its subagents use.
    if matches!(agent, Agent::Main)
        && let Ok((sub, _)) = app.chain(None, Agent::Subagent)
    {
        out["subagents"] = json!({
            "primary": sub.first().map(ToString::to_string),
            "fallbacks": sub.iter().skip(1).map(ToString::to_string).collect::<Vec<_>>(),
        });
    }
    if let Some(timeout) = probe {
        out["probes"] = json!(run_probes(app, &chain, timeout).await);
    }
    Ok(out)
}

/// Probe each model of the chain concurrently with a short prompt.
async fn run_probes(app: &App, chain: &[ModelRef], timeout: Duration) -> Vec<Value> {
    if chain.is_empty() {
        return vec![
            json!({"provider": null, "model": null, "status": "no_model", "latencyMs": 0,
            "error": "no model configured; set one with `claw models set <provider/model>`"}),
        ];
    }
    let prompt = Prompt {
        max_tokens: Some(16),
        streaming: true,
        ..Prompt::of(vec![Message::text(Role::User, "Reply with the word OK.")])
    };
    let probes = chain.iter().map(|r| {
        let prompt = &prompt;
        async move {
            let started = Instant::now();
            let result = tokio::time::timeout(timeout, probe_one(app, r, prompt)).await;
            let (status, error) = match result {
                Ok(Ok(())) => ("ok".to_string(), None),
                Ok(Err(f)) => (f.reason.traits().probe.to_string(), Some(f.message)),
                Err(_) => (
                    "timeout".to_string(),
                    Some(format!("no reply within {} ms", timeout.as_millis())),
                ),
            };
            json!({"provider": r.provider, "model": r.model, "status": status,
                   "latencyMs": started.elapsed().as_millis() as u64, "error": error})
        }
    });
    futures::future::join_all(probes).await
}

async fn probe_one(app: &App, r: &ModelRef, prompt: &Prompt) -> Result<(), Failure> {
    let mut stream = app.backend.start(&app.catalog, r, prompt).await?;
    while let Some(events) = stream.next().await? {
        if events.iter().any(ChatEvent::is_content) {
            return Ok(());
        }
    }
    Err(Failure::new(
        Reason::EmptyResponse,
        "the reply ended without any content",
    ))
}
