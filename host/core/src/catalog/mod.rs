//! The providers and models a request can use: built-in presets, plugins that
//! describe their own models, and `models.providers` from config, merged per
//! `models.mode`; plus aliases, and resolution of a model reference.

pub mod onboarding;
pub mod presets;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

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

/// A plugin that brings its own models (e.g. `echo`): a provider named after it.
pub struct PluginProvider {
    pub plugin: String,
    pub api: String,
    pub models: Vec<ModelSpec>,
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
}

impl Catalog {
    pub fn build(
        models: &ModelsSection,
        agents: &AgentDefaults,
        plugin_providers: &[PluginProvider],
        env: &dyn Fn(&str) -> Option<String>,
        profile: &dyn Fn(&str) -> Option<(String, claw_types::MethodKind)>,
    ) -> Catalog {
        let mut catalog = Catalog::default();
        if models.mode == MergeMode::Merge {
            for p in plugin_providers {
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
            match apply_entry(id, base, entry) {
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
            [] => Err(UnknownModel(format!(
                "Unknown model \"{reference}\": not an alias, and no provider serves a model with that id. {}",
                self.how_to_add(None)
            ))),
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
                None => format!(
                    "Unknown model \"{r}\"{via}: no provider \"{}\" is configured. {}",
                    r.provider,
                    self.how_to_add(Some(&r.provider))
                ),
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
            let known: Vec<&str> = provider.models.iter().map(|m| m.id.as_str()).collect();
            return Err(UnknownModel(format!(
                "Unknown model \"{r}\"{via}: provider \"{}\" has {}. Model ids are case-sensitive; to add it, put {{\"id\": \"{}\"}} in models.providers.{}.models in claw.json",
                r.provider,
                if known.is_empty() {
                    "no models".to_string()
                } else {
                    format!("models {}", known.join(", "))
                },
                r.model,
                r.provider
            )));
        }
        Ok(r)
    }

    fn how_to_add(&self, provider: Option<&str>) -> String {
        let configured: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        let mut text = format!(
            "Configured providers: {}. ",
            if configured.is_empty() {
                "none".to_string()
            } else {
                configured.join(", ")
            }
        );
        match provider.and_then(presets::find) {
            Some(preset) => text.push_str(&format!(
                "\"{}\" is a built-in preset: set {} (or models.providers.{}.apiKey in claw.json) to enable it.",
                preset.id, preset.env_key, preset.id
            )),
            None => text.push_str(&format!(
                "Add a provider under models.providers.{} in claw.json (baseUrl, api, apiKey, models), or set a built-in preset's key ({}).",
                provider.unwrap_or("<id>"),
                presets::PRESETS.iter().filter(|p| p.needs_key).map(|p| p.env_key).collect::<Vec<_>>().join(", ")
            )),
        }
        text
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
fn apply_entry(
    id: &str,
    base: Option<Provider>,
    entry: &ProviderEntry,
) -> Result<Provider, String> {
    let here = format!("models.providers.{id}");
    let merged = base.is_some();
    let mut p = match base {
        Some(p) => p,
        None => Provider {
            id: id.into(),
            api: entry.api.clone().ok_or_else(|| {
                format!(
                    "{here}: missing `api` (e.g. \"anthropic-messages\" or \"openai-completions\")"
                )
            })?,
            base_url: entry
                .base_url
                .clone()
                .ok_or_else(|| format!("{here}: missing `baseUrl`"))?,
            headers: Vec::new(),
            auth_header: false,
            credential: Credential::None,
            models: Vec::new(),
            plugin: None,
            origin: "config",
        },
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

    fn catalog(
        models: serde_json::Value,
        agents: serde_json::Value,
        env: &[(&str, &str)],
    ) -> Catalog {
        let models: ModelsSection = serde_json::from_value(models).unwrap();
        let agents: crate::config::AgentsSection = serde_json::from_value(agents).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let echo = PluginProvider {
            plugin: "echo".into(),
            api: "echo".into(),
            models: vec![merge_model(
                None,
                &ModelEntry {
                    id: "echo-1".into(),
                    ..Default::default()
                },
            )],
        };
        Catalog::build(&models, &agents.defaults, &[echo], &lookup, &|_| None)
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
    fn references_aliases_and_unknown_models() {
        let c = catalog(
            serde_json::json!({"providers": {"broken": {"api": "openai-completions"}}}),
            serde_json::json!({"defaults": {"models": {"echo/echo-1": {"alias": "fast"}}}}),
            &[("MINIMAX_API_KEY", "k")],
        );
        assert_eq!(c.resolve("fast").unwrap().to_string(), "echo/echo-1");
        assert_eq!(c.resolve("echo-1").unwrap().to_string(), "echo/echo-1");
        let err = c.resolve("nope/x").unwrap_err().0;
        assert!(err.starts_with("Unknown model \"nope/x\": no provider \"nope\" is configured. Configured providers: echo, minimax."), "{err}");
        let err = c.resolve("anthropic/claude-sonnet-4-5").unwrap_err().0;
        assert!(
            err.contains("\"anthropic\" is a built-in preset: set ANTHROPIC_API_KEY"),
            "{err}"
        );
        let err = c.resolve("minimax/minimax-m2.1").unwrap_err().0;
        assert!(
            err.contains("provider \"minimax\" has models MiniMax-M2.1"),
            "{err}"
        );
        assert!(err.contains("Model ids are case-sensitive"), "{err}");
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
}
