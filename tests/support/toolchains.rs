//! Other languages' plugin tools at the versions claw's templates pin, installed
//! once per version into the test cache (see clients.rs): componentize-py from
//! PyPI, componentize-js from npm. Each function returns a folder to put on PATH.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::clients::{npm_package, venv_with};

/// Must match `COMPONENTIZE_PY` / `COMPONENTIZE_JS` in host/claw/src/cli/scaffold.
pub const COMPONENTIZE_PY: &str = "0.25.1";
pub const COMPONENTIZE_JS: &str = "0.23.0";

/// A folder holding `componentize-py`.
pub fn componentize_py() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let name = format!("componentize-py-{COMPONENTIZE_PY}");
        venv_with(&name, &[format!("componentize-py=={COMPONENTIZE_PY}")]).join("bin")
    })
    .clone()
}

/// A folder holding `componentize-js`.
pub fn componentize_js() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let name = format!("componentize-js-{COMPONENTIZE_JS}");
        let package = "@bytecodealliance/componentize-js";
        npm_package(&name, package, COMPONENTIZE_JS, |_| {}).join("node_modules/.bin")
    })
    .clone()
}
