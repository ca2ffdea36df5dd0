//! The router's real backend: plugins. Maps each provider to the plugin that
//! serves its API kind, hands that plugin (and only it) the provider's
//! credential, and turns plugin failures into classified `Failure`s.

use std::sync::Arc;
use std::time::Duration;

use super::{Backend, Failure, Prompt, Reason, ReplyStream};
use crate::auth::{AuthManager, Kind};
use crate::catalog::{Catalog, Credential, ModelRef, Provider};
use crate::registry::{Registry, Status};
use crate::runtime::types::{ChatEvent, ChatRequest, Endpoint, KeyValue, RequestCredential};
use crate::runtime::{CallError, ChatStream, Plugin};

struct Served {
    id: String,
    apis: Vec<String>,
    plugin: Arc<Plugin>,
}

pub struct PluginBackend {
    served: Vec<Served>,
    /// Provider plugins that are not loaded, with why (to explain a missing API).
    unavailable: Vec<(String, String)>,
    auth: Arc<AuthManager>,
}

impl PluginBackend {
    /// Use the loaded provider plugins of `registry`, and grant each plugin the
    /// hosts of the base URLs configured for the providers it serves.
    pub fn new(registry: &Registry, catalog: &Catalog, auth: Arc<AuthManager>) -> PluginBackend {
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
        let backend = PluginBackend {
            served,
            unavailable,
            auth,
        };
        for provider in catalog.providers.values() {
            if let (Ok(served), Some(host)) = (
                backend.plugin_for(provider),
                crate::runtime::host_of(&provider.base_url),
            ) {
                served.plugin.grant().add_configured(host);
            }
        }
        backend
    }

    fn plugin_for(&self, provider: &Provider) -> Result<&Served, Failure> {
        let found = match &provider.plugin {
            Some(id) => self.served.iter().find(|s| &s.id == id),
            None => self
                .served
                .iter()
                .find(|s| s.apis.iter().any(|a| a == &provider.api)),
        };
        found.ok_or_else(|| {
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
        let served = self.plugin_for(provider)?;
        let mut request = ChatRequest {
            endpoint: Endpoint {
                provider: provider.id.clone(),
                api: provider.api.clone(),
                base_url: provider.base_url.clone(),
                headers: provider
                    .headers
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
                auth_header: provider.auth_header,
            },
            credential,
            model: target.model.clone(),
            messages: prompt.messages.clone(),
            max_tokens: prompt.max_tokens,
            temperature: prompt.temperature,
            streaming: prompt.streaming,
        };
        match served.plugin.chat(request.clone()).await {
            Ok(stream) => Ok(PluginReply(stream)),
            // An OAuth token the upstream rejects may have been revoked or
            // expired early: refresh once and retry.
            Err(e) if is_auth(&e) && matches!(profile, Some((_, Kind::Oauth, _))) => {
                let (id, _, used) = profile.expect("matched above");
                tracing::info!(profile = %id, "upstream rejected the token; refreshing once");
                let fresh = self.auth.refresh(id, &used).await?;
                request.credential = RequestCredential::Bearer(fresh.access);
                served
                    .plugin
                    .chat(request)
                    .await
                    .map(PluginReply)
                    .map_err(failure)
            }
            Err(e) => Err(failure(e)),
        }
    }
}

pub struct PluginReply<'a>(ChatStream<'a>);

impl ReplyStream for PluginReply<'_> {
    async fn next(&mut self) -> Result<Option<Vec<ChatEvent>>, Failure> {
        self.0.next().await.map_err(failure)
    }
}

fn is_auth(e: &CallError) -> bool {
    matches!(e, CallError::Plugin { error, .. } if error.reason == crate::runtime::types::ErrorReason::Auth)
}

fn failure(e: CallError) -> Failure {
    let message = e.to_string();
    match e {
        CallError::Plugin { error, .. } => Failure {
            reason: error.reason.into(),
            status: error.status,
            message,
            retry_after: error.retry_after_ms.map(Duration::from_millis),
        },
        CallError::Timeout { .. } => Failure::new(Reason::PluginTimeout, message),
        CallError::Memory { .. } => Failure::new(Reason::PluginMemory, message),
        CallError::Trap { .. } => Failure::new(Reason::PluginTrap, message),
        CallError::Output { .. } => Failure::new(Reason::PluginOutput, message),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_come_out_of_base_urls() {
        assert_eq!(
            crate::runtime::host_of("http://127.0.0.1:8080/anthropic"),
            Some("127.0.0.1")
        );
        assert_eq!(
            crate::runtime::host_of("https://api.minimax.io/anthropic"),
            Some("api.minimax.io")
        );
        assert_eq!(crate::runtime::host_of("http://[::1]:9/v1"), Some("::1"));
        assert_eq!(crate::runtime::host_of(""), None);
    }
}
