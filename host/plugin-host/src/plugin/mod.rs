//! A loaded plugin as the rest of claw sees it: a handle whose calls take and
//! return the host's own types, whatever the plugin is built as. A component's
//! call runs on a fresh instance with a deadline and a memory cap (`wasm.rs`); a
//! native library's on a thread of its own with a deadline (`crate::native`).
//! A failed call is classified (`CallError`), counted toward `degraded`, and
//! never affects the next call.

mod wasm;

pub use crate::error::CallError;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use claw_types::{AuthInfo, ChatEvent, ChatRequest, Credential, LoginResult, ProviderInfo};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::engine::Runtime;
use crate::grant::NetworkGrant;
use crate::limits::PluginLimits;
use crate::manifest::Kind;
use crate::native::{self, Native};
use crate::outbound::Outbound;
use crate::prompts::Prompter;
use crate::sdk::{self, Exports};
use crate::state::HostState;
pub(crate) use wasm::Wasm;

/// How long a call waits for one of the plugin's concurrency slots before it
/// is refused as overloaded.
const SLOT_WAIT: Duration = Duration::from_millis(200);

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

/// What a plugin is built as, and what its calls go through.
#[derive(Clone)]
enum Backend {
    Wasm(Wasm),
    Native(Arc<Native>),
}

/// A loaded plugin, ready to be called.
pub struct Plugin {
    id: Arc<str>,
    runtime: Arc<Runtime>,
    backend: Backend,
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
        let wasm = Wasm {
            pre,
            exports: Arc::new(exports),
        };
        Self::with_backend(runtime, id, Backend::Wasm(wasm), settings)
    }

    pub(crate) fn new_native(
        runtime: Arc<Runtime>,
        id: &str,
        native: Native,
        settings: PluginSettings,
    ) -> Plugin {
        Self::with_backend(runtime, id, Backend::Native(Arc::new(native)), settings)
    }

    fn with_backend(
        runtime: Arc<Runtime>,
        id: &str,
        backend: Backend,
        settings: PluginSettings,
    ) -> Plugin {
        let slots = Arc::new(Semaphore::new(settings.limits.max_concurrent as usize));
        let outbound = Outbound::new(&runtime.tls, id.into(), settings.grant.clone());
        Plugin {
            id: id.into(),
            runtime,
            backend,
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
            backend: self.backend.clone(),
            settings,
            health: Default::default(),
            slots: self.slots.clone(),
            outbound,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> Kind {
        match self.backend {
            Backend::Wasm(_) => Kind::Wasm,
            Backend::Native(_) => Kind::Native,
        }
    }

    /// The hosts this plugin may reach.
    pub fn grant(&self) -> &NetworkGrant {
        &self.settings.grant
    }

    pub fn is_provider(&self) -> bool {
        match &self.backend {
            Backend::Wasm(w) => w.exports.is_provider(),
            Backend::Native(n) => n.is_provider(),
        }
    }

    pub fn is_auth(&self) -> bool {
        match &self.backend {
            Backend::Wasm(w) => w.exports.is_auth(),
            Backend::Native(n) => n.is_auth(),
        }
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

    /// Count a call's outcome toward `degraded`: a fault adds one, a good call clears it.
    fn record<T>(&self, result: &Result<T, CallError>) {
        match result {
            Ok(_) => self.health().consecutive_faults = 0,
            Err(e) => self.note_fault(e),
        }
    }

    /// Why the plugin is degraded: it failed its last calls itself, or (native)
    /// it has as many calls stuck past their deadline as it may.
    pub fn degraded(&self) -> Option<String> {
        if let Backend::Native(n) = &self.backend
            && n.stuck() >= native::MAX_STUCK
        {
            return Some(format!(
                "degraded: {} calls are still running past their deadline (native code cannot be stopped); new calls wait until one returns",
                n.stuck()
            ));
        }
        let health = self.health();
        (health.consecutive_faults >= DEGRADED_AFTER).then(|| {
            format!(
                "degraded: the last {} calls failed in the plugin itself; last: {}",
                health.consecutive_faults,
                health.last_fault.as_deref().unwrap_or("?")
            )
        })
    }

    /// What a native call may use: the plugin's settings and client, on this runtime.
    fn session(&self) -> native::host::Session {
        native::host::Session::new(
            self.id.clone(),
            self.settings.config_json.clone(),
            self.settings.prompter.clone(),
            self.settings.grant.clone(),
            self.outbound.clone(),
            self.settings.limits.log_lines_per_call,
            tokio::runtime::Handle::current(),
        )
    }

    /// A native call in one of the plugin's slots, its outcome counted.
    async fn native<T>(
        &self,
        what: &'static str,
        call: impl AsyncFnOnce(native::host::Session) -> Result<T, CallError>,
    ) -> Result<T, CallError> {
        let _permit = self.slot(what).await?;
        let result = call(self.session()).await;
        self.record(&result);
        result
    }

    pub async fn describe_provider(&self) -> Result<ProviderInfo, CallError> {
        let limit = self.runtime.limits().describe_timeout;
        match &self.backend {
            Backend::Wasm(w) => self.wasm_describe(w).await,
            Backend::Native(n) => {
                self.native("describe", async |s| n.describe(&self.id, s, limit).await)
                    .await
            }
        }
    }

    pub async fn describe_auth(&self) -> Result<AuthInfo, CallError> {
        let limit = self.runtime.limits().describe_timeout;
        match &self.backend {
            Backend::Wasm(w) => self.wasm_describe_auth(w).await,
            Backend::Native(n) => {
                self.native("describe-auth", async |s| {
                    n.describe_auth(&self.id, s, limit).await
                })
                .await
            }
        }
    }

    /// Run a login method. It may wait for the user (device codes), so it gets
    /// the longer login deadline.
    pub async fn login(&self, method: &str) -> Result<LoginResult, CallError> {
        let limit = self.runtime.limits().login_timeout;
        match &self.backend {
            Backend::Wasm(w) => self.wasm_login(w, method).await,
            Backend::Native(n) => {
                self.native("login", async |s| n.login(&self.id, s, limit, method).await)
                    .await
            }
        }
    }

    /// Exchange a credential's refresh token for a new credential.
    pub async fn refresh(
        &self,
        method: &str,
        credential: &Credential,
    ) -> Result<Credential, CallError> {
        let limit = self.settings.limits.call_timeout;
        match &self.backend {
            Backend::Wasm(w) => self.wasm_refresh(w, method, credential).await,
            Backend::Native(n) => {
                self.native("refresh", async |s| {
                    n.refresh(&self.id, s, limit, method, credential).await
                })
                .await
            }
        }
    }

    /// Start a chat; the stream owns its instance (or native thread).
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatStream<'_>, CallError> {
        match &self.backend {
            Backend::Wasm(w) => self.wasm_chat(w, request).await,
            Backend::Native(n) => {
                let limit = self.settings.limits.call_timeout;
                let permit = self.slot("chat").await?;
                let result = n.chat(&self.id, self.session(), limit, request).await;
                self.record(&result);
                Ok(ChatStream::new(self, Inner::Native(result?), permit))
            }
        }
    }
}

/// A reply in progress; dropping it drops its instance (or ends its thread).
pub struct ChatStream<'p> {
    plugin: &'p Plugin,
    inner: Inner,
    done: bool,
    /// Reply text returned so far, against `max_output_bytes`.
    output_bytes: usize,
    /// The plugin's concurrency slot, held until the stream is dropped.
    _permit: OwnedSemaphorePermit,
}

