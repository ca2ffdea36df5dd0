//! The providers and models a request can use: built-in presets, plugins that
//! describe their own models, and `models.providers` from config, merged per
//! `models.mode`; plus aliases, and resolution of a model reference.

pub mod onboarding;
pub mod presets;
mod unknown;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use unknown::{NAMING, lead, serves};

pub use claw_types::ModelRef;

use crate::config::models::{
    AgentDefaults, CostEntry, MergeMode, ModelEntry, ModelsSection, ProviderEntry,
};

/// A model a provider serves.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    pub id: String,
    pub name: String,
    pub reasoning: bool,
    pub input: Vec<String>,
    pub cost: CostEntry,
    pub context_window: u32,
    pub max_tokens: u32,
    /// Can call tools (config `tools`, default true).
    pub tools: bool,
}

impl ModelSpec {
    /// Why this model cannot take a prompt that needs `needs`, if it cannot:
    /// checked before a candidate is tried, so it is skipped, not failed.
    pub fn cannot_take(&self, needs: claw_types::Needs) -> Option<String> {
        if needs.images && !self.input.iter().any(|i| i == "image") {
            return Some(format!(
                "model \"{}\" does not take images (its input is [{}]); send text only, or set \"input\": [\"text\", \"image\"] in its config if it does",
                self.id,
                self.input.join(", ")
            ));
        }
        if needs.tools && !self.tools {
            return Some(format!(
                "model \"{}\" cannot call tools; send the request without tools, or set \"tools\": true in its config if it can",
                self.id
            ));
        }
        None
    }

    /// A model as a plugin describes it.
    pub fn from_info(m: &claw_types::ModelInfo) -> ModelSpec {
        use claw_types::InputKind;
        ModelSpec {
            id: m.id.clone(),
            name: m.name.clone(),
            reasoning: m.reasoning,
            input: m
                .input
                .iter()
                .map(|i| {
                    if *i == InputKind::Image {
                        "image".into()
                    } else {
                        "text".into()
                    }
                })
                .collect(),
            cost: m.cost.map_or_else(Default::default, |c| CostEntry {
                input: c.input,
                output: c.output,
                cache_read: c.cache_read,
                cache_write: c.cache_write,
            }),
            context_window: m.context_window,
            max_tokens: m.max_tokens,
            tools: m.tools,
        }
    }
}

/// Where a provider's credential comes from. The secret itself never leaves
/// this value except into a request for this provider.
#[derive(Clone)]
pub enum Credential {
    /// No credential needed (local servers, plugins without upstream).
    None,
    ApiKey {
        key: String,
        from: String,
    },
    /// A stored auth profile (`provider:name`), read and refreshed per request.
    Profile {
        id: String,
        kind: claw_types::MethodKind,
    },
    /// Needed but absent; `hint` says how to supply it.
    Missing {
        hint: String,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::None => write!(f, "None"),
            Credential::ApiKey { from, .. } => write!(f, "ApiKey(from {from})"),
            Credential::Profile { id, kind } => write!(f, "Profile({id}, {})", kind.as_str()),
            Credential::Missing { hint } => write!(f, "Missing({hint})"),
        }
    }
}

