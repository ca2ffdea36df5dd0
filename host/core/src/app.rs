//! Everything a model request needs, assembled once from the state directory:
//! config, loaded plugins, the provider catalog and the plugin backend. The CLI
//! builds one per command; the gateway keeps one and swaps it on reload.

use std::collections::HashMap;
use std::sync::Arc;

use claw_plugin_host::settings::PluginsConfig;
use claw_plugin_host::{NetworkGrant, Prompter, Runtime};

use crate::auth::login::LoginChecks;
use crate::auth::{self, AuthManager, AuthSection, AuthStore};
use crate::catalog::{Catalog, ModelRef, PluginProvider, UnknownModel};
use crate::config::models::AgentDefaults;
use crate::config::{ConfigError, ConfigFile};
use crate::registry::{self, Registry};
use crate::router::backend::{PluginBackend, Serving};
use crate::router::{CooldownBook, Delivery, Policy, Prompt, Router, RunOutcome};
use crate::state::StateDir;

pub struct App {
    pub state: StateDir,
    pub config: ConfigFile,
    pub registry: Registry,
    pub catalog: Catalog,
    pub agents: AgentDefaults,
    pub policy: Policy,
    pub backend: PluginBackend,
    pub auth: Arc<AuthManager>,
}

/// Which agent a request is for: its default model and fallbacks differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Main,
    Subagent,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] UnknownModel),
    #[error("{0}")]
    Auth(String),
    #[error(
        "no model chosen: pass --model, or set a default with `claw models set <provider/model>` (agents.defaults.model.primary)"
    )]
    NoModel,
}

impl App {
    pub async fn load(
        state: StateDir,
        runtime: &Arc<Runtime>,
        prompter: Arc<dyn Prompter>,
    ) -> Result<App, AppError> {
        let config = ConfigFile::load(&state.config_path())?;
        let plugins_cfg = config.plugins()?;
        let models = config.models()?;
        let agents = config.agents()?.defaults;
        let mut registry =
            registry::load_all(runtime, &state.plugins_dir(), &plugins_cfg, prompter).await;
        let plugin_providers: Vec<PluginProvider> = registry
            .plugins
            .iter()
            .filter_map(|p| {
                let info = p.provider.as_ref().filter(|_| p.plugin.is_some())?;
                Some(PluginProvider {
                    plugin: p.id.clone(),
                    api: info.apis.first().cloned().unwrap_or_default(),
                    apis: info.apis.clone(),
                    // Plugins with an auth role bring their provider through a login's
                    // config patch instead, with the credential it creates.
                    models: if p.auth.is_none() {
                        info.models.clone()
                    } else {
                        Vec::new()
                    },
                    serves_after_login: p.auth.as_ref().is_some_and(|a| a.provider == p.id),
                })
            })
            .collect();
        let auth_section: AuthSection = config.section("auth")?;
        let store = AuthStore::new(state.root());
        let stored = store.load().map_err(|e| AppError::Auth(e.to_string()))?;
        // claw.json's `env` counts as environment everywhere (the process
        // environment wins), so a key set only there turns its preset on.
        let vars = crate::config::vars::variables(config.value());
        let env = |k: &str| vars.get(k).cloned();
        let profile = |provider: &str| auth::profile_for(provider, &auth_section, &stored);
        let catalog = Catalog::build(&models, &agents, &plugin_providers, &env, &profile);
        for problem in &catalog.problems {
            tracing::warn!("config: {problem}");
        }
        grant_network(&mut registry, &catalog, &plugins_cfg);
        let auth_plugins: HashMap<_, _> = registry
            .plugins
            .iter()
            .filter(|p| p.auth.is_some())
            .filter_map(|p| Some((p.id.clone(), p.plugin.clone()?)))
            .collect();
        // A login's config patch may set its provider's base URL only on a host
        // the plugin may reach already (see `grant_network`), and aliases only
        // where they shadow no model the catalog serves.
        let mut checks = LoginChecks::default();
        for (id, plugin) in &auth_plugins {
            let plugin = plugin.clone();
            checks = checks.reach(id, move |host, port| {
                plugin.grant().check(host, port).is_ok()
            });
        }
        for provider in catalog.providers.values() {
            checks = checks.models(&provider.id, provider.models.iter().map(|m| m.id.as_str()));
        }
        let store = store.with_login_checks(checks);
        let auth = Arc::new(AuthManager::new(store, auth_plugins));
        let backend = PluginBackend::new(Serving::new(&registry), auth.clone());
        let policy = Policy {
            stop_on: agents.failover.stop_on.iter().copied().collect(),
        };
        Ok(App {
            state,
            config,
            registry,
            catalog,
            agents,
            policy,
            backend,
            auth,
        })
    }

