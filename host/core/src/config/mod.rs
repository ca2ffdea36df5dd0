//! `claw.json`: read as JSON5, edited in place without losing anything else.
//!
//! The file is kept as a JSON value so an edit (e.g. `claw plugins disable x`)
//! changes exactly one entry and keeps every other key and its order. Typed
//! views (like [`PluginsConfig`]) are read from that value on demand, with
//! `${VAR}` substituted in the section read only, so a missing variable in one
//! section never breaks commands that do not use it.

pub mod models;
pub mod vars;

pub use claw_plugin_host::settings::PluginsConfig;
pub use models::{AgentsSection, ModelsSection};

use std::path::{Path, PathBuf};

use claw_types::json::kind;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON5: {detail}. Fix the file; claw changed nothing.")]
    Parse { path: PathBuf, detail: String },
    #[error("{path}: the top level must be an object ({{ ... }}), found {found}")]
    NotAnObject { path: PathBuf, found: &'static str },
    #[error("{path}: `{field}` {detail}")]
    Field {
        path: PathBuf,
        field: String,
        detail: String,
    },
    #[error("{path}: {source}")]
    Var {
        path: PathBuf,
        source: vars::MissingVar,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An edit of `plugins.entries.<id>` that the CLI and the admin API both make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginEdit {
    Enable,
    Disable,
    /// Let a native plugin run unsandboxed (`trusted: true`).
    Trust,
    /// Take that back (removes `trusted`).
    Untrust,
}

impl PluginEdit {
    /// The admin API's action segment and the CLI's verb.
    pub fn action(self) -> &'static str {
        match self {
            PluginEdit::Enable => "enable",
            PluginEdit::Disable => "disable",
            PluginEdit::Trust => "trust",
            PluginEdit::Untrust => "untrust",
        }
    }

    pub fn from_action(action: &str) -> Option<PluginEdit> {
        [Self::Enable, Self::Disable, Self::Trust, Self::Untrust]
            .into_iter()
            .find(|e| e.action() == action)
    }

    /// What the CLI says once it is done.
    pub fn done(self) -> &'static str {
        match self {
            PluginEdit::Enable => "Enabled",
            PluginEdit::Disable => "Disabled",
            PluginEdit::Trust => "Trusted",
            PluginEdit::Untrust => "Untrusted",
        }
    }

    /// Trust concerns native plugins only: a component is sandboxed anyway.
    pub fn is_trust(self) -> bool {
        matches!(self, PluginEdit::Trust | PluginEdit::Untrust)
    }
}

/// The config file as loaded: its path, whether it existed, and its content.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    value: Map<String, Value>,
    /// The file used JSON5 syntax (comments, trailing commas...) that a save
    /// will not keep; the original is then copied to `claw.json.bak` first.
    json5_only: bool,
}

