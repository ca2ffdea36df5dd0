//! The load pipeline for one plugin, from bytes to a described, callable plugin:
//! is it WebAssembly? a component? which SDK does it use, and does the host
//! provide it? does the manifest agree? compile (or cache), link, describe.
//! Every step fails with its own error that names the plugin and the fix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmparser::{Encoding, Parser, Payload};

use claw_types::{AuthInfo, ProviderInfo};

use crate::cache::CacheOutcome;
use crate::engine::Runtime;
use crate::manifest::{Kind, Manifest, ManifestError};
use crate::native::{self, Native, NativeError};
use crate::plugin::{CallError, Plugin, PluginSettings};
use crate::sdk::Exports;
use crate::sdk::compat::{self as sdk_compat, SdkError, SdkUse, WorldNames};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin \"{id}\": {error}")]
    Manifest { id: String, error: ManifestError },
    #[error("plugin \"{id}\": cannot read {path}: {detail}")]
    Read {
        id: String,
        path: String,
        detail: String,
    },
    #[error(
        "plugin \"{id}\": file is not WebAssembly; expected a component built with --target wasm32-wasip2"
    )]
    NotWasm { id: String },
    #[error(
        "plugin \"{id}\": file is a core WebAssembly module, not a component; build with --target wasm32-wasip2"
    )]
    CoreModule { id: String },
    #[error(
        "plugin \"{id}\": the component is damaged or truncated ({detail}); rebuild or reinstall it"
    )]
    Malformed { id: String, detail: String },
    #[error(transparent)]
    Sdk(#[from] SdkError),
    #[error("plugin \"{id}\": the component does not compile: {detail}")]
    Compile { id: String, detail: String },
    #[error("plugin \"{id}\" needs an import this host does not provide: {detail}; rebuild it with claw-plugin-sdk {line}", line = sdk_compat::supported_range())]
    Link { id: String, detail: String },
    #[error("plugin \"{id}\": describe failed: {error}")]
    Describe { id: String, error: CallError },
    #[error(transparent)]
    Native(#[from] NativeError),
}

impl LoadError {
    /// The step that failed, for `--json` output and logs.
    pub fn step(&self) -> &'static str {
        match self {
            LoadError::Manifest { .. } => "manifest",
            LoadError::Read { .. } => "read",
            LoadError::NotWasm { .. }
            | LoadError::CoreModule { .. }
            | LoadError::Malformed { .. } => "format",
            LoadError::Sdk(
                SdkError::ManifestSdk { .. }
                | SdkError::ManifestRoleMissing { .. }
                | SdkError::ManifestRoleUndeclared { .. },
            ) => "manifest-mismatch",
            LoadError::Sdk(_) => "sdk",
            LoadError::Compile { .. } => "compile",
            LoadError::Link { .. } => "link",
            LoadError::Describe { .. } => "describe",
            LoadError::Native(e) => e.step(),
        }
    }
}

/// A plugin that passed every step.
pub struct LoadedPlugin {
    pub plugin: Arc<Plugin>,
    pub sdk: SdkUse,
    pub provider: Option<ProviderInfo>,
    pub auth: Option<AuthInfo>,
    pub cache: CacheOutcome,
    pub load_time: Duration,
}

