//! Built-in providers: base URL, API kind and model catalog. A preset becomes
//! active when its credential is present (its environment variable, a config
//! `apiKey`, or an auth profile), or when config names it.

use crate::config::models::CostEntry;

pub struct Preset {
    pub id: &'static str,
    pub api: &'static str,
    pub base_url: &'static str,
    /// The environment variable holding the API key.
    pub env_key: &'static str,
    /// Local servers need no key; they are active when config names them or
    /// their variable is set to anything.
    pub needs_key: bool,
    pub models: &'static [PresetModel],
}

pub struct PresetModel {
    pub id: &'static str,
    pub name: &'static str,
    pub reasoning: bool,
    pub image: bool,
    pub context_window: u32,
    pub max_tokens: u32,
    /// USD per million tokens: input, output, cache read, cache write.
    pub cost: [f64; 4],
}

impl PresetModel {
    pub fn cost(&self) -> CostEntry {
        let [input, output, cache_read, cache_write] = self.cost;
        CostEntry {
            input,
            output,
            cache_read,
            cache_write,
        }
    }
}

const fn m(
    id: &'static str,
    name: &'static str,
    reasoning: bool,
    image: bool,
    ctx: u32,
    max: u32,
    cost: [f64; 4],
) -> PresetModel {
    PresetModel {
        id,
        name,
        reasoning,
        image,
        context_window: ctx,
        max_tokens: max,
        cost,
    }
}

pub const MINIMAX_MODELS: &[PresetModel] = &[
    m(
        "MiniMax-M2.1",
        "MiniMax M2.1",
        true,
        false,
        204_800,
        131_072,
        [0.3, 1.2, 0.03, 0.375],
    ),
    m(
        "MiniMax-M2.1-lightning",
        "MiniMax M2.1 Lightning",
        true,
        false,
        204_800,
        131_072,
        [0.3, 2.4, 0.03, 0.375],
    ),
    m(
        "MiniMax-M2",
        "MiniMax M2",
        true,
        false,
        204_800,
        131_072,
        [0.3, 1.2, 0.03, 0.375],
    ),
];

pub const PRESETS: &[Preset] = &[
    Preset {
        id: "minimax",
        api: "anthropic-messages",
        base_url: "https://api.minimax.io/anthropic",
        env_key: "MINIMAX_API_KEY",
        needs_key: true,
        models: MINIMAX_MODELS,
    },
    Preset {
        id: "minimax-cn",
        api: "anthropic-messages",
        base_url: "https://api.minimaxi.com/anthropic",
        env_key: "MINIMAX_CN_API_KEY",
        needs_key: true,
        models: MINIMAX_MODELS,
    },
    Preset {
        id: "anthropic",
        api: "anthropic-messages",
        base_url: "https://api.anthropic.com",
        env_key: "ANTHROPIC_API_KEY",
        needs_key: true,
        models: &[
            m(
                "claude-opus-4-5",
                "Claude Opus 4.5",
                true,
                true,
                200_000,
                64_000,
                [5.0, 25.0, 0.5, 6.25],
            ),
            m(
                "claude-sonnet-4-5",
                "Claude Sonnet 4.5",
                true,
                true,
                200_000,
                64_000,
                [3.0, 15.0, 0.3, 3.75],
            ),
            m(
                "claude-haiku-4-5",
                "Claude Haiku 4.5",
                true,
                true,
                200_000,
                64_000,
                [1.0, 5.0, 0.1, 1.25],
            ),
        ],
    },
    Preset {
        id: "openrouter",
        api: "openai-completions",
        base_url: "https://openrouter.ai/api/v1",
        env_key: "OPENROUTER_API_KEY",
        needs_key: true,
        models: &[
            m(
                "anthropic/claude-sonnet-4.5",
                "Claude Sonnet 4.5 (OpenRouter)",
                true,
                true,
                200_000,
                64_000,
                [3.0, 15.0, 0.3, 3.75],
            ),
            m(
                "minimax/minimax-m2.1",
                "MiniMax M2.1 (OpenRouter)",
                true,
                false,
                204_800,
                131_072,
                [0.3, 1.2, 0.0, 0.0],
            ),
            m(
                "moonshotai/kimi-k2-0905",
                "Kimi K2 (OpenRouter)",
                false,
                false,
                262_144,
                32_768,
                [0.6, 2.5, 0.0, 0.0],
            ),
        ],
    },
    Preset {
        id: "moonshot",
        api: "openai-completions",
        base_url: "https://api.moonshot.ai/v1",
        env_key: "MOONSHOT_API_KEY",
        needs_key: true,
        models: &[
            m(
                "kimi-k2-0905-preview",
                "Kimi K2",
                false,
                false,
                262_144,
                32_768,
                [0.6, 2.5, 0.15, 0.0],
            ),
            m(
                "kimi-k2-turbo-preview",
                "Kimi K2 Turbo",
                false,
                false,
                262_144,
                32_768,
                [2.4, 10.0, 0.6, 0.0],
            ),
            m(
                "kimi-k2-thinking",
                "Kimi K2 Thinking",
                true,
                false,
                262_144,
                32_768,
                [0.6, 2.5, 0.15, 0.0],
            ),
        ],
    },
    Preset {
        id: "lmstudio",
        api: "openai-completions",
        base_url: "http://127.0.0.1:1234/v1",
        env_key: "LMSTUDIO_API_KEY",
        needs_key: false,
        models: &[m(
            "local-model",
            "LM Studio (loaded model)",
            false,
            false,
            32_768,
            8_192,
            [0.0; 4],
        )],
    },
    Preset {
        id: "ollama",
        api: "openai-completions",
        base_url: "http://127.0.0.1:11434/v1",
        env_key: "OLLAMA_API_KEY",
        needs_key: false,
        models: &[m(
            "llama3.3",
            "Llama 3.3 (Ollama)",
            false,
            false,
            131_072,
            8_192,
            [0.0; 4],
        )],
    },
];

pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// API kinds claw's bundled plugins speak to any upstream (named after them).
/// A provider of one of these kinds, or of a kind a preset uses, must say where
/// its upstream is (`baseUrl`); a kind only a loaded plugin declares is that
/// plugin's own, and the plugin knows where it talks.
pub const BUILTIN_APIS: &[&str] = &[
    "anthropic-messages",
    "openai-completions",
    "openai-responses",
];

/// Whether `api` is a built-in kind (see [`BUILTIN_APIS`]) or one a preset uses.
pub fn is_builtin_api(api: &str) -> bool {
    BUILTIN_APIS.contains(&api) || PRESETS.iter().any(|p| p.api == api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_speaks_a_builtin_api() {
        for preset in PRESETS {
            assert!(BUILTIN_APIS.contains(&preset.api), "{}", preset.id);
        }
        assert!(is_builtin_api("openai-responses"));
        assert!(!is_builtin_api("my-provider"));
    }
}
