//! claw's core, between the plugin host and the front ends (gateway, CLI):
//! config, the plugin registry, the provider catalog with its presets, the
//! credential store, the router with its cooldowns, and `App`, which assembles
//! them once per command or per gateway reload.

pub mod app;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod devices;
pub mod registry;
pub mod reports;
pub mod router;
pub mod state;
pub mod usage;
