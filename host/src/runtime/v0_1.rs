//! SDK `claw:plugin@0.1.x`: the generated bindings and the host side of its
//! imports. A future incompatible SDK gets a sibling module with its frozen WIT
//! and an adapter to the current types, so old plugins keep loading.

use wasmtime::component::{HasSelf, Linker};

use super::state::HostState;

wasmtime::component::bindgen!({
    path: "../wit/0.1.0",
    world: "portal-plugin",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

pub use self::claw::plugin::types;
pub use self::exports::claw::plugin::{auth, provider};

/// Longest log line a plugin may write; longer ones are cut (a plugin cannot
/// flood the host log with one call).
const MAX_LOG_LINE: usize = 4096;

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    PortalPlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

impl claw::plugin::types::Host for HostState {}

impl claw::plugin::log::Host for HostState {
    async fn log(&mut self, level: claw::plugin::log::Level, message: String) {
        use self::claw::plugin::log::Level;
        match self.log_budget {
            0 => return,
            1 => {
                self.log_budget = 0;
                tracing::warn!(target: "claw::plugin", plugin = &*self.plugin, "too many log lines in one request (plugins.limits.logLinesPerCall); dropping the rest");
                return;
            }
            _ => self.log_budget -= 1,
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [cut]");
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "claw::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "claw::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "claw::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "claw::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "claw::plugin", plugin, "{message}"),
        }
    }
}

impl claw::plugin::config::Host for HostState {
    async fn get(&mut self) -> String {
        self.config_json.to_string()
    }
}

impl claw::plugin::prompts::Host for HostState {
    async fn show_code(&mut self, code: String, url: String) {
        self.prompter.show_code(&code, &url)
    }
    async fn open_url(&mut self, url: String) -> bool {
        self.prompter.open_url(&url)
    }
    async fn ask(&mut self, question: String, secret: bool) -> Option<String> {
        self.prompter.ask(&question, secret)
    }
    async fn pick(&mut self, question: String, options: Vec<String>) -> Option<u32> {
        self.prompter.pick(&question, &options)
    }
    async fn progress(&mut self, message: String) {
        self.prompter.progress(&message)
    }
}
