//! `claw config get|set|unset|validate`: read, change and check claw.json.
//! Changes keep the rest of the file as it is (comments too); secrets are
//! refused, and shown redacted.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};

use claw_core::config::validate::{self, Problem};
use claw_core::config::{ConfigFile, path};
use claw_core::state::StateDir;
use claw_gateway::daemon::{self, GatewaySection};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the value at a path, e.g. `agents.defaults.model.primary` or
    /// `agents.defaults.models["minimax/MiniMax-M2.1"].alias` (secrets redacted).
    Get {
        path: String,
        /// Always print JSON (a string too).
        #[arg(long)]
        json: bool,
    },
    /// Set the value at a path: JSON5 when it reads as JSON5 (42, true,
    /// [..], {..}, "quoted"), else the text as it is.
    Set {
        path: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// Take the value as text even when it reads as JSON5 (e.g. "42").
        #[arg(long)]
        string: bool,
    },
    /// Remove the value at a path.
    Unset { path: String },
    /// Check every section claw reads; each problem with its path (exits 1 on any).
    Validate {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    let state = StateDir::from_env()?;
    let file = state.config_path();
    if let ConfigCommand::Validate { json } = command {
        let problems = match ConfigFile::load(&file) {
            Ok(config) => problems(&config),
            Err(e) => vec![Problem {
                path: String::new(),
                message: e.to_string(),
            }],
        };
        return Ok(report(&file.display().to_string(), &problems, json));
    }
    let mut config = ConfigFile::load(&file)?;
    let shown = file.display();
    match command {
        ConfigCommand::Get { path: at, json } => {
            let keys = path::parse_path(&at)?;
            let value = config
                .get(&refs(&keys))
                .ok_or_else(|| not_set(&config, &at, &keys))?;
            match path::redact(&keys, value) {
                Value::String(s) if !json => println!("{s}"),
                other => println!("{}", serde_json::to_string_pretty(&other)?),
            }
        }
        ConfigCommand::Set {
            path: at,
            value,
            string,
        } => {
            let keys = path::parse_path(&at)?;
            let value = match string {
                true => Value::String(value),
                false => path::parse_value(&value),
            };
            anyhow::ensure!(!path::holds_secret(&keys, &value), refuse_secret(&at));
            let before = problems(&config);
            config.set(&refs(&keys), value)?;
            let after = problems(&config);
            let introduced = introduced(&before, &after, &keys);
            if !introduced.is_empty() {
                let lines: Vec<String> = introduced
                    .iter()
                    .map(|p| format!("  {}: {}", p.path, p.message))
                    .collect();
                anyhow::bail!(
                    "not set: {at} would make {shown} invalid; it is unchanged\n{}",
                    lines.join("\n")
                );
            }
            save(&mut config)?;
            println!("Set {at} in {shown}.");
            restart_hint(&state);
        }
        ConfigCommand::Unset { path: at } => {
            let keys = path::parse_path(&at)?;
            if config.remove(&refs(&keys)).is_none() {
                return Err(not_set(&config, &at, &keys));
            }
            save(&mut config)?;
            println!("Removed {at} from {shown}.");
            restart_hint(&state);
        }
        ConfigCommand::Validate { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

fn refs(keys: &[String]) -> Vec<&str> {
    keys.iter().map(String::as_str).collect()
}

/// Every problem: claw-core's sections and checks, and the gateway's section.
fn problems(config: &ConfigFile) -> Vec<Problem> {
    let mut problems = validate::validate(config);
    problems.extend(validate::section::<GatewaySection>(config, "gateway"));
    problems
}

/// Problems in `after` that a set at `keys` brought: at, under or above it, or
/// in a section that had none before.
fn introduced<'a>(before: &[Problem], after: &'a [Problem], keys: &[String]) -> Vec<&'a Problem> {
    let section = |p: &Problem| {
        path::parse_path(&p.path)
            .ok()
            .and_then(|k| k.into_iter().next())
    };
    let failing: Vec<Option<String>> = before.iter().map(section).collect();
    after
        .iter()
        .filter(|p| !before.contains(p))
        .filter(|p| match path::parse_path(&p.path) {
            Ok(at) => {
                at.starts_with(keys) || keys.starts_with(&at) || !failing.contains(&section(p))
            }
            Err(_) => true,
        })
        .collect()
}

fn report(file: &str, problems: &[Problem], as_json: bool) -> ExitCode {
    if as_json {
        let out = json!({ "valid": problems.is_empty(), "path": file, "problems": problems });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else if problems.is_empty() {
        println!("{file}: valid");
    } else {
        let n = problems.len();
        println!("{file}: {n} problem{}", if n == 1 { "" } else { "s" });
        for p in problems {
            match p.path.as_str() {
                "" => println!("  {}", p.message),
                at => println!("  {at}: {}", p.message),
            }
        }
    }
    match problems.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// "`<path>` is not set", with what the nearest existing parent holds.
fn not_set(config: &ConfigFile, at: &str, keys: &[String]) -> anyhow::Error {
    let file = config.path().display();
    let keys = refs(keys);
    let parent = (0..keys.len()).rev().find_map(|n| {
        let value = match n {
            0 => Some(Value::Object(config.value().clone())),
            n => config.get(&keys[..n]).cloned(),
        }?;
        let name = match n {
            0 => "the file".to_string(),
            n => format!("`{}`", path::display(&keys[..n])),
        };
        Some(match value {
            Value::Object(map) if map.is_empty() => format!("{name} is empty"),
            Value::Object(map) => {
                let names: Vec<String> = map.keys().map(|k| path::display(&[k])).collect();
                format!("{name} has: {}", names.join(", "))
            }
            Value::Array(items) => format!("{name} is an array of {}", items.len()),
            other => format!("{name} is {}", claw_types::json::kind(&other)),
        })
    });
    let parent = parent.map(|p| format!("; {p}")).unwrap_or_default();
    anyhow::anyhow!("`{at}` is not set in {file}{parent}")
}

fn refuse_secret(at: &str) -> String {
    format!(
        "refusing to take a secret on the command line (it would stay in your shell history and process list): store a provider's key with `claw auth set-key <provider>` (it reads stdin), or put it in the environment and reference it: claw config set {at} '${{VAR_NAME}}'"
    )
}

fn save(config: &mut ConfigFile) -> anyhow::Result<()> {
    if let Some(backup) = config.save()? {
        println!(
            "note: claw.json used JSON5 syntax that could not be kept; the original is in {}",
            backup.display()
        );
    }
    Ok(())
}

fn restart_hint(state: &StateDir) {
    if let Some(running) = daemon::running(state) {
        println!(
            "A gateway is running (pid {}): run `claw gateway restart` to apply the change.",
            running.pid
        );
    }
}
