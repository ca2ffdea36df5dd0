//! `claw plugins ...`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use http::Method;
use serde_json::{Value, json};

use super::client::GatewayClient;
use super::scaffold;
use super::table::joined;

use super::context::Context;
use claw_core::config::PluginEdit;
use claw_core::registry::{self, PluginReport, Registry, Status};
use claw_plugin_host::Headless;
use claw_plugin_host::manifest::Kind;
use claw_plugin_host::{discovery, install};

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
    /// Let a native plugin run: unsandboxed, inside claw, with claw's
    /// privileges (sets plugins.entries.<id>.trusted in claw.json).
    Trust { id: String },
    /// Stop a native plugin from running (removes plugins.entries.<id>.trusted).
    Untrust { id: String },
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
        /// Trust a native plugin: it runs unsandboxed, with claw's privileges
        /// (records plugins.entries.<id>.trusted in claw.json).
        #[arg(long)]
        trust: bool,
    },
    /// Remove an installed plugin (its settings in claw.json stay).
    Uninstall { id: String },
    /// Start a plugin: a folder that builds and loads as it is, whose provider
    /// serves `<id>/echo-1` (streams the prompt back) and `<id>/http-1`.
    New {
        /// The plugin id (lowercase letters, digits, '-'); its models are `<id>/<model>`.
        id: String,
        #[arg(long, value_enum, default_value = "rust")]
        lang: scaffold::Lang,
        /// provider (serves models), auth (logs in), portal (both).
        #[arg(long, value_enum, default_value = "provider")]
        role: scaffold::PluginRole,
        /// Where to write it (default: ./<id>); must be empty or missing.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A native plugin (a Rust shared library for this machine, loaded
        /// only when trusted) instead of a WebAssembly component.
        #[arg(long)]
        native: bool,
    },
    /// Build the plugin in a folder (default: here) with its language's tool,
    /// leaving the component next to claw-plugin.toml.
    Build { dir: Option<PathBuf> },
    /// Check every plugin; exits non-zero when an enabled plugin is in error.
    Doctor {
        #[arg(long)]
        json: bool,
    },
}

/// Run `install`, saying so when compiling the component takes over a second
/// (large Python and JavaScript components take several).
async fn compiling<T>(source: &install::InstallSource, work: impl Future<Output = T>) -> T {
    tokio::pin!(work);
    let started = std::time::Instant::now();
    tokio::select! {
        done = &mut work => return done,
        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
    }
    eprintln!(
        "Compiling {} ({:.1} MB of WebAssembly to native code, once: later loads use the cache)...",
        source.manifest.id,
        source.wasm_len() as f64 / 1e6
    );
    let done = work.await;
    eprintln!("  took {:.1} s", started.elapsed().as_secs_f64());
    done
}

