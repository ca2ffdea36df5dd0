//! The `claw` command line. Human output is a table; listing commands take
//! `--json`; failures exit non-zero with the reason and its context.

mod auth;
mod client;
mod gateway;
mod infer;
mod models;
mod plugins;
mod prompter;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use claw_core::config::{ConfigFile, PluginsConfig};
use claw_plugin_host::{Limits, Runtime};
use claw_core::state::StateDir;

/// `--agent`: whose default model and fallbacks a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AgentArg {
    Main,
    Subagent,
}

impl From<AgentArg> for claw_core::app::Agent {
    fn from(a: AgentArg) -> Self {
        match a {
            AgentArg::Main => claw_core::app::Agent::Main,
            AgentArg::Subagent => claw_core::app::Agent::Subagent,
        }
    }
}

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
            command: gateway::GatewayCommand::Run { .. }
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

    /// Load plugins and the provider catalog for model requests.
    async fn app(self) -> anyhow::Result<claw_core::app::App> {
        self.app_with(Arc::new(claw_plugin_host::Headless)).await
    }

    /// Like `app`, with `prompter` for plugins' interactive steps.
    async fn app_with(
        self,
        prompter: Arc<dyn claw_plugin_host::Prompter>,
    ) -> anyhow::Result<claw_core::app::App> {
        let runtime = self.runtime()?;
        Ok(with_progress(claw_core::app::App::load(self.state, &runtime, prompter)).await?)
    }

    /// A runtime that keeps nothing on disk (used to validate before installing).
    fn scratch_runtime(&self) -> anyhow::Result<Arc<Runtime>> {
        Ok(Runtime::new(Limits::default(), None)?)
    }
}

/// Run `work` (loading plugins); if it takes a while (the first load compiles
/// them), say so on a terminal so nobody wonders why it is silent.
async fn with_progress<T>(work: impl Future<Output = T>) -> T {
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        _ = tokio::time::sleep(std::time::Duration::from_millis(400)) => {}
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("Loading plugins (compiling them on first use; later runs use the cache)...");
    }
    work.await
}

/// Print a left-aligned table with a header row.
fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    print_table_with(header, rows, |_| {});
}

/// `print_table`, calling `after(i)` after row `i` (for detail lines under it).
fn print_table_with<const N: usize>(
    header: &[&str; N],
    rows: &[[String; N]],
    mut after: impl FnMut(usize),
) {
    let mut widths = header.map(str::len);
    for row in rows {
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
    for (i, row) in rows.iter().enumerate() {
        line(row.iter().map(String::as_str).collect());
        after(i);
    }
}
