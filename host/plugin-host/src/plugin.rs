//! A loaded plugin as the rest of claw sees it: a handle whose calls take and
//! return the host's own types. Each call runs on a fresh instance with a
//! deadline and a memory cap; a failed call is classified (`CallError`), counted
//! toward `degraded`, and never affects the next call.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use claw_types::{
    AuthInfo, ChatEvent, ChatRequest, Credential, Failure, LoginResult, PluginError, ProviderInfo,
    Reason,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::engine::{EPOCH_TICK, Runtime};
use crate::grant::{Denials, GrantHooks, NetworkGrant};
use crate::limits::{Limiter, PluginLimits};
use crate::outbound::Outbound;
use crate::prompts::Prompter;
use crate::sdk::{self, Exports};
use crate::state::HostState;

/// A call into a plugin that did not return normally.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("plugin \"{plugin}\" did not finish {what} within {} ms (the call deadline)", limit.as_millis())]
    Timeout {
        plugin: String,
        what: &'static str,
        limit: Duration,
    },
    #[error("plugin \"{plugin}\" went over its memory limit of {} MiB during {what}", limit >> 20)]
    Memory {
        plugin: String,
        what: &'static str,
        limit: usize,
    },
    #[error("plugin \"{plugin}\" crashed during {what}: {detail}")]
    Trap {
        plugin: String,
        what: &'static str,
        detail: String,
    },
    #[error(
        "plugin \"{plugin}\" returned more than {limit} bytes {what} (plugins.limits); the reply was cut off"
    )]
    Output {
        plugin: String,
        what: &'static str,
        limit: usize,
    },
    /// The plugin is at its concurrency limit (or the host's instance pool is
    /// full): the call was not started. Not a fault of the plugin; retry later.
    #[error(
        "plugin \"{plugin}\" is overloaded: {detail}; {what} was not started, try again shortly"
    )]
    Overloaded {
        plugin: String,
        what: &'static str,
        detail: String,
    },
    /// The plugin returned a classified error of its own.
    #[error("plugin \"{plugin}\": {}", error.message)]
    Plugin { plugin: String, error: PluginError },
}

impl CallError {
    /// A failure of the plugin itself (not of the upstream it talks to).
    pub fn is_plugin_fault(&self) -> bool {
        !matches!(
            self,
            CallError::Plugin { .. } | CallError::Overloaded { .. }
        )
    }

    /// The failover reason.
    pub fn reason(&self) -> Reason {
        match self {
            CallError::Plugin { error, .. } => error.reason,
            CallError::Timeout { .. } => Reason::PluginTimeout,
            CallError::Memory { .. } => Reason::PluginMemory,
            CallError::Trap { .. } => Reason::PluginTrap,
            CallError::Output { .. } => Reason::PluginOutput,
            CallError::Overloaded { .. } => Reason::Overloaded,
        }
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Failure {
        let mut failure = Failure::new(e.reason(), e.to_string());
        match e {
            CallError::Plugin { error, .. } => {
                failure.status = error.status;
                failure.retry_after = error.retry_after_ms.map(Duration::from_millis);
            }
            CallError::Overloaded { .. } => failure.retry_after = Some(OVERLOAD_RETRY_AFTER),
            _ => {}
        }
        failure
    }
}

/// How long a call waits for one of the plugin's concurrency slots before it
/// is refused as overloaded.
const SLOT_WAIT: Duration = Duration::from_millis(200);
/// The retry hint of an overloaded call.
pub const OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Consecutive faults (traps, timeouts, memory, oversized output) after which a
/// plugin is reported as degraded; one good call clears it.
const DEGRADED_AFTER: u32 = 3;

#[derive(Debug, Default)]
struct Health {
    consecutive_faults: u32,
    last_fault: Option<String>,
}

/// Per-plugin settings that every instance of it gets.
#[derive(Clone)]
pub struct PluginSettings {
    pub config_json: Arc<str>,
    pub grant: Arc<NetworkGrant>,
    pub prompter: Arc<dyn Prompter>,
    pub limits: PluginLimits,
}

/// A linked plugin, ready to be instantiated for each call.
pub struct Plugin {
    id: Arc<str>,
    runtime: Arc<Runtime>,
    pre: InstancePre<HostState>,
    exports: Arc<Exports>,
    settings: PluginSettings,
    health: Mutex<Health>,
    /// One permit per call in flight (a chat stream holds its own until it ends).
    slots: Arc<Semaphore>,
    /// This plugin's HTTP client, which connects only where its grant allows.
    outbound: Outbound,
}

impl Plugin {
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        id: &str,
        pre: InstancePre<HostState>,
        exports: Exports,
        settings: PluginSettings,
    ) -> Plugin {
        let slots = Arc::new(Semaphore::new(settings.limits.max_concurrent as usize));
        let outbound = Outbound::new(&runtime.tls, id.into(), settings.grant.clone());
        Plugin {
            id: id.into(),
            runtime,
            pre,
            exports: Arc::new(exports),
            settings,
            health: Default::default(),
            slots,
            outbound,
        }
    }

