//! The WebAssembly half of a plugin's calls: a fresh instance per call in a
//! store with the plugin's memory cap, epoch deadline and network grant, and
//! how a failed call is classified.

use std::sync::Arc;
use std::time::Duration;

use claw_types::{AuthInfo, Credential, LoginResult, PluginError, ProviderInfo};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::{CallError, ChatStream, Inner, Plugin, first_line};
use crate::engine::EPOCH_TICK;
use crate::grant::{Denials, GrantHooks};
use crate::limits::Limiter;
use crate::sdk::Exports;
use crate::state::HostState;

/// A linked component, instantiated afresh for each call.
#[derive(Clone)]
pub(crate) struct Wasm {
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) exports: Arc<Exports>,
}

impl Plugin {
    pub(super) fn store(&self) -> Store<HostState> {
        let hooks = GrantHooks {
            plugin: self.id.clone(),
            grant: self.settings.grant.clone(),
            outbound: self.outbound.clone(),
            denials: Denials::default(),
        };
        let state = HostState::new(
            self.id.clone(),
            self.settings.config_json.clone(),
            self.settings.prompter.clone(),
            Limiter::new(self.memory_cap()),
            self.settings.limits.log_lines_per_call,
            hooks,
        );
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store
    }

    /// Run `f` with the call deadline armed, classifying how it failed.
    pub(super) async fn with_deadline<R>(
        &self,
        store: &mut Store<HostState>,
        what: &'static str,
        limit: Duration,
        f: impl AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let ticks = (limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let result = match tokio::time::timeout(limit, f(store)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.classify(store, e, what, limit)),
            Err(_) => Err(CallError::Timeout {
                plugin: self.id.to_string(),
                what,
                limit,
            }),
        };
        self.record(&result);
        result
    }

    /// Instantiate afresh and run one export, with the deadline; a classified
    /// error the plugin returned itself becomes `CallError::Plugin`.
    async fn wasm_call<R>(
        &self,
        wasm: &Wasm,
        what: &'static str,
        limit: Duration,
        f: impl AsyncFnOnce(
            &Exports,
            &mut Store<HostState>,
            &wasmtime::component::Instance,
        ) -> wasmtime::Result<Result<R, PluginError>>,
    ) -> Result<(R, Store<HostState>, OwnedSemaphorePermit), CallError> {
        let permit = self.slot(what).await?;
        let mut store = self.store();
        let result = self
            .with_deadline(&mut store, what, limit, async |store| {
                let instance = wasm.pre.instantiate_async(&mut *store).await?;
                f(&wasm.exports, store, &instance).await
            })
            .await?;
        match result {
            Ok(value) => Ok((value, store, permit)),
            Err(error) => Err(self.plugin_error(&store, error)),
        }
    }

    /// A plugin's own error; when the host refused one of its requests during
    /// the call, what was refused and why is added (the plugin only saw "denied").
    pub(super) fn plugin_error(
        &self,
        store: &Store<HostState>,
        mut error: PluginError,
    ) -> CallError {
        if let Some(denied) = store.data().denials() {
            error.message = format!("{} ({denied})", error.message);
        }
        CallError::Plugin {
            plugin: self.id.to_string(),
            error,
        }
    }

    fn memory_cap(&self) -> usize {
        self.settings
            .limits
            .memory_bytes
            .min(self.runtime.limits().memory_ceiling_bytes)
    }

    fn classify(
        &self,
        store: &Store<HostState>,
        e: wasmtime::Error,
        what: &'static str,
        limit: Duration,
    ) -> CallError {
        let plugin = self.id.to_string();
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => {
                return CallError::Timeout {
                    plugin,
                    what,
                    limit,
                };
            }
            Some(wasmtime::Trap::StackOverflow) => {
                return CallError::Trap {
                    plugin,
                    what,
                    detail: "ran out of stack (infinite recursion?)".into(),
                };
            }
            _ => {}
        }
        // The shared instance pool is full: the host is overloaded, the plugin
        // did nothing wrong.
        if e.chain()
            .any(|c| c.is::<wasmtime::PoolConcurrencyLimitError>())
        {
            return CallError::Overloaded {
                plugin,
                what,
                detail: format!(
                    "the host's pool of {} plugin instances is full",
                    self.runtime.limits().max_instances
                ),
            };
        }
        if store.data().limiter.memory_refused {
            return CallError::Memory {
                plugin,
                what,
                limit: self.memory_cap(),
            };
        }
        CallError::Trap {
            plugin,
            what,
            detail: first_line(&format!("{e:#}")),
        }
    }

    pub(super) async fn wasm_describe(&self, wasm: &Wasm) -> Result<ProviderInfo, CallError> {
        let limit = self.runtime.limits().describe_timeout;
        let (info, ..) = self
            .wasm_call(wasm, "describe", limit, async |exports, store, instance| {
                Ok(Ok(exports.describe(store, instance).await?))
            })
            .await?;
        Ok(info)
    }

    pub(super) async fn wasm_describe_auth(&self, wasm: &Wasm) -> Result<AuthInfo, CallError> {
        let limit = self.runtime.limits().describe_timeout;
        let (info, ..) = self
            .wasm_call(
                wasm,
                "describe-auth",
                limit,
                async |exports, store, instance| {
                    Ok(Ok(exports.describe_auth(store, instance).await?))
                },
            )
            .await?;
        Ok(info)
    }

    pub(super) async fn wasm_login(
        &self,
        wasm: &Wasm,
        method: &str,
    ) -> Result<LoginResult, CallError> {
        let limit = self.runtime.limits().login_timeout;
        let (result, ..) = self
            .wasm_call(wasm, "login", limit, async |exports, store, instance| {
                exports.login(store, instance, method).await
            })
            .await?;
        Ok(result)
    }

    pub(super) async fn wasm_refresh(
        &self,
        wasm: &Wasm,
        method: &str,
        credential: &Credential,
    ) -> Result<Credential, CallError> {
        let limit = self.settings.limits.call_timeout;
        let (fresh, ..) = self
            .wasm_call(wasm, "refresh", limit, async |exports, store, instance| {
                exports.refresh(store, instance, method, credential).await
            })
            .await?;
        Ok(fresh)
    }

    pub(super) async fn wasm_chat(
        &self,
        wasm: &Wasm,
        request: &claw_types::ChatRequest,
    ) -> Result<ChatStream<'_>, CallError> {
        let limit = self.settings.limits.call_timeout;
        let (stream, store, permit) = self
            .wasm_call(wasm, "chat", limit, async |exports, store, instance| {
                exports.chat(store, instance, request).await
            })
            .await?;
        Ok(ChatStream::new(self, Inner::Wasm { store, stream }, permit))
    }
}
