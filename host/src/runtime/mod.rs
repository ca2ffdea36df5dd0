//! The one wasmtime `Engine` of the process and everything that runs plugin code:
//! compile (with the on-disk cache), link, pre-instantiate, and call with a fresh
//! instance, a deadline and a memory cap per call.

mod cache;
mod http;
mod outbound;
mod prompts;
mod state;
mod v0_1;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker, ResourceAny};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder,
};

pub use cache::CacheOutcome;
pub use http::{NetworkGrant, host_of};
pub use prompts::{Headless, Prompter};
pub use v0_1::types;

use state::HostState;
use types::{AuthInfo, ChatEvent, ChatRequest, Credential, LoginResult, PluginError, ProviderInfo};

/// How often the epoch advances; call deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Resource limits for plugin calls. Defaults suit a personal gateway.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deadline of the load-time `describe` calls, which must not use the network.
    pub describe_timeout: Duration,
    /// Deadline of a login, which may wait for the user to approve it.
    pub login_timeout: Duration,
    /// No plugin's memory cap may exceed this (the pooling allocator's slot size).
    pub memory_ceiling_bytes: usize,
    /// Instances alive at once across all plugins (the pooling allocator's size).
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            describe_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(20 * 60),
            memory_ceiling_bytes: 1 << 30,
            max_instances: 256,
        }
    }
}

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
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            call_timeout: Duration::from_secs(120),
            memory_bytes: 128 << 20,
            max_event_bytes: 4 << 20,
            max_output_bytes: 32 << 20,
            log_lines_per_call: 1_000,
        }
    }
}

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
    /// The plugin returned a classified error of its own.
    #[error("plugin \"{plugin}\": {}", error.message)]
    Plugin { plugin: String, error: PluginError },
}

impl CallError {
    /// A failure of the plugin itself (not of the upstream it talks to).
    pub fn is_plugin_fault(&self) -> bool {
        !matches!(self, CallError::Plugin { .. })
    }
}

/// Consecutive faults (traps, timeouts, memory, oversized output) after which a
/// plugin is reported as degraded; one good call clears it.
const DEGRADED_AFTER: u32 = 3;

#[derive(Debug, Default)]
struct Health {
    consecutive_faults: u32,
    last_fault: Option<String>,
}

/// The engine or the host imports could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the WebAssembly runtime: {0}")]
pub struct StartError(String);

/// Owns the Engine, the Linker with every host import, and the artifact cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::ArtifactCache,
    limits: Limits,
    outbound: outbound::Outbound,
}

impl Runtime {
    /// `cache_dir`: where compiled artifacts are kept (`None` to compile every time).
    pub fn new(
        limits: Limits,
        cache_dir: Option<std::path::PathBuf>,
    ) -> Result<Arc<Runtime>, StartError> {
        let err = |e: wasmtime::Error| StartError(format!("{e:#}"));
        let engine = make_engine(&limits).map_err(err)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(err)?;
        v0_1::add_to_linker(&mut linker).map_err(err)?;
        start_epoch_ticker(&engine);
        let cache = cache::ArtifactCache::new(&engine, cache_dir);
        let outbound = outbound::Outbound::new()
            .map_err(|e| StartError(format!("TLS set-up for plugins' outbound HTTP: {e}")))?;
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache,
            limits,
            outbound,
        }))
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compile `wasm` (or load it from the cache).
    pub fn compile(&self, wasm: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        self.cache.component(&self.engine, wasm)
    }

    /// Resolve every import of `component` against the host, once.
    pub fn link(&self, component: &Component) -> wasmtime::Result<InstancePre<HostState>> {
        self.linker.instantiate_pre(component)
    }
}

fn make_engine(limits: &Limits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances)
        .total_core_instances(limits.max_instances * 4)
        .total_memories(limits.max_instances * 2)
        .total_tables(limits.max_instances * 4)
        .total_stacks(limits.max_instances)
        .max_memory_size(limits.memory_ceiling_bytes)
        // Every call gets a fresh instance, so slot reset is on the hot path.
        // Keeping the first pages of a slot resident and resetting only the
        // pages the last instance dirtied (pagemap_scan, Linux >= 6.7; `Auto`
        // falls back to plain resets on older kernels) roughly thirds the cost
        // of instance + call (docs/benchmarks.md).
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            // Some sandboxes refuse the pool's large virtual reservation.
            tracing::warn!("pooling allocator unavailable ({e}); allocating instances on demand");
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
        }
    }
}

