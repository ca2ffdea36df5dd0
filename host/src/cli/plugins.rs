//! `claw plugins ...`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::install;
use crate::registry::{self, PluginReport, Registry, Status};
use crate::runtime::Headless;

#[derive(Subcommand)]
pub enum PluginsCommand {
    /// Every plugin found, its status, and the reason when it is not loaded.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Everything about one plugin.
    Info {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Turn a plugin on (sets plugins.entries.<id>.enabled in claw.json).
    Enable { id: String },
    /// Turn a plugin off (sets plugins.entries.<id>.enabled in claw.json).
    Disable { id: String },
    /// Validate a plugin completely, then copy it into the state directory.
    Install {
        /// A plugin folder (claw-plugin.toml + .wasm), a plugin crate after
        /// `cargo build --release --target wasm32-wasip2`, or a .wasm file.
        path: PathBuf,
        /// The manifest, when it is not next to the .wasm.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Replace an installed plugin with the same id.
        #[arg(long)]
        force: bool,
    },
    /// Remove an installed plugin (its settings in claw.json stay).
    Uninstall { id: String },
    /// Check every plugin; exits non-zero when an enabled plugin is in error.
    Doctor {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: PluginsCommand, verbose: bool) -> anyhow::Result<ExitCode> {
    let mut ctx = Context::open()?;
    match command {
        PluginsCommand::List { json } => {
            let registry = load(&ctx).await?;
            if json {
                print_json(&list_json(&ctx, &registry));
            } else {
                print_table(&registry, verbose);
                println!("{}", summary(&registry));
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Info { id, json } => {
            let registry = load(&ctx).await?;
            let Some(report) = registry.get(&id) else {
                let known: Vec<&str> = registry.plugins.iter().map(|p| p.id.as_str()).collect();
                anyhow::bail!(
                    "no plugin with id \"{id}\"; known plugins: {}",
                    known.join(", ")
                );
            };
            if json {
                print_json(&serde_json::to_value(report)?);
            } else {
                print_info(report);
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Enable { id } => set_enabled(&mut ctx, &id, true).await,
        PluginsCommand::Disable { id } => set_enabled(&mut ctx, &id, false).await,
        PluginsCommand::Install {
            path,
            manifest,
            force,
        } => {
            let source = install::resolve(&path, manifest.as_deref())
                .with_context(|| format!("cannot install {}", path.display()))?;
            eprintln!(
                "Validating {} {} ({})...",
                source.manifest.id,
                source.manifest.version,
                source.wasm_path.display()
            );
            let runtime = ctx.scratch_runtime()?;
            let (dest, loaded) = install::install(
                &runtime,
                &ctx.state.plugins_dir(),
                &ctx.plugins,
                &source,
                force,
            )
            .await
            .with_context(|| {
                format!(
                    "refusing to install {}; nothing was written",
                    path.display()
                )
            })?;
            let m = &source.manifest;
            println!("Installed {} {} into {}", m.id, m.version, dest.display());
            println!("  sdk:     {}", loaded.sdk.label());
            println!("  roles:   {}", roles(&m.roles));
            println!(
                "  network: {}",
                if m.network_hosts.is_empty() {
                    "none".into()
                } else {
                    m.network_hosts.join(", ")
                }
            );
            let decision = crate::enablement::decide(&m.id, &ctx.plugins);
            if !decision.enabled {
                println!("  note:    it will not load: {}", decision.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Uninstall { id } => {
            let dir = install::uninstall(&ctx.state.plugins_dir(), &id)?;
            println!("Uninstalled {id} (removed {})", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Doctor { json } => {
            let registry = load(&ctx).await?;
            let failing: Vec<&PluginReport> = registry
                .plugins
                .iter()
                .filter(|p| p.status == Status::Error && p.enabled_or_unknown())
                .collect();
            if json {
                let mut out = list_json(&ctx, &registry);
                out["ok"] = json!(failing.is_empty());
                print_json(&out);
            } else {
                for p in &registry.plugins {
                    let (mark, text) = match p.status {
                        Status::Loaded => (
                            "ok  ",
                            format!("loaded, {}", p.sdk.as_deref().unwrap_or("?")),
                        ),
                        Status::Disabled => ("off ", p.error.clone().unwrap_or_default()),
                        Status::Error => ("FAIL", p.error.clone().unwrap_or_default()),
                    };
                    println!("{mark} {}: {text}", p.id);
                }
                println!("{}", summary(&registry));
                if !failing.is_empty() {
                    println!(
                        "{} enabled plugin(s) failed to load; fix them, or turn them off with `claw plugins disable <id>`.",
                        failing.len()
                    );
                }
            }
            Ok(if failing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

impl PluginReport {
    /// Errors count against `doctor` unless the plugin was explicitly turned off.
    fn enabled_or_unknown(&self) -> bool {
        self.enabled || self.enable_reason.is_empty()
    }
}

async fn load(ctx: &Context) -> anyhow::Result<Registry> {
    let runtime = ctx.runtime()?;
    Ok(registry::load_all(
        &runtime,
        &ctx.state.plugins_dir(),
        &ctx.plugins,
        Arc::new(Headless),
    )
    .await)
}

async fn set_enabled(ctx: &mut Context, id: &str, enabled: bool) -> anyhow::Result<ExitCode> {
    let registry = load(ctx).await?;
    if registry.get(id).is_none() {
        let known: Vec<&str> = registry.plugins.iter().map(|p| p.id.as_str()).collect();
        anyhow::bail!(
            "no plugin with id \"{id}\"; known plugins: {}",
            known.join(", ")
        );
    }
    ctx.config.set_plugin_enabled(id, enabled)?;
    let backup = ctx.config.save()?;
    let verb = if enabled { "Enabled" } else { "Disabled" };
    println!("{verb} {id} in {}", ctx.config.path().display());
    if let Some(backup) = backup {
        println!(
            "  note: the file used JSON5 syntax (comments...) that was not kept; the original is in {}",
            backup.display()
        );
    }
    let plugins = ctx.config.plugins()?;
    let decision = crate::enablement::decide(id, &plugins);
    if enabled && !decision.enabled {
        println!("  note: {id} still will not load: {}", decision.reason);
    }
    Ok(ExitCode::SUCCESS)
}

fn list_json(ctx: &Context, registry: &Registry) -> serde_json::Value {
    json!({
        "stateDir": ctx.state.root().display().to_string(),
        "plugins": registry.plugins,
    })
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}

fn summary(registry: &Registry) -> String {
    format!(
        "{} plugin(s): {} loaded, {} disabled, {} error",
        registry.plugins.len(),
        registry.count(Status::Loaded),
        registry.count(Status::Disabled),
        registry.count(Status::Error)
    )
}

fn roles(roles: &[crate::manifest::Role]) -> String {
    if roles.is_empty() {
        return "-".into();
    }
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_table(registry: &Registry, verbose: bool) {
    let header = ["ID", "NAME", "VERSION", "STATUS", "SOURCE", "ROLES", "SDK"];
    let rows: Vec<[String; 7]> = registry
        .plugins
        .iter()
        .map(|p| {
            [
                p.id.clone(),
                p.name.clone(),
                p.version.clone().unwrap_or_else(|| "-".into()),
                p.status.as_str().into(),
                p.source.as_str().into(),
                roles(&p.roles),
                p.sdk.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for (row, p) in rows.iter().zip(&registry.plugins) {
        line(row.iter().map(String::as_str).collect());
        if let Some(reason) = &p.error {
            println!(
                "    {}: {reason}",
                if p.status == Status::Error {
                    "error"
                } else {
                    "why"
                }
            );
        }
        if verbose {
            println!("    from: {}", p.location);
            if let (Some(ms), Some(cache)) = (p.load_ms, p.cache) {
                println!(
                    "    load: {ms:.2} ms (compiled artifact cache: {})",
                    serde_json::to_value(cache).unwrap().as_str().unwrap_or("?")
                );
            }
            if p.status == Status::Loaded {
                println!("    enabled: {}", p.enable_reason);
            }
        }
    }
}

fn print_info(p: &PluginReport) {
    println!(
        "{} {} ({})",
        p.id,
        p.version.as_deref().unwrap_or("-"),
        p.name
    );
    if let Some(d) = &p.description {
        println!("  {d}");
    }
    println!("  status:    {}", p.status.as_str());
    if let Some(reason) = &p.error {
        println!("  reason:    {reason}");
    }
    if let Some(step) = p.error_step {
        println!("  failed at: {step}");
    }
    println!("  source:    {} ({})", p.source.as_str(), p.location);
    println!(
        "  sdk:       {} (manifest requires {})",
        p.sdk.as_deref().unwrap_or("unknown"),
        p.sdk_requirement.as_deref().unwrap_or("-")
    );
    println!("  roles:     {}", roles(&p.roles));
    println!(
        "  network:   {}",
        if p.network.is_empty() {
            "none".into()
        } else {
            p.network.join(", ")
        }
    );
    if !p.enable_reason.is_empty() {
        println!("  enabled:   {} ({})", p.enabled, p.enable_reason);
    }
    if let Some(info) = &p.provider {
        println!("  provides:  api {}", info.apis.join(", "));
        for m in &info.models {
            println!(
                "    model {} \"{}\": context {}, max output {}",
                m.id, m.name, m.context_window, m.max_tokens
            );
        }
    }
    if let Some(auth) = &p.auth {
        println!("  logs in:   provider {}", auth.provider);
        for m in &auth.methods {
            println!(
                "    method {} \"{}\"{}",
                m.id,
                m.label,
                m.hint
                    .as_ref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(ms) = p.load_ms {
        println!("  load time: {ms:.2} ms");
    }
}
