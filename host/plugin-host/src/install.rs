//! `claw plugins install` / `uninstall`: a plugin is validated completely (the
//! whole load pipeline, describe included) before anything is written, then
//! copied into `$CLAW_STATE_DIR/plugins/<id>/` with an atomic rename.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundled::BUNDLED;
use crate::discovery;
use crate::engine::Runtime;
use crate::loader::{self, LoadError, LoadedPlugin};
use crate::manifest::{self, Manifest};
use crate::prompts::Headless;
use crate::settings::{PluginsConfig, settings_for};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    #[error("no {file} next to {wasm}; pass --manifest <path> or install the plugin's folder", file = manifest::FILE_NAME)]
    NoManifest { wasm: PathBuf },
    #[error("{path}: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error("{0}")]
    Manifest(String),
    #[error(
        "the manifest names component \"{component}\", which is neither in {dir} nor in a cargo target/wasm32-wasip2/release/ above it (nor under $CARGO_TARGET_DIR, when set); build the plugin with `claw plugins build {dir}` (it copies the component next to the manifest), or fix `component`, or pass the .wasm's path"
    )]
    NoComponent { component: String, dir: PathBuf },
    #[error(
        "the manifest names library \"{library}\" for this machine ({target}), which is neither in {dir} nor in a cargo target/release/ above it (nor under $CARGO_TARGET_DIR, when set); build the plugin with `claw plugins build {dir}` (it copies the library next to the manifest), or fix [native]",
        target = manifest::HOST_TARGET
    )]
    NoLibrary { library: String, dir: PathBuf },
    #[error("refusing plugin \"{id}\": {}", crate::settings::untrusted_reason(id))]
    Untrusted { id: String },
    #[error(transparent)]
    Invalid(#[from] LoadError),
    #[error("plugin id \"{0}\" belongs to a plugin bundled with claw; give your plugin another id in {file}", file = manifest::FILE_NAME)]
    BundledId(String),
    #[error(
        "plugin \"{id}\" {version} is already installed in {dir}; the new one ({new_version}) is valid: use --force to replace it"
    )]
    AlreadyInstalled {
        id: String,
        version: String,
        new_version: String,
        dir: PathBuf,
    },
    #[error(
        "plugin \"{id}\" is bundled with claw and cannot be uninstalled; turn it off with `claw plugins disable {id}`"
    )]
    UninstallBundled { id: String },
    #[error("plugin \"{id}\" is not installed in {dir}{hint}")]
    NotInstalled {
        id: String,
        dir: PathBuf,
        hint: String,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A plugin to install: its manifest and component, read from disk.
pub struct InstallSource {
    pub manifest: Manifest,
    manifest_text: String,
    /// The manifest file it came from.
    manifest_file: PathBuf,
    pub wasm_path: PathBuf,
    wasm: Vec<u8>,
}

impl InstallSource {
    /// The manifest the plugin is installed from, as one canonical path: the
    /// same file however it is reached, and two manifests in one folder apart.
    fn origin(&self) -> String {
        std::fs::canonicalize(&self.manifest_file)
            .or_else(|_| std::path::absolute(&self.manifest_file))
            .unwrap_or_else(|_| self.manifest_file.clone())
            .display()
            .to_string()
    }

    /// The file name the plugin's component or library is installed under: a
    /// native plugin only ever gets the library for this machine.
    fn artifact_name(&self) -> &str {
        self.manifest.artifact().unwrap_or(&self.manifest.component)
    }

    /// The component's size, for progress messages.
    pub fn wasm_len(&self) -> usize {
        self.wasm.len()
    }
}

/// Find the manifest and component for `path` (a plugin folder, a crate folder
/// after `cargo build`, or a `.wasm` with its manifest beside it or given).
pub fn resolve(path: &Path, manifest_path: Option<&Path>) -> Result<InstallSource, InstallError> {
    if !path.exists() {
        return Err(InstallError::NotFound(path.into()));
    }
    let (manifest_file, wasm_hint) = if path.is_dir() {
        (
            manifest_path
                .map(Path::to_path_buf)
                .unwrap_or_else(|| path.join(manifest::FILE_NAME)),
            None,
        )
    } else {
        let beside = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(manifest::FILE_NAME);
        let file = manifest_path.map(Path::to_path_buf).unwrap_or(beside);
        if !file.is_file() {
            return Err(InstallError::NoManifest { wasm: path.into() });
        }
        (file, Some(path.to_path_buf()))
    };
    let manifest_text = discovery::read_limited(
        &manifest_file,
        discovery::MAX_MANIFEST_BYTES,
        "a plugin manifest",
    )
    .and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other))
    .map_err(|e| InstallError::Unreadable {
        path: manifest_file.clone(),
        detail: e.to_string(),
    })?;
    let manifest = Manifest::parse(&manifest_text)
        .map_err(|e| InstallError::Manifest(format!("{}: {e}", manifest_file.display())))?;
    let wasm_path = match wasm_hint {
        Some(p) => p,
        None => {
            let dir = manifest_file.parent().unwrap_or(Path::new("."));
            let artifact = manifest
                .artifact()
                .map_err(|e| InstallError::Manifest(format!("{}: {e}", manifest_file.display())))?;
            let p = discovery::artifact_path(dir, &manifest).unwrap_or_else(|| dir.join(artifact));
            // `exists`, not `is_file`: a link to a device is refused when read,
            // with its size and the limit.
            if !p.exists() {
                return Err(match manifest.kind() {
                    manifest::Kind::Wasm => InstallError::NoComponent {
                        component: artifact.to_string(),
                        dir: dir.into(),
                    },
                    manifest::Kind::Native => InstallError::NoLibrary {
                        library: artifact.to_string(),
                        dir: dir.into(),
                    },
                });
            }
            p
        }
    };
    let (limit, what) = discovery::size_limit(manifest.kind());
    let wasm =
        discovery::read_limited(&wasm_path, limit, what).map_err(|e| InstallError::Unreadable {
            path: wasm_path.clone(),
            detail: e.to_string(),
        })?;
    Ok(InstallSource {
        manifest,
        manifest_text,
        manifest_file,
        wasm_path,
        wasm,
    })
}

