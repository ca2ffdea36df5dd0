//! Builds the bundled plugins (plugins/*) for wasm32-wasip2 and embeds them in the
//! `claw` binary, so a fresh install has working plugins without any set-up.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    // host/plugin-host → the repository root.
    let root = manifest_dir.ancestors().nth(2).unwrap().to_path_buf();
    let plugins_dir = root.join("plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for watched in ["plugins", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_wasm_target();
    let target_dir = wasm_target_dir(&out_dir);
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(plugins_dir.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir);
    // The outer build's settings (rustflags for the host target, target dir,
    // profile) must not leak into the wasm build; the jobserver may.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        let keep = [
            "CARGO_HOME",
            "CARGO_MAKEFLAGS",
            "CARGO_NET_",
            "CARGO_HTTP_",
            "CARGO_REGISTRIES_",
            "CARGO_REGISTRY_",
        ]
        .iter()
        .any(|k| key.starts_with(k));
        if (key.starts_with("CARGO_") && !keep)
            || key == "RUSTFLAGS"
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .expect("run cargo to build the bundled plugins");
    if !status.success() {
        panic!(
            "building the bundled plugins for wasm32-wasip2 failed (see the errors above). \
             If the target is missing, run: rustup target add wasm32-wasip2"
        );
    }

    let release = target_dir.join("wasm32-wasip2").join("release");
    let mut src = String::from("pub static BUNDLED: &[BundledPlugin] = &[\n");
    let mut dirs: Vec<_> = fs::read_dir(&plugins_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let manifest = dir.join("claw-plugin.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest).unwrap();
        let parsed: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let component = parsed
            .get("component")
            .and_then(|c| c.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{}: bundled plugins must name their component",
                    manifest.display()
                )
            });
        let wasm = release.join(component);
        assert!(
            wasm.is_file(),
            "{} was not built (expected {})",
            dir.display(),
            wasm.display()
        );
        let name = dir.file_name().unwrap().to_string_lossy();
        writeln!(
            src,
            "    BundledPlugin {{ dir: {name:?}, manifest: include_str!({:?}), wasm: include_bytes!({:?}) }},",
            manifest.display().to_string(),
            wasm.display().to_string()
        )
        .unwrap();
    }
    src.push_str("];\n");
    fs::write(out_dir.join("bundled.rs"), src).unwrap();

    embed_wasi_wit(&root, &out_dir);
    // The triple a native plugin's manifest names its library under.
    println!(
        "cargo:rustc-env=CLAW_HOST_TARGET={}",
        env::var("TARGET").unwrap()
    );
}

/// The WASI WIT files of the wasmtime-wasi-http this host links, so `claw plugins
/// new` can hand other languages' tools exactly the interfaces the host provides.
/// Read from that crate's source at build time (found with `cargo metadata`, so
/// vendored and relocated registries work too), never copied into this repository.
fn embed_wasi_wit(root: &Path, out_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this platform's packages: they are the ones the build has downloaded.
    let target = env::var("TARGET").unwrap();
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(target)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("run cargo metadata to find wasmtime-wasi-http's WIT");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "wasmtime-wasi-http")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("wasmtime-wasi-http is a dependency");
    let deps = Path::new(manifest).parent().unwrap().join("wit/deps");
    let mut files: Vec<_> = fs::read_dir(&deps)
        .unwrap_or_else(|e| panic!("{}: {e}", deps.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wit"))
        .collect();
    files.sort();
    let mut src = String::from("&[\n");
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file.file_name().unwrap().to_string_lossy();
        writeln!(
            src,
            "    WitFile {{ path: {name:?}, text: include_str!({:?}) }},",
            file.display().to_string()
        )
        .unwrap();
    }
    src.push(']');
    fs::write(out_dir.join("wasi_wit.rs"), src).unwrap();
}

const WASM_TARGET: &str = "wasm32-wasip2";

/// The bundled plugins need the wasm32-wasip2 standard library. rustup installs
/// `rust-toolchain.toml`'s `targets` only when it installs the toolchain, and the
/// proxy pins the toolchain for this script (`RUSTUP_TOOLCHAIN`), so on a machine
/// whose stable toolchain predates this repository the target is missing. Add
/// it here, saying so, rather than fail with a wall of "can't find crate" errors.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = |root: &Path| root.join("lib/rustlib").join(WASM_TARGET).is_dir();
    if sysroot.as_deref().is_none_or(installed) {
        return;
    }
    println!(
        "cargo:warning=the {WASM_TARGET} target is missing; running `rustup target add {WASM_TARGET}` to build the bundled plugins"
    );
    let added = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !added {
        panic!(
            "the bundled plugins are built for {WASM_TARGET}, which this toolchain lacks, and \
             `rustup target add {WASM_TARGET}` failed. Install the target for the toolchain \
             that builds claw (rustup target add {WASM_TARGET}), then build again."
        );
    }
}

/// `<cargo target dir>/wasm-plugins`, shared by every profile, found by walking up
/// from OUT_DIR to the directory cargo marks with CACHEDIR.TAG.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("wasm-plugins"))
        .unwrap_or_else(|| out_dir.join("wasm-plugins"))
}
