//! `claw gateway run|start|stop|status|restart|token`.

use std::net::IpAddr;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use http::Method;
use serde_json::json;

use super::client::GatewayClient;
use claw_core::state::StateDir;
use claw_gateway::daemon::{self, RunOptions};

/// Where and how the gateway serves, for `run` and `start` alike.
#[derive(Args)]
pub struct ServeArgs {
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (default 127.0.0.1; others need a configured token).
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Reload when a plugin file or the config changes (for plugin authors).
    #[arg(long)]
    watch: bool,
    /// Started by `claw gateway start`: log to the log file only, not to stderr.
    #[arg(long, hide = true)]
    pub detached: bool,
}

#[derive(Subcommand)]
pub enum GatewayCommand {
    /// Run in the foreground (logs to stderr, and to the file `claw logs` reads).
    Run(ServeArgs),
    /// Run in the background (pid and port in the state dir; `claw logs` shows its log).
    Start(ServeArgs),
    /// Stop the background gateway.
    Stop,
    /// Is a gateway running, and what does it serve?
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Reload plugins and config in place, without dropping a request.
    Restart {
        #[arg(long)]
        json: bool,
    },
    /// Print the token clients must send (`Authorization: Bearer <token>`).
    Token,
}

pub async fn run(command: GatewayCommand) -> anyhow::Result<ExitCode> {
    let state = StateDir::from_env()?;
    match command {
        GatewayCommand::Run(ServeArgs {
            port, bind, watch, ..
        }) => {
            daemon::run(state, RunOptions { port, bind, watch }).await?;
        }
        GatewayCommand::Start(args) => {
            return start(&state, args).await;
        }
        GatewayCommand::Stop => {
            let Some(running) = daemon::running(&state) else {
                println!("No gateway is running.");
                return Ok(ExitCode::SUCCESS);
            };
            // SAFETY: sending SIGTERM to the recorded gateway process.
            unsafe { libc::kill(running.pid as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(15);
            while daemon::running(&state).is_some() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::ensure!(
                daemon::running(&state).is_none(),
                "the gateway (pid {}) did not stop within 15 s",
                running.pid
            );
            println!("Stopped the gateway (pid {}).", running.pid);
        }
        GatewayCommand::Status { json: as_json } => {
            let Some(client) = GatewayClient::discover(&state) else {
                if as_json {
                    println!("{}", json!({ "running": false }));
                } else {
                    println!(
                        "No gateway is running. Start one with `claw gateway start` (or `claw gateway run`)."
                    );
                }
                return Ok(ExitCode::FAILURE);
            };
            let status = client.ok(Method::GET, "/admin/status", None).await?;
            if as_json {
                let mut out = status.clone();
                out["running"] = json!(true);
                out["url"] = json!(client.running.url());
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "Gateway running at {} (pid {})",
                    client.running.url(),
                    status["pid"]
                );
                println!(
                    "  uptime: {} s, requests served: {}",
                    status["uptimeMs"].as_u64().unwrap_or(0) / 1000,
                    status["requestsServed"]
                );
                println!(
                    "  plugins: {} loaded, {} disabled, {} error; models: {}",
                    status["plugins"]["loaded"],
                    status["plugins"]["disabled"],
                    status["plugins"]["error"],
                    status["models"]
                );
            }
        }
        GatewayCommand::Restart { json: as_json } => {
            let Some(client) = GatewayClient::discover(&state) else {
                anyhow::bail!("no gateway is running; start one with `claw gateway start`");
            };
            let summary = client.ok(Method::POST, "/admin/reload", None).await?;
            if as_json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_summary(&summary);
            }
            return Ok(if summary["ok"] == true {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        GatewayCommand::Token => {
            let section = claw_core::config::ConfigFile::load(&state.config_path())?
                .section::<claw_gateway::daemon::GatewaySection>("gateway")?;
            let (token, _) = daemon::token(&state, &section)?;
            println!("{token}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The reload summary as a few lines.
pub fn print_summary(s: &serde_json::Value) {
    if let Some(error) = s["error"].as_str() {
        println!("Reload failed: {error}");
        return;
    }
    let list = |k: &str| {
        s[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!(
        "Reloaded in {} ms: {} plugins loaded",
        s["tookMs"], s["loaded"]
    );
    for (label, key) in [
        ("changed", "changed"),
        ("added", "added"),
        ("removed", "removed"),
    ] {
        let items = list(key);
        if !items.is_empty() {
            println!("  {label}: {items}");
        }
    }
    for e in s["errors"].as_array().into_iter().flatten() {
        println!("  error: {}", e["error"].as_str().unwrap_or("?"));
    }
}

async fn start(state: &StateDir, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs {
        port, bind, watch, ..
    } = args;
    if let Some(r) = daemon::running(state) {
        println!(
            "A gateway is already running at {} (pid {}).",
            r.url(),
            r.pid
        );
        return Ok(ExitCode::SUCCESS);
    }
    let log = daemon::log_path(state);
    std::fs::create_dir_all(daemon::gateway_dir(state))?;
    use std::os::unix::fs::OpenOptionsExt;
    let log_file = std::fs::OpenOptions::new()
        .mode(0o600)
        .create(true)
        .append(true)
        .open(&log)?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(["gateway", "run", "--detached"]);
    if let Some(p) = port {
        cmd.args(["--port", &p.to_string()]);
    }
    if let Some(b) = bind {
        cmd.args(["--bind", &b.to_string()]);
    }
    if watch {
        cmd.arg("--watch");
    }
    if std::env::var_os("CLAW_LOG").is_none() {
        cmd.env("CLAW_LOG", "info");
    }
    let _ = std::fs::remove_file(daemon::running_path(state));
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "the gateway exited ({status}) while starting; see {}",
                log.display()
            );
        }
        if let Some(r) = daemon::running(state) {
            println!("Gateway started at {} (pid {}).", r.url(), r.pid);
            println!(
                "  token: `claw gateway token` (file {})",
                daemon::token_path(state).display()
            );
            println!("  logs:  `claw logs --follow`");
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!(
        "the gateway did not start within 30 s; see {}",
        log.display()
    )
}
