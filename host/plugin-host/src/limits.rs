//! What one plugin's calls may use, and the store limiter that enforces the
//! memory cap and records when a call ran into it (so a failed call is reported
//! as a memory failure from what happened, not from an error's text).

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Limits of one plugin's calls: defaults in `plugins.limits`, overridden per
/// plugin in `plugins.entries.<id>.limits`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PluginLimits {
    /// Wall-clock deadline of one call (each `next` of a stream included).
    pub call_timeout: Duration,
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Largest single event text a plugin may return.
    pub max_event_bytes: usize,
    /// Largest total reply text of one request.
    pub max_output_bytes: usize,
    /// Log lines one request may write before the rest are dropped.
    pub log_lines_per_call: u32,
    /// Calls (instances, a chat stream included until it ends) of this plugin
    /// alive at once; one more is refused as overloaded.
    pub max_concurrent: u32,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            call_timeout: Duration::from_secs(120),
            memory_bytes: 128 << 20,
            max_event_bytes: 4 << 20,
            max_output_bytes: 32 << 20,
            log_lines_per_call: 1_000,
            max_concurrent: 64,
        }
    }
}

/// The store's resource limiter: wasmtime's `StoreLimits`, plus a note of
/// whether a memory growth was refused during this call.
pub(crate) struct Limiter {
    inner: StoreLimits,
    pub(crate) memory_refused: bool,
}

impl Limiter {
    pub(crate) fn new(memory_bytes: usize) -> Limiter {
        let inner = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .instances(100)
            .tables(100)
            .memories(10)
            .table_elements(100_000)
            .trap_on_grow_failure(true)
            .build();
        Limiter {
            inner,
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let result = self.inner.memory_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.memory_refused = true;
        }
        result
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
