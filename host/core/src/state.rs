//! Where claw keeps its state: `$CLAW_STATE_DIR`, else `~/.claw`. Created
//! readable by its owner only (0700): it holds keys, the gateway token and logs.

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
        let root = match non_empty("CLAW_STATE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(non_empty("HOME").ok_or(NoStateDir)?).join(".claw"),
        };
        let state = Self::at(root);
        // Before anything else creates it (with the umask's mode) as a parent of
        // its own folder. A failure here is reported by whatever writes first.
        let _ = state.create();
        Ok(state)
    }

    /// Create the root (0700) if it does not exist; an existing one keeps its mode.
    pub fn create(&self) -> std::io::Result<()> {
        claw_types::fs::create_private_dir(&self.root)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_state_dir_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path().join("state"));
        state.create().unwrap();
        let mode = std::fs::metadata(state.root())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
    }
}
