//! Other languages' plugin tools at the versions claw's templates pin, installed
//! once per version into the test cache (see clients.rs): componentize-py from
//! PyPI, componentize-js from npm. Each function returns a folder to put on PATH.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::clients::{cached, run};

/// Must match `COMPONENTIZE_PY` / `COMPONENTIZE_JS` in host/claw/src/cli/scaffold.
pub const COMPONENTIZE_PY: &str = "0.25.1";
pub const COMPONENTIZE_JS: &str = "0.23.0";

/// A folder holding `componentize-py`.
pub fn componentize_py() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = cached(&format!("componentize-py-{COMPONENTIZE_PY}"), |dir| {
            run(
                Command::new("python3").args(["-m", "venv"]).arg(dir),
                "python3 -m venv",
            );
            run(
                Command::new(dir.join("bin/pip")).args([
                    "install",
                    "--quiet",
                    &format!("componentize-py=={COMPONENTIZE_PY}"),
                ]),
                "pip install componentize-py",
            );
        });
        dir.join("bin")
    })
    .clone()
}

/// A folder holding `componentize-js`.
pub fn componentize_js() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = cached(&format!("componentize-js-{COMPONENTIZE_JS}"), |dir| {
            run(
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--prefix"])
                    .arg(dir)
                    .arg(format!(
                        "@bytecodealliance/componentize-js@{COMPONENTIZE_JS}"
                    )),
                "npm install @bytecodealliance/componentize-js",
            );
        });
        dir.join("node_modules/.bin")
    })
    .clone()
}
