//! What most commands share: the state dir, the config, the runtime, and
//! which agent's defaults a request uses.

use std::sync::Arc;

use clap::ValueEnum;
use claw_core::config::{ConfigFile, PluginsConfig};
use claw_core::state::StateDir;
use claw_plugin_host::{Limits, Runtime};

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

/// What most commands need: the state dir, the config and the runtime.
pub(crate) struct Context {
    pub(crate) state: StateDir,
    pub(crate) config: ConfigFile,
    pub(crate) plugins: PluginsConfig,
}

impl Context {
    pub(crate) fn open() -> anyhow::Result<Context> {
        let state = StateDir::from_env()?;
        let config = ConfigFile::load(&state.config_path())?;
        let plugins = config.plugins()?;
        Ok(Context {
            state,
            config,
            plugins,
        })
    }

    pub(crate) fn runtime(&self) -> anyhow::Result<Arc<Runtime>> {
        Ok(Runtime::new(
            Limits::default(),
            Some(self.state.cache_dir()),
        )?)
    }

    /// Load plugins and the provider catalog for model requests.
    pub(crate) async fn app(self) -> anyhow::Result<claw_core::app::App> {
        self.app_with(Arc::new(claw_plugin_host::Headless)).await
    }

    /// Like `app`, with `prompter` for plugins' interactive steps.
    pub(crate) async fn app_with(
        self,
        prompter: Arc<dyn claw_plugin_host::Prompter>,
    ) -> anyhow::Result<claw_core::app::App> {
        let runtime = self.runtime()?;
        Ok(with_progress(claw_core::app::App::load(self.state, &runtime, prompter)).await?)
    }
}

/// Run `work` (loading plugins); if it takes a while (the first load compiles
/// them), say so on a terminal so nobody wonders why it is silent.
pub(crate) async fn with_progress<T>(work: impl Future<Output = T>) -> T {
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