    /// The same plugin with its final network grant: grants are computed once,
    /// when the plugin set is assembled, and never change afterwards.
    pub fn with_grant(&self, grant: NetworkGrant) -> Plugin {
        let mut settings = self.settings.clone();
        settings.grant = Arc::new(grant);
        let outbound = Outbound::new(&self.runtime.tls, self.id.clone(), settings.grant.clone());
        Plugin {
            id: self.id.clone(),
            runtime: self.runtime.clone(),
            pre: self.pre.clone(),
            exports: self.exports.clone(),
            settings,
            health: Default::default(),
            slots: self.slots.clone(),
            outbound,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The hosts this plugin may reach.
    pub fn grant(&self) -> &NetworkGrant {
        &self.settings.grant
    }

    pub fn is_provider(&self) -> bool {
        self.exports.is_provider()
    }

    pub fn is_auth(&self) -> bool {
        self.exports.is_auth()
    }

    fn store(&self) -> Store<HostState> {
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
    async fn with_deadline<R>(
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
        match &result {
            Ok(_) => self.health().consecutive_faults = 0,
            Err(e) => self.note_fault(e),
        }
        result
    }

    /// One of the plugin's concurrency slots, waiting briefly for one.
    async fn slot(&self, what: &'static str) -> Result<OwnedSemaphorePermit, CallError> {
        let slots = self.slots.clone();
        match tokio::time::timeout(SLOT_WAIT, slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                let limit = self.settings.limits.max_concurrent;
                let e = CallError::Overloaded {
                    plugin: self.id.to_string(),
                    what,
                    detail: format!(
                        "all {limit} of its concurrent calls are in use (plugins.limits.maxConcurrent)"
                    ),
                };
                tracing::warn!(plugin = &*self.id, "{e}");
                Err(e)
            }
        }
    }

    /// Instantiate afresh and run one export, with the deadline; a classified
    /// error the plugin returned itself becomes `CallError::Plugin`.
    async fn call<R>(
        &self,
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
                let instance = self.pre.instantiate_async(&mut *store).await?;
                f(&self.exports, store, &instance).await
            })
            .await?;
        match result {
            Ok(value) => Ok((value, store, permit)),
            Err(error) => Err(self.plugin_error(&store, error)),
        }
    }

