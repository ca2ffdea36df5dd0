//! Models: what a plugin says it serves, and how a request names one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a model accepts as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Text,
    Image,
}

/// Prices in USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCost {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// A model as a plugin describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Case-sensitive model id as the upstream knows it.
    pub id: String,
    pub name: String,
    pub reasoning: bool,
    pub input: Vec<InputKind>,
    pub context_window: u32,
    pub max_tokens: u32,
    pub cost: Option<ModelCost>,
    /// Can call tools (SDK 0.1 plugins do not say: `true`, and the plugin
    /// host refuses what 0.1 cannot carry).
    #[serde(default = "yes")]
    pub tools: bool,
}

fn yes() -> bool {
    true
}

/// What a provider plugin serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// API kinds the plugin implements, e.g. "anthropic-messages".
    pub apis: Vec<String>,
    /// Models the plugin knows without any configuration (may be empty).
    pub models: Vec<ModelInfo>,
}

/// `provider/model`, split at the first `/` (model ids may contain more).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelRef {
    pub provider: String,
    pub model: String,
}

impl ModelRef {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> ModelRef {
        ModelRef {
            provider: provider.into(),
            model: model.into(),
        }
    }

    /// `None` unless both halves are non-empty.
    pub fn parse(s: &str) -> Option<ModelRef> {
        let (provider, model) = s.split_once('/')?;
        (!provider.is_empty() && !model.is_empty()).then(|| ModelRef::new(provider, model))
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}
