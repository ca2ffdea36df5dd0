//! `claw models ...`: the catalog, the default model, fallbacks, aliases, and
//! probes of the configured chain.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{Value, json};

use super::context::AgentArg as Agent;
use super::context::Context;
use claw_core::app::App;
use claw_core::catalog::{Credential, ModelRef};

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Every model of every active provider.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set the default model (agents.defaults.model.primary).
    Set { model: String },
    /// The fallback chain tried after the primary model.
    Fallbacks {
        #[command(subcommand)]
        command: FallbacksCommand,
    },
    /// Short names for models (agents.defaults.models["provider/model"].alias).
    Aliases {
        #[command(subcommand)]
        command: AliasesCommand,
    },
    /// The primary model, fallbacks and aliases; `--probe` tries each model.
    Status {
        /// Send a short prompt to every model of the chain, concurrently.
        #[arg(long)]
        probe: bool,
        /// How long a probe may take.
        #[arg(long, default_value_t = 20_000)]
        probe_timeout_ms: u64,
        #[arg(long, value_enum, default_value = "main")]
        agent: Agent,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum FallbacksCommand {
    List,
    Add { model: String },
    Remove { model: String },
}

#[derive(Subcommand)]
pub enum AliasesCommand {
    List,
    Add { alias: String, model: String },
    Remove { alias: String },
}

pub async fn run(command: ModelsCommand) -> anyhow::Result<ExitCode> {
    let ctx = Context::open()?;
    let mut app = ctx.app().await?;
    match command {
        ModelsCommand::List { json } => list(&app, json)?,
        ModelsCommand::Set { model } => {
            let r = app.catalog.resolve(&model)?;
            let path = ["agents", "defaults", "model"];
            match app.config.get(&path) {
                Some(Value::Object(_)) => app.config.set(
                    &["agents", "defaults", "model", "primary"],
                    json!(r.to_string()),
                )?,
                _ => app.config.set(&path, json!(r.to_string()))?,
            }
            save(&mut app)?;
            println!("Default model: {r}");
        }
        ModelsCommand::Fallbacks { command } => fallbacks(&mut app, command)?,
        ModelsCommand::Aliases { command } => aliases(&mut app, command)?,
        ModelsCommand::Status {
            probe,
            probe_timeout_ms,
            agent,
            json,
        } => {
            return status(
                &app,
                probe,
                Duration::from_millis(probe_timeout_ms),
                agent,
                json,
            )
            .await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn save(app: &mut App) -> anyhow::Result<()> {
    if let Some(backup) = app.config.save()? {
        println!(
            "note: claw.json used JSON5 syntax that was not kept; the original is in {}",
            backup.display()
        );
    }
    Ok(())
}

fn list(app: &App, as_json: bool) -> anyhow::Result<()> {
    let primary = app
        .agents
        .model
        .primary
        .as_deref()
        .and_then(|p| app.catalog.resolve(p).ok());
    let fallbacks: Vec<ModelRef> = app
        .agents
        .model
        .fallbacks
        .iter()
        .filter_map(|f| app.catalog.resolve(f).ok())
        .collect();
    let alias_of = |r: &ModelRef| {
        app.catalog
            .aliases
            .iter()
            .find(|(_, t)| *t == r)
            .map(|(a, _)| a.clone())
    };
    let mut rows = Vec::new();
    for p in app.catalog.providers.values() {
        for m in &p.models {
            let r = ModelRef {
                provider: p.id.clone(),
                model: m.id.clone(),
            };
            let mut tags = Vec::new();
            if primary.as_ref() == Some(&r) {
                tags.push("default".to_string());
            }
            if let Some(i) = fallbacks.iter().position(|f| *f == r) {
                tags.push(format!("fallback#{}", i + 1));
            }
            rows.push(json!({
                "ref": r.to_string(), "provider": p.id, "model": m.id, "name": m.name, "api": p.api,
                "contextWindow": m.context_window, "maxTokens": m.max_tokens, "reasoning": m.reasoning,
                "input": m.input, "cost": m.cost, "alias": alias_of(&r), "tags": tags,
                "auth": p.credential.describe(), "available": !matches!(p.credential, Credential::Missing { .. }),
                "inCatalog": true,
            }));
        }
    }
    // Models the config names that a preset-backed provider does not list:
    // they are passed to the upstream as written.
    let named = primary
        .iter()
        .chain(&fallbacks)
        .chain(app.catalog.aliases.values());
    let mut unlisted: Vec<&ModelRef> = Vec::new();
    for r in named {
        let Some(p) = app.catalog.providers.get(&r.provider) else {
            continue;
        };
        if p.model(&r.model).is_none() && !unlisted.contains(&r) {
            unlisted.push(r);
            let mut tags = vec!["not in catalog".to_string()];
            if primary.as_ref() == Some(r) {
                tags.push("default".to_string());
            }
            if let Some(i) = fallbacks.iter().position(|f| f == r) {
                tags.push(format!("fallback#{}", i + 1));
            }
            rows.push(json!({
                "ref": r.to_string(), "provider": p.id, "model": r.model, "name": r.model, "api": p.api,
                "contextWindow": null, "maxTokens": null, "reasoning": null, "input": null, "cost": null,
                "alias": alias_of(r), "tags": tags, "inCatalog": false,
                "auth": p.credential.describe(), "available": !matches!(p.credential, Credential::Missing { .. }),
            }));
        }
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "models": rows, "problems": app.catalog.problems })
            )?
        );
        return Ok(());
    }
    let cells = |r: &Value| {
        [
            r["ref"].as_str().unwrap_or("").to_string(),
            r["name"].as_str().unwrap_or("").to_string(),
            match &r["contextWindow"] {
                Value::Null => "-".to_string(),
                n => n.to_string(),
            },
            if r["cost"].is_null() {
                "-".to_string()
            } else {
                format!("${}/${}", r["cost"]["input"], r["cost"]["output"])
            },
            r["alias"].as_str().unwrap_or("-").to_string(),
            r["tags"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            r["auth"].as_str().unwrap_or("").to_string(),
        ]
    };
    let table: Vec<[String; 7]> = rows.iter().map(cells).collect();
    super::table::print_table(
        &[
            "MODEL",
            "NAME",
            "CONTEXT",
            "COST IN/OUT per 1M",
            "ALIAS",
            "TAGS",
            "AUTH",
        ],
        &table,
    );
    for problem in &app.catalog.problems {
        println!("problem: {problem}");
    }
    if rows.len() <= 1 {
        println!(
            "Set a provider's key (e.g. MINIMAX_API_KEY) or add models.providers in claw.json to get more models."
        );
    }
    Ok(())
}

/// `agents.defaults.model` as an object, converting the `"provider/model"` shorthand.
fn model_object(app: &mut App) -> anyhow::Result<()> {
    if let Some(Value::String(primary)) = app.config.get(&["agents", "defaults", "model"]).cloned()
    {
        app.config.set(
            &["agents", "defaults", "model"],
            json!({ "primary": primary, "fallbacks": [] }),
        )?;
    }
    Ok(())
}

fn fallbacks(app: &mut App, command: FallbacksCommand) -> anyhow::Result<()> {
    let current = app.agents.model.fallbacks.clone();
    let path = ["agents", "defaults", "model", "fallbacks"];
    match command {
        FallbacksCommand::List => {
            if current.is_empty() {
                println!(
                    "No fallbacks. Add one with `claw models fallbacks add <provider/model>`."
                );
            }
            for (i, f) in current.iter().enumerate() {
                let note = app
                    .catalog
                    .resolve(f)
                    .err()
                    .map(|e| format!("  (unusable: {e})"))
                    .unwrap_or_default();
                println!("{}. {f}{note}", i + 1);
            }
        }
        FallbacksCommand::Add { model } => {
            let r = app.catalog.resolve(&model)?.to_string();
            if current.contains(&r) {
                println!("{r} is already a fallback");
                return Ok(());
            }
            model_object(app)?;
            let mut next = current;
            next.push(r.clone());
            app.config.set(&path, json!(next))?;
            save(app)?;
            println!("Added fallback {r} (position {})", next.len());
        }
        FallbacksCommand::Remove { model } => {
            let resolved = app
                .catalog
                .resolve(&model)
                .map(|r| r.to_string())
                .unwrap_or(model.clone());
            let next: Vec<String> = current
                .iter()
                .filter(|f| **f != model && **f != resolved)
                .cloned()
                .collect();
            anyhow::ensure!(
                next.len() != current.len(),
                "{model} is not a fallback; see `claw models fallbacks list`"
            );
            model_object(app)?;
            app.config.set(&path, json!(next))?;
            save(app)?;
            println!("Removed fallback {model}");
        }
    }
    Ok(())
}

fn aliases(app: &mut App, command: AliasesCommand) -> anyhow::Result<()> {
    match command {
        AliasesCommand::List => {
            if app.catalog.aliases.is_empty() {
                println!(
                    "No aliases. Add one with `claw models aliases add <alias> <provider/model>`."
                );
            }
            for (alias, r) in &app.catalog.aliases {
                println!("{alias} -> {r}");
            }
        }
        AliasesCommand::Add { alias, model } => {
            anyhow::ensure!(
                !alias.is_empty() && !alias.contains('/'),
                "an alias cannot be empty or contain '/'"
            );
            let r = app.catalog.resolve(&model)?.to_string();
            if let Some(old) = app
                .catalog
                .aliases
                .get(&alias)
                .map(ToString::to_string)
                .filter(|o| *o != r)
            {
                app.config
                    .remove(&["agents", "defaults", "models", &old, "alias"]);
            }
            app.config
                .set(&["agents", "defaults", "models", &r, "alias"], json!(alias))?;
            save(app)?;
            println!("{alias} -> {r}");
        }
        AliasesCommand::Remove { alias } => {
            let target = app.catalog.aliases.get(&alias).map(ToString::to_string);
            let target = target.ok_or_else(|| {
                anyhow::anyhow!("no alias \"{alias}\"; see `claw models aliases list`")
            })?;
            app.config
                .remove(&["agents", "defaults", "models", &target, "alias"]);
            save(app)?;
            println!("Removed alias {alias}");
        }
    }
    Ok(())
}

async fn status(
    app: &App,
    probe: bool,
    timeout: Duration,
    agent: Agent,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let out = match super::client::GatewayClient::discover(&app.state) {
        Some(client) => {
            let query = format!(
                "/admin/models/status?probe={}&timeoutMs={}&agent={}",
                u8::from(probe),
                timeout.as_millis(),
                if agent == Agent::Subagent {
                    "subagent"
                } else {
                    "main"
                }
            );
            client.ok(http::Method::GET, &query, None).await?
        }
        None => {
            claw_core::reports::models_status(app, agent.into(), probe.then_some(timeout)).await?
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        render_status(&out);
    }
    let all_ok = out["probes"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|p| p["status"] == "ok");
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The human form of `models status --json`.
pub fn render_status(out: &Value) {
    match out["primary"].as_str() {
        Some(p) => println!("default:   {p}"),
        None => println!("default:   none (set one with `claw models set <provider/model>`)"),
    }
    for (i, f) in out["fallbacks"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        println!("fallback {}: {}", i + 1, f.as_str().unwrap_or("?"));
    }
    if let Some(sub) = out["subagents"].as_object() {
        let fallbacks: Vec<&str> = sub["fallbacks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "subagents: {}{}",
            sub["primary"].as_str().unwrap_or("none"),
            if fallbacks.is_empty() {
                String::new()
            } else {
                format!(" (fallbacks: {})", fallbacks.join(", "))
            }
        );
    }
    for c in out["chain"].as_array().into_iter().flatten() {
        println!(
            "  {}: {} via api {}, {}",
            c["ref"].as_str().unwrap_or("?"),
            c["origin"].as_str().unwrap_or("?"),
            c["api"].as_str().unwrap_or("?"),
            c["auth"].as_str().unwrap_or("?")
        );
    }
    for probe in out["probes"].as_array().into_iter().flatten() {
        let error = probe["error"]
            .as_str()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        println!(
            "probe {}/{}: {} in {} ms{error}",
            probe["provider"].as_str().unwrap_or("-"),
            probe["model"].as_str().unwrap_or("-"),
            probe["status"].as_str().unwrap_or("?"),
            probe["latencyMs"]
        );
    }
}
