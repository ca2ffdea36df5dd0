//! `claw infer model run`: one prompt through the router, with every attempt.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use http::Method;
use serde_json::json;

use super::client::GatewayClient;
use super::context::AgentArg as Agent;
use super::context::Context;
use claw_core::router::{Delivery, Prompt};
use claw_types::{ChatEvent, Message, Role, SystemBlock};

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
    // Through a running gateway (warm plugins, shared cooldowns), unless the
    // reply should stream to this terminal.
    let via_gateway = if args.stream && !args.json {
        None
    } else {
        GatewayClient::discover(&ctx.state)
    };
    let (outcome, streamed) = match via_gateway {
        Some(client) => {
            if verbose {
                eprintln!("(via the gateway at {})", client.running.url());
            }
            let body = json!({
                "model": args.model, "prompt": args.prompt, "system": args.system, "maxTokens": args.max_tokens,
                "temperature": args.temperature, "subagent": args.agent == Agent::Subagent,
            });
            (
                client.ok(Method::POST, "/admin/infer", Some(&body)).await?,
                false,
            )
        }
        None => {
            if verbose {
                eprintln!("(in-process: no gateway is running, or --stream)");
            }
            (run_here(ctx, &args).await?, args.stream && !args.json)
        }
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        let text = outcome["outputs"][0]["text"].as_str().unwrap_or("");
        if streamed {
            if !text.is_empty() {
                println!();
            }
        } else if !text.is_empty() {
            println!("{text}");
        }
        let ok = outcome["ok"] == true;
        if verbose || !ok {
            for a in outcome["attempts"].as_array().into_iter().flatten() {
                let reason = a["reason"]
                    .as_str()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default();
                let status = a["status"]
                    .as_u64()
                    .map(|s| format!(" HTTP {s}"))
                    .unwrap_or_default();
                let error = a["error"]
                    .as_str()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                eprintln!(
                    "  {}/{}: {}{reason}{status} in {} ms{error}",
                    a["provider"].as_str().unwrap_or("?"),
                    a["model"].as_str().unwrap_or("?"),
                    a["outcome"].as_str().unwrap_or("?"),
                    a["latencyMs"]
                );
            }
        }
        if let Some(error) = outcome["error"].as_str() {
            eprintln!("error: {error}");
        }
    }
    Ok(if outcome["ok"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Load the plugins here and route the prompt; cooldowns persist in the state dir.
async fn run_here(ctx: Context, args: &RunArgs) -> anyhow::Result<serde_json::Value> {
    let app = ctx.app().await?;
    let (chain, _) = app.chain(args.model.as_deref(), args.agent.into())?;
    let prompt = Prompt {
        system: args
            .system
            .iter()
            .map(|text| SystemBlock {
                text: text.clone(),
                cache: None,
            })
            .collect(),
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        streaming: true,
        ..Prompt::of(vec![Message::text(Role::User, args.prompt.clone())])
    };

    let cooldowns = app.cooldowns();
    let print_live = args.stream && !args.json;
    let mut deliver = |d: Delivery| {
        if let (true, Delivery::Event(ChatEvent::Text(t))) = (print_live, &d) {
            print!("{t}");
            let _ = std::io::stdout().flush();
        }
    };
    let outcome = app.route(&cooldowns, &chain, &prompt, &mut deliver).await;
    Ok(claw_core::reports::outcome_json(&app, &outcome))
}