impl ConfigFile {
    /// Load `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        Self::parse(path, &text)
    }

    /// Parse config text as if it were read from `path` (which is not touched).
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        if text.trim().is_empty() {
            return Ok(ConfigFile {
                path: path.into(),
                value: Map::new(),
                json5_only: false,
            });
        }
        // json5 has no nesting limit: a deep enough file would overflow the stack.
        if nesting_depth(text) > MAX_DEPTH {
            return Err(ConfigError::Parse {
                path: path.into(),
                detail: format!("arrays and objects nest more than {MAX_DEPTH} levels deep"),
            });
        }
        let json5_only = serde_json::from_str::<Value>(text).is_err();
        let value: Value = json5::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            detail: e.to_string(),
        })?;
        match value {
            Value::Object(value) => Ok(ConfigFile {
                path: path.into(),
                value,
                json5_only,
            }),
            other => Err(ConfigError::NotAnObject {
                path: path.into(),
                found: kind(&other),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn value(&self) -> &Map<String, Value> {
        &self.value
    }

    /// A section with `${VAR}` substituted, parsed into `T`; absent is
    /// `T::default()`. Each consumer owns its section's type (`plugins` is the
    /// plugin host's, `gateway` the gateway's, `auth` the auth store's).
    pub fn section<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.value.get(name) else {
            return Ok(T::default());
        };
        let mut value = raw.clone();
        vars::substitute(&mut value, name, &vars::variables(&self.value)).map_err(|source| {
            ConfigError::Var {
                path: self.path.clone(),
                source,
            }
        })?;
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            ConfigError::Field {
                path: self.path.clone(),
                field: if inner == "." {
                    name.to_string()
                } else {
                    format!("{name}.{inner}")
                },
                detail: format!("is not valid: {}", e.inner()),
            }
        })
    }

    /// The `plugins` section.
    pub fn plugins(&self) -> Result<PluginsConfig, ConfigError> {
        let mut cfg: PluginsConfig = self.section("plugins")?;
        let base = self.path.parent().unwrap_or(Path::new("."));
        cfg.load.paths = cfg
            .load
            .paths
            .iter()
            .map(|p| resolve_path(base, p))
            .collect();
        Ok(cfg)
    }

    /// The `models` section.
    pub fn models(&self) -> Result<ModelsSection, ConfigError> {
        self.section("models")
    }

    /// The `agents` section.
    pub fn agents(&self) -> Result<AgentsSection, ConfigError> {
        self.section("agents")
    }

    /// The raw (unsubstituted) value at a dotted path, if any.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.value.get(*first)?, |v, k| v.get(k))
    }

    /// Set the value at `path`, creating objects on the way; other keys stay.
    pub fn set(&mut self, path: &[&str], value: Value) -> Result<(), ConfigError> {
        let (last, parents) = path
            .split_last()
            .expect("a config path has at least one key");
        self.object_at(parents)?.insert(last.to_string(), value);
        Ok(())
    }

    /// Remove the key at `path`; returns what was there.
    pub fn remove(&mut self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let mut current = &mut self.value;
        for key in parents {
            current = current.get_mut(*key)?.as_object_mut()?;
        }
        current.shift_remove(*last)
    }

    /// Set `plugins.entries.<id>.enabled`, creating the objects on the way.
    pub fn set_plugin_enabled(&mut self, id: &str, enabled: bool) -> Result<(), ConfigError> {
        self.set(&["plugins", "entries", id, "enabled"], Value::Bool(enabled))
    }

    /// Apply one of the edits `claw plugins enable/disable/trust/untrust` make.
    pub fn edit_plugin(&mut self, id: &str, edit: PluginEdit) -> Result<(), ConfigError> {
        match edit {
            PluginEdit::Enable => self.set_plugin_enabled(id, true),
            PluginEdit::Disable => self.set_plugin_enabled(id, false),
            PluginEdit::Trust => {
                self.set(&["plugins", "entries", id, "trusted"], Value::Bool(true))
            }
            PluginEdit::Untrust => {
                self.remove(&["plugins", "entries", id, "trusted"]);
                Ok(())
            }
        }
    }

    /// The object at `path`, created if missing; an error if something else is there.
    fn object_at(&mut self, path: &[&str]) -> Result<&mut Map<String, Value>, ConfigError> {
        let file = self.path.clone();
        let mut current = &mut self.value;
        for (i, key) in path.iter().enumerate() {
            let slot = current
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            let found = kind(slot);
            current = slot.as_object_mut().ok_or_else(|| ConfigError::Field {
                path: file.clone(),
                field: path[..=i].join("."),
                detail: format!("must be an object, found {found}; fix it before claw can edit it"),
            })?;
        }
        Ok(current)
    }

    /// Write the config atomically (temp file, fsync, rename). Returns the backup
    /// path when the original used JSON5-only syntax that this save drops.
    pub fn save(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let werr = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let mut backup = None;
        if self.json5_only && self.path.exists() {
            let bak = self.path.with_extension("json.bak");
            std::fs::copy(&self.path, &bak).map_err(werr)?;
            backup = Some(bak);
            self.json5_only = false;
        }
        let mut text =
            serde_json::to_string_pretty(&self.value).expect("a JSON value always serializes");
        text.push('\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            claw_types::fs::create_private_dir(dir).map_err(werr)?;
        }
        // claw.json has no lock, so only temp files a killed save left long ago
        // are removed (a live writer's exists for milliseconds); they may hold keys.
        let _ = claw_types::fs::remove_stale_temps(&self.path, Some(STALE_TEMP_AGE));
        let mode = file_mode(&self.path);
        claw_types::fs::write_atomic(&self.path, text.as_bytes(), Some(mode)).map_err(werr)?;
        Ok(backup)
    }
}

