//! The router's real backend: plugins. Maps each provider to the plugin that
//! serves its API kind, hands that plugin (and only it) the provider's
//! credential, and turns plugin failures into classified `Failure`s.

use std::sync::Arc;

use claw_plugin_host::{CallError, ChatStream, Plugin};
use claw_types::{ChatEvent, ChatRequest, Endpoint, KeyValue, MethodKind, RequestCredential};

use super::{Backend, Failure, Prompt, Reason, ReplyStream};
use crate::auth::AuthManager;
use crate::catalog::{Catalog, Credential, ModelRef, Provider};
use crate::registry::{Registry, Status};

struct Served {
    id: String,
    apis: Vec<String>,
    plugin: Arc<Plugin>,
}

/// Which loaded plugin serves which provider.
pub struct Serving {
    served: Vec<Served>,
    /// Provider plugins that are not loaded, with why (to explain a missing API).
    unavailable: Vec<(String, String)>,
}

impl Serving {
    /// The loaded provider plugins of `registry`.
    pub fn new(registry: &Registry) -> Serving {
        let mut served = Vec::new();
        let mut unavailable = Vec::new();
        for report in &registry.plugins {
            match (&report.plugin, &report.provider) {
                (Some(plugin), Some(info)) => served.push(Served {
                    id: report.id.clone(),
                    apis: info.apis.clone(),
                    plugin: plugin.clone(),
                }),
                _ if report.status != Status::Loaded => unavailable.push((
                    report.id.clone(),
                    report
                        .error
                        .clone()
                        .unwrap_or_else(|| report.status.as_str().into()),
                )),
                _ => {}
            }
        }
        Serving {
            served,
            unavailable,
        }
    }

    /// The plugin serving `provider`: the one it pins, else the first that
    /// implements its API kind.
    pub fn plugin_for(&self, provider: &Provider) -> Result<&Arc<Plugin>, Failure> {
        let found = match &provider.plugin {
            Some(id) => self.served.iter().find(|s| &s.id == id),
            None => self
                .served
                .iter()
                .find(|s| s.apis.iter().any(|a| a == &provider.api)),
        };
        found.map(|s| &s.plugin).ok_or_else(|| {
            let wanted = provider.plugin.as_ref().map_or(format!("a plugin implementing api \"{}\"", provider.api), |p| format!("plugin \"{p}\""));
            let why = if self.unavailable.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = self.unavailable.iter().map(|(id, e)| format!("{id}: {e}")).collect();
                format!(" (not loaded: {})", list.join("; "))
            };
            Failure::new(Reason::Unknown, format!("provider \"{}\" needs {wanted}, and none is loaded{why}; see `claw plugins list`", provider.id))
        })
    }
}

pub struct PluginBackend {
    serving: Serving,
    auth: Arc<AuthManager>,
}

impl PluginBackend {
    pub fn new(serving: Serving, auth: Arc<AuthManager>) -> PluginBackend {
        PluginBackend { serving, auth }
    }
}

impl Backend for PluginBackend {
    type Stream<'a> = PluginReply<'a>;

    async fn start<'a>(
        &'a self,
        catalog: &'a Catalog,
        target: &'a ModelRef,
        prompt: &'a Prompt,
    ) -> Result<PluginReply<'a>, Failure> {
        let provider = catalog.providers.get(&target.provider).ok_or_else(|| {
            Failure::new(
                Reason::ModelNotFound,
                format!("no provider \"{}\" is configured", target.provider),
            )
        })?;
        let (credential, profile) = match &provider.credential {
            Credential::None => (RequestCredential::None, None),
            Credential::ApiKey { key, .. } => (RequestCredential::ApiKey(key.clone()), None),
            Credential::Profile { id, kind } => {
                let (credential, secret) = self.auth.credential(id).await?;
                (credential, Some((id, *kind, secret)))
            }
            Credential::Missing { hint } => {
                return Err(Failure::new(
                    Reason::Auth,
                    format!("no credential for provider \"{}\": {hint}", provider.id),
                ));
            }
        };
        let plugin = self.serving.plugin_for(provider)?;
        let mut request = ChatRequest {
            endpoint: Endpoint {
                provider: provider.id.clone(),
                api: provider.api.clone(),
                base_url: provider.base_url.clone(),
                headers: provider
                    .headers
                    .iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect(),
                auth_header: provider.auth_header,
            },
            credential,
            model: target.model.clone(),
            prompt: prompt.clone(),
        };
        match plugin.chat(&request).await {
            Ok(stream) => Ok(PluginReply(stream)),
            // An OAuth token the upstream rejects may have been revoked or
            // expired early: refresh once and retry.
            Err(e) if is_auth(&e) && matches!(profile, Some((_, MethodKind::Oauth, _))) => {
                let (id, _, used) = profile.expect("matched above");
                tracing::info!(profile = %id, "upstream rejected the token; refreshing once");
                let fresh = self.auth.refresh(id, &used).await?;
                request.credential = RequestCredential::Bearer(fresh.access);
                plugin
                    .chat(&request)
                    .await
                    .map(PluginReply)
                    .map_err(Failure::from)
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub struct PluginReply<'a>(ChatStream<'a>);

impl ReplyStream for PluginReply<'_> {
    async fn next(&mut self) -> Result<Option<Vec<ChatEvent>>, Failure> {
        self.0.next().await.map_err(Failure::from)
    }
}

fn is_auth(e: &CallError) -> bool {
    matches!(e, CallError::Plugin { error, .. } if error.reason == Reason::Auth)
}
