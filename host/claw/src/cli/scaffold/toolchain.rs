//! `claw plugins build [dir]`: run the tool for the folder's language and leave
//! the component next to the manifest, where `claw plugins install` looks.
//! A missing tool is named, with how to install the pinned version.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::{COMPONENTIZE_JS, COMPONENTIZE_PY, Lang};
use claw_plugin_host::manifest::{self, Manifest};

const WASM_TARGET: &str = "wasm32-wasip2";

/// Build the plugin in `dir`; returns the component's path. `state_root`
/// holds the SDK copy Rust plugins made by `claw plugins new` build against.
pub fn build(dir: &Path, state_root: &Path) -> anyhow::Result<PathBuf> {
    let manifest_path = dir.join(manifest::FILE_NAME);
    let text = std::fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "no plugin in {}: {} is missing (`claw plugins new <id>` makes a plugin folder)",
            dir.display(),
            manifest::FILE_NAME
        )
    })?;
    let manifest =
        Manifest::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
    let lang = detect(dir)?;
    if lang != Lang::Rust {
        if !dir.join("wit/world.wit").is_file() {
            bail!(
                "{} has no wit/world.wit, the world the plugin implements (it includes claw:plugin/provider-plugin@0.2.0 and the like); `claw plugins new <id> --lang {} --dir <new folder>` writes one to start from",
                dir.display(),
                lang.dir()
            );
        }
        // Put back claw's and WASI's WIT where they are missing.
        super::write_wit_deps(dir, false)?;
    }
    let native = manifest.kind() == manifest::Kind::Native;
    if native && lang != Lang::Rust {
        bail!(
            "{} names a native library ([native]), which claw builds from Rust crates only; {} plugins are components: replace [native] with component = \"{}\"",
            manifest_path.display(),
            lang.dir(),
            manifest.component
        );
    }
    let artifact = manifest
        .artifact()
        .map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
    let output = dir.join(artifact);
    let started = Instant::now();
    eprintln!(
        "Building {} ({}) in {}...",
        manifest.id,
        lang.dir(),
        dir.display()
    );
    match lang {
        Lang::Rust => {
            // Restore (or update, after a claw upgrade) the SDK copy it points at.
            super::sdk::write(state_root)?;
            build_rust(dir, &output, native)?
        }
        Lang::Python => {
            let tool = find_tool(dir, ".venv/bin/componentize-py", "componentize-py").ok_or_else(|| {
                anyhow::anyhow!(
                    "componentize-py is not installed: it builds Python plugins. Install the version this plugin is written for, in the plugin's folder:\n  python3 -m venv .venv && .venv/bin/pip install componentize-py=={COMPONENTIZE_PY}\n(or put a componentize-py {COMPONENTIZE_PY} on PATH), then run `claw plugins build` again"
                )
            })?;
            run(
                Command::new(tool)
                    .current_dir(dir)
                    .args(["-d", "wit", "-w", "plugin", "componentize", "app", "-o"])
                    .arg(&manifest.component),
                "componentize-py",
            )?;
        }
        Lang::Js => {
            let tool = find_tool(dir, "node_modules/.bin/componentize-js", "componentize-js").ok_or_else(|| {
                anyhow::anyhow!(
                    "componentize-js is not installed: it builds JavaScript plugins. Install the version this plugin is written for, in the plugin's folder:\n  npm install\n(package.json pins @bytecodealliance/componentize-js {COMPONENTIZE_JS}; or put a componentize-js {COMPONENTIZE_JS} on PATH), then run `claw plugins build` again"
                )
            })?;
            run(
                Command::new(tool)
                    .current_dir(dir)
                    .args(["--wit", "wit", "--world-name", "plugin", "--out"])
                    .arg(&manifest.component)
                    .arg("app.js"),
                "componentize-js",
            )?;
        }
    }
    let size = std::fs::metadata(&output)
        .with_context(|| format!("the build did not produce {}", output.display()))?
        .len();
    eprintln!(
        "Built {} ({:.1} MB) in {:.1} s. Next: claw plugins install {}",
        output.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(output)
}

/// The folder's language, from the files its tool needs.
fn detect(dir: &Path) -> anyhow::Result<Lang> {
    if dir.join("Cargo.toml").is_file() {
        Ok(Lang::Rust)
    } else if dir.join("app.py").is_file() {
        Ok(Lang::Python)
    } else if dir.join("app.js").is_file() {
        Ok(Lang::Js)
    } else {
        bail!(
            "cannot tell the language of the plugin in {}: build looks for Cargo.toml (Rust), app.py (Python) or app.js (JavaScript)",
            dir.display()
        )
    }
}

/// The plugin folder's own copy of a tool, else one on PATH.
fn find_tool(dir: &Path, local: &str, name: &str) -> Option<PathBuf> {
    Some(dir.join(local))
        .filter(|p| p.is_file())
        .or_else(|| on_path(name))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

fn run(command: &mut Command, tool: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {tool}"))?;
    if !status.success() {
        bail!("{tool} failed ({status}); its errors are above");
    }
    Ok(())
}

/// `cargo build --release --target wasm32-wasip2` (or, native, for this
/// machine), wherever cargo puts its output (`CARGO_TARGET_DIR`, a workspace's
/// target/): cargo says where.
fn build_rust(dir: &Path, output: &Path, native: bool) -> anyhow::Result<()> {
    if on_path("cargo").is_none() {
        bail!(
            "cargo is not installed: Rust plugins build with it. Install Rust from https://rustup.rs{}",
            if native {
                String::new()
            } else {
                format!(", then `rustup target add {WASM_TARGET}`")
            }
        );
    }
    if !native && !has_wasm_target(dir) {
        bail!(
            "the Rust target {WASM_TARGET} is not installed: plugins are built for it. Run `rustup target add {WASM_TARGET}`, then `claw plugins build` again"
        );
    }
    let target: &[&str] = if native {
        // This machine's triple, which the manifest's [native] names.
        &["--target", manifest::HOST_TARGET]
    } else {
        &["--target", WASM_TARGET]
    };
    let extension = if native {
        std::env::consts::DLL_EXTENSION
    } else {
        "wasm"
    };
    let child = Command::new("cargo")
        .current_dir(dir)
        .args(["build", "--release"])
        .args(target)
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo")?;
    let result = child.wait_with_output().context("cargo")?;
    if !result.status.success() {
        bail!(
            "cargo build failed ({}); its errors are above",
            result.status
        );
    }
    let built = String::from_utf8_lossy(&result.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(PathBuf::from))
                .collect::<Vec<_>>()
        })
        .rfind(|f| f.extension().is_some_and(|x| x == extension))
        .with_context(|| {
            format!(
                "cargo built no .{extension}: is `crate-type = [\"cdylib\"]` in Cargo.toml's [lib]?"
            )
        })?;
    std::fs::copy(&built, output)
        .with_context(|| format!("copying {} to {}", built.display(), output.display()))?;
    Ok(())
}

/// Whether the toolchain that builds in `dir` has the wasm target's std.
fn has_wasm_target(dir: &Path) -> bool {
    Command::new("rustc")
        .current_dir(dir)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        // Unknown: let cargo say.
        .is_none_or(|root| root.join("lib/rustlib").join(WASM_TARGET).is_dir())
}
