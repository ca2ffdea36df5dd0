//! The one wasmtime `Engine` of the process: its configuration (pooling
//! allocator, epoch deadlines), the `Linker` with every host import of every
//! supported SDK version, the compiled-artifact cache and the outbound client.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::{ArtifactCache, CacheOutcome};
use crate::outbound::Tls;
use crate::state::HostState;

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Resource limits for plugin calls. Defaults suit a personal gateway.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deadline of the load-time `describe` calls, which must not use the network
    /// (they run with no grant), so a short one: a hanging describe costs every
    /// `plugins list` and gateway start this long.
    pub describe_timeout: Duration,
    /// Deadline of a login, which may wait for the user to approve it.
    pub login_timeout: Duration,
    /// No plugin's memory cap may exceed this (the pooling allocator's slot size).
    pub memory_ceiling_bytes: usize,
    /// Instances alive at once across all plugins (the pooling allocator's size).
    /// Each plugin has its own, much lower limit (`PluginLimits::max_concurrent`),
    /// so one busy or stalled plugin leaves room for the others; should the pool
    /// still run out, the call is refused as overloaded, not as a crash.
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            describe_timeout: Duration::from_secs(2),
            login_timeout: Duration::from_secs(20 * 60),
            memory_ceiling_bytes: 1 << 30,
            max_instances: 512,
        }
    }
}

/// The engine or the host imports could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the WebAssembly runtime: {0}")]
pub struct StartError(String);

/// Owns the Engine, the Linker with every host import, and the artifact cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    linker: Linker<HostState>,
    cache: ArtifactCache,
    limits: Limits,
    /// TLS set-up for every plugin's outbound client.
    pub(crate) tls: Tls,
    /// Where native libraries are copied to be loaded.
    native_copies: std::path::PathBuf,
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
        crate::sdk::add_to_linker(&mut linker).map_err(err)?;
        start_epoch_ticker(&engine);
        // Next to the compiled components when there is a cache; a private
        // temp folder otherwise. Each copy is removed once it is loaded.
        let native_copies = match &cache_dir {
            Some(dir) => dir.join("native"),
            None => std::env::temp_dir().join(format!("claw-native-{}", std::process::id())),
        };
        let cache = ArtifactCache::new(&engine, cache_dir);
        let tls = Tls::new()
            .map_err(|e| StartError(format!("TLS set-up for plugins' outbound HTTP: {e}")))?;
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache,
            limits,
            tls,
            native_copies,
        }))
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn native_copies(&self) -> std::path::PathBuf {
        self.native_copies.clone()
    }

    /// Compile `wasm` (or load it from the cache).
    pub(crate) fn compile(&self, wasm: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        self.cache.component(&self.engine, wasm)
    }

    /// Resolve every import of `component` against the host, once.
    pub(crate) fn link(&self, component: &Component) -> wasmtime::Result<InstancePre<HostState>> {
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