impl Credential {
    /// Safe to print: where the key comes from, never the key.
    pub fn describe(&self) -> String {
        match self {
            Credential::None => "none needed".into(),
            Credential::ApiKey { from, .. } => format!("api key from {from}"),
            Credential::Profile { id, kind } => format!("{} profile {id}", kind.as_str()),
            Credential::Missing { hint } => format!("missing: {hint}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub api: String,
    pub base_url: String,
    pub headers: Vec<(String, String)>,
    pub auth_header: bool,
    pub credential: Credential,
    pub models: Vec<ModelSpec>,
    /// The plugin that must serve it, when pinned (config, or a plugin's own models).
    pub plugin: Option<String>,
    /// `preset`, `config`, `preset+config` or `plugin`.
    pub origin: &'static str,
}

impl Provider {
    /// Whether a model id not in `models` is still passed to the upstream.
    pub fn passes_unlisted(&self) -> bool {
        self.origin.starts_with("preset")
    }

    pub fn model(&self, id: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == id)
    }
}

/// A loaded provider plugin. One that brings its own models (e.g. `echo`)
/// becomes a provider named after it; every one's `apis` count as its own API
/// kinds (see [`presets::is_builtin_api`] for the ones that are not).
pub struct PluginProvider {
    pub plugin: String,
    pub api: String,
    /// Every API kind the plugin declares (`describe().apis`).
    pub apis: Vec<String>,
    /// Empty when the plugin brings no provider of its own.
    pub models: Vec<ModelSpec>,
    /// It also logs in, and brings its provider through that login's config
    /// patch: until then its models are not served.
    pub serves_after_login: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownModel(pub String);

#[derive(Debug, Default)]
pub struct Catalog {
    pub providers: BTreeMap<String, Provider>,
    /// alias -> model ref
    pub aliases: BTreeMap<String, ModelRef>,
    /// Config entries that could not be used, with the reason (shown by `models list`).
    pub problems: Vec<String>,
    /// `models.mode`: under `merge`, presets not switched on are still
    /// suggested for an unknown model.
    pub mode: MergeMode,
    /// Plugins whose provider appears once the user logs in with them.
    pub after_login: BTreeSet<String>,
}

impl Catalog {
    pub fn build(
        models: &ModelsSection,
        agents: &AgentDefaults,
        plugin_providers: &[PluginProvider],
        env: &dyn Fn(&str) -> Option<String>,
        profile: &dyn Fn(&str) -> Option<(String, claw_types::MethodKind)>,
    ) -> Catalog {
        let mut catalog = Catalog {
            mode: models.mode,
            ..Catalog::default()
        };
        // API kinds a loaded plugin declares and no preset uses: a config
        // provider of such a kind needs no `baseUrl`.
        let own_apis: BTreeSet<&str> = plugin_providers
            .iter()
            .flat_map(|p| p.apis.iter().chain([&p.api]))
            .map(String::as_str)
            .filter(|api| !api.is_empty() && !presets::is_builtin_api(api))
            .collect();
        catalog.after_login = plugin_providers
            .iter()
            .filter(|p| p.serves_after_login)
            .map(|p| p.plugin.clone())
            .collect();
        if models.mode == MergeMode::Merge {
            for p in plugin_providers.iter().filter(|p| !p.models.is_empty()) {
                catalog.providers.insert(
                    p.plugin.clone(),
                    Provider {
                        id: p.plugin.clone(),
                        api: p.api.clone(),
                        base_url: String::new(),
                        headers: Vec::new(),
                        auth_header: false,
                        credential: Credential::None,
                        models: p.models.clone(),
                        plugin: Some(p.plugin.clone()),
                        origin: "plugin",
                    },
                );
            }
            for preset in presets::PRESETS {
                let key = env(preset.env_key).filter(|k| !k.is_empty());
                let stored = profile(preset.id);
                if key.is_some() || stored.is_some() || models.providers.contains_key(preset.id) {
                    catalog
                        .providers
                        .insert(preset.id.into(), from_preset(preset, key));
                }
            }
        }
        for (id, entry) in &models.providers {
            let base = match models.mode {
                MergeMode::Merge => catalog.providers.remove(id),
                MergeMode::Replace => None,
            };
            match apply_entry(id, base, entry, &own_apis) {
                Ok(provider) => {
                    catalog.providers.insert(id.clone(), provider);
                }
                Err(problem) => catalog.problems.push(problem),
            }
        }
        // A stored login beats an environment variable; an explicit apiKey in
        // config beats both.
        for provider in catalog.providers.values_mut() {
            let explicit = matches!(&provider.credential, Credential::ApiKey { from, .. } if from.starts_with("models.providers"));
            if !explicit && let Some((id, kind)) = profile(&provider.id) {
                provider.credential = Credential::Profile { id, kind };
            }
        }
        for (reference, settings) in &agents.models {
            if let (Some(alias), Some(r)) = (&settings.alias, ModelRef::parse(reference)) {
                catalog.aliases.insert(alias.clone(), r);
            }
        }
        catalog
    }

    /// Resolve `provider/model`, an alias, or a bare model id that exactly one
    /// provider serves. Model ids are case-sensitive.
    pub fn resolve(&self, reference: &str) -> Result<ModelRef, UnknownModel> {
        let reference = reference.trim();
        if let Some(r) = self.aliases.get(reference) {
            return self.check(r.clone(), &format!(" (alias \"{reference}\")"));
        }
        if let Some(r) = ModelRef::parse(reference)
            && (self.providers.contains_key(&r.provider) || !self.serves_bare(reference))
        {
            return self.check(r, "");
        }
        let serving: Vec<&Provider> = self
            .providers
            .values()
            .filter(|p| p.model(reference).is_some())
            .collect();
        match serving.as_slice() {
            [one] => Ok(ModelRef {
                provider: one.id.clone(),
                model: reference.into(),
            }),
            [] => {
                let suggestions = self.suggest(reference);
                Err(UnknownModel(format!(
                    "Unknown model \"{reference}\": {}. {} {}",
                    lead(
                        &suggestions,
                        "not an alias, and no provider serves a model with that id"
                    ),
                    self.what_exists(),
                    self.how_to_add(None, !suggestions.is_empty())
                )))
            }
            many => Err(UnknownModel(format!(
                "Ambiguous model \"{reference}\": served by {}; write it as provider/model",
                many.iter()
                    .map(|p| format!("{}/{reference}", p.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn serves_bare(&self, id: &str) -> bool {
        self.providers.values().any(|p| p.model(id).is_some())
    }

    fn check(&self, r: ModelRef, via: &str) -> Result<ModelRef, UnknownModel> {
        let Some(provider) = self.providers.get(&r.provider) else {
            let problem = self
                .problems
                .iter()
                .find(|p| p.starts_with(&format!("models.providers.{}:", r.provider)));
            return Err(UnknownModel(match problem {
                Some(problem) => format!(
                    "Unknown model \"{r}\"{via}: provider \"{}\" is misconfigured: {problem}",
                    r.provider
                ),
                None if self.after_login.contains(&r.provider) => format!(
                    "Unknown model \"{r}\"{via}: plugin \"{p}\" serves its models once you log in with it: run `claw auth login --provider {p}`",
                    p = r.provider
                ),
                None => {
                    let suggestions = self.suggest(&r.to_string());
                    format!(
                        "Unknown model \"{r}\"{via}: {}. {} {}",
                        lead(
                            &suggestions,
                            &format!("no provider \"{}\" is configured", r.provider)
                        ),
                        self.what_exists(),
                        self.how_to_add(Some(&r.provider), !suggestions.is_empty())
                    )
                }
            }));
        };
        // A preset's model list is what claw knew when it was built; the
        // upstream knows newer ids, so they pass through (an id it does not
        // know fails over as model_not_found).
        // ...unless it differs from a listed id only in case: then it is a typo.
        let typo = provider
            .models
            .iter()
            .any(|m| m.id.eq_ignore_ascii_case(&r.model));
        if provider.model(&r.model).is_none() && (typo || !provider.passes_unlisted()) {
            let suggestions = self.suggest(&r.to_string());
            return Err(UnknownModel(format!(
                "Unknown model \"{r}\"{via}: {}. Model ids are case-sensitive; to add it, put {{\"id\": \"{}\"}} in models.providers.{}.models in claw.json",
                lead(
                    &suggestions,
                    &format!("{NAMING}; {}", serves(provider, usize::MAX))
                ),
                r.model,
                r.provider
            )));
        }
        Ok(r)
    }
}

fn from_preset(preset: &presets::Preset, key: Option<String>) -> Provider {
    let credential = match key {
        Some(key) => Credential::ApiKey {
            key,
            from: format!("${}", preset.env_key),
        },
        None if preset.needs_key => Credential::Missing {
            hint: format!(
                "set {} or models.providers.{}.apiKey",
                preset.env_key, preset.id
            ),
        },
        None => Credential::None,
    };
    Provider {
        id: preset.id.into(),
        api: preset.api.into(),
        base_url: preset.base_url.into(),
        headers: Vec::new(),
        auth_header: false,
        credential,
        models: preset
            .models
            .iter()
            .map(|m| ModelSpec {
                id: m.id.into(),
                name: m.name.into(),
                reasoning: m.reasoning,
                input: if m.image {
                    vec!["text".into(), "image".into()]
                } else {
                    vec!["text".into()]
                },
                cost: m.cost(),
                context_window: m.context_window,
                max_tokens: m.max_tokens,
                tools: true,
            })
            .collect(),
        plugin: None,
        origin: "preset",
    }
}

/// Lay a config entry over a preset (or build a provider from config alone).
/// `own_apis`: the API kinds only loaded plugins declare; a provider of one of
/// them needs no `baseUrl` (its plugin knows where it talks: the endpoint's
/// base URL is then empty).
fn apply_entry(
    id: &str,
    base: Option<Provider>,
    entry: &ProviderEntry,
    own_apis: &BTreeSet<&str>,
) -> Result<Provider, String> {
    let here = format!("models.providers.{id}");
    let merged = base.is_some();
    let mut p = match base {
        Some(p) => p,
        None => {
            let api = entry.api.clone().ok_or_else(|| {
                format!(
                    "{here}: missing `api` (e.g. \"anthropic-messages\" or \"openai-completions\")"
                )
            })?;
            let base_url = match &entry.base_url {
                Some(url) => url.clone(),
                None if own_apis.contains(api.as_str()) => String::new(),
                None => return Err(format!("{here}: missing `baseUrl`")),
            };
            Provider {
                id: id.into(),
                api,
                base_url,
                headers: Vec::new(),
                auth_header: false,
                credential: Credential::None,
                models: Vec::new(),
                plugin: None,
                origin: "config",
            }
        }
    };
    if merged {
        p.origin = if p.origin == "plugin" {
            "plugin"
        } else {
            "preset+config"
        };
    }
    if let Some(api) = &entry.api {
        p.api = api.clone();
    }
    if let Some(url) = &entry.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "{here}.baseUrl: \"{url}\" must start with http:// or https://"
            ));
        }
        p.base_url = url.trim_end_matches('/').to_string();
    }
    if let Some(key) = entry.api_key.as_ref().filter(|k| !k.is_empty()) {
        p.credential = Credential::ApiKey {
            key: key.clone(),
            from: format!("{here}.apiKey"),
        };
    }
    p.headers
        .extend(entry.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(auth_header) = entry.auth_header {
        p.auth_header = auth_header;
    }
    if entry.plugin.is_some() {
        p.plugin = entry.plugin.clone();
    }
    for (i, m) in entry.models.iter().enumerate() {
        if m.id.is_empty() {
            return Err(format!("{here}.models[{i}]: missing `id`"));
        }
        let spec = merge_model(p.model(&m.id).cloned(), m);
        match p.models.iter_mut().find(|x| x.id == m.id) {
            Some(existing) => *existing = spec,
            None => p.models.push(spec),
        }
    }
    Ok(p)
}

fn merge_model(base: Option<ModelSpec>, m: &ModelEntry) -> ModelSpec {
    let base = base.unwrap_or(ModelSpec {
        id: m.id.clone(),
        name: m.id.clone(),
        reasoning: false,
        input: vec!["text".into()],
        cost: CostEntry::default(),
        context_window: 128_000,
        max_tokens: 8_192,
        tools: true,
    });
    ModelSpec {
        id: m.id.clone(),
        name: m.name.clone().unwrap_or(base.name),
        reasoning: m.reasoning.unwrap_or(base.reasoning),
        input: m.input.clone().unwrap_or(base.input),
        cost: m.cost.unwrap_or(base.cost),
        context_window: m.context_window.unwrap_or(base.context_window),
        max_tokens: m.max_tokens.unwrap_or(base.max_tokens),
        tools: m.tools.unwrap_or(base.tools),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loaded plugin declaring `apis` and bringing `models`.
    fn plugin(id: &str, apis: &[&str], models: &[&str]) -> PluginProvider {
        PluginProvider {
            plugin: id.into(),
            api: apis.first().copied().unwrap_or_default().into(),
            apis: apis.iter().map(|a| a.to_string()).collect(),
            serves_after_login: false,
            models: models
                .iter()
                .map(|m| {
                    merge_model(
                        None,
                        &ModelEntry {
                            id: m.to_string(),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        }
    }

    fn catalog(
        models: serde_json::Value,
        agents: serde_json::Value,
        env: &[(&str, &str)],
    ) -> Catalog {
        with_plugins(models, agents, env, vec![])
    }

    /// `echo` (api "echo", model echo-1) and `more` plugins.
    fn with_plugins(
        models: serde_json::Value,
        agents: serde_json::Value,
        env: &[(&str, &str)],
        more: Vec<PluginProvider>,
    ) -> Catalog {
        let models: ModelsSection = serde_json::from_value(models).unwrap();
        let agents: crate::config::AgentsSection = serde_json::from_value(agents).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut plugins = vec![plugin("echo", &["echo"], &["echo-1"])];
        plugins.extend(more);
        Catalog::build(&models, &agents.defaults, &plugins, &lookup, &|_| None)
    }

    /// A catalog with echo and the plugin `my-provider` (serving shout-1).
    fn my_provider(models: serde_json::Value) -> Catalog {
        with_plugins(
            models,
            serde_json::json!({}),
            &[],
            vec![plugin("my-provider", &["my-provider"], &["shout-1"])],
        )
    }

    fn unknown(c: &Catalog, reference: &str) -> String {
        c.resolve(reference).unwrap_err().0
    }

    #[test]
    fn presets_activate_with_their_key_and_config_merges_over_them() {
        let c = catalog(serde_json::json!({}), serde_json::json!({}), &[]);
        assert_eq!(c.providers.keys().collect::<Vec<_>>(), ["echo"]);
        let c = catalog(
            serde_json::json!({}),
            serde_json::json!({}),
            &[("MINIMAX_API_KEY", "k")],
        );
        assert!(matches!(
            c.providers["minimax"].credential,
            Credential::ApiKey { .. }
        ));
        assert_eq!(
            c.resolve("minimax/MiniMax-M2.1").unwrap().to_string(),
            "minimax/MiniMax-M2.1"
        );

        let c = catalog(
            serde_json::json!({"providers": {"minimax": {"baseUrl": "http://127.0.0.1:9/anthropic/", "models": [{"id": "MiniMax-M2.1", "maxTokens": 99}, {"id": "custom"}]}}}),
            serde_json::json!({}),
            &[],
        );
        let p = &c.providers["minimax"];
        assert_eq!(p.base_url, "http://127.0.0.1:9/anthropic");
        assert_eq!(p.origin, "preset+config");
        assert_eq!(p.model("MiniMax-M2.1").unwrap().max_tokens, 99);
        assert_eq!(
            p.model("MiniMax-M2.1").unwrap().context_window,
            204_800,
            "unset fields keep the preset's"
        );
        assert!(p.model("custom").is_some());
        assert!(
            matches!(&p.credential, Credential::Missing { hint } if hint.contains("MINIMAX_API_KEY"))
        );
    }

    #[test]
    fn replace_mode_keeps_only_config_providers() {
        let c = catalog(
            serde_json::json!({"mode": "replace", "providers": {"local": {"baseUrl": "http://127.0.0.1:1/v1", "api": "openai-completions", "models": [{"id": "m"}]}}}),
            serde_json::json!({}),
            &[("MINIMAX_API_KEY", "k")],
        );
        assert_eq!(c.providers.keys().collect::<Vec<_>>(), ["local"]);
    }

    #[test]
    fn a_plugin_that_logs_in_first_says_so() {
        let mut portal = plugin("demo-portal", &["demo-portal"], &[]);
        portal.serves_after_login = true;
        let c = with_plugins(
            serde_json::json!({}),
            serde_json::json!({}),
            &[],
            vec![portal],
        );
        assert_eq!(
            c.resolve("demo-portal/echo-1").unwrap_err().0,
            "Unknown model \"demo-portal/echo-1\": plugin \"demo-portal\" serves its models once you log in with it: run `claw auth login --provider demo-portal`"
        );
    }

    #[test]
    fn references_aliases_and_unknown_models() {
        let c = catalog(
            serde_json::json!({"providers": {"broken": {"api": "openai-completions"}}}),
            serde_json::json!({"defaults": {"models": {"echo/echo-1": {"alias": "fast"}}}}),
            &[("MINIMAX_API_KEY", "k")],
        );
        assert_eq!(c.resolve("fast").unwrap().to_string(), "echo/echo-1");
        assert_eq!(c.resolve("echo-1").unwrap().to_string(), "echo/echo-1");
        // Nothing close: what exists, and how to add it.
        assert_eq!(
            unknown(&c, "nope/x"),
            "Unknown model \"nope/x\": no provider \"nope\" is configured. Configured providers: echo, minimax. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1. Add a provider under models.providers.nope in claw.json (baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl), or set a built-in preset's key (MINIMAX_API_KEY, MINIMAX_CN_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY, MOONSHOT_API_KEY)."
        );
        assert_eq!(
            unknown(&c, "zzz"),
            "Unknown model \"zzz\": not an alias, and no provider serves a model with that id. Configured providers: echo, minimax. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1. Add a provider under models.providers.<id> in claw.json (baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl), or set a built-in preset's key (MINIMAX_API_KEY, MINIMAX_CN_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY, MOONSHOT_API_KEY)."
        );
        // A preset not switched on: nothing to suggest but the way to enable it.
        assert_eq!(
            unknown(&c, "anthropic/claude-sonnet-4-5"),
            "Unknown model \"anthropic/claude-sonnet-4-5\": no provider \"anthropic\" is configured. Configured providers: echo, minimax. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1. \"anthropic\" is a built-in preset: set ANTHROPIC_API_KEY (or models.providers.anthropic.apiKey in claw.json) to enable it."
        );
        assert_eq!(
            unknown(&c, "minimax/minimax-m2.1"),
            "Unknown model \"minimax/minimax-m2.1\": did you mean minimax/MiniMax-M2.1? Models are named <provider>/<model>; provider \"minimax\" serves minimax/MiniMax-M2.1, minimax/MiniMax-M2.1-lightning, minimax/MiniMax-M2. Model ids are case-sensitive; to add it, put {\"id\": \"minimax-m2.1\"} in models.providers.minimax.models in claw.json"
        );
        assert_eq!(
            unknown(&c, "echo/NoSuchModel"),
            "Unknown model \"echo/NoSuchModel\": models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1. Model ids are case-sensitive; to add it, put {\"id\": \"NoSuchModel\"} in models.providers.echo.models in claw.json"
        );
        let err = c.resolve("broken/x").unwrap_err().0;
        assert!(
            err.contains(
                "provider \"broken\" is misconfigured: models.providers.broken: missing `baseUrl`"
            ),
            "{err}"
        );
        // Model ids may contain '/': split at the first one only.
        assert_eq!(
            ModelRef::parse("openrouter/anthropic/claude-sonnet-4.5")
                .unwrap()
                .model,
            "anthropic/claude-sonnet-4.5"
        );
    }

    #[test]
    fn unknown_models_suggest_a_plugins_model_first() {
        let c = my_provider(serde_json::json!({}));
        assert_eq!(
            c.resolve("my-provider/shout-1").unwrap().to_string(),
            "my-provider/shout-1"
        );
        assert_eq!(
            unknown(&c, "my/shout-1"),
            "Unknown model \"my/shout-1\": did you mean my-provider/shout-1? No provider \"my\" is configured. Configured providers: echo, my-provider. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1; plugin \"my-provider\" serves my-provider/shout-1. To add a new provider \"my\" instead, put it under models.providers.my in claw.json (baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl)."
        );
        assert_eq!(
            unknown(&c, "my-provider/shout1"),
            "Unknown model \"my-provider/shout1\": did you mean my-provider/shout-1? Models are named <provider>/<model>; plugin \"my-provider\" serves my-provider/shout-1. Model ids are case-sensitive; to add it, put {\"id\": \"shout1\"} in models.providers.my-provider.models in claw.json"
        );
        assert_eq!(
            unknown(&c, "shout1"),
            "Unknown model \"shout1\": did you mean my-provider/shout-1? Not an alias, and no provider serves a model with that id. Configured providers: echo, my-provider. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1; plugin \"my-provider\" serves my-provider/shout-1. To add a new provider instead, put it under models.providers.<id> in claw.json (baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl)."
        );
        // Case, the model part alone, a provider prefix or abbreviation, a
        // provider id alone: all lead with the same suggestion, and never
        // with advice to add a provider.
        for reference in [
            "My-Provider/shout-1",
            "Shout-1",
            "other/shout-1",
            "my-provder/shout-1",
            "mp/shout-1",
            "my-provider",
            "my-provider/",
            "/shout-1",
        ] {
            let err = unknown(&c, reference);
            let head = format!("Unknown model \"{reference}\": did you mean my-provider/shout-1? ");
            assert!(err.starts_with(&head), "{err}");
            assert!(!err.contains("Add a provider"), "{err}");
        }
        // A model of a plugin is also found under another provider's name.
        assert!(unknown(&c, "echo/shout-1").starts_with(
            "Unknown model \"echo/shout-1\": did you mean my-provider/shout-1? Models are named"
        ));
    }

    #[test]
    fn suggestions_are_at_most_three_closest_first() {
        let c = with_plugins(
            serde_json::json!({}),
            serde_json::json!({}),
            &[],
            vec![plugin(
                "loud",
                &["loud"],
                &["shout-1", "shout-2", "shout-3", "shout-4", "whisper"],
            )],
        );
        assert!(
            unknown(&c, "loud/Shout-2").starts_with("Unknown model \"loud/Shout-2\": did you mean loud/shout-2, loud/shout-1 or loud/shout-3? Models are named <provider>/<model>; plugin \"loud\" serves loud/shout-1, loud/shout-2, loud/shout-3, loud/shout-4, loud/whisper. "),
            "{}",
            unknown(&c, "loud/Shout-2")
        );
        // Where the naming rule lists a plugin's models, a few are enough.
        assert!(unknown(&c, "nope/x").contains(" Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1; plugin \"loud\" serves loud/shout-1, loud/shout-2, loud/shout-3 and 2 more. Add a provider"));
    }

    #[test]
    fn presets_not_switched_on_are_suggested_only_under_merge() {
        let c = catalog(
            serde_json::json!({}),
            serde_json::json!({}),
            &[("OPENROUTER_API_KEY", "k")],
        );
        assert_eq!(
            unknown(&c, "antropic/claude-sonnet-4-5"),
            "Unknown model \"antropic/claude-sonnet-4-5\": did you mean anthropic/claude-sonnet-4-5 or openrouter/anthropic/claude-sonnet-4.5? No provider \"antropic\" is configured. Configured providers: echo, openrouter. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1. To add a new provider \"antropic\" instead, put it under models.providers.antropic in claw.json (baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl)."
        );
        assert!(unknown(&c, "claude-sonnet-4-5").starts_with("Unknown model \"claude-sonnet-4-5\": did you mean anthropic/claude-sonnet-4-5 or openrouter/anthropic/claude-sonnet-4.5? Not an alias"), "{}", unknown(&c, "claude-sonnet-4-5"));
        // A preset's model named exactly, preset not switched on: the way to
        // switch it on, after what the providers that are on serve like it.
        assert_eq!(
            unknown(&c, "anthropic/claude-sonnet-4-5"),
            "Unknown model \"anthropic/claude-sonnet-4-5\": did you mean openrouter/anthropic/claude-sonnet-4.5? No provider \"anthropic\" is configured. Configured providers: echo, openrouter. Models are named <provider>/<model>; plugin \"echo\" serves echo/echo-1. \"anthropic\" is a built-in preset: set ANTHROPIC_API_KEY (or models.providers.anthropic.apiKey in claw.json) to enable it."
        );
        // A provider that is on ranks before a preset that is not; the model
        // part alone matches the last part of an id with '/' in it.
        assert!(unknown(&c, "claude-sonnet-4.5").starts_with("Unknown model \"claude-sonnet-4.5\": did you mean openrouter/anthropic/claude-sonnet-4.5? Not an alias"), "{}", unknown(&c, "claude-sonnet-4.5"));

        let c = catalog(
            serde_json::json!({"mode": "replace", "providers": {"local": {"baseUrl": "http://127.0.0.1:1/v1", "api": "openai-completions", "models": [{"id": "m"}]}}}),
            serde_json::json!({}),
            &[],
        );
        assert_eq!(
            unknown(&c, "antropic/claude-sonnet-4-5"),
            "Unknown model \"antropic/claude-sonnet-4-5\": no provider \"antropic\" is configured. Configured providers: local. Models are named <provider>/<model>, e.g. local/m. Add a provider under models.providers.antropic in claw.json (baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl), or set a built-in preset's key (MINIMAX_API_KEY, MINIMAX_CN_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY, MOONSHOT_API_KEY)."
        );
    }

    #[test]
    fn a_plugins_own_api_needs_no_base_url() {
        let c = with_plugins(
            serde_json::json!({"providers": {
                "my": {"api": "my-provider", "models": [{"id": "shout-1"}]},
                "quiet": {"api": "whisper-api", "apiKey": "sk-secret", "models": [{"id": "hush"}]},
                "there": {"api": "my-provider", "baseUrl": "https://example.com/v1/", "models": [{"id": "shout-1"}]},
                "builtin": {"api": "openai-responses", "models": [{"id": "x"}]},
                "stranger": {"api": "nobody-speaks-this", "models": [{"id": "x"}]},
            }}),
            serde_json::json!({}),
            &[],
            vec![
                plugin("my-provider", &["my-provider"], &["shout-1"]),
                // Declares kinds but brings no models: no provider of its own.
                plugin("whisper", &["whisper-api", "openai-responses"], &[]),
            ],
        );
        assert_eq!(c.resolve("my/shout-1").unwrap().to_string(), "my/shout-1");
        let my = &c.providers["my"];
        assert_eq!(
            (my.api.as_str(), my.base_url.as_str(), my.origin),
            ("my-provider", "", "config")
        );
        assert_eq!(c.resolve("quiet/hush").unwrap().to_string(), "quiet/hush");
        assert_eq!(c.providers["quiet"].base_url, "");
        assert!(!c.providers.contains_key("whisper"));
        assert_eq!(c.providers["there"].base_url, "https://example.com/v1");
        // Built-in kinds (even one a plugin declares) and kinds no plugin
        // declares still need one.
        assert_eq!(
            c.problems,
            [
                "models.providers.builtin: missing `baseUrl`",
                "models.providers.stranger: missing `baseUrl`",
            ]
        );
        assert_eq!(
            unknown(&c, "builtin/x"),
            "Unknown model \"builtin/x\": provider \"builtin\" is misconfigured: models.providers.builtin: missing `baseUrl`"
        );
        // The same under `replace`: the plugin is loaded all the same.
        let c = with_plugins(
            serde_json::json!({"mode": "replace", "providers": {"my": {"api": "my-provider", "models": [{"id": "shout-1"}]}}}),
            serde_json::json!({}),
            &[],
            vec![plugin("my-provider", &["my-provider"], &["shout-1"])],
        );
        assert_eq!(c.providers.keys().collect::<Vec<_>>(), ["my"]);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    #[test]
    fn messages_name_no_secret() {
        let c = catalog(
            serde_json::json!({"providers": {"proxy": {"baseUrl": "https://user:pw-secret@llm.example.com", "api": "anthropic-messages", "apiKey": "sk-secret", "models": [{"id": "m"}]}}}),
            serde_json::json!({}),
            &[("MINIMAX_API_KEY", "sk-minimax-secret")],
        );
        for reference in ["proxy/M", "prox/m", "nope/x", "m2", "minimax/minimax-m2"] {
            let err = unknown(&c, reference);
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
