//! `plugins` in claw.json, the plugin host's own section: whether a plugin may
//! load (with the reason), where plugins are found, each plugin's settings and
//! limits. Enable order of precedence: `plugins.enabled`, `deny`, `allow`,
//! `entries.<id>.enabled`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::grant::NetworkGrant;
use crate::limits::PluginLimits;
use crate::manifest::Manifest;
use crate::plugin::PluginSettings;
use crate::prompts::Prompter;

/// `plugins` in claw.json.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// `false` disables every plugin.
    pub enabled: bool,
    /// When set, only these plugin ids may load.
    pub allow: Option<Vec<String>>,
    /// These plugin ids never load.
    pub deny: Vec<String>,
    pub load: LoadConfig,
    pub entries: BTreeMap<String, PluginEntry>,
    /// Defaults for every plugin's limits.
    pub limits: LimitsEntry,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            limits: LimitsEntry::default(),
            enabled: true,
            allow: None,
            deny: Vec::new(),
            load: LoadConfig::default(),
            entries: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Extra plugin folders (a plugin folder, or a folder of plugin folders).
    pub paths: Vec<PathBuf>,
}

/// `plugins.entries.<id>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginEntry {
    pub enabled: Option<bool>,
    /// Handed to the plugin as JSON through the `config` import.
    pub config: Option<Value>,
    /// Narrows the plugin's declared network hosts.
    pub network: Option<Vec<String>>,
    /// Overrides `plugins.limits` for this plugin.
    pub limits: Option<LimitsEntry>,
    /// The user trusts this native plugin to run unsandboxed (`claw plugins
    /// trust <id>`). Components ignore it.
    pub trusted: Option<bool>,
}

/// `plugins.limits` / `plugins.entries.<id>.limits`: unset fields keep the default.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsEntry {
    pub call_timeout_ms: Option<u64>,
    pub memory_mb: Option<usize>,
    pub max_event_bytes: Option<usize>,
    pub max_output_bytes: Option<usize>,
    pub log_lines_per_call: Option<u32>,
    pub max_concurrent: Option<u32>,
}

impl LimitsEntry {
    /// `self` laid over `base`.
    pub fn apply(&self, base: PluginLimits) -> PluginLimits {
        PluginLimits {
            call_timeout: self
                .call_timeout_ms
                .map_or(base.call_timeout, std::time::Duration::from_millis),
            memory_bytes: self.memory_mb.map_or(base.memory_bytes, |mb| mb << 20),
            max_event_bytes: self.max_event_bytes.unwrap_or(base.max_event_bytes),
            max_output_bytes: self.max_output_bytes.unwrap_or(base.max_output_bytes),
            log_lines_per_call: self.log_lines_per_call.unwrap_or(base.log_lines_per_call),
            max_concurrent: self.max_concurrent.unwrap_or(base.max_concurrent).max(1),
        }
    }
}

/// The settings an instance of this plugin gets while it is loaded: its config
/// and limits, and no network (its grant is set once the plugin set is
/// assembled, see `NetworkGrant`).
pub fn settings_for(
    manifest: &Manifest,
    cfg: &PluginsConfig,
    prompter: Arc<dyn Prompter>,
) -> PluginSettings {
    let entry = cfg.entries.get(&manifest.id);
    let config_json = entry
        .and_then(|e| e.config.as_ref())
        .map(|c| c.to_string())
        .unwrap_or_else(|| "{}".to_string());
    let defaults = cfg.limits.apply(PluginLimits::default());
    let limits = entry
        .and_then(|e| e.limits)
        .map_or(defaults, |l| l.apply(defaults));
    PluginSettings {
        config_json: config_json.into(),
        grant: Arc::new(NetworkGrant::none()),
        prompter,
        limits,
    }
}

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

/// Whether the user trusts plugin `id` to run as native code.
pub fn trusted(id: &str, cfg: &PluginsConfig) -> bool {
    cfg.entries.get(id).and_then(|e| e.trusted) == Some(true)
}

/// Why a native plugin the user has not trusted does not run, and how to trust it.
pub fn untrusted_reason(id: &str) -> String {
    format!(
        "native plugin not trusted: it would run unsandboxed, inside claw, with claw's privileges \
         (your files, your network, your saved credentials). If you trust its author and its build, \
         run `claw plugins trust {id}` (or install it with `claw plugins install <dir> --trust`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
