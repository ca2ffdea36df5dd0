//! `claw onboard --auth-choice <choice>`: what each choice sets up. Key
//! choices name a preset, whose API-key variable and base URL live in
//! `presets.rs`; login choices name the provider an auth plugin serves.

use super::presets::{self, Preset};

#[derive(Clone, Copy)]
pub enum Choice {
    /// Run an auth plugin's login method.
    Login {
        provider: &'static str,
        method: &'static str,
    },
    /// Store an API key for a preset provider and, when none is set, make
    /// `model` the default.
    Key {
        preset: &'static Preset,
        model: &'static str,
    },
}

/// (choice, provider, login method or default model)
const CHOICES: &[(&str, &str, Kind)] = &[
    ("minimax-portal", "minimax-portal", Kind::Login("oauth")),
    (
        "minimax-portal-cn",
        "minimax-portal",
        Kind::Login("oauth-cn"),
    ),
    ("minimax-api", "minimax", Kind::Key("MiniMax-M2.1")),
    ("minimax-cn-api", "minimax-cn", Kind::Key("MiniMax-M2.1")),
    ("anthropic-api", "anthropic", Kind::Key("claude-sonnet-4-5")),
    (
        "openrouter-api",
        "openrouter",
        Kind::Key("anthropic/claude-sonnet-4.5"),
    ),
    (
        "moonshot-api",
        "moonshot",
        Kind::Key("kimi-k2-0905-preview"),
    ),
];

enum Kind {
    Login(&'static str),
    Key(&'static str),
}

/// The choice named `name`, or an error listing the choices.
pub fn choice(name: &str) -> Result<Choice, String> {
    let found = CHOICES.iter().find(|(n, _, _)| *n == name);
    let resolved = found.and_then(|(_, provider, kind)| match kind {
        Kind::Login(method) => Some(Choice::Login { provider, method }),
        Kind::Key(model) => presets::find(provider).map(|preset| Choice::Key { preset, model }),
    });
    resolved.ok_or_else(|| {
        let names: Vec<&str> = CHOICES.iter().map(|(n, _, _)| *n).collect();
        format!(
            "unknown --auth-choice \"{name}\"; choose one of: {}",
            names.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_choice_names_a_preset_and_one_of_its_models() {
        for (name, _, kind) in CHOICES {
            if let (Ok(Choice::Key { preset, model }), Kind::Key(_)) = (choice(name), kind) {
                assert!(
                    preset.models.iter().any(|m| m.id == model),
                    "{name}: {model}"
                );
            } else {
                assert!(matches!(kind, Kind::Login(_)), "{name} has no preset");
            }
        }
        assert!(
            choice("nope")
                .err()
                .unwrap()
                .contains("choose one of: minimax-portal,")
        );
    }
}
