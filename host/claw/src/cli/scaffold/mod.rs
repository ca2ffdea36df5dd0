//! `claw plugins new` and `claw plugins build`: a plugin folder that builds and
//! loads unchanged, in Rust, Python or JavaScript, and the one command that runs
//! the right tool for it.

mod render;
mod sdk;
mod toolchain;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::ValueEnum;

use claw_plugin_host::{bundled::BUNDLED, manifest, wit};
use render::{Vars, render};

pub use toolchain::build;

/// A file embedded in the binary by build.rs.
pub struct EmbeddedFile {
    pub path: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Pinned versions of the other languages' tools: the ones the templates and
/// their READMEs are tested with.
pub const COMPONENTIZE_PY: &str = "0.25.1";
pub const COMPONENTIZE_JS: &str = "0.23.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

impl Lang {
    fn dir(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }
}

/// What the plugin does: serve models, log in, or both (a portal login that
/// serves its own provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PluginRole {
    Provider,
    Auth,
    Portal,
}

impl PluginRole {
    fn provides(self) -> bool {
        self != PluginRole::Auth
    }
    fn authenticates(self) -> bool {
        self != PluginRole::Provider
    }
    fn world(self) -> &'static str {
        match self {
            PluginRole::Provider => "provider-plugin",
            PluginRole::Auth => "auth-plugin",
            PluginRole::Portal => "portal-plugin",
        }
    }
    fn roles_toml(self) -> &'static str {
        match self {
            PluginRole::Provider => "\"provider\"",
            PluginRole::Auth => "\"auth\"",
            PluginRole::Portal => "\"provider\", \"auth\"",
        }
    }
    fn export_macro(self) -> &'static str {
        match self {
            PluginRole::Provider => "export_provider",
            PluginRole::Auth => "export_auth",
            PluginRole::Portal => "export_portal",
        }
    }
}

/// Write a new plugin folder; returns where.
pub fn new(
    state_root: &Path,
    id: &str,
    lang: Lang,
    role: PluginRole,
    dir: Option<PathBuf>,
    native: bool,
) -> anyhow::Result<PathBuf> {
    if native && lang != Lang::Rust {
        bail!(
            "--native makes a Rust plugin (a shared library built with cargo); {} plugins are WebAssembly components. Drop --native, or use --lang rust",
            lang.dir()
        );
    }
    if manifest::validate_id(id).is_err() {
        bail!(
            "bad plugin id \"{id}\": use 1-64 lowercase letters, digits and '-', starting with a letter (e.g. \"my-provider\")"
        );
    }
    if BUNDLED
        .iter()
        .any(|b| manifest::Manifest::parse(b.manifest).is_ok_and(|m| m.id == id))
    {
        bail!("plugin id \"{id}\" belongs to a plugin bundled with claw; choose another id");
    }
    // The id names the Rust crate too; cargo refuses these as package names.
    const RESERVED: &[&str] = &[
        "test",
        "core",
        "std",
        "alloc",
        "proc-macro",
        "self",
        "crate",
        "super",
    ];
    if lang == Lang::Rust && RESERVED.contains(&id) {
        bail!(
            "plugin id \"{id}\" cannot name a Rust crate (cargo reserves it); choose another id, e.g. \"{id}-provider\""
        );
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(id));
    let occupied = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
    if occupied || dir.is_file() {
        bail!(
            "{} already exists and is not empty; nothing was written (pass --dir <empty folder>, or remove it)",
            dir.display()
        );
    }

    let claw = wit::claw_version();
    let mut values = vec![
        ("id", id.to_string()),
        ("snake", id.replace('-', "_")),
        ("world", role.world().to_string()),
        ("roles", role.roles_toml().to_string()),
        ("export_macro", role.export_macro().to_string()),
        ("wit", claw.to_string()),
        ("sdk_req", format!("^{}.{}", claw.major, claw.minor)),
        ("wasi", wit::wasi_version().to_string()),
        ("componentize_py", COMPONENTIZE_PY.to_string()),
        ("componentize_js", COMPONENTIZE_JS.to_string()),
        ("target", manifest::HOST_TARGET.to_string()),
        ("library", manifest::library_name(id)),
    ];
    if lang == Lang::Rust {
        let sdk_dir = sdk::write(state_root)?;
        values.push(("sdk_path", toml_path(&sdk_dir)));
    }
    let vars = Vars {
        values,
        provider: role.provides(),
        auth: role.authenticates(),
        native,
    };

    let prefix = format!("{}/", lang.dir());
    for f in TEMPLATES {
        if let Some(rel) = f.path.strip_prefix(&prefix) {
            write_file(&dir.join(render::output_path(rel)), &render(f.text, &vars))?;
        }
    }
    if lang != Lang::Rust {
        write_wit_deps(&dir, true)?;
    }
    Ok(dir)
}

/// `wit/deps/` for other languages' tools, which read WIT: claw's, and the
/// WASI the host links. `overwrite: false` only fills in missing files (what
/// `build` does, so an edited or older folder still builds).
pub fn write_wit_deps(dir: &Path, overwrite: bool) -> anyhow::Result<()> {
    let deps = dir.join("wit/deps");
    for f in std::iter::once(&wit::CLAW_PLUGIN).chain(wit::WASI) {
        let path = deps.join(f.path);
        if overwrite || !path.exists() {
            write_file(&path, f.text)?;
        }
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A path as a TOML basic string's contents.
fn toml_path(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}
