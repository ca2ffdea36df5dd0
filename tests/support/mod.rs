//! Test harness: runs the real `claw` binary against a fresh state directory,
//! and builds the fixture plugins (tests/fixtures) for wasm32-wasip2 once.

#![allow(dead_code)]

pub mod clients;
pub mod gateway;
pub mod toolchains;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const CLAW: &str = env!("CARGO_BIN_EXE_claw");

/// The repository root.
pub fn root() -> PathBuf {
    // host/claw → the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// A claw installation in a temporary state directory.
pub struct Claw {
    pub state: tempfile::TempDir,
}

/// What a run of `claw` printed, and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Assert success and return stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "claw failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
}

impl Claw {
    pub fn new() -> Claw {
        Claw {
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.state.path()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Run with extra environment variables (e.g. `CLAW_LOG`).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_in(Path::new("."), args, env)
    }

    /// Run in folder `dir` (as a user who `cd`ed there), with extra environment.
    pub fn run_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(CLAW)
            .current_dir(dir)
            .args(args)
            .env("CLAW_STATE_DIR", self.dir())
            .env_remove("CLAW_LOG")
            .envs(env.iter().copied())
            .output()
            .expect("run claw");
        Run::from(output)
    }

    pub fn write_config(&self, json: &str) -> PathBuf {
        let path = self.dir().join("claw.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    /// Put a plugin folder (manifest text + component bytes) straight into the
    /// installed-plugins directory, bypassing `install`'s validation.
    pub fn place_plugin(
        &self,
        folder: &str,
        manifest: Option<&str>,
        component: Option<(&str, &[u8])>,
    ) -> PathBuf {
        let dir = self.dir().join("plugins").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(text) = manifest {
            std::fs::write(dir.join("claw-plugin.toml"), text).unwrap();
        }
        if let Some((name, bytes)) = component {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    }

    /// `plugins list --json`, as a map from id to entry.
    pub fn plugins(&self) -> serde_json::Map<String, serde_json::Value> {
        let run = self.run(&["plugins", "list", "--json"]);
        run.ok();
        run.json()["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_string(), p.clone()))
            .collect()
    }
}

/// A manifest for a plugin with this id, roles and component name.
pub fn manifest(id: &str, sdk: &str, roles: &str, component: &str) -> String {
    format!(
        "id = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\nsdk = \"{sdk}\"\nroles = {roles}\ncomponent = \"{component}\"\n"
    )
}

/// The fixture plugins' release folder, built on first use.
pub fn fixtures() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // Share the bundled plugins' target dir so dependencies build once.
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("wasm-plugins");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(root().join("tests/fixtures/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("run cargo to build the fixture plugins");
        assert!(
            status.success(),
            "building tests/fixtures for wasm32-wasip2 failed"
        );
        target.join("wasm32-wasip2/release")
    })
}

/// This machine's target triple, which a native manifest names its library under.
pub fn host_triple() -> &'static str {
    static TRIPLE: OnceLock<String> = OnceLock::new();
    TRIPLE.get_or_init(|| {
        let out = Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("run rustc -vV");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .expect("rustc -vV names the host")
            .to_string()
    })
}

/// Build `packages` of the workspace at `manifest` for this machine (shared
/// libraries); returns the folder with the built libraries.
pub fn build_native(manifest: &Path, packages: &[&str], target_name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join(target_name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        host_triple(),
        "--manifest-path",
    ])
    .arg(manifest)
    .arg("--target-dir")
    .arg(&target)
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET");
    for p in packages {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().expect("run cargo to build native plugins");
    assert!(
        status.success(),
        "building {packages:?} for this machine failed"
    );
    target.join(host_triple()).join("release")
}

/// The native fixture libraries (tests/fixtures/native-*), built on first use.
pub fn native_fixtures() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_native(
            &root().join("tests/fixtures/Cargo.toml"),
            &["native-demo", "native-bad-abi", "native-no-abi"],
            "native-plugins",
        )
    })
}

/// The file name of a cdylib crate's library on this machine.
pub fn library_name(crate_name: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// A native fixture library's bytes, e.g. `native_fixture("native-demo")`.
pub fn native_fixture(crate_name: &str) -> Vec<u8> {
    let path = native_fixtures().join(library_name(crate_name));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A native manifest naming `library` for this machine.
pub fn native_manifest(id: &str, version: &str, roles: &str, library: &str) -> String {
    format!(
        "id = \"{id}\"\nname = \"{id}\"\nversion = \"{version}\"\nsdk = \"^0.2\"\nroles = {roles}\n\n[native]\n{} = \"{library}\"\n",
        host_triple()
    )
}

/// A fixture component's bytes, e.g. `fixture("net_plugin.wasm")`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The text of a fixture's manifest.
pub fn fixture_manifest(crate_dir: &str) -> String {
    std::fs::read_to_string(
        root()
            .join("tests/fixtures")
            .join(crate_dir)
            .join("claw-plugin.toml"),
    )
    .unwrap()
}

impl Claw {
    /// Install the fixture plugin built from `tests/fixtures/<crate_dir>` (its
    /// manifest and component), bypassing `install`'s validation.
    pub fn place_fixture(&self, crate_dir: &str) -> PathBuf {
        let component = format!("{}.wasm", crate_dir.replace('-', "_"));
        self.place_plugin(
            crate_dir,
            Some(&fixture_manifest(crate_dir)),
            Some((&component, &fixture(&component))),
        )
    }

    /// The permission bits of a file or folder under the state dir (`""` is the dir itself).
    #[cfg(unix)]
    pub fn mode(&self, relative: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        let path = if relative.is_empty() {
            self.dir().to_path_buf()
        } else {
            self.dir().join(relative)
        };
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }
}
