//! `claw auth ...` and `claw onboard`: log in through auth plugins, store API
//! keys, list and remove profiles. Secrets are never printed, and never taken
//! from the command line (where shell history and `ps` would see them).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::json;

use super::context::Context;
use super::prompter::{self, Terminal};
use claw_core::app::App;
use claw_core::auth::login::{self, Saved};
use claw_core::auth::{AuthStore, Kind, fingerprint};
use claw_core::catalog::onboarding::{self, Choice};
use claw_types::now_ms;

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Log in to a provider through its auth plugin (or store an API key).
    Login {
        /// The provider, e.g. minimax-portal.
        #[arg(long)]
        provider: String,
        /// The login method, e.g. oauth or oauth-cn (asked when there are several).
        #[arg(long)]
        method: Option<String>,
    },
    /// Every stored credential, redacted.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Forget a profile, e.g. minimax-portal:default.
    Logout { profile: String },
    /// Store an API key, read from stdin or an environment variable (never from arguments).
    SetKey {
        provider: String,
        /// Read the key from this environment variable instead of stdin.
        #[arg(long)]
        from_env: Option<String>,
        /// The profile name under the provider.
        #[arg(long, default_value = "default")]
        profile: String,
    },
}

pub async fn run(command: AuthCommand) -> anyhow::Result<ExitCode> {
    let ctx = Context::open()?;
    let store = AuthStore::new(ctx.state.root());
    match command {
        AuthCommand::Login { provider, method } => {
            let terminal = Arc::new(Terminal::new());
            let mut app = ctx.app_with(terminal.clone()).await?;
            login_with_plugin(&mut app, &terminal, &provider, method.as_deref()).await?;
        }
        AuthCommand::List { json } => list(&store, &ctx.config, json)?,
        AuthCommand::Logout { profile } => {
            let mut config = ctx.config;
            let removed = login::logout(&mut config, &store, &profile)?;
            anyhow::ensure!(removed, "no profile \"{profile}\"; see `claw auth list`");
            println!("Logged out {profile}");
        }
        AuthCommand::SetKey {
            provider,
            from_env,
            profile,
        } => {
            let key = read_key(&provider, from_env.as_deref())?;
            let mut config = ctx.config;
            let saved = login::save_api_key(&mut config, &store, &provider, &profile, key)?;
            report(&saved);
            println!("Stored an API key for {provider} as {}", saved.profile_id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn onboard(choice: &str) -> anyhow::Result<ExitCode> {
    let action = onboarding::choice(choice).map_err(anyhow::Error::msg)?;
    let ctx = Context::open()?;
    match action {
        Choice::Login { provider, method } => {
            let terminal = Arc::new(Terminal::new());
            let mut app = ctx.app_with(terminal.clone()).await?;
            login_with_plugin(&mut app, &terminal, provider, Some(method)).await?;
        }
        Choice::Key { preset, model } => {
            let (provider, env) = (preset.id, preset.env_key);
            let model = format!("{provider}/{model}");
            let store = AuthStore::new(ctx.state.root());
            let mut config = ctx.config;
            let key = read_key(provider, std::env::var(env).ok().map(|_| env))?;
            let saved = login::save_api_key(&mut config, &store, provider, "default", key)?;
            report(&saved);
            println!("Stored an API key for {provider} as {}", saved.profile_id);
            if config.get(&["agents", "defaults", "model"]).is_none() {
                config.set(
                    &["agents", "defaults", "model"],
                    json!({ "primary": model, "fallbacks": [] }),
                )?;
                config.save()?;
                println!("Default model: {model}");
            }
        }
    }
    println!("Next: claw infer model run --prompt \"hello\"");
    Ok(ExitCode::SUCCESS)
}

/// Run a plugin login, showing progress while it waits for the user.
async fn login_with_plugin(
    app: &mut App,
    terminal: &Terminal,
    provider: &str,
    method: Option<&str>,
) -> anyhow::Result<()> {
    let Some(found) = app
        .registry
        .plugins
        .iter()
        .find(|p| p.auth.as_ref().is_some_and(|a| a.provider == provider))
    else {
        let providers: Vec<String> = app
            .registry
            .plugins
            .iter()
            .filter_map(|p| p.auth.as_ref().map(|a| a.provider.clone()))
            .collect();
        let known = app.catalog.providers.contains_key(provider)
            || claw_core::catalog::presets::find(provider).is_some();
        let hint = if known {
            format!(" It takes an API key: `claw auth set-key {provider}` (reads stdin).")
        } else {
            String::new()
        };
        anyhow::bail!(
            "no loaded auth plugin logs in to \"{provider}\" (auth plugins: {}).{hint}",
            if providers.is_empty() {
                "none".into()
            } else {
                providers.join(", ")
            }
        );
    };
    let info = found.auth.clone().expect("found by its auth info");
    let plugin = found
        .plugin
        .clone()
        .expect("auth plugins that are listed are loaded");
    let plugin_id = found.id.clone();
    let method = match (method, info.methods.as_slice()) {
        (Some(m), methods) => {
            anyhow::ensure!(
                methods.iter().any(|x| x.id == m),
                "\"{provider}\" has no login method \"{m}\"; methods: {}",
                methods
                    .iter()
                    .map(|x| format!("{} ({})", x.id, x.label))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            m.to_string()
        }
        (None, [only]) => only.id.clone(),
        (None, methods) => {
            let labels: Vec<String> = methods
                .iter()
                .map(|x| format!("{} ({})", x.label, x.id))
                .collect();
            let picked = claw_plugin_host::Prompter::pick(terminal, "Which login?", &labels);
            match picked.and_then(|i| methods.get(i as usize)) {
                Some(m) => m.id.clone(),
                None => anyhow::bail!("choose a login method with --method: {}", labels.join(", ")),
            }
        }
    };

    eprintln!("Logging in to {provider} with {method} (plugin {plugin_id})...");
    let started = Instant::now();
    let login = plugin.login(&method);
    tokio::pin!(login);
    let mut ticker = tokio::time::interval(Duration::from_secs(if terminal.interactive() {
        1
    } else {
        10
    }));
    ticker.tick().await;
    let result = loop {
        tokio::select! {
            result = &mut login => break result,
            _ = ticker.tick() => {
                let waited = started.elapsed().as_secs();
                if terminal.interactive() {
                    eprint!("\r  waiting for approval... {waited} s ");
                } else {
                    eprintln!("  still waiting for approval ({waited} s)");
                }
            }
        }
    };
    if terminal.interactive() {
        eprintln!();
    }
    let result = result.map_err(|e| anyhow::anyhow!("login to {provider} failed: {e}"))?;
    let notes = result.notes.clone();
    let saved = login::save_login(
        &mut app.config,
        app.auth.store(),
        &plugin_id,
        &method,
        &info.provider,
        result,
    )?;
    report(&saved);
    println!(
        "Logged in: profile {} saved (credential in {}, mode 0600)",
        saved.profile_id,
        app.auth.store().path().display()
    );
    for note in notes {
        println!("  {note}");
    }
    Ok(())
}

fn report(saved: &Saved) {
    if let Some(backup) = &saved.backup {
        println!(
            "note: claw.json used JSON5 syntax that was not kept; the original is in {}",
            backup.display()
        );
    }
    if !saved.changed.is_empty() {
        println!("The login changed claw.json:");
        for path in &saved.changed {
            println!("  {path}");
        }
    }
}

/// The key from `$VAR`, else stdin (hidden when it is a terminal).
fn read_key(provider: &str, from_env: Option<&str>) -> anyhow::Result<String> {
    let key = match from_env {
        Some(var) => std::env::var(var)
            .map_err(|_| anyhow::anyhow!("environment variable {var} is not set"))?,
        None if std::io::stdin().is_terminal() => {
            eprint!("API key for {provider} (input hidden): ");
            prompter::read_hidden().unwrap_or_default()
        }
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let key = key.trim().to_string();
    anyhow::ensure!(
        !key.is_empty(),
        "no API key given; pipe it on stdin (e.g. `claw auth set-key {provider} < key.txt`) or use --from-env VAR"
    );
    Ok(key)
}

fn list(
    store: &AuthStore,
    config: &claw_core::config::ConfigFile,
    as_json: bool,
) -> anyhow::Result<()> {
    let profiles = store.load()?;
    let auth_config: claw_core::auth::AuthSection = config.section("auth")?;
    let now = now_ms();
    let rows: Vec<serde_json::Value> = profiles
        .iter()
        .map(|(id, p)| {
            let expired = p.expires_at_ms.is_some_and(|at| at <= now);
            let status = match (&p.problem, expired) {
                (Some(_), _) => "needs_login",
                (None, true) if p.refresh.is_some() => "expired_refreshable",
                (None, true) => "expired",
                _ => "ok",
            };
            json!({
                "id": id, "provider": p.provider, "kind": p.kind.as_str(), "status": status,
                "problem": p.problem, "expiresAtMs": p.expires_at_ms, "fingerprint": fingerprint(&p.access),
                "refreshable": p.kind == Kind::Oauth && p.refresh.is_some(), "plugin": p.plugin,
                "inConfig": auth_config.profiles.contains_key(id),
            })
        })
        .collect();
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "profiles": rows, "store": store.path() }))?
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "No stored credentials. Log in with `claw onboard --auth-choice <choice>` or `claw auth login --provider <id>`."
        );
        return Ok(());
    }
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let expires = r["expiresAtMs"].as_u64().map_or("-".into(), |at| {
                if at <= now {
                    "expired".into()
                } else {
                    format!("in {} min", (at - now) / 60_000)
                }
            });
            [
                r["id"].as_str().unwrap_or("").into(),
                r["kind"].as_str().unwrap_or("").into(),
                expires,
                r["status"].as_str().unwrap_or("").into(),
                r["fingerprint"].as_str().unwrap_or("").into(),
            ]
        })
        .collect();
    super::table::print_table(&["PROFILE", "KIND", "EXPIRES", "STATUS", "SECRET"], &table);
    for r in &rows {
        if let Some(problem) = r["problem"].as_str() {
            println!("  {}: {problem}", r["id"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}