/// Advance the epoch every tick while the engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("claw-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the epoch thread");
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
    provider: Option<v0_1::provider::GuestIndices>,
    auth: Option<v0_1::auth::GuestIndices>,
    settings: PluginSettings,
    health: std::sync::Mutex<Health>,
}

impl Plugin {
    pub fn new(
        runtime: Arc<Runtime>,
        id: &str,
        pre: InstancePre<HostState>,
        settings: PluginSettings,
    ) -> wasmtime::Result<Plugin> {
        let provider = v0_1::provider::GuestIndices::new(&pre).ok();
        let auth = v0_1::auth::GuestIndices::new(&pre).ok();
        Ok(Plugin {
            id: id.into(),
            runtime,
            pre,
            provider,
            auth,
            settings,
            health: Default::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The hosts this plugin may reach.
    pub fn grant(&self) -> &NetworkGrant {
        &self.settings.grant
    }

    fn store(&self) -> Store<HostState> {
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(self.memory_cap())
            .instances(100)
            .tables(100)
            .memories(10)
            .table_elements(100_000)
            .trap_on_grow_failure(true)
            .build();
        let hooks = http::GrantHooks {
            plugin: self.id.clone(),
            grant: self.settings.grant.clone(),
            outbound: self.runtime.outbound.clone(),
        };
        let state = HostState::new(
            self.id.clone(),
            self.settings.config_json.clone(),
            self.settings.prompter.clone(),
            store_limits,
            self.settings.limits.log_lines_per_call,
            hooks,
        );
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store
    }

    /// Run `f` against a fresh instance with the call deadline armed.
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
            Ok(Err(e)) => Err(self.classify(e, what, limit)),
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

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
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
            .min(self.runtime.limits.memory_ceiling_bytes)
    }

    fn classify(&self, e: wasmtime::Error, what: &'static str, limit: Duration) -> CallError {
        let plugin = self.id.to_string();
        if let Some(wasmtime::Trap::Interrupt) = e.downcast_ref::<wasmtime::Trap>() {
            return CallError::Timeout {
                plugin,
                what,
                limit,
            };
        }
        let detail = format!("{e:#}");
        if detail.contains("growing memory") {
            return CallError::Memory {
                plugin,
                what,
                limit: self.memory_cap(),
            };
        }
        CallError::Trap {
            plugin,
            what,
            detail: first_line(&detail),
        }
    }

    pub fn is_provider(&self) -> bool {
        self.provider.is_some()
    }

    pub fn is_auth(&self) -> bool {
        self.auth.is_some()
    }

    pub async fn describe_provider(&self) -> Result<ProviderInfo, CallError> {
        let indices = self
            .provider
            .as_ref()
            .expect("describe_provider on a plugin without the provider role");
        let mut store = self.store();
        self.with_deadline(
            &mut store,
            "describe",
            self.runtime.limits.describe_timeout,
            async |store| {
                let instance = self.pre.instantiate_async(&mut *store).await?;
                indices
                    .load(&mut *store, &instance)?
                    .call_describe(&mut *store)
                    .await
            },
        )
        .await
    }

    pub async fn describe_auth(&self) -> Result<AuthInfo, CallError> {
        let indices = self
            .auth
            .as_ref()
            .expect("describe_auth on a plugin without the auth role");
        let mut store = self.store();
        self.with_deadline(
            &mut store,
            "describe-auth",
            self.runtime.limits.describe_timeout,
            async |store| {
                let instance = self.pre.instantiate_async(&mut *store).await?;
                indices
                    .load(&mut *store, &instance)?
                    .call_describe_auth(&mut *store)
                    .await
            },
        )
        .await
    }

    /// Run a login method. It may wait for the user (device codes), so it gets
    /// the longer login deadline.
    pub async fn login(&self, method: &str) -> Result<LoginResult, CallError> {
        let indices = self
            .auth
            .as_ref()
            .expect("login on a plugin without the auth role");
        let mut store = self.store();
        let result = self
            .with_deadline(
                &mut store,
                "login",
                self.runtime.limits.login_timeout,
                async |store| {
                    let instance = self.pre.instantiate_async(&mut *store).await?;
                    indices
                        .load(&mut *store, &instance)?
                        .call_login(&mut *store, method)
                        .await
                },
            )
            .await?;
        result.map_err(|error| CallError::Plugin {
            plugin: self.id.to_string(),
            error,
        })
    }

    /// Exchange a credential's refresh token for a new credential.
    pub async fn refresh(
        &self,
        method: &str,
        credential: &Credential,
    ) -> Result<Credential, CallError> {
        let indices = self
            .auth
            .as_ref()
            .expect("refresh on a plugin without the auth role");
        let mut store = self.store();
        let result = self
            .with_deadline(
                &mut store,
                "refresh",
                self.settings.limits.call_timeout,
                async |store| {
                    let instance = self.pre.instantiate_async(&mut *store).await?;
                    indices
                        .load(&mut *store, &instance)?
                        .call_refresh(&mut *store, method, credential)
                        .await
                },
            )
            .await?;
        result.map_err(|error| CallError::Plugin {
            plugin: self.id.to_string(),
            error,
        })
    }

    /// Start a chat on a fresh instance; the stream owns that instance.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatStream<'_>, CallError> {
        let indices = self
            .provider
            .as_ref()
            .expect("chat on a plugin without the provider role");
        let mut store = self.store();
        let (guest, started) = self
            .with_deadline(
                &mut store,
                "chat",
                self.settings.limits.call_timeout,
                async |store| {
                    let instance = self.pre.instantiate_async(&mut *store).await?;
                    let guest = indices.load(&mut *store, &instance)?;
                    let started = guest.call_chat(&mut *store, &request).await?;
                    Ok((guest, started))
                },
            )
            .await?;
        match started {
            Ok(handle) => Ok(ChatStream {
                plugin: self,
                store,
                guest,
                handle,
                done: false,
                output_bytes: 0,
            }),
            Err(error) => Err(CallError::Plugin {
                plugin: self.id.to_string(),
                error,
            }),
        }
    }
}

/// A reply in progress on its own instance; dropping it drops the instance.
pub struct ChatStream<'p> {
    plugin: &'p Plugin,
    store: Store<HostState>,
    guest: v0_1::provider::Guest,
    handle: ResourceAny,
    done: bool,
    /// Reply text returned so far, against `max_output_bytes`.
    output_bytes: usize,
}

