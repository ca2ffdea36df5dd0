//! Real clients for the client tests, installed once per version into a cache
//! outside the clone (`$CLAW_TEST_CACHE`, else `~/.cache/claw-tests`), so a
//! fresh CI clone pays for the download only when the cache is cold. An
//! install is used only once its `.complete` marker exists; a half-done one
//! is removed and done again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const CLAUDE_CODE: &str = "2.1.332";
pub const CODEX: &str = "0.171.0";
pub const OPENAI_PY: &str = "3.57.0";
pub const ANTHROPIC_PY: &str = "2.16.0";

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CLAW_TEST_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    Path::new(&home).join(".cache").join("claw-tests")
}

/// `dir`, filled by `install` unless a finished install is there already.
fn cached(name: &str, install: impl FnOnce(&Path)) -> PathBuf {
    let dir = cache_root().join(name);
    let marker = dir.join(".complete");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        eprintln!("installing {name} into {} (once)", dir.display());
        install(&dir);
        std::fs::write(&marker, b"").unwrap();
    }
    dir
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `npm install <package>@<version>` into the cache folder `name`; then `after`.
pub(crate) fn npm_package(
    name: &str,
    package: &str,
    version: &str,
    after: impl FnOnce(&Path),
) -> PathBuf {
    cached(name, |dir| {
        run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(dir)
                .arg(format!("{package}@{version}")),
            &format!("npm install {package}"),
        );
        after(dir);
    })
}

/// A Python virtual environment in the cache folder `name` with `packages`.
pub(crate) fn venv_with(name: &str, packages: &[String]) -> PathBuf {
    cached(name, |dir| {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(dir),
            "python3 -m venv",
        );
        run(
            Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet"])
                .args(packages),
            &format!("pip install {}", packages.join(" ")),
        );
    })
}

/// The `claude` executable of Claude Code (npm `@anthropic-ai/claude-code`).
pub fn claude_code() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = npm_package(
            &format!("claude-code-{CLAUDE_CODE}"),
            "@anthropic-ai/claude-code",
            CLAUDE_CODE,
            |dir| {
                let bin = dir.join("node_modules/.bin/claude");
                let works = Command::new(&bin)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !works {
                    // npm may skip the install script that places the native binary.
                    run(
                        Command::new("node")
                            .arg("install.cjs")
                            .current_dir(dir.join("node_modules/@anthropic-ai/claude-code")),
                        "node install.cjs (Claude Code)",
                    );
                }
            },
        );
        dir.join("node_modules/.bin/claude")
    })
    .clone()
}

/// The `codex` executable of Codex CLI (npm `@openai/codex`).
pub fn codex() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = npm_package(&format!("codex-{CODEX}"), "@openai/codex", CODEX, |_| {});
        dir.join("node_modules/.bin/codex")
    })
    .clone()
}

/// A Python with the `openai` and `anthropic` SDKs.
pub fn python_sdks() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let name = format!("py-openai-{OPENAI_PY}-anthropic-{ANTHROPIC_PY}");
        let dir = venv_with(
            &name,
            &[
                format!("openai=={OPENAI_PY}"),
                format!("anthropic=={ANTHROPIC_PY}"),
            ],
        );
        dir.join("bin/python")
    })
    .clone()
}