    /// A plugin's own error; when the host refused one of its requests during
    /// the call, what was refused and why is added (the plugin only saw "denied").
    fn plugin_error(&self, store: &Store<HostState>, mut error: PluginError) -> CallError {
        if let Some(denied) = store.data().denials() {
            error.message = format!("{} ({denied})", error.message);
        }
        CallError::Plugin {
            plugin: self.id.to_string(),
            error,
        }
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count a failed call toward `degraded`, and log it with the plugin id.
    fn note_fault(&self, e: &CallError) {
        if !e.is_plugin_fault() {
            return;
        }
        tracing::warn!(plugin = &*self.id, "{e}");
        let mut health = self.health();
        health.consecutive_faults += 1;
        health.last_fault = Some(e.to_string());
    }

    /// Why the plugin is degraded: it failed its last calls itself.
    pub fn degraded(&self) -> Option<String> {
        let health = self.health();
        (health.consecutive_faults >= DEGRADED_AFTER).then(|| {
            format!(
                "degraded: the last {} calls failed in the plugin itself; last: {}",
                health.consecutive_faults,
                health.last_fault.as_deref().unwrap_or("?")
            )
        })
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

    pub async fn describe_provider(&self) -> Result<ProviderInfo, CallError> {
        let limit = self.runtime.limits().describe_timeout;
        let (info, ..) = self
            .call("describe", limit, async |exports, store, instance| {
                Ok(Ok(exports.describe(store, instance).await?))
            })
            .await?;
        Ok(info)
    }

    pub async fn describe_auth(&self) -> Result<AuthInfo, CallError> {
        let limit = self.runtime.limits().describe_timeout;
        let (info, ..) = self
            .call("describe-auth", limit, async |exports, store, instance| {
                Ok(Ok(exports.describe_auth(store, instance).await?))
            })
            .await?;
        Ok(info)
    }

    /// Run a login method. It may wait for the user (device codes), so it gets
    /// the longer login deadline.
    pub async fn login(&self, method: &str) -> Result<LoginResult, CallError> {
        let limit = self.runtime.limits().login_timeout;
        let (result, ..) = self
            .call("login", limit, async |exports, store, instance| {
                exports.login(store, instance, method).await
            })
            .await?;
        Ok(result)
    }

    /// Exchange a credential's refresh token for a new credential.
    pub async fn refresh(
        &self,
        method: &str,
        credential: &Credential,
    ) -> Result<Credential, CallError> {
        let limit = self.settings.limits.call_timeout;
        let (fresh, ..) = self
            .call("refresh", limit, async |exports, store, instance| {
                exports.refresh(store, instance, method, credential).await
            })
            .await?;
        Ok(fresh)
    }

    /// Start a chat on a fresh instance; the stream owns that instance.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatStream<'_>, CallError> {
        let limit = self.settings.limits.call_timeout;
        let (stream, store, permit) = self
            .call("chat", limit, async |exports, store, instance| {
                exports.chat(store, instance, request).await
            })
            .await?;
        Ok(ChatStream {
            plugin: self,
            store,
            stream,
            done: false,
            output_bytes: 0,
            _permit: permit,
        })
    }
}

/// A reply in progress on its own instance; dropping it drops the instance.
pub struct ChatStream<'p> {
    plugin: &'p Plugin,
    store: Store<HostState>,
    stream: sdk::Stream,
    done: bool,
    /// Reply text returned so far, against `max_output_bytes`.
    output_bytes: usize,
    /// The plugin's concurrency slot, held until the stream is dropped.
    _permit: OwnedSemaphorePermit,
}

impl ChatStream<'_> {
    /// The next events; `None` once the plugin ends the stream.
    pub async fn next(&mut self) -> Result<Option<Vec<ChatEvent>>, CallError> {
        if self.done {
            return Ok(None);
        }
        let plugin = self.plugin;
        let stream = &self.stream;
        let result = plugin
            .with_deadline(
                &mut self.store,
                "next",
                plugin.settings.limits.call_timeout,
                async |store| stream.next(store).await,
            )
            .await;
        let events = match result {
            Ok(Ok(Some(events))) => events,
            Ok(Ok(None)) => {
                self.done = true;
                return Ok(None);
            }
            Ok(Err(error)) => {
                self.done = true;
                return Err(plugin.plugin_error(&self.store, error));
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        if let Err(e) = self.check_size(&events) {
            self.done = true;
            plugin.note_fault(&e);
            return Err(e);
        }
        Ok(Some(events))
    }

    /// Enforce the per-event and per-reply output caps.
    fn check_size(&mut self, events: &[ChatEvent]) -> Result<(), CallError> {
        let limits = self.plugin.settings.limits;
        let output = |what, limit| CallError::Output {
            plugin: self.plugin.id.to_string(),
            what,
            limit,
        };
        for event in events {
            let len = event.text_len();
            if len > limits.max_event_bytes {
                return Err(output("in one event", limits.max_event_bytes));
            }
            self.output_bytes += len;
            if self.output_bytes > limits.max_output_bytes {
                return Err(output("in one reply", limits.max_output_bytes));
            }
        }
        Ok(())
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
