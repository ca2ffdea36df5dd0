//! The claw-plugin-sdk source this binary carries, written into the state folder
//! for Rust plugins to depend on by `path` (beside `version`) until the SDK is on
//! crates.io. One folder per SDK version, rewritten only where it differs, so
//! plugins that use it are not rebuilt for nothing.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::SDK;

/// `<state>/sdk/claw-plugin-sdk-<version>/`, up to date; returns it (absolute).
pub fn write(state_root: &Path) -> anyhow::Result<PathBuf> {
    let version = version();
    let dir =
        std::path::absolute(state_root.join("sdk"))?.join(format!("claw-plugin-sdk-{version}"));
    for file in SDK {
        let path = dir.join(file.path);
        if std::fs::read(&path).is_ok_and(|old| old == file.text.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        claw_types::fs::write_atomic(&path, file.text.as_bytes(), Some(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

/// The SDK's own version, from its Cargo.toml.
fn version() -> &'static str {
    SDK.iter()
        .find(|f| f.path == "Cargo.toml")
        .and_then(|f| {
            f.text
                .lines()
                .find_map(|l| l.trim().strip_prefix("version = \""))
        })
        .and_then(|v| v.split('"').next())
        .unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_is_written_whole_and_stands_alone() {
        let state = tempfile::tempdir().unwrap();
        let dir = write(state.path()).unwrap();
        assert!(dir.ends_with(format!("sdk/claw-plugin-sdk-{}", version())));
        assert!(version().starts_with("0."), "{}", version());
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(!manifest.contains("workspace = true"), "{manifest}");
        assert!(dir.join("wit/plugin.wit").is_file());
        assert!(dir.join("src/lib.rs").is_file());
        // Unchanged files are left alone.
        let before = std::fs::metadata(dir.join("src/lib.rs"))
            .unwrap()
            .modified()
            .unwrap();
        write(state.path()).unwrap();
        let after = std::fs::metadata(dir.join("src/lib.rs"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
    }
}
