//! `claw.json`: read as JSON5, edited in place without losing anything else.
//!
//! The file is kept as a JSON value so an edit (e.g. `claw plugins disable x`)
//! changes exactly one entry and keeps every other key and its order; a save
//! replays the edits on the original text, so comments stay too. Typed
//! views (like [`PluginsConfig`]) are read from that value on demand, with
//! `${VAR}` substituted in the section read only, so a missing variable in one
//! section never breaks commands that do not use it.

mod edit;
pub mod models;
pub mod path;
pub mod validate;
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
    /// The text as read (or last saved): a save replays `edits` on it.
    text: String,
    edits: Vec<edit::Edit>,
    /// The file used JSON5 syntax (comments, trailing commas...): when a save
    /// cannot replay the edits on it, the original goes to `claw.json.bak` first.
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
                text: String::new(),
                edits: Vec::new(),
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
                text: text.into(),
                edits: Vec::new(),
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

    /// The raw (unsubstituted) value at a path, if any; a number indexes an array.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.value.get(*first)?, |v, k| match v {
                Value::Array(items) => items.get(k.parse::<usize>().ok()?),
                _ => v.get(k),
            })
    }

    /// Set the value at `path`, creating objects on the way; other keys stay.
    /// A number indexes an array, whose element must exist.
    pub fn set(&mut self, path: &[&str], value: Value) -> Result<(), ConfigError> {
        let mut root = Value::Object(std::mem::take(&mut self.value));
        let done = set_in(&mut root, path, value.clone());
        if let Value::Object(map) = root {
            self.value = map;
        }
        done.map_err(|(at, detail)| ConfigError::Field {
            path: self.path.clone(),
            field: path::display(&path[..at]),
            detail,
        })?;
        self.edits.push(edit::Edit::Set(owned(path), value));
        Ok(())
    }

    /// Remove the key (or array element) at `path`; returns what was there.
    pub fn remove(&mut self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let removed = match parents.split_first() {
            None => self.value.shift_remove(*last)?,
            Some((first, rest)) => {
                let mut current = self.value.get_mut(*first)?;
                for key in rest {
                    current = child_mut(current, key)?;
                }
                match current {
                    Value::Object(map) => map.shift_remove(*last)?,
                    Value::Array(items) => {
                        let i = last.parse::<usize>().ok().filter(|i| *i < items.len())?;
                        items.remove(i)
                    }
                    _ => return None,
                }
            }
        };
        self.edits.push(edit::Edit::Remove(owned(path)));
        Some(removed)
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

    /// Write the config atomically (temp file, fsync, rename), replaying the
    /// edits on the file's text so comments and layout stay. When they cannot
    /// be replayed the file is rewritten as plain JSON; if that drops JSON5
    /// syntax, the original is copied first and its path returned.
    pub fn save(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let werr = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let replayed = match self.text.trim().is_empty() {
            true => None,
            false => edit::replay(&self.text, &self.edits, &self.value),
        };
        let mut backup = None;
        let text = match replayed {
            Some(text) => text,
            None => {
                if self.json5_only && self.path.exists() {
                    let bak = self.path.with_extension("json.bak");
                    std::fs::copy(&self.path, &bak).map_err(werr)?;
                    backup = Some(bak);
                }
                let mut text = serde_json::to_string_pretty(&self.value)
                    .expect("a JSON value always serializes");
                text.push('\n');
                text
            }
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            claw_types::fs::create_private_dir(dir).map_err(werr)?;
        }
        // claw.json has no lock, so only temp files a killed save left long ago
        // are removed (a live writer's exists for milliseconds); they may hold keys.
        let _ = claw_types::fs::remove_stale_temps(&self.path, Some(STALE_TEMP_AGE));
        let mode = file_mode(&self.path);
        claw_types::fs::write_atomic(&self.path, text.as_bytes(), Some(mode)).map_err(werr)?;
        self.json5_only = serde_json::from_str::<Value>(&text).is_err();
        self.text = text;
        self.edits.clear();
        Ok(backup)
    }
}

fn owned(path: &[&str]) -> Vec<String> {
    path.iter().map(|k| k.to_string()).collect()
}

/// `ConfigFile::set` on the whole file as a value. An error names how many
/// segments of `path` lead to the value that is in the way, and what is wrong.
fn set_in(root: &mut Value, path: &[&str], value: Value) -> Result<(), (usize, String)> {
    let Some((last, parents)) = path.split_last() else {
        return Err((0, "is empty: a path names at least one key".into()));
    };
    let mut current = root;
    for (i, key) in parents.iter().enumerate() {
        current = match current {
            Value::Object(map) => map
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => element(items, key).map_err(|e| (i, e))?,
            other => return Err((i, not_a_container(other, path))),
        };
    }
    match current {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
        }
        Value::Array(items) => *element(items, last).map_err(|e| (parents.len(), e))? = value,
        other => return Err((parents.len(), not_a_container(other, path))),
    }
    Ok(())
}

fn child_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match value {
        Value::Object(map) => map.get_mut(key),
        Value::Array(items) => items.get_mut(key.parse::<usize>().ok()?),
        _ => None,
    }
}

fn element<'a>(items: &'a mut [Value], key: &str) -> Result<&'a mut Value, String> {
    let len = items.len();
    key.parse::<usize>()
        .ok()
        .and_then(|i| items.get_mut(i))
        .ok_or_else(|| format!("is an array of {len}; it has no element [{key}]"))
}

fn not_a_container(found: &Value, path: &[&str]) -> String {
    format!(
        "must be an object, found {}; claw cannot set `{}` inside it",
        kind(found),
        path::display(path)
    )
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
pub(crate) const MAX_DEPTH: usize = 128;

/// How deeply JSON5 `text` nests arrays and objects, counted up to just past
/// `MAX_DEPTH`. Brackets in strings and comments do not count.
pub(crate) fn nesting_depth(text: &str) -> usize {
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
mod tests;