enum Inner {
    Wasm {
        store: Store<HostState>,
        stream: sdk::Stream,
    },
    Native(native::Stream),
}

impl<'p> ChatStream<'p> {
    fn new(plugin: &'p Plugin, inner: Inner, permit: OwnedSemaphorePermit) -> Self {
        ChatStream {
            plugin,
            inner,
            done: false,
            output_bytes: 0,
            _permit: permit,
        }
    }

    /// The next events; `None` once the plugin ends the stream.
    pub async fn next(&mut self) -> Result<Option<Vec<ChatEvent>>, CallError> {
        if self.done {
            return Ok(None);
        }
        let plugin = self.plugin;
        let limit = plugin.settings.limits.call_timeout;
        let result = match &mut self.inner {
            Inner::Wasm { store, stream } => {
                let stream = &*stream;
                match plugin
                    .with_deadline(store, "next", limit, async |store| stream.next(store).await)
                    .await
                {
                    Ok(Ok(events)) => Ok(events),
                    Ok(Err(error)) => Err(plugin.plugin_error(store, error)),
                    Err(e) => Err(e),
                }
            }
            Inner::Native(stream) => {
                let Backend::Native(n) = &plugin.backend else {
                    unreachable!("a native stream comes from a native plugin")
                };
                let result = n.next(&plugin.id, stream, limit).await;
                plugin.record(&result);
                result
            }
        };
        let events = match result {
            Ok(Some(events)) => events,
            Ok(None) => {
                self.done = true;
                return Ok(None);
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
