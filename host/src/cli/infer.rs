//! `claw infer model run`: one prompt through the router, with every attempt.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use crate::app::Agent;
use crate::router::{Cooldowns, Delivery, Prompt, Router, RunOutcome};
use crate::runtime::types::{ChatEvent, ContentPart, Message, Role, Usage};

#[derive(Subcommand)]
pub enum InferCommand {
    /// Run model requests.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Send one prompt to a model (with its fallbacks) and print the reply.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// `provider/model` or an alias (default: the agent's primary model).
    #[arg(long)]
    model: Option<String>,
    /// The user message.
    #[arg(long)]
    prompt: String,
    /// A system message.
    #[arg(long)]
    system: Option<String>,
    #[arg(long)]
    max_tokens: Option<u32>,
    #[arg(long)]
    temperature: Option<f32>,
    /// Whose defaults to use: the main agent's, or subagents' (agents.defaults.subagents).
    #[arg(long, value_enum, default_value = "main")]
    agent: Agent,
    /// Print text as it arrives.
    #[arg(long)]
    stream: bool,
    /// Print `{ok, provider, model, attempts, outputs, usage}`.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: InferCommand, verbose: bool) -> anyhow::Result<ExitCode> {
    let InferCommand::Model {
        command: ModelCommand::Run(args),
    } = command;
    let ctx = Context::open()?;
    let app = ctx.app().await?;
    let (chain, _) = app.chain(args.model.as_deref(), args.agent)?;

    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message {
            role: Role::System,
            content: vec![ContentPart::Text(system.clone())],
        });
    }
    messages.push(Message {
        role: Role::User,
        content: vec![ContentPart::Text(args.prompt.clone())],
    });
    let prompt = Prompt {
        messages,
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        streaming: true,
    };

    let cooldowns_path = app.cooldowns_path();
    let mut cooldowns = Cooldowns::load(&cooldowns_path);
    let print_live = args.stream && !args.json;
    let mut deliver = |d: Delivery| {
        if let (true, Delivery::Event(ChatEvent::Text(t))) = (print_live, &d) {
            print!("{t}");
            let _ = std::io::stdout().flush();
        }
    };
    let mut router = Router {
        catalog: &app.catalog,
        backend: &app.backend,
        policy: &app.policy,
        settings: app.agents.failover.clone(),
        cooldowns: &mut cooldowns,
    };
    let outcome = router.run(&chain, &prompt, &mut deliver).await;
    if let Err(e) = cooldowns.save(&cooldowns_path) {
        tracing::warn!(
            "could not save cooldowns to {}: {e}",
            cooldowns_path.display()
        );
    }

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome_json(&app, &outcome))?
        );
    } else {
        if print_live {
            if !outcome.text.is_empty() {
                println!();
            }
        } else if !outcome.text.is_empty() {
            println!("{}", outcome.text);
        }
        if verbose || !outcome.ok {
            for a in &outcome.attempts {
                let reason = a
                    .reason
                    .map(|r| format!(" {}", r.as_str()))
                    .unwrap_or_default();
                let status = a.status.map(|s| format!(" HTTP {s}")).unwrap_or_default();
                let error = a
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                eprintln!(
                    "  {}/{}: {:?}{reason}{status} in {} ms{error}",
                    a.provider, a.model, a.outcome, a.latency_ms
                );
            }
        }
        if let Some(error) = &outcome.error {
            eprintln!("error: {error}");
        }
    }
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn outcome_json(app: &crate::app::App, outcome: &RunOutcome) -> serde_json::Value {
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
        "totalTokens": u.input_tokens + u.output_tokens,
    });
    if let Some(c) = spec.map(|s| s.cost) {
        let usd = (u.input_tokens as f64 * c.input
            + u.output_tokens as f64 * c.output
            + u.cache_read_tokens as f64 * c.cache_read
            + u.cache_write_tokens as f64 * c.cache_write)
            / 1e6;
        value["costUsd"] = json!((usd * 1e6).round() / 1e6);
    }
    value
}
