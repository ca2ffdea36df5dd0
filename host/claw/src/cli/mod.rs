//! The `claw` command line. Human output is a table; listing commands take
//! `--json`; failures exit non-zero with the reason and its context.

mod auth;
mod client;
mod context;
mod devices;
mod gateway;
mod infer;
mod models;
mod plugins;
mod prompter;
mod scaffold;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "claw",
    version,
    about = "A gateway for your AI assistant, with WebAssembly provider and auth plugins"
)]
struct Cli {
    /// Say more: load times, cache use, where each plugin came from, info logs.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List, inspect, install and diagnose plugins.
    Plugins {
        #[command(subcommand)]
        command: plugins::PluginsCommand,
    },
    /// Run a prompt through a model and its fallbacks.
    Infer {
        #[command(subcommand)]
        command: infer::InferCommand,
    },
    /// Models, the default model, fallbacks, aliases and probes.
    Models {
        #[command(subcommand)]
        command: models::ModelsCommand,
    },
    /// Run the gateway: OpenAI- and Anthropic-compatible endpoints and the admin API.
    Gateway {
        #[command(subcommand)]
        command: gateway::GatewayCommand,
    },
    /// Clients paired with the gateway: pending requests, approve, reject, revoke, rotate.
    Devices {
        #[command(subcommand)]
        command: devices::DevicesCommand,
    },
    /// Log in to providers and manage stored credentials.
    Auth {
        #[command(subcommand)]
        command: auth::AuthCommand,
    },
    /// Set up a provider in one step, e.g. `--auth-choice minimax-portal`.
    Onboard {
        /// minimax-portal, minimax-portal-cn, minimax-api, minimax-cn-api, anthropic-api, openrouter-api, moonshot-api
        #[arg(long)]
        auth_choice: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The gateway logs its requests; one-shot commands only say what went wrong.
    let serving = matches!(
        cli.command,
        Command::Gateway {
            command: gateway::GatewayCommand::Run(_)
        }
    );
    init_logging(if serving || cli.verbose {
        "info"
    } else {
        "error"
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugins { command } => plugins::run(command, cli.verbose).await,
            Command::Infer { command } => infer::run(command, cli.verbose).await,
            Command::Models { command } => models::run(command).await,
            Command::Auth { command } => auth::run(command).await,
            Command::Devices { command } => devices::run(command).await,
            Command::Gateway { command } => gateway::run(command).await,
            Command::Onboard { auth_choice } => auth::onboard(&auth_choice).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `CLAW_LOG` takes a tracing filter (e.g. `claw=debug`).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLAW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