/// A temp file of claw.json this old was left by a save that never finished.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// The mode claw.json is written with: it may hold keys (`env`) and the gateway
/// token, so 0600, or the existing file's mode when that is stricter (0400 stays
/// 0400). A file others could read becomes 0600.
fn file_mode(path: &Path) -> u32 {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o600;
        // Never one claw itself could not read back.
        if mode & 0o400 != 0 {
            return mode;
        }
    }
    let _ = path;
    0o600
}

/// Relative paths in config are relative to the config file; `~/` is home.
fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The deepest nesting of arrays and objects claw.json may have (serde_json's limit).
const MAX_DEPTH: usize = 128;

/// How deeply JSON5 `text` nests arrays and objects, counted up to just past
/// `MAX_DEPTH`. Brackets in strings and comments do not count.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' => {
                depth += 1;
                max = max.max(depth);
                if max > MAX_DEPTH {
                    break;
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            '"' | '\'' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        s if s == c => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.next_if_eq(&'/').is_some() => {
                while chars
                    .next_if(|&c| !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))
                    .is_some()
                {}
            }
            '/' if chars.next_if_eq(&'*').is_some() => {
                let mut prev = '\0';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("claw.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn enabling_a_plugin_keeps_every_other_key_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"zeta": 1, "plugins": {"deny": ["x"], "entries": {"a": {"config": {"k": 2}}}}, "alpha": [true]}"#,
        );
        let mut cfg = ConfigFile::load(&path).unwrap();
        cfg.set_plugin_enabled("a", false).unwrap();
        cfg.set_plugin_enabled("b", true).unwrap();
        assert_eq!(cfg.save().unwrap(), None);
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            saved,
            serde_json::json!({"zeta": 1, "plugins": {"deny": ["x"], "entries": {"a": {"config": {"k": 2}, "enabled": false}, "b": {"enabled": true}}}, "alpha": [true]})
        );
        let keys: Vec<_> = saved.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zeta", "plugins", "alpha"]);
    }

    #[test]
    fn json5_files_are_read_and_backed_up_before_a_save_drops_comments() {
        let dir = tempfile::tempdir().unwrap();
        let original = "// my settings\n{ plugins: { deny: ['x',], }, }\n";
        let path = write(dir.path(), original);
        let mut cfg = ConfigFile::load(&path).unwrap();
        assert_eq!(cfg.plugins().unwrap().deny, vec!["x".to_string()]);
        cfg.set_plugin_enabled("y", true).unwrap();
        let backup = cfg.save().unwrap().expect("a backup of the JSON5 original");
        assert_eq!(std::fs::read_to_string(backup).unwrap(), original);
    }

    #[test]
    fn bad_files_say_where_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "{ plugins: ");
        let err = ConfigFile::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("is not valid JSON5") && err.contains("claw changed nothing"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ plugins: ");

        let path = write(dir.path(), "[1]");
        assert!(
            ConfigFile::load(&path)
                .unwrap_err()
                .to_string()
                .contains("the top level must be an object ({ ... }), found an array")
        );

        let path = write(
            dir.path(),
            r#"{"plugins": {"entries": {"a": {"enabled": "yes"}}}}"#,
        );
        let err = ConfigFile::load(&path)
            .unwrap()
            .plugins()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`plugins.entries.a.enabled` is not valid")
                && err.contains("expected a boolean"),
            "{err}"
        );

        let path = write(dir.path(), r#"{"plugins": {"entries": 3}}"#);
        let mut cfg = ConfigFile::load(&path).unwrap();
        let err = cfg.set_plugin_enabled("a", true).unwrap_err().to_string();
        assert!(
            err.contains("`plugins.entries` must be an object, found a number"),
            "{err}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Found with the `config` fuzz target's binary: json5 recursed until the stack overflowed.
        let path = Path::new("claw.json");
        let nested = |open: &str, close: &str, n: usize| {
            format!("{{a: {}1{}}}", open.repeat(n), close.repeat(n))
        };
        for deep in [nested("[", "]", 100_000), nested("{a: ", "}", 100_000)] {
            let err = ConfigFile::parse(path, &deep).unwrap_err().to_string();
            assert!(
                err.contains("nest more than 128 levels deep")
                    && err.contains("claw changed nothing"),
                "{err}"
            );
        }
        assert!(ConfigFile::parse(path, &nested("[", "]", MAX_DEPTH - 1)).is_ok());
        // Brackets in strings and comments are not nesting.
        let text = format!(
            "{{a: '{0}\\'{0}', b: \"{1}\\\"{1}\", // {0}\n /* {1} */ c: [[1]]}}",
            "[".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(nesting_depth(&text), 3);
        assert!(ConfigFile::parse(path, &text).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn saves_are_0600_or_stricter_whatever_the_file_had() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let chmod = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        // A new file, in a state dir that does not exist yet.
        let path = dir.path().join("state/claw.json");
        let mut cfg = ConfigFile::load(&path).unwrap();
        cfg.set_plugin_enabled("echo", false).unwrap();
        cfg.save().unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // 0600 stays 0600 (it became 0644 with the umask's mode before);
        // 0644 becomes 0600; 0400 stays 0400.
        for (before, after) in [
            (0o600, 0o600),
            (0o644, 0o600),
            (0o666, 0o600),
            (0o400, 0o400),
        ] {
            let path = write(dir.path(), r#"{"env": {"KEY": "sk-1"}}"#);
            chmod(&path, before);
            let mut cfg = ConfigFile::load(&path).unwrap();
            cfg.set_plugin_enabled("echo", false).unwrap();
            cfg.save().unwrap();
            assert_eq!(mode(&path), after, "{before:o}");
            chmod(&path, 0o600);
        }
    }

    #[test]
    fn a_save_removes_only_old_temp_files_of_claw_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "{}");
        let old = dir.path().join(".claw.json.tmp-12345");
        let fresh = dir.path().join(".claw.json.tmp-777-1");
        std::fs::write(&old, r#"{"env": {"KEY": "sk-old"}}"#).unwrap();
        std::fs::write(&fresh, r#"{"env": {"KEY": "sk-live"}}"#).unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let mut cfg = ConfigFile::load(&path).unwrap();
        cfg.set_plugin_enabled("echo", true).unwrap();
        cfg.save().unwrap();
        assert!(!old.exists(), "a temp file an hour old is a killed save's");
        assert!(fresh.exists(), "a fresh one may be another writer's");
    }

    #[test]
    fn user_written_variables_in_plugin_config_are_substituted() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"env": {"MY_REGION": "eu"}, "plugins": {"entries": {"a": {"config": {"region": "${MY_REGION}"}}}}}"#,
        );
        let plugins = ConfigFile::load(&path).unwrap().plugins().unwrap();
        assert_eq!(
            plugins.entries["a"].config,
            Some(serde_json::json!({"region": "eu"}))
        );
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ConfigFile::load(&dir.path().join("claw.json")).unwrap();
        let plugins = cfg.plugins().unwrap();
        assert!(plugins.enabled && plugins.allow.is_none() && plugins.entries.is_empty());
    }
}
