//! The `claw` command line. Human output is a table; listing commands take
//! `--json`; failures exit non-zero with the reason and its context.

mod plugins;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{ConfigFile, PluginsConfig};
use crate::runtime::{Limits, Runtime};
use crate::state::StateDir;

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
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
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
fn init_logging(verbose: bool) {
    let default = if verbose { "info" } else { "error" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLAW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// What most commands need: the state dir, the config and the runtime.
struct Context {
    state: StateDir,
    config: ConfigFile,
    plugins: PluginsConfig,
}

impl Context {
    fn open() -> anyhow::Result<Context> {
        let state = StateDir::from_env()?;
        let config = ConfigFile::load(&state.config_path())?;
        let plugins = config.plugins()?;
        Ok(Context {
            state,
            config,
            plugins,
        })
    }

    fn runtime(&self) -> anyhow::Result<Arc<Runtime>> {
        Ok(Runtime::new(
            Limits::default(),
            Some(self.state.cache_dir()),
        )?)
    }

    /// A runtime that keeps nothing on disk (used to validate before installing).
    fn scratch_runtime(&self) -> anyhow::Result<Arc<Runtime>> {
        Ok(Runtime::new(Limits::default(), None)?)
    }
}