/// Where an installed plugin came from (its manifest's path), kept beside it so
/// that installing the same manifest under a new id replaces the old install.
const SOURCE_FILE: &str = ".installed-from";

/// What `install` did.
pub struct Installed {
    pub dir: PathBuf,
    pub loaded: LoadedPlugin,
    /// Plugins installed before from the same source under another id (the
    /// plugin was renamed), now removed so they no longer serve its models.
    pub replaced: Vec<String>,
}

/// Validate `source` with the full load pipeline, then copy it into `plugins_dir`.
/// `runtime` should keep compiled artifacts, so the first load after this is a
/// cache hit. A native plugin is not even opened unless `trust` is given or the
/// user trusts its id already (opening a library runs its code).
pub async fn install(
    runtime: &Arc<Runtime>,
    plugins_dir: &Path,
    cfg: &PluginsConfig,
    source: &InstallSource,
    force: bool,
    trust: bool,
) -> Result<Installed, InstallError> {
    let id = &source.manifest.id;
    if BUNDLED
        .iter()
        .any(|b| Manifest::parse(b.manifest).is_ok_and(|m| m.id == *id))
    {
        return Err(InstallError::BundledId(id.clone()));
    }
    if source.manifest.kind() == manifest::Kind::Native
        && !trust
        && !crate::settings::trusted(id, cfg)
    {
        return Err(InstallError::Untrusted { id: id.clone() });
    }
    // Validate first: a reinstall learns whether the new build is any good
    // before it is told about --force.
    let settings = settings_for(&source.manifest, cfg, Arc::new(Headless));
    let loaded = loader::load(runtime, &source.manifest, &source.wasm, settings).await?;

    let dest = plugins_dir.join(id);
    if dest.exists() && !force {
        let version = std::fs::read_to_string(dest.join(manifest::FILE_NAME))
            .ok()
            .and_then(|t| Manifest::parse(&t).ok())
            .map_or_else(|| "(unreadable)".to_string(), |m| m.version.to_string());
        return Err(InstallError::AlreadyInstalled {
            id: id.clone(),
            version,
            new_version: source.manifest.version.to_string(),
            dir: dest,
        });
    }

    let origin = source.origin();
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Write { path, source }
    };
    std::fs::create_dir_all(plugins_dir).map_err(werr(plugins_dir))?;
    let pid = std::process::id();
    let staging = plugins_dir.join(format!(".{id}.installing-{pid}"));
    let _ = std::fs::remove_dir_all(&staging);
    let result: Result<(), InstallError> = (|| {
        std::fs::create_dir_all(&staging).map_err(werr(&staging))?;
        for (name, bytes) in [
            (manifest::FILE_NAME, source.manifest_text.as_bytes()),
            (source.artifact_name(), source.wasm.as_slice()),
            (SOURCE_FILE, origin.as_bytes()),
        ] {
            let path = staging.join(name);
            claw_types::fs::write_atomic(&path, bytes, None).map_err(werr(&path))?;
        }
        if dest.exists() {
            let old = plugins_dir.join(format!(".{id}.replaced-{pid}"));
            std::fs::rename(&dest, &old).map_err(werr(&dest))?;
            std::fs::rename(&staging, &dest).map_err(werr(&dest))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&staging, &dest).map_err(werr(&dest))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    let replaced = remove_renamed(plugins_dir, id, &origin);
    Ok(Installed {
        dir: dest,
        loaded,
        replaced,
    })
}

/// Remove other installs of the same source (the plugin's id changed since).
fn remove_renamed(plugins_dir: &Path, id: &str, origin: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(plugins_dir) else {
        return Vec::new();
    };
    let mut replaced = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == id || name.starts_with('.') {
            continue;
        }
        let same = std::fs::read_to_string(entry.path().join(SOURCE_FILE))
            .is_ok_and(|from| from == origin);
        if same && std::fs::remove_dir_all(entry.path()).is_ok() {
            replaced.push(name);
        }
    }
    replaced.sort();
    replaced
}

/// Remove an installed plugin's folder. Its settings in claw.json stay.
pub fn uninstall(plugins_dir: &Path, id: &str) -> Result<PathBuf, InstallError> {
    if BUNDLED
        .iter()
        .any(|b| Manifest::parse(b.manifest).is_ok_and(|m| m.id == id))
    {
        return Err(InstallError::UninstallBundled { id: id.into() });
    }
    let dir = plugins_dir.join(id);
    let valid_name = !id.is_empty() && !id.contains(['/', '\\']) && !id.starts_with('.');
    if !valid_name || !dir.is_dir() {
        return Err(InstallError::NotInstalled {
            id: id.into(),
            dir: plugins_dir.into(),
            hint: "; plugins from plugins.load.paths are removed by editing claw.json".into(),
        });
    }
    std::fs::remove_dir_all(&dir).map_err(|source| InstallError::Write {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}
