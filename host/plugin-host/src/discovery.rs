//! Finds plugins: bundled in the binary, installed under the state dir, and in
//! `plugins.load.paths`. The first plugin with an id wins; later duplicates are
//! reported as disabled, naming the winner.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundled::BUNDLED;
use crate::manifest::{self, HOST_TARGET, Kind, Manifest, ManifestError};

/// Where a plugin was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Bundled,
    /// Installed under `$CLAW_STATE_DIR/plugins`.
    Installed,
    /// Listed in `plugins.load.paths`.
    Path,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Bundled => "bundled",
            Origin::Installed => "installed",
            Origin::Path => "path",
        }
    }
}

/// The component bytes, embedded or on disk.
#[derive(Debug, Clone)]
pub enum WasmSource {
    Embedded(&'static [u8]),
    File(PathBuf),
}

/// A plugin found on the way, before anything is loaded.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub origin: Origin,
    /// Shown to users: `bundled:echo` or the plugin folder.
    pub location: String,
    /// The id from the manifest, else the folder name.
    pub id: String,
    pub manifest: Result<Manifest, ManifestError>,
    /// Where the component is, once the manifest names it.
    pub wasm: Option<WasmSource>,
}

pub fn discover(installed_dir: &Path, load_paths: &[PathBuf]) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = BUNDLED
        .iter()
        .map(|b| {
            let manifest = Manifest::parse(b.manifest);
            Candidate {
                origin: Origin::Bundled,
                location: format!("bundled:{}", b.dir),
                id: manifest
                    .as_ref()
                    .map(|m| m.id.clone())
                    .unwrap_or_else(|_| b.dir.to_string()),
                manifest,
                wasm: Some(WasmSource::Embedded(b.wasm)),
            }
        })
        .collect();
    found.extend(
        plugin_dirs_in(installed_dir)
            .into_iter()
            .map(|d| from_dir(Origin::Installed, &d)),
    );
    for path in load_paths {
        if path.join(manifest::FILE_NAME).is_file() {
            found.push(from_dir(Origin::Path, path));
        } else if path.is_dir() {
            found.extend(
                plugin_dirs_in(path)
                    .into_iter()
                    .map(|d| from_dir(Origin::Path, &d)),
            );
        } else {
            found.push(missing_path(path));
        }
    }
    found
}

/// The plugin folders directly inside `dir` (hidden ones are install temps).
fn plugin_dirs_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    dirs
}

/// The largest plugin component claw reads (at install and at load).
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;
/// The largest native plugin library claw reads: they carry their own
/// dependencies (an inference engine, a vendor's library).
pub const MAX_NATIVE_BYTES: u64 = 512 << 20;

/// The size limit for a plugin's component or library, and what to call it.
pub fn size_limit(kind: Kind) -> (u64, &'static str) {
    match kind {
        Kind::Wasm => (MAX_COMPONENT_BYTES, "a plugin component"),
        Kind::Native => (MAX_NATIVE_BYTES, "a native plugin library"),
    }
}

/// The largest plugin manifest claw reads.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// Read a plugin file of at most `limit` bytes; a larger one (or a device or
/// pipe that never ends, such as a link to /dev/zero) is refused with an error
/// that gives its size and the limit, after reading no more than the limit.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let too_large = |size: String| {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "{size}, over the limit of {} for {what}",
                human_bytes(limit)
            ),
        )
    };
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(format!("the file is {} bytes", meta.len())));
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        0
    });
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        let kind = if meta.is_file() {
            "the file"
        } else {
            "not a regular file: it"
        };
        return Err(too_large(format!("{kind} has more than {limit} bytes")));
    }
    Ok(bytes)
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB ({n} bytes)", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB ({n} bytes)", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A candidate from a plugin folder: its manifest and where its component is.
pub fn from_dir(origin: Origin, dir: &Path) -> Candidate {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let manifest_path = dir.join(manifest::FILE_NAME);
    let text = read_limited(&manifest_path, MAX_MANIFEST_BYTES, "a plugin manifest")
        .and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other));
    let manifest = match text {
        Ok(text) => Manifest::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ManifestError(format!(
            "no {} in {}; every plugin needs a manifest next to its .wasm (see the SDK README)",
            manifest::FILE_NAME,
            dir.display()
        ))),
        Err(e) => Err(ManifestError(format!(
            "cannot read {}: {e}",
            manifest_path.display()
        ))),
    };
    let wasm = manifest
        .as_ref()
        .ok()
        .and_then(|m| artifact_path(dir, m))
        .map(WasmSource::File);
    Candidate {
        origin,
        location: dir.display().to_string(),
        id: manifest.as_ref().map(|m| m.id.clone()).unwrap_or(folder),
        manifest,
        wasm,
    }
}

/// The file claw loads for `manifest` on this machine (see [`built_path`]);
/// `None` when a native manifest names no library for this machine.
pub fn artifact_path(dir: &Path, manifest: &Manifest) -> Option<PathBuf> {
    let file = manifest.artifact().ok()?;
    let outputs: Vec<PathBuf> = match manifest.kind() {
        Kind::Wasm => vec!["wasm32-wasip2/release".into()],
        Kind::Native => vec!["release".into(), Path::new(HOST_TARGET).join("release")],
    };
    Some(built_path(dir, file, &outputs))
}

/// `file` next to the manifest, else in cargo's output for the crate (one of
/// `outputs` under `$CARGO_TARGET_DIR` when set, else under its own `target/`
/// or a workspace's, up the tree). So a plugin author can point claw at the
/// crate folder after `cargo build`.
fn built_path(dir: &Path, file: &str, outputs: &[PathBuf]) -> PathBuf {
    let beside = dir.join(file);
    if beside.exists() {
        return beside;
    }
    let targets = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(dir.ancestors().take(4).map(|d| d.join("target")));
    targets
        .flat_map(|t| outputs.iter().map(move |o| t.join(o).join(file)))
        .find(|p| p.is_file())
        .unwrap_or(beside)
}

fn missing_path(path: &Path) -> Candidate {
    Candidate {
        origin: Origin::Path,
        location: path.display().to_string(),
        id: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string()),
        manifest: Err(ManifestError(format!(
            "plugins.load.paths entry {} does not exist or is not a folder; fix or remove it in claw.json",
            path.display()
        ))),
        wasm: None,
    }
}
