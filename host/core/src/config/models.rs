//! The `models` and `agents` sections of claw.json, in the shape users of the
//! system claw replaces already have, so their snippets work as written.
//! Unknown keys are accepted here (their files carry other settings too).

use std::collections::BTreeMap;

use serde::Deserialize;

/// `models`: providers to add to (or replace) the built-in presets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ModelsSection {
    pub mode: MergeMode,
    pub providers: BTreeMap<String, ProviderEntry>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMode {
    /// Config providers are laid over the built-in presets.
    #[default]
    Merge,
    /// Only the providers in config exist.
    Replace,
}

/// `models.providers.<id>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProviderEntry {
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    /// API kind, e.g. `anthropic-messages` or `openai-completions`.
    pub api: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// Send the key as `Authorization: Bearer`.
    pub auth_header: Option<bool>,
    pub models: Vec<ModelEntry>,
    /// Pin the plugin that serves this provider (default: the first loaded
    /// plugin implementing `api`).
    pub plugin: Option<String>,
}

/// `models.providers.<id>.models[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ModelEntry {
    pub id: String,
    pub name: Option<String>,
    pub reasoning: Option<bool>,
    pub input: Option<Vec<String>>,
    pub cost: Option<CostEntry>,
    pub context_window: Option<u32>,
    pub max_tokens: Option<u32>,
    /// Can call tools; a request with tools skips a model set to false.
    pub tools: Option<bool>,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CostEntry {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// `agents`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgentsSection {
    pub defaults: AgentDefaults,
}

/// `agents.defaults`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgentDefaults {
    pub model: ModelChoice,
    /// Per-model settings keyed by `provider/model`, e.g. `{alias: "fast"}`.
    pub models: BTreeMap<String, ModelSettings>,
    pub subagents: SubagentDefaults,
    pub failover: FailoverSettings,
}

/// A model choice: `"provider/model"` or `{primary, fallbacks}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelChoice {
    pub primary: Option<String>,
    pub fallbacks: Vec<String>,
}

impl<'de> Deserialize<'de> for ModelChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Ref(String),
            Full {
                #[serde(default)]
                primary: Option<String>,
                #[serde(default)]
                fallbacks: Vec<String>,
            },
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Ref(primary) => ModelChoice {
                primary: Some(primary),
                fallbacks: Vec::new(),
            },
            Raw::Full { primary, fallbacks } => ModelChoice { primary, fallbacks },
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModelSettings {
    pub alias: Option<String>,
}

/// `agents.defaults.subagents`: the model and fallbacks for subagent requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SubagentDefaults {
    pub model: Option<ModelChoice>,
    pub fallbacks: Option<Vec<String>>,
}

/// `agents.defaults.failover`: when to give up on a candidate.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FailoverSettings {
    /// Time allowed until the first content of a reply, for every candidate but
    /// the last (keep-alive frames do not count as content).
    pub ttft_timeout_ms: u64,
    /// First cooldown after a failure that warrants one; it doubles per failure.
    pub cooldown_ms: u64,
    pub max_cooldown_ms: u64,
    /// Failure reasons that end a request instead of trying the next candidate.
    pub stop_on: Vec<claw_types::Reason>,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        FailoverSettings {
            ttft_timeout_ms: 30_000,
            cooldown_ms: 30_000,
            max_cooldown_ms: 600_000,
            stop_on: Vec::new(),
        }
    }
}
