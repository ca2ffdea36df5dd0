//! claw: a gateway whose model providers and their authentication are
//! WebAssembly plugins. Only `runtime` and `loader` touch wasmtime; everything
//! above them works with plain Rust types.

pub mod app;
pub mod auth;
pub mod bundled;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod enablement;
pub mod gateway;
pub mod install;
pub mod loader;
pub mod manifest;
pub mod registry;
pub mod reports;
pub mod router;
pub mod runtime;
pub mod sdk_compat;
pub mod state;

/// The plain data types of the plugin contract (requests, events, errors).
pub use runtime::types;