pub async fn run(command: PluginsCommand, verbose: bool) -> anyhow::Result<ExitCode> {
    let mut ctx = Context::open()?;
    match command {
        PluginsCommand::List { json } => {
            let listing = listing(&ctx, verbose).await?;
            if json {
                print_json(&listing);
            } else {
                print_table(&listing, verbose);
                println!("{}", summary(&listing));
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Info { id, json } => {
            let report = match GatewayClient::discover(&ctx.state) {
                Some(client) => {
                    say_via(verbose, Some(&client));
                    client
                        .ok(Method::GET, &format!("/admin/plugins/{id}"), None)
                        .await?
                }
                None => {
                    say_via(verbose, None);
                    let registry = load(&ctx).await?;
                    let Some(report) = registry.get(&id) else {
                        let known: Vec<&str> =
                            registry.plugins.iter().map(|p| p.id.as_str()).collect();
                        anyhow::bail!(
                            "no plugin with id \"{id}\"; known plugins: {}",
                            known.join(", ")
                        );
                    };
                    serde_json::to_value(report)?
                }
            };
            if json {
                print_json(&report);
            } else {
                print_info(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Enable { id } => edit(&mut ctx, &id, PluginEdit::Enable, verbose).await,
        PluginsCommand::Disable { id } => edit(&mut ctx, &id, PluginEdit::Disable, verbose).await,
        PluginsCommand::Trust { id } => edit(&mut ctx, &id, PluginEdit::Trust, verbose).await,
        PluginsCommand::Untrust { id } => edit(&mut ctx, &id, PluginEdit::Untrust, verbose).await,
        PluginsCommand::Install {
            path,
            manifest,
            force,
            trust,
        } => {
            let source = install::resolve(&path, manifest.as_deref())
                .with_context(|| format!("cannot install {}", path.display()))?;
            eprintln!(
                "Validating {} {} ({})...",
                source.manifest.id,
                source.manifest.version,
                source.wasm_path.display()
            );
            // The runtime that loads plugins later, so the artifact compiled
            // here is what the next load finds in the cache.
            let runtime = ctx.runtime()?;
            let installed = compiling(
                &source,
                install::install(
                    &runtime,
                    &ctx.state.plugins_dir(),
                    &ctx.plugins,
                    &source,
                    force,
                    trust,
                ),
            )
            .await
            .with_context(|| {
                format!(
                    "refusing to install {}; nothing was written",
                    path.display()
                )
            })?;
            let (dest, loaded) = (&installed.dir, &installed.loaded);
            let m = &source.manifest;
            let native = m.kind() == Kind::Native;
            if native && trust {
                ctx.config.edit_plugin(&m.id, PluginEdit::Trust)?;
                ctx.config.save()?;
            } else if trust {
                eprintln!(
                    "note: --trust is for native plugins; {} is a sandboxed WebAssembly component, nothing was recorded",
                    m.id
                );
            }
            println!("Installed {} {} into {}", m.id, m.version, dest.display());
            println!("  kind:    {}", kind_text(m.kind(), native.then_some(true)));
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
            if let Some(note) = loaded.sdk.ignored_exports_note() {
                println!("  note:    {note}");
            }
            for old in &installed.replaced {
                println!(
                    "  replaced: {old} (installed from this manifest before its id changed to {})",
                    m.id
                );
            }
            if let Some(p) = &loaded.provider {
                let models: Vec<String> = p
                    .models
                    .iter()
                    .map(|x| format!("{}/{}", m.id, x.id))
                    .collect();
                println!("  models:  {}", models.join(", "));
            }
            let decision = claw_plugin_host::settings::decide(&m.id, &ctx.plugins);
            if !decision.enabled {
                println!("  note:    it will not load: {}", decision.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::New {
            id,
            lang,
            role,
            dir,
            native,
        } => {
            ctx.state.create()?;
            let dir = scaffold::new(ctx.state.root(), &id, lang, role, dir, native)?;
            let shown = dir.display();
            println!("Created plugin {id} in {shown}. Next:");
            println!("  cd {shown}");
            println!("  claw plugins build");
            if native {
                println!(
                    "  claw plugins install . --trust   (native: it runs unsandboxed, with claw's privileges)"
                );
            } else {
                println!("  claw plugins install .");
            }
            if role != scaffold::PluginRole::Provider {
                println!("  claw auth login --provider {id}");
            }
            if role != scaffold::PluginRole::Auth {
                println!("  claw infer model run --model {id}/echo-1 --prompt \"round trip\"");
            }
            println!("Its README.md says more.");
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Build { dir } => {
            ctx.state.create()?;
            scaffold::build(&dir.unwrap_or_else(|| PathBuf::from(".")), ctx.state.root())?;
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
                .filter(|p| p.status == Status::Error && enabled_or_unknown(p))
                .collect();
            if json {
                let mut out = registry.to_json();
                out["stateDir"] = json!(ctx.state.root().display().to_string());
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
                println!("{}", summary(&registry.to_json()));
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

/// Errors count against `doctor` unless the plugin was explicitly turned off.
fn enabled_or_unknown(p: &PluginReport) -> bool {
    p.enabled || p.enable_reason.is_empty()
}

async fn load(ctx: &Context) -> anyhow::Result<Registry> {
    let runtime = ctx.runtime()?;
    let plugins_dir = ctx.state.plugins_dir();
    let loading = registry::load_all(&runtime, &plugins_dir, &ctx.plugins, Arc::new(Headless));
    Ok(super::context::with_progress(loading).await)
}

/// `plugins list --json`: from the running gateway when there is one, else
/// by loading the plugins here.
async fn listing(ctx: &Context, verbose: bool) -> anyhow::Result<Value> {
    if let Some(client) = GatewayClient::discover(&ctx.state) {
        say_via(verbose, Some(&client));
        return client.ok(Method::GET, "/admin/plugins", None).await;
    }
    say_via(verbose, None);
    let mut listing = load(ctx).await?.to_json();
    listing["stateDir"] = json!(ctx.state.root().display().to_string());
    Ok(listing)
}

/// With `--verbose`, say where the answer comes from.
fn say_via(verbose: bool, client: Option<&GatewayClient>) {
    if verbose {
        match client {
            Some(c) => eprintln!("(via the gateway at {})", c.running.url()),
            None => eprintln!("(in-process: no gateway is running)"),
        }
    }
}

async fn edit(
    ctx: &mut Context,
    id: &str,
    edit: PluginEdit,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let verb = edit.done();
    if let Some(client) = GatewayClient::discover(&ctx.state) {
        say_via(verbose, Some(&client));
        let result = client
            .ok(
                Method::POST,
                &format!("/admin/plugins/{id}/{}", edit.action()),
                None,
            )
            .await?;
        println!(
            "{verb} {id} in {}; the gateway reloaded",
            ctx.config.path().display()
        );
        after_edit(&result["plugin"], id, edit);
        return Ok(ExitCode::SUCCESS);
    }
    say_via(verbose, None);
    // Which plugins exist, from their manifests alone: the one load is the one
    // after the edit, which says what the edit did.
    let found = discovery::discover(&ctx.state.plugins_dir(), &ctx.plugins.load.paths);
    let Some(candidate) = found.iter().find(|c| c.id == id) else {
        let known: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
        anyhow::bail!(
            "no plugin with id \"{id}\"; known plugins: {}",
            known.join(", ")
        );
    };
    let kind = candidate.manifest.as_ref().map(|m| m.kind());
    if edit.is_trust() && kind == Ok(Kind::Wasm) {
        anyhow::bail!(registry::trust_not_needed(id));
    }
    ctx.config.edit_plugin(id, edit)?;
    let backup = ctx.config.save()?;
    println!("{verb} {id} in {}", ctx.config.path().display());
    if let Some(backup) = backup {
        println!(
            "  note: the file used JSON5 syntax (comments...) that was not kept; the original is in {}",
            backup.display()
        );
    }
    // What the next load will say about it, with the edit applied.
    ctx.plugins = ctx.config.plugins()?;
    let after = load(ctx).await?;
    if let Some(report) = after.get(id) {
        after_edit(&serde_json::to_value(report)?, id, edit);
    }
    Ok(ExitCode::SUCCESS)
}

/// What the user should know once an edit is made: why the plugin still does
/// not load, what it may reach, what trusting it means.
fn after_edit(report: &Value, id: &str, edit: PluginEdit) {
    let wants_load = matches!(edit, PluginEdit::Enable | PluginEdit::Trust);
    if let Some(why) = report["error"].as_str().filter(|_| wants_load) {
        println!("  note: {id} still will not load: {why}");
    }
    if edit == PluginEdit::Trust {
        println!(
            "  it now runs as native code inside claw, unsandboxed, with claw's privileges; `claw plugins untrust {id}` takes that back"
        );
    }
    if wants_load {
        print_grant(report);
    }
}

/// What a plugin being turned on may reach, so the user sees it at that moment.
fn print_grant(report: &Value) {
    let hosts = joined(&report["network"]);
    if hosts == "-" {
        println!("  network: none (the plugin cannot make outbound requests)");
    } else {
        println!(
            "  network: may reach {hosts}, and the base URLs you configure for providers it serves"
        );
    }
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}

fn summary(listing: &Value) -> String {
    let plugins = listing["plugins"].as_array().cloned().unwrap_or_default();
    let count = |s: &str| plugins.iter().filter(|p| p["status"] == s).count();
    format!(
        "{} plugin(s): {} loaded, {} disabled, {} error",
        plugins.len(),
        count("loaded"),
        count("disabled"),
        count("error")
    )
}

fn roles(roles: &[claw_plugin_host::manifest::Role]) -> String {
    if roles.is_empty() {
        return "-".into();
    }
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("-")
}

fn print_table(listing: &Value, verbose: bool) {
    let plugins = listing["plugins"].as_array().cloned().unwrap_or_default();
    let header = [
        "ID", "NAME", "VERSION", "STATUS", "KIND", "SOURCE", "ROLES", "SDK",
    ];
    let rows: Vec<[String; 8]> = plugins
        .iter()
        .map(|p| {
            let status = if p["health"] == "degraded" {
                "degraded"
            } else {
                text(p, "status")
            };
            [
                text(p, "id"),
                text(p, "name"),
                text(p, "version"),
                status,
                text(p, "kind"),
                text(p, "source"),
            ]
            .map(String::from)
            .into_iter()
            .chain([joined(&p["roles"]), text(p, "sdk").to_string()])
            .collect::<Vec<_>>()
            .try_into()
            .expect("eight cells")
        })
        .collect();
    super::table::print_table_with(&header, &rows, |i| {
        let p = &plugins[i];
        if let Some(reason) = p["error"].as_str().or(p["degradedReason"].as_str()) {
            println!(
                "    {}: {reason}",
                if p["status"] == "error" {
                    "error"
                } else {
                    "why"
                }
            );
        }
        if verbose {
            println!("    from: {}", text(p, "location"));
            if let (Some(ms), Some(cache)) = (p["loadMs"].as_f64(), p["cache"].as_str()) {
                println!("    load: {ms:.2} ms (compiled artifact cache: {cache})");
            }
            if p["status"] == "loaded" {
                println!("    enabled: {}", text(p, "enableReason"));
            }
        }
    });
}

fn print_info(p: &Value) {
    println!(
        "{} {} ({})",
        text(p, "id"),
        text(p, "version"),
        text(p, "name")
    );
    if let Some(d) = p["description"].as_str() {
        println!("  {d}");
    }
    println!("  status:    {}", text(p, "status"));
    let kind = match p["kind"].as_str() {
        Some("native") => Kind::Native,
        _ => Kind::Wasm,
    };
    if !p["kind"].is_null() {
        println!("  kind:      {}", kind_text(kind, p["trusted"].as_bool()));
    }
    if let Some(reason) = p["error"].as_str() {
        println!("  reason:    {reason}");
    }
    if let Some(step) = p["errorStep"].as_str() {
        println!("  failed at: {step}");
    }
    println!(
        "  source:    {} ({})",
        text(p, "source"),
        text(p, "location")
    );
    println!(
        "  sdk:       {} (manifest requires {})",
        p["sdk"].as_str().unwrap_or("unknown"),
        text(p, "sdkRequirement")
    );
    println!("  roles:     {}", joined(&p["roles"]));
    for note in p["notes"].as_array().into_iter().flatten() {
        println!("  note:      {}", note.as_str().unwrap_or_default());
    }
    let network = joined(&p["network"]);
    println!(
        "  network:   {}",
        if network == "-" {
            "none".to_string()
        } else {
            network
        }
    );
    if let Some(reason) = p["enableReason"].as_str().filter(|r| !r.is_empty()) {
        println!("  enabled:   {} ({reason})", p["enabled"]);
    }
    if p["provider"].is_object() {
        println!("  provides:  api {}", joined(&p["provider"]["apis"]));
        // A plugin without a login serves its models as `<plugin id>/<model>`;
        // one with a login, under the provider its login configures.
        let prefix = if p["auth"].is_object() {
            String::new()
        } else {
            format!("{}/", text(p, "id"))
        };
        for m in p["provider"]["models"].as_array().into_iter().flatten() {
            println!(
                "    model {prefix}{} \"{}\": context {}, max output {}",
                text(m, "id"),
                text(m, "name"),
                m["contextWindow"],
                m["maxTokens"]
            );
        }
    }
    if p["auth"].is_object() {
        println!("  logs in:   provider {}", text(&p["auth"], "provider"));
        for m in p["auth"]["methods"].as_array().into_iter().flatten() {
            let hint = m["hint"]
                .as_str()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            println!(
                "    method {} \"{}\"{hint}",
                text(m, "id"),
                text(m, "label")
            );
        }
    }
    if let Some(ms) = p["loadMs"].as_f64() {
        println!("  load time: {ms:.2} ms");
    }
    if let Some(d) = p["digest"].as_str() {
        println!("  digest:    {d}");
    }
}

/// `wasm (sandboxed)`, `native (trusted: runs unsandboxed)`, `native (not trusted)`.
fn kind_text(kind: Kind, trusted: Option<bool>) -> String {
    match (kind, trusted) {
        (Kind::Wasm, _) => "wasm (sandboxed)".into(),
        (Kind::Native, Some(true)) => {
            "native (trusted: runs unsandboxed, with claw's privileges)".into()
        }
        (Kind::Native, _) => "native (not trusted: does not run)".into(),
    }
}