    /// The candidates for a request: the requested model (or the agent's
    /// primary), then the agent's fallbacks. Unknown fallbacks are reported and skipped.
    pub fn chain(
        &self,
        requested: Option<&str>,
        agent: Agent,
    ) -> Result<(Vec<ModelRef>, Vec<String>), AppError> {
        let defaults = &self.agents;
        let (primary, fallbacks) = match agent {
            Agent::Main => (
                defaults.model.primary.clone(),
                defaults.model.fallbacks.clone(),
            ),
            Agent::Subagent => {
                let sub = &defaults.subagents;
                let primary = sub
                    .model
                    .as_ref()
                    .and_then(|m| m.primary.clone())
                    .or_else(|| defaults.model.primary.clone());
                let fallbacks = sub
                    .fallbacks
                    .clone()
                    .or_else(|| {
                        sub.model
                            .as_ref()
                            .map(|m| m.fallbacks.clone())
                            .filter(|f| !f.is_empty())
                    })
                    .unwrap_or_else(|| defaults.model.fallbacks.clone());
                (primary, fallbacks)
            }
        };
        let requested = requested
            .map(str::to_string)
            .or(primary)
            .ok_or(AppError::NoModel)?;
        let first = self.catalog.resolve(&requested)?;
        let (chain, problems) = crate::router::build_chain(&self.catalog, &first, &fallbacks);
        for p in &problems {
            tracing::warn!("{p}");
        }
        Ok((chain, problems))
    }

    /// The cooldowns of this state dir, shared by the gateway and every command.
    pub fn cooldowns(&self) -> CooldownBook {
        CooldownBook::open(self.state.root().join("router").join("cooldowns.json"))
    }

    /// Run `prompt` down `chain`: the one place a router is assembled.
    pub async fn route(
        &self,
        cooldowns: &CooldownBook,
        chain: &[ModelRef],
        prompt: &Prompt,
        deliver: &mut (dyn FnMut(Delivery) + Send),
    ) -> RunOutcome {
        let router = Router {
            catalog: &self.catalog,
            backend: &self.backend,
            policy: &self.policy,
            settings: self.agents.failover.clone(),
            cooldowns,
        };
        let outcome = router.run(chain, prompt, deliver).await;
        cooldowns.save();
        outcome
    }
}

/// Give every loaded plugin its network grant, once, now that the catalog
/// says which providers it serves (see `NetworkGrant` for the rule): the hosts
/// its manifest declares, plus the hosts of the base URLs of the providers it
/// serves and of the `*url` keys of its own `plugins.entries.<id>.config`.
///
/// Grants never widen from config values a plugin wrote. The only config a
/// plugin writes is a login's patch (`auth::login`), and that may not touch
/// `plugins.*` (so the URLs in a plugin's own config are the user's) nor
/// contain `${` (so nothing a plugin wrote is substituted from the
/// environment). It may set its own provider's `baseUrl`, but only on a host
/// the plugin may already reach (checked at login against this very grant:
/// declared in its manifest, or configured by the user), so taking that base
/// URL into the grant here adds no host the user did not consent to; any other
/// host is refused at login with a message, and nothing of that patch is applied.
fn grant_network(registry: &mut Registry, catalog: &Catalog, cfg: &PluginsConfig) {
    let serving = Serving::new(registry);
    let mut urls: HashMap<String, Vec<String>> = HashMap::new();
    for provider in catalog.providers.values() {
        if let Ok(plugin) = serving.plugin_for(provider) {
            urls.entry(plugin.id().to_string())
                .or_default()
                .push(provider.base_url.clone());
        }
    }
    for report in &mut registry.plugins {
        let Some(plugin) = &report.plugin else {
            continue;
        };
        let entry = cfg.entries.get(&report.id);
        // A URL in the plugin's own settings (e.g. the `baseUrl` of an OAuth
        // plugin pointed at a self-hosted endpoint) is consent to reach it.
        let config_urls = entry
            .and_then(|e| e.config.as_ref())
            .and_then(|c| c.as_object())
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.to_ascii_lowercase().ends_with("url"))
            .filter_map(|(_, value)| value.as_str());
        let served = urls
            .get(&report.id)
            .into_iter()
            .flatten()
            .map(String::as_str);
        let grant = NetworkGrant::new(
            report.network.clone(),
            served.chain(config_urls),
            entry.and_then(|e| e.network.clone()),
        );
        report.plugin = Some(Arc::new(plugin.with_grant(grant)));
    }
}
