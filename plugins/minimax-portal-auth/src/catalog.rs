//! The MiniMax models this plugin serves, as `describe()` reports them and as
//! the config entries a login writes.

use claw_plugin_sdk::types::{InputKind, ModelCost, ModelInfo};
use serde_json::{Value, json};

/// One model of the catalog (all take text, reason, call tools, and share the limits).
struct Model {
    id: &'static str,
    name: &'static str,
    /// USD per million output tokens (the other prices are shared).
    output_cost: f64,
}

const CONTEXT_WINDOW: u32 = 204_800;
const MAX_TOKENS: u32 = 131_072;
const INPUT_COST: f64 = 0.3;
const CACHE_READ_COST: f64 = 0.03;
const CACHE_WRITE_COST: f64 = 0.375;

const MODELS: [Model; 3] = [
    Model {
        id: "MiniMax-M2.1",
        name: "MiniMax M2.1",
        output_cost: 1.2,
    },
    Model {
        id: "MiniMax-M2.1-lightning",
        name: "MiniMax M2.1 Lightning",
        output_cost: 2.4,
    },
    Model {
        id: "MiniMax-M2",
        name: "MiniMax M2",
        output_cost: 1.2,
    },
];

/// The catalog for `describe()`.
pub fn models() -> Vec<ModelInfo> {
    MODELS
        .iter()
        .map(|m| ModelInfo {
            id: m.id.into(),
            name: m.name.into(),
            reasoning: true,
            input: vec![InputKind::Text],
            context_window: CONTEXT_WINDOW,
            max_tokens: MAX_TOKENS,
            cost: Some(ModelCost {
                input: INPUT_COST,
                output: m.output_cost,
                cache_read: CACHE_READ_COST,
                cache_write: CACHE_WRITE_COST,
            }),
            tools: true,
        })
        .collect()
}

/// The catalog as `models.providers.<id>.models` entries of claw.json.
pub fn config_models() -> Value {
    MODELS
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "reasoning": true,
                "tools": true,
                "input": ["text"],
                "contextWindow": CONTEXT_WINDOW,
                "maxTokens": MAX_TOKENS,
                "cost": {
                    "input": INPUT_COST,
                    "output": m.output_cost,
                    "cacheRead": CACHE_READ_COST,
                    "cacheWrite": CACHE_WRITE_COST,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_and_config_list_the_same_models() {
        let infos = models();
        let ids: Vec<&str> = infos.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            ["MiniMax-M2.1", "MiniMax-M2.1-lightning", "MiniMax-M2"]
        );
        assert_eq!(infos[0].name, "MiniMax M2.1");
        assert!(infos.iter().all(|m| m.reasoning
            && m.tools
            && m.input == [InputKind::Text]
            && m.context_window == 204_800
            && m.max_tokens == 131_072));
        let costs: Vec<(f64, f64)> = infos
            .iter()
            .map(|m| m.cost.map(|c| (c.input, c.output)).unwrap())
            .collect();
        assert_eq!(costs, [(0.3, 1.2), (0.3, 2.4), (0.3, 1.2)]);
        let c = infos[1].cost.unwrap();
        assert_eq!((c.cache_read, c.cache_write), (0.03, 0.375));

        let config = config_models();
        let entries = config.as_array().unwrap();
        assert_eq!(entries.len(), infos.len());
        for (entry, info) in entries.iter().zip(&infos) {
            assert_eq!(entry["id"], info.id.as_str());
            assert_eq!(entry["name"], info.name.as_str());
            assert_eq!(entry["contextWindow"], info.context_window);
            assert_eq!(entry["maxTokens"], info.max_tokens);
            assert_eq!(entry["cost"]["output"], info.cost.unwrap().output);
        }
        assert_eq!(
            entries[1],
            json!({"id": "MiniMax-M2.1-lightning", "name": "MiniMax M2.1 Lightning",
                   "reasoning": true, "tools": true, "input": ["text"], "contextWindow": 204800,
                   "maxTokens": 131072,
                   "cost": {"input": 0.3, "output": 2.4, "cacheRead": 0.03, "cacheWrite": 0.375}})
        );
    }
}