/// The top-level import and export names of a component, or why it is not one.
pub fn inspect(id: &str, bytes: &[u8]) -> Result<WorldNames, LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm { id: id.into() });
    }
    let malformed = |e: wasmparser::BinaryReaderError| LoadError::Malformed {
        id: id.into(),
        detail: e.to_string(),
    };
    let mut names = WorldNames::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(malformed)? {
            Payload::Version {
                encoding: Encoding::Module,
                ..
            } if depth == 0 => {
                return Err(LoadError::CoreModule { id: id.into() });
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth > 0 => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    names
                        .imports
                        .push(import.map_err(malformed)?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    names
                        .exports
                        .push(export.map_err(malformed)?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// The SDK package and version a component was built against, when it can be told.
pub fn sdk_label(id: &str, bytes: &[u8]) -> Option<String> {
    inspect(id, bytes)
        .ok()
        .and_then(|names| sdk_compat::package_label(&names))
}

/// Check a component against the host and its manifest, without compiling it.
pub fn check(manifest: &Manifest, bytes: &[u8]) -> Result<SdkUse, LoadError> {
    let names = inspect(&manifest.id, bytes)?;
    let sdk = sdk_compat::check(&manifest.id, &names)?;
    sdk_compat::check_manifest(manifest, &sdk)?;
    Ok(sdk)
}

/// The whole pipeline: check, compile (or load from cache), link, describe.
/// `bytes` is the component, or the native library (trusted by the caller).
pub async fn load(
    runtime: &Arc<Runtime>,
    manifest: &Manifest,
    bytes: &[u8],
    settings: PluginSettings,
) -> Result<LoadedPlugin, LoadError> {
    if manifest.kind() == Kind::Native {
        return load_native(runtime, manifest, bytes, settings).await;
    }
    let started = Instant::now();
    let id = manifest.id.clone();
    let sdk = check(manifest, bytes)?;
    let (component, cache) = runtime.compile(bytes).map_err(|e| LoadError::Compile {
        id: id.clone(),
        detail: format!("{e:#}"),
    })?;
    let pre = runtime.link(&component).map_err(|e| LoadError::Link {
        id: id.clone(),
        detail: format!("{e:#}"),
    })?;
    let exports = Exports::new(&sdk.version, &pre).ok_or_else(|| LoadError::Link {
        id: id.clone(),
        detail: format!("no SDK module for {}", sdk.label()),
    })?;
    let plugin = Plugin::new(runtime.clone(), &id, pre, exports, settings);
    describe(plugin, sdk, cache, started).await
}

/// A native library: header, fresh copy, symbols, ABI and SDK, manifest, describe.
async fn load_native(
    runtime: &Arc<Runtime>,
    manifest: &Manifest,
    bytes: &[u8],
    settings: PluginSettings,
) -> Result<LoadedPlugin, LoadError> {
    let started = Instant::now();
    let (library, sdk) = native::open(manifest, bytes, &runtime.native_copies()).await?;
    let plugin = Plugin::new_native(
        runtime.clone(),
        &manifest.id,
        Native::new(library),
        settings,
    );
    describe(plugin, sdk, CacheOutcome::Native, started).await
}

/// The last step for every kind: ask the plugin what it serves.
async fn describe(
    plugin: Plugin,
    sdk: SdkUse,
    cache: CacheOutcome,
    started: Instant,
) -> Result<LoadedPlugin, LoadError> {
    let id = plugin.id().to_string();
    let describe_err = |error| LoadError::Describe {
        id: id.clone(),
        error,
    };
    let provider = match plugin.is_provider() {
        true => Some(plugin.describe_provider().await.map_err(describe_err)?),
        false => None,
    };
    let auth = match plugin.is_auth() {
        true => Some(plugin.describe_auth().await.map_err(describe_err)?),
        false => None,
    };
    Ok(LoadedPlugin {
        plugin: Arc::new(plugin),
        sdk,
        provider,
        auth,
        cache,
        load_time: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::BUNDLED;
    use crate::engine::Limits;
    use crate::grant::NetworkGrant;
    use crate::prompts::Headless;
    use claw_types::{
        ChatEvent, ChatRequest, Endpoint, Message, Prompt, Reason, RequestCredential, Role,
        StopReason,
    };

    fn request(text: Option<&str>) -> ChatRequest {
        ChatRequest {
            endpoint: Endpoint {
                provider: "echo".into(),
                api: "echo".into(),
                base_url: String::new(),
                headers: vec![],
                auth_header: false,
            },
            credential: RequestCredential::None,
            model: "echo-1".into(),
            prompt: Prompt {
                streaming: true,
                ..Prompt::of(
                    text.map(|t| vec![Message::text(Role::User, t)])
                        .unwrap_or_default(),
                )
            },
        }
    }

    #[tokio::test]
    async fn echo_streams_each_request_on_a_fresh_instance() {
        let runtime = Runtime::new(Limits::default(), None).unwrap();
        let loaded = echo(&runtime, Default::default()).await;
        assert_eq!(loaded.sdk.label(), "claw:plugin@0.2.0");
        assert_eq!(
            loaded.provider.as_ref().unwrap().apis,
            vec!["echo".to_string()]
        );

        for text in ["hello  big world", "second request"] {
            let mut stream = loaded.plugin.chat(&request(Some(text))).await.unwrap();
            let mut events = Vec::new();
            while let Some(batch) = stream.next().await.unwrap() {
                events.extend(batch);
            }
            let reply: String = events
                .iter()
                .filter_map(|e| {
                    if let ChatEvent::Text(t) = e {
                        Some(t.as_str())
                    } else {
                        None
                    }
                })
                .collect();
            assert_eq!(reply, text);
            assert!(matches!(events.first(), Some(ChatEvent::Started(_))));
            assert!(
                matches!(events.last(), Some(ChatEvent::Done(done)) if done.raw == "end_turn" && done.reason == StopReason::EndTurn)
            );
            assert!(
                stream.next().await.unwrap().is_none(),
                "a finished stream stays finished"
            );
        }

        let err = loaded
            .plugin
            .chat(&request(None))
            .await
            .err()
            .expect("no user message is an error");
        match err {
            CallError::Plugin { plugin, error } => {
                assert_eq!(plugin, "echo");
                assert_eq!(error.reason, Reason::Format);
                assert_eq!(
                    error.message,
                    "the request has no user message with text to echo"
                );
            }
            other => panic!("unexpected {other}"),
        }
    }

    async fn echo(runtime: &Arc<Runtime>, limits: crate::PluginLimits) -> LoadedPlugin {
        let bundled = BUNDLED.iter().find(|b| b.dir == "echo").unwrap();
        let manifest = Manifest::parse(bundled.manifest).unwrap();
        let settings = PluginSettings {
            config_json: "{}".into(),
            grant: Arc::new(NetworkGrant::none()),
            prompter: Arc::new(Headless),
            limits,
        };
        load(runtime, &manifest, bundled.wasm, settings)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_plugin_at_its_concurrency_limit_is_overloaded_until_a_stream_ends() {
        let runtime = Runtime::new(Limits::default(), None).unwrap();
        let limits = crate::PluginLimits {
            max_concurrent: 2,
            ..Default::default()
        };
        let loaded = echo(&runtime, limits).await;
        let plugin = &loaded.plugin;
        let a = plugin.chat(&request(Some("a"))).await.unwrap();
        let _b = plugin.chat(&request(Some("b"))).await.unwrap();
        let started = std::time::Instant::now();
        let err = plugin.chat(&request(Some("c"))).await.err().unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(err.reason(), Reason::Overloaded);
        assert_eq!(
            err.to_string(),
            "plugin \"echo\" is overloaded: all 2 of its concurrent calls are in use \
             (plugins.limits.maxConcurrent); chat was not started, try again shortly"
        );
        let failure = claw_types::Failure::from(err);
        assert_eq!(failure.retry_after, Some(Duration::from_secs(1)));
        assert!(plugin.degraded().is_none());
        drop(a);
        let mut c = plugin.chat(&request(Some("c"))).await.unwrap();
        assert!(c.next().await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_full_instance_pool_is_overload_not_a_crash() {
        let pool = Limits {
            max_instances: 2,
            ..Limits::default()
        };
        let runtime = Runtime::new(pool, None).unwrap();
        let loaded = echo(&runtime, Default::default()).await;
        let plugin = &loaded.plugin;
        let _a = plugin.chat(&request(Some("a"))).await.unwrap();
        let _b = plugin.chat(&request(Some("b"))).await.unwrap();
        let err = plugin.chat(&request(Some("c"))).await.err().unwrap();
        assert_eq!(err.reason(), Reason::Overloaded, "{err}");
        assert_eq!(
            err.to_string(),
            "plugin \"echo\" is overloaded: the host's pool of 2 plugin instances is full; \
             chat was not started, try again shortly"
        );
        assert!(plugin.degraded().is_none());
    }
}
