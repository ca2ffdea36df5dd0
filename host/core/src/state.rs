//! Where claw keeps its state: `$CLAW_STATE_DIR`, else `~/.claw`.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find the state directory: neither CLAW_STATE_DIR nor HOME is set; set CLAW_STATE_DIR to a writable directory"
)]
pub struct NoStateDir;

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn from_env() -> Result<Self, NoStateDir> {
        let non_empty = |key: &str| std::env::var_os(key).filter(|v| !v.is_empty());
        if let Some(dir) = non_empty("CLAW_STATE_DIR") {
            return Ok(Self::at(PathBuf::from(dir)));
        }
        let home = non_empty("HOME").ok_or(NoStateDir)?;
        Ok(Self::at(PathBuf::from(home).join(".claw")))
    }

    pub fn at(root: PathBuf) -> Self {
        StateDir { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `claw.json`, read as JSON5.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("claw.json")
    }
    /// Installed plugins, one folder per plugin id.
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }
    /// Compiled plugin artifacts, keyed by content and engine.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
}
