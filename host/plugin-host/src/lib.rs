//! The plugin host: the only crate that uses wasmtime. It finds plugins
//! (discovery, manifests, bundled ones), checks which SDK a component was built
//! against, compiles (with the on-disk cache), links and describes them, and
//! hands out `Plugin` handles whose calls speak the host's own types
//! (`claw_types`), each on a fresh instance within its limits and network grant.

pub mod bundled;
mod cache;
pub mod discovery;
mod drain;
mod engine;
mod error;
pub mod grant;
pub mod install;
mod limits;
pub mod loader;
pub mod manifest;
pub mod native;
mod outbound;
mod plugin;
mod prompts;
pub mod sdk;
pub mod settings;
mod state;
pub mod wit;

pub use cache::CacheOutcome;
pub use engine::{Limits, Runtime, StartError};
pub use grant::{NetworkGrant, host_of};
pub use limits::PluginLimits;
pub use plugin::{CallError, ChatStream, Plugin, PluginSettings};
pub use prompts::{Headless, Prompter};
