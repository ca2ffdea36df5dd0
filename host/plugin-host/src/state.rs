//! What a plugin instance's store holds: its identity, settings, WASI contexts
//! with no ambient authority, its network grant and its memory limit.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::grant::GrantHooks;
use crate::limits::Limiter;
use crate::prompts::Prompter;

/// Prompts (codes, URLs, progress lines, questions) one call may show the
/// user; past this they are dropped (questions get no answer), so a plugin
/// cannot flood the terminal or the gateway log.
pub(crate) const PROMPTS_PER_CALL: u32 = 100;

pub struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) config_json: Arc<str>,
    pub(crate) prompter: Arc<dyn Prompter>,
    pub(crate) limiter: Limiter,
    /// Log lines this request may still write (a flood is cut, not forwarded).
    pub(crate) log_budget: u32,
    /// Prompts this call may still show the user (see `sdk::imports::prompt`).
    pub(crate) prompt_budget: u32,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: GrantHooks,
}

impl HostState {
    pub(crate) fn new(
        plugin: Arc<str>,
        config_json: Arc<str>,
        prompter: Arc<dyn Prompter>,
        limiter: Limiter,
        log_budget: u32,
        hooks: GrantHooks,
    ) -> Self {
        // No environment, arguments, preopened folders, stdin or sockets: a
        // plugin reaches the outside world only through checked wasi:http.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            plugin,
            config_json,
            prompter,
            limiter,
            log_budget,
            prompt_budget: PROMPTS_PER_CALL,
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks,
        }
    }
}

impl HostState {
    /// The last outbound request the host refused during this call, and why.
    pub(crate) fn denials(&self) -> Option<String> {
        self.hooks.denials.last()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
