//! Which plugins exist and what state each is in: runs discovery, enable state
//! and the loader for every candidate, and reports each outcome with its reason.
//! One plugin's failure never stops the others.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use claw_plugin_host::discovery::{self, Candidate, Origin, WasmSource};
use claw_plugin_host::loader::{self, LoadError};
use claw_plugin_host::manifest::{Kind, Manifest, ManifestError, Role};
use claw_plugin_host::settings::{self, PluginsConfig};
use claw_plugin_host::{CacheOutcome, Plugin, Prompter, Runtime};
use claw_types::AuthInfo;

use crate::catalog::ModelSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Loaded,
    Disabled,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Loaded => "loaded",
            Status::Disabled => "disabled",
            Status::Error => "error",
        }
    }
}

/// What a provider plugin serves, as it described itself at load time.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderSummary {
    pub apis: Vec<String>,
    pub models: Vec<ModelSpec>,
}

/// Everything known about one plugin, as `plugins list --json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginReport {
    pub id: String,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub status: Status,
    /// Why the plugin is in `error` (or `disabled`); null when loaded.
    pub error: Option<String>,
    /// The pipeline step that failed: manifest, read, format, sdk, manifest-mismatch, compile, link, describe.
    pub error_step: Option<&'static str>,
    pub source: Origin,
    pub location: String,
    /// The SDK package and version the component was built against, when known.
    pub sdk: Option<String>,
    /// The SDK requirement in the manifest.
    pub sdk_requirement: Option<String>,
    pub roles: Vec<Role>,
    pub enabled: bool,
    pub enable_reason: String,
    /// Hosts the plugin declares it needs.
    pub network: Vec<String>,
    pub provider: Option<ProviderSummary>,
    pub auth: Option<AuthInfo>,
    pub load_ms: Option<f64>,
    pub cache: Option<CacheOutcome>,
    /// Content hash of the component, to tell a rebuilt plugin on reload.
    pub digest: Option<String>,
    /// Things worth knowing that do not stop the plugin (e.g. ignored exports).
    pub notes: Vec<String>,
    /// `wasm` (a sandboxed component) or `native` (a shared library).
    pub kind: Option<Kind>,
    /// Whether the user trusts this plugin to run unsandboxed (native only).
    pub trusted: Option<bool>,
    #[serde(skip)]
    pub plugin: Option<Arc<Plugin>>,
}

impl PluginReport {
    fn new(candidate: &Candidate) -> Self {
        let manifest = candidate.manifest.as_ref().ok();
        PluginReport {
            id: candidate.id.clone(),
            name: manifest.map_or_else(|| candidate.id.clone(), |m| m.name.clone()),
            version: manifest.map(|m| m.version.to_string()),
            description: manifest
                .map(|m| m.description.clone())
                .filter(|d| !d.is_empty()),
            status: Status::Error,
            error: None,
            error_step: None,
            source: candidate.origin,
            location: candidate.location.clone(),
            sdk: None,
            sdk_requirement: manifest.map(|m| m.sdk.to_string()),
            roles: manifest.map(|m| m.roles.clone()).unwrap_or_default(),
            enabled: false,
            enable_reason: String::new(),
            network: manifest
                .map(|m| m.network_hosts.clone())
                .unwrap_or_default(),
            provider: None,
            auth: None,
            load_ms: None,
            cache: None,
            digest: None,
            notes: Vec::new(),
            kind: manifest.map(Manifest::kind),
            trusted: None,
            plugin: None,
        }
    }

    fn fail(mut self, error: LoadError) -> Self {
        tracing::warn!(plugin = %self.id, step = error.step(), "plugin failed to load: {error}");
        self.status = Status::Error;
        self.error_step = Some(error.step());
        self.error = Some(error.to_string());
        self
    }

    fn disable(mut self, reason: String) -> Self {
        tracing::info!(plugin = %self.id, "plugin disabled: {reason}");
        self.status = Status::Disabled;
        self.error = Some(reason);
        self
    }
}