impl ChatStream<'_> {
    /// The next events; `None` once the plugin ends the stream.
    pub async fn next(&mut self) -> Result<Option<Vec<ChatEvent>>, CallError> {
        if self.done {
            return Ok(None);
        }
        let (guest, handle) = (&self.guest, self.handle);
        let result = self
            .plugin
            .with_deadline(
                &mut self.store,
                "next",
                self.plugin.settings.limits.call_timeout,
                async |store| guest.chat_stream().call_next(&mut *store, handle).await,
            )
            .await;
        match result {
            Ok(Ok(Some(events))) => match self.check_size(&events) {
                Ok(()) => Ok(Some(events)),
                Err(e) => {
                    self.done = true;
                    self.plugin.note_fault(&e);
                    Err(e)
                }
            },
            Ok(Ok(None)) => {
                self.done = true;
                Ok(None)
            }
            Ok(Err(error)) => {
                self.done = true;
                Err(CallError::Plugin {
                    plugin: self.plugin.id.to_string(),
                    error,
                })
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}

impl ChatStream<'_> {
    /// Enforce the per-event and per-reply output caps.
    fn check_size(&mut self, events: &[ChatEvent]) -> Result<(), CallError> {
        let limits = self.plugin.settings.limits;
        let plugin = self.plugin.id.to_string();
        for event in events {
            let len = match event {
                ChatEvent::Text(t)
                | ChatEvent::Thinking(t)
                | ChatEvent::Started(t)
                | ChatEvent::Done(t) => t.len(),
                ChatEvent::Usage(_) => 0,
            };
            if len > limits.max_event_bytes {
                return Err(CallError::Output {
                    plugin,
                    what: "in one event",
                    limit: limits.max_event_bytes,
                });
            }
            self.output_bytes += len;
            if self.output_bytes > limits.max_output_bytes {
                return Err(CallError::Output {
                    plugin,
                    what: "in one reply",
                    limit: limits.max_output_bytes,
                });
            }
        }
        Ok(())
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
