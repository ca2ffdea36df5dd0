//! Native plugins: the same crate built for the host target as a `cdylib`,
//! which claw loads as a shared library through a small versioned C ABI
//! (docs/native-abi.md in the claw repository). The export macros emit the
//! `claw_*` symbols; this module holds what they call, and the host table the
//! SDK's host calls (log, config, prompts, random, HTTP) go through.

mod abi;
pub mod export;
pub(crate) mod host;
#[cfg(test)]
mod tests;

pub use abi::{
    ABI_VERSION, ClawHost, ClawSink, HOST_ERROR, HOST_OK, ROLE_AUTH, ROLE_PROVIDER,
    STATUS_BAD_INPUT, STATUS_OK, STATUS_PANIC, STATUS_PLUGIN_ERROR,
};
