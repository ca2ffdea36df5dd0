//! Whether a plugin may load, from `plugins` in claw.json, with the reason.
//! Order of precedence: `plugins.enabled`, `deny`, `allow`, `entries.<id>.enabled`.

use crate::config::PluginsConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enablement {
    pub enabled: bool,
    pub reason: String,
}

pub fn decide(id: &str, cfg: &PluginsConfig) -> Enablement {
    let off = |reason: String| Enablement {
        enabled: false,
        reason,
    };
    if !cfg.enabled {
        return off("all plugins are off: plugins.enabled is false in claw.json".into());
    }
    if cfg.deny.iter().any(|d| d == id) {
        return off(format!(
            "denied by plugins.deny in claw.json; remove \"{id}\" from it to allow the plugin"
        ));
    }
    if let Some(allow) = &cfg.allow
        && !allow.iter().any(|a| a == id)
    {
        return off(format!(
            "not in plugins.allow in claw.json; add \"{id}\" to it to allow the plugin"
        ));
    }
    match cfg.entries.get(id).and_then(|e| e.enabled) {
        Some(false) => off(format!(
            "disabled in claw.json (plugins.entries.{id}.enabled); run `claw plugins enable {id}`"
        )),
        Some(true) => Enablement {
            enabled: true,
            reason: format!("enabled in claw.json (plugins.entries.{id}.enabled)"),
        },
        None => Enablement {
            enabled: true,
            reason: "enabled by default".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PluginEntry;

    fn entry(enabled: bool) -> PluginEntry {
        PluginEntry {
            enabled: Some(enabled),
            ..Default::default()
        }
    }

    #[test]
    fn precedence_is_global_switch_then_deny_then_allow_then_entry() {
        let mut cfg = PluginsConfig::default();
        assert_eq!(
            decide("a", &cfg),
            Enablement {
                enabled: true,
                reason: "enabled by default".into()
            }
        );

        cfg.entries.insert("a".into(), entry(false));
        assert!(
            decide("a", &cfg)
                .reason
                .contains("run `claw plugins enable a`")
        );

        cfg.entries.insert("a".into(), entry(true));
        cfg.allow = Some(vec!["b".into()]);
        assert!(!decide("a", &cfg).enabled);
        assert!(decide("a", &cfg).reason.contains("not in plugins.allow"));

        cfg.allow = Some(vec!["a".into()]);
        cfg.deny = vec!["a".into()];
        assert!(
            decide("a", &cfg)
                .reason
                .starts_with("denied by plugins.deny")
        );

        cfg.enabled = false;
        assert!(
            decide("a", &cfg)
                .reason
                .contains("plugins.enabled is false")
        );
    }
}
