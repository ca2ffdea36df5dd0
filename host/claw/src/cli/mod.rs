//! The `claw` command line. Human output is a table; listing commands take
//! `--json`; failures exit non-zero with the reason and its context.

mod auth;
mod client;
mod config;
mod context;
mod devices;
mod gateway;
mod infer;
mod logging;
mod logs;
mod models;
mod otel;
mod plugins;
mod prompter;
mod scaffold;
mod table;
mod usage;

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
    /// What the gateway's requests used and cost, from the usage ledger.
    Usage(usage::UsageArgs),
    /// The gateway's log: `--follow` to watch it, `--json` for JSON lines.
    Logs(logs::LogsArgs),
    /// Log in to providers and manage stored credentials.
    Auth {
        #[command(subcommand)]
        command: auth::AuthCommand,
    },
    /// Read, change and check claw.json (comments and the rest of the file are kept).
    Config {
        #[command(subcommand)]
        command: config::ConfigCommand,
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
    let who = match &cli.command {
        Command::Gateway {
            command: gateway::GatewayCommand::Run(args),
        } => logging::Logging::Gateway {
            detached: args.detached,
        },
        _ => logging::Logging::Command,
    };
    let serving = matches!(who, logging::Logging::Gateway { .. });
    let _log = logging::init(
        if serving || cli.verbose {
            "info"
        } else {
            "error"
        },
        who,
    );
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
            Command::Usage(args) => usage::run(args).await,
            Command::Logs(args) => logs::run(args).await,
            Command::Gateway { command } => gateway::run(command).await,
            Command::Onboard { auth_choice } => auth::onboard(&auth_choice).await,
            Command::Config { command } => config::run(command).await,
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
