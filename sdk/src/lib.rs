//! # claw-plugin-sdk
//!
//! Write claw provider and auth plugins in Rust. A plugin is a struct that
//! implements [`Provider`] and/or [`Auth`], exported with one macro, built with
//! `cargo build --release --target wasm32-wasip2` (or, as a native library that
//! claw runs only when trusted, `cargo build --release`). See `README.md` for a
//! complete example and the manifest that goes next to the `.wasm`.
//!
//! ```text
//! use claw_plugin_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Provider for Hello {
//!     fn describe() -> ProviderInfo {
//!         ProviderInfo { apis: vec!["hello".into()], models: vec![] }
//!     }
//!     fn chat(_request: ChatRequest) -> Result<ChatStream, PluginError> {
//!         Ok(ChatStream::from_events(vec![
//!             ChatEvent::Text("hello".into()),
//!             ChatEvent::Done(Done::from_raw("end_turn")),
//!         ]))
//!     }
//! }
//!
//! claw_plugin_sdk::export_provider!(Hello);
//! ```

mod content;
mod errors;
mod exports;
pub mod http;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod native;
pub mod prompts;
pub mod random;
pub mod reasoning;
mod reply;
pub mod sse;
mod stream;
pub mod testing;
pub mod time;
pub mod tool_calls;
pub mod upstream;

pub use errors::{PluginErrorExt, classify_status, redact};
pub use stream::ChatStream;
pub use tool_calls::{ToolCallAccumulator, ToolCallTracker};

/// The version of the `claw:plugin` WIT package this SDK builds plugins against.
/// Put a requirement that matches it in your manifest's `sdk` field (`"^0.2"`).
pub const SDK_VERSION: &str = "0.2.0";
/// The WIT package name plugins import and export.
pub const WIT_PACKAGE: &str = "claw:plugin";

/// Bindings to the host imports, shared by every plugin world.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "host-imports",
        // Records and variants compare, so tests can assert_eq! on events; serde
        // gives the JSON that native plugins exchange with the host
        // (docs/native-abi.md: serde's default shape of these generated types).
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        generate_all,
    });
}

/// Every type of the contract (requests, events, errors, credentials).
pub use bindings::claw::plugin::types;

/// Reads this plugin's settings (`plugins.entries.<id>.config` in claw.json).
pub mod config {
    /// The raw settings object as JSON text (`{}` when none are configured).
    #[cfg(target_arch = "wasm32")]
    pub fn raw() -> String {
        crate::bindings::claw::plugin::config::get()
    }

    /// The raw settings object as JSON text (`{}` when none are configured,
    /// and outside claw, in a plugin's own tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn raw() -> String {
        crate::native::host::config()
    }

    /// The settings parsed into `T`. Missing fields take `T`'s serde defaults.
    pub fn get<T: serde::de::DeserializeOwned>() -> Result<T, crate::types::PluginError> {
        serde_json::from_str(&raw()).map_err(|e| {
            <crate::types::PluginError as crate::PluginErrorExt>::new(
                crate::types::ErrorReason::Format,
                format!("plugin config is not valid for this plugin: {e}"),
            )
        })
    }
}

/// A model provider. Implement it on a unit struct and export it with
/// [`export_provider!`] (or [`export_portal!`] together with [`Auth`]).
pub trait Provider: 'static {
    /// What the plugin serves. Called at load time; must not use the network.
    fn describe() -> types::ProviderInfo;
    /// Start a chat request. Return classified errors (see [`PluginErrorExt`]).
    fn chat(request: types::ChatRequest) -> Result<ChatStream, types::PluginError>;
}

/// Logs a user in and refreshes credentials. Export it with [`export_auth!`]
/// (or [`export_portal!`] together with [`Provider`]).
pub trait Auth: 'static {
    /// The provider this plugin authenticates and its login methods.
    fn describe_auth() -> types::AuthInfo;
    /// Run a login; use [`prompts`] for the interactive steps.
    fn login(method: String) -> Result<types::LoginResult, types::PluginError>;
    /// Exchange the refresh token in `credential` for a fresh credential.
    fn refresh(
        method: String,
        credential: types::Credential,
    ) -> Result<types::Credential, types::PluginError>;
}

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::types::*;
    pub use crate::{Auth, ChatStream, PluginErrorExt, Provider};
    pub use crate::{ToolCallAccumulator, ToolCallTracker};
    pub use crate::{http, log, prompts, reasoning, sse, upstream};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use wit_bindgen;
}

include!(concat!(env!("OUT_DIR"), "/generate_macro.rs"));