/// Why `claw plugins trust` does nothing for a component.
pub fn trust_not_needed(id: &str) -> String {
    format!(
        "plugin \"{id}\" is a WebAssembly component: it runs sandboxed and needs no trust; `claw plugins trust` is for native plugins"
    )
}

/// The outcome for every plugin found, in discovery order.
pub struct Registry {
    pub plugins: Vec<PluginReport>,
}

impl Registry {
    pub fn get(&self, id: &str) -> Option<&PluginReport> {
        self.plugins.iter().find(|p| p.id == id)
    }

    /// `{"plugins": [...]}`, as `claw plugins list --json` and the admin API print it.
    pub fn to_json(&self) -> serde_json::Value {
        let plugins: Vec<serde_json::Value> = self
            .plugins
            .iter()
            .map(|p| {
                let mut value = serde_json::to_value(p).expect("reports serialize");
                // Health is live: a loaded plugin that keeps failing is degraded.
                let degraded = p.plugin.as_ref().and_then(|plugin| plugin.degraded());
                value["health"] = serde_json::json!(match (&p.plugin, &degraded) {
                    (None, _) => "-",
                    (Some(_), None) => "ok",
                    (Some(_), Some(_)) => "degraded",
                });
                value["degradedReason"] = serde_json::json!(degraded);
                value
            })
            .collect();
        serde_json::json!({ "plugins": plugins })
    }

    pub fn count(&self, status: Status) -> usize {
        self.plugins.iter().filter(|p| p.status == status).count()
    }
}

/// Discover and load every plugin. Plugins load side by side (each on its own
/// task, so one whose describe spins until its deadline delays no other); the
/// reports keep the discovery order, and which copy of a duplicate id wins is
/// decided before any load starts (the first one found).
pub async fn load_all(
    runtime: &Arc<Runtime>,
    installed_dir: &Path,
    cfg: &PluginsConfig,
    prompter: Arc<dyn Prompter>,
) -> Registry {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut loads = Vec::new();
    for candidate in discovery::discover(installed_dir, &cfg.load.paths) {
        let report = PluginReport::new(&candidate);
        let load = match seen.get(&candidate.id) {
            Some(winner) => Load::Done(Box::new(report.disable(format!(
                "duplicate id \"{}\": already provided by {winner}; this copy is ignored (give it another id, or remove it)",
                candidate.id
            )))),
            None => {
                seen.insert(candidate.id.clone(), candidate.location.clone());
                let (runtime, cfg, prompter) = (runtime.clone(), cfg.clone(), prompter.clone());
                Load::Running(tokio::spawn(async move {
                    load_one(&runtime, &candidate, &cfg, prompter, report).await
                }))
            }
        };
        loads.push(load);
    }
    let mut plugins = Vec::with_capacity(loads.len());
    for load in loads {
        plugins.push(match load {
            Load::Done(report) => *report,
            Load::Running(task) => task.await.expect("a plugin load task panicked"),
        });
    }
    Registry { plugins }
}

enum Load {
    Done(Box<PluginReport>),
    Running(tokio::task::JoinHandle<PluginReport>),
}

async fn load_one(
    runtime: &Arc<Runtime>,
    candidate: &Candidate,
    cfg: &PluginsConfig,
    prompter: Arc<dyn Prompter>,
    mut report: PluginReport,
) -> PluginReport {
    let manifest = match &candidate.manifest {
        Ok(m) => m,
        Err(error) => {
            return report.fail(LoadError::Manifest {
                id: candidate.id.clone(),
                error: error.clone(),
            });
        }
    };
    if candidate.origin == Origin::Installed
        && let Some(folder) = Path::new(&candidate.location)
            .file_name()
            .map(|f| f.to_string_lossy())
        && folder != manifest.id
    {
        let error = ManifestError(format!(
            "manifest says id \"{}\" but it is installed in folder \"{folder}\"; reinstall it with `claw plugins install`",
            manifest.id
        ));
        // Listed under the folder's name: the manifest's id is what is in doubt.
        report.id = folder.into_owned();
        let id = report.id.clone();
        return report.fail(LoadError::Manifest { id, error });
    }

    let decision = settings::decide(&manifest.id, cfg);
    report.enabled = decision.enabled;
    report.enable_reason = decision.reason.clone();
    let native = manifest.kind() == Kind::Native;
    if native {
        report.trusted = Some(settings::trusted(&manifest.id, cfg));
    }

    let bytes = match read_wasm(manifest, candidate.wasm.as_ref()) {
        Ok(bytes) => bytes,
        Err(e) if decision.enabled => return report.fail(e),
        Err(_) => return report.disable(decision.reason),
    };
    report.digest = Some(hex::encode(
        &<sha2::Sha256 as sha2::Digest>::digest(&bytes)[..8],
    ));
    if !decision.enabled {
        // Not loaded, but say which SDK it was built with when that is cheap to tell.
        report.sdk = loader::sdk_label(&manifest.id, &bytes);
        return report.disable(decision.reason);
    }
    // Opening a library runs its code: never before the user trusts it.
    if native && report.trusted != Some(true) {
        return report.disable(settings::untrusted_reason(&manifest.id));
    }

    let settings = settings::settings_for(manifest, cfg, prompter);
    match loader::load(runtime, manifest, &bytes, settings).await {
        Ok(loaded) => {
            tracing::info!(
                plugin = %manifest.id, sdk = %loaded.sdk.label(), cache = ?loaded.cache,
                ms = format!("{:.2}", loaded.load_time.as_secs_f64() * 1e3), "plugin loaded"
            );
            report.status = Status::Loaded;
            report.sdk = Some(loaded.sdk.label());
            report.notes = loaded.sdk.ignored_exports_note().into_iter().collect();
            report.provider = loaded.provider.map(|p| ProviderSummary {
                apis: p.apis,
                models: p.models.iter().map(ModelSpec::from_info).collect(),
            });
            report.auth = loaded.auth;
            report.load_ms = Some((loaded.load_time.as_secs_f64() * 1e5).round() / 100.0);
            report.cache = Some(loaded.cache);
            report.plugin = Some(loaded.plugin);
            report
        }
        Err(e) => {
            report.sdk = loader::sdk_label(&manifest.id, &bytes);
            report.fail(e)
        }
    }
}

fn read_wasm(
    manifest: &Manifest,
    source: Option<&WasmSource>,
) -> Result<std::borrow::Cow<'static, [u8]>, LoadError> {
    let failed = |path: String, detail: String| LoadError::Read {
        id: manifest.id.clone(),
        path,
        detail,
    };
    match source {
        Some(WasmSource::Embedded(bytes)) => Ok(std::borrow::Cow::Borrowed(bytes)),
        Some(WasmSource::File(path)) => {
            let (limit, what) = discovery::size_limit(manifest.kind());
            discovery::read_limited(path, limit, what)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| {
                    let detail = match (e.kind(), manifest.kind()) {
                        (std::io::ErrorKind::NotFound, Kind::Wasm) => format!(
                            "no such file; the manifest names component \"{}\" (build the plugin, or fix `component`)",
                            manifest.component
                        ),
                        (std::io::ErrorKind::NotFound, Kind::Native) => format!(
                            "no such file; the manifest names library \"{}\" for this machine (build the plugin with `claw plugins build`, or fix [native])",
                            manifest.artifact().unwrap_or_default()
                        ),
                        _ => e.to_string(),
                    };
                    failed(path.display().to_string(), detail)
                })
        }
        // Only a native manifest without a library for this machine has no file.
        None => Err(LoadError::Manifest {
            id: manifest.id.clone(),
            error: manifest
                .artifact()
                .err()
                .unwrap_or_else(|| ManifestError("no component".into())),
        }),
    }
}
