//! A new plugin author's first hour, as they would run it: `claw plugins new` in
//! an empty folder outside the repository, `claw plugins build`, `install`,
//! then a request, in Rust, Python and JavaScript (the Python and JS tools are
//! installed once per version into the test cache, see support/toolchains.rs).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::support::{Claw, Run, toolchains};

/// `claw plugins new` then `build` in a fresh folder; returns the plugin folder.
fn new_and_build(claw: &Claw, work: &Path, id: &str, lang: &str, env: &[(&str, &str)]) -> PathBuf {
    let run = claw.run_in(work, &["plugins", "new", id, "--lang", lang], env);
    let out = run.ok();
    assert!(
        out.contains(&format!("Created plugin {id} in {id}")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "claw infer model run --model {id}/echo-1 --prompt \"round trip\""
        )),
        "{out}"
    );
    let dir = work.join(id);
    assert!(dir.join("claw-plugin.toml").is_file());
    assert!(dir.join("README.md").is_file());
    let build = claw.run_in(&dir, &["plugins", "build"], env);
    build.ok();
    let component = format!("{}.wasm", id.replace('-', "_"));
    assert!(
        build.stderr.contains(&format!("Built {component}"))
            || build.stderr.contains(&format!("Built ./{component}")),
        "{}",
        build.stderr
    );
    assert!(
        dir.join(&component).is_file(),
        "no {component} in {}",
        dir.display()
    );
    dir
}

/// `install .`, then `echo-1` answers the prompt back, and the first load after
/// install finds the compiled artifact in the cache.
fn install_and_ask(claw: &Claw, dir: &Path, id: &str, env: &[(&str, &str)]) {
    let run = claw.run_in(dir, &["plugins", "install", "."], env);
    let out = run.ok();
    assert!(out.contains(&format!("Installed {id} 0.1.0 into")), "{out}");
    assert!(out.contains("sdk:     claw:plugin@0.2.0"), "{out}");
    assert!(
        out.contains(&format!("models:  {id}/echo-1, {id}/http-1")),
        "{out}"
    );
    let plugins = claw.plugins();
    assert_eq!(plugins[id]["status"], "loaded", "{:#}", plugins[id]);
    assert_eq!(plugins[id]["cache"], "hit", "{:#}", plugins[id]);

    let answer = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        &format!("{id}/echo-1"),
        "--prompt",
        "round trip",
    ]);
    assert_eq!(answer.ok().trim(), "round trip", "{}", answer.stderr);
}

/// A stand-in that answers every POST with `heard: <body>` and records bodies.
fn text_stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/echo", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let Ok(n) = stream.read(&mut chunk) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    continue;
                };
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0usize);
                if body.len() >= len {
                    break Some(body.to_string());
                }
            };
            let Some(body) = body else { continue };
            record.lock().unwrap().push(body.clone());
            let reply = format!("heard: {body}");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, seen)
}

/// `http-1` POSTs the prompt to the URL in the plugin's config, through the
/// host's checked wasi:http, and streams the stand-in's reply back.
pub(crate) fn ask_over_http(claw: &Claw, id: &str, entry: &str) {
    let (url, seen) = text_stand_in();
    claw.write_config(&format!(
        r#"{{ plugins: {{ entries: {{ "{id}": {{ {entry} config: {{ url: "{url}" }} }} }} }} }}"#
    ));
    let answer = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        &format!("{id}/http-1"),
        "--prompt",
        "over the wire",
    ]);
    assert_eq!(
        answer.ok().trim(),
        "heard: over the wire",
        "{}",
        answer.stderr
    );
    assert_eq!(*seen.lock().unwrap(), vec!["over the wire".to_string()]);
}

/// A request the host refuses is the plugin's own network error, never a trap:
/// language runtimes write the body after the host has said no, so the host
/// reads it on (a large one here) instead of failing their writes.
pub(crate) fn a_refused_request_is_a_network_error(claw: &Claw, id: &str, entry: &str) {
    claw.write_config(&format!(
        r#"{{ plugins: {{ entries: {{ "{id}": {{ {entry} config: {{ url: "http://127.0.0.1:9/x" }}, network: ["example.com"] }} }} }} }}"#
    ));
    let prompt = "many words ".repeat(10_000);
    let run = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        &format!("{id}/http-1"),
        "--prompt",
        &prompt,
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("network") && run.stderr.contains("claw refused 127.0.0.1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("plugin_trap"), "{}", run.stderr);
}

fn path_with(bin: &Path) -> String {
    let old = std::env::var("PATH").unwrap_or_default();
    format!("{}:{old}", bin.display())
}

#[test]
fn a_rust_plugin_from_an_empty_folder_answers() {
    let claw = Claw::new();
    let work = tempfile::tempdir().unwrap();
    // cargo's output elsewhere (as with a global CARGO_TARGET_DIR): build still
    // leaves the component next to the manifest.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("author-plugins");
    let target = target.to_str().unwrap();
    let env = [("CARGO_TARGET_DIR", target)];
    let dir = new_and_build(&claw, work.path(), "demo-rust", "rust", &env);
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let sdk = claw.dir().join("sdk/claw-plugin-sdk-0.2.0");
    assert!(
        cargo_toml.contains(&format!(
            "claw-plugin-sdk = {{ version = \"^0.2\", path = \"{}\" }}",
            std::path::absolute(&sdk).unwrap().display()
        )),
        "{cargo_toml}"
    );
    install_and_ask(&claw, &dir, "demo-rust", &env);
    ask_over_http(&claw, "demo-rust", "");
    // The SDK copy it builds against is restored by the next build.
    std::fs::remove_dir_all(&sdk).unwrap();
    claw.run_in(&dir, &["plugins", "build"], &env).ok();
    assert!(sdk.join("src/lib.rs").is_file());
}

/// A Python or JavaScript plugin, its tool's folder on PATH: it answers, calls
/// HTTP, and a request the host refuses is a network error.
fn other_language_round_trip(lang: &str, id: &str, tool_bin: &Path) -> Claw {
    let claw = Claw::new();
    let work = tempfile::tempdir().unwrap();
    let path = path_with(tool_bin);
    let env = [("PATH", path.as_str())];
    let dir = new_and_build(&claw, work.path(), id, lang, &env);
    // Its tool reads WIT: claw's and the WASI the host links.
    assert!(dir.join("wit/deps/claw-plugin/plugin.wit").is_file());
    assert!(dir.join("wit/deps/http.wit").is_file());
    install_and_ask(&claw, &dir, id, &env);
    ask_over_http(&claw, id, "");
    a_refused_request_is_a_network_error(&claw, id, "");
    claw
}

#[test]
fn a_python_plugin_from_an_empty_folder_answers_and_calls_http() {
    let claw = other_language_round_trip("python", "demo-py", &toolchains::componentize_py());
    // componentize-py's own export is ignored, and said so.
    let info = claw.run(&["plugins", "info", "demo-py"]);
    assert!(
        info.ok()
            .contains("note:      ignores export exports (not part of claw:plugin"),
        "{}",
        info.stdout
    );
}

#[test]
fn build_puts_back_missing_wit_and_names_a_missing_world() {
    let claw = Claw::new();
    let work = tempfile::tempdir().unwrap();
    let path = path_with(&toolchains::componentize_py());
    let env = [("PATH", path.as_str())];
    let dir = new_and_build(&claw, work.path(), "demo-wit", "python", &env);
    std::fs::remove_dir_all(dir.join("wit/deps")).unwrap();
    claw.run_in(&dir, &["plugins", "build"], &env).ok();
    assert!(dir.join("wit/deps/claw-plugin/plugin.wit").is_file());
    std::fs::remove_file(dir.join("wit/world.wit")).unwrap();
    let run = claw.run_in(&dir, &["plugins", "build"], &env);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("has no wit/world.wit, the world the plugin implements"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_javascript_plugin_from_an_empty_folder_answers_and_calls_http() {
    other_language_round_trip("js", "demo-js", &toolchains::componentize_js());
}

#[test]
fn build_names_a_missing_tool_and_how_to_install_it() {
    let claw = Claw::new();
    let work = tempfile::tempdir().unwrap();
    // No componentize-py anywhere on PATH.
    let env = [("PATH", "/nonexistent")];
    claw.run_in(
        work.path(),
        &["plugins", "new", "demo-py", "--lang", "python"],
        &[],
    )
    .ok();
    let run: Run = claw.run_in(&work.path().join("demo-py"), &["plugins", "build"], &env);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("componentize-py is not installed")
            && run.stderr.contains("pip install componentize-py==0.25.1"),
        "{}",
        run.stderr
    );
    // `new` refuses a folder that holds something, and writes nothing.
    let again = claw.run_in(work.path(), &["plugins", "new", "demo-py"], &[]);
    assert_ne!(again.code, 0);
    assert!(
        again
            .stderr
            .contains("demo-py already exists and is not empty; nothing was written"),
        "{}",
        again.stderr
    );
    let bad = claw.run_in(work.path(), &["plugins", "new", "My_Plugin"], &[]);
    assert!(
        bad.stderr.contains("bad plugin id \"My_Plugin\""),
        "{}",
        bad.stderr
    );
    let reserved = claw.run_in(work.path(), &["plugins", "new", "test"], &[]);
    assert!(
        reserved
            .stderr
            .contains("plugin id \"test\" cannot name a Rust crate (cargo reserves it)"),
        "{}",
        reserved.stderr
    );
}

#[test]
fn a_reinstall_checks_the_new_build_first_and_a_renamed_plugin_replaces_its_old_install() {
    use crate::support::{fixture, fixture_manifest};
    let claw = Claw::new();
    let src = tempfile::tempdir().unwrap();
    let wasm = fixture("net_plugin.wasm");
    let manifest = fixture_manifest("net-plugin");
    std::fs::write(src.path().join("claw-plugin.toml"), &manifest).unwrap();
    std::fs::write(src.path().join("net_plugin.wasm"), &wasm).unwrap();
    let folder = src.path().to_str().unwrap();
    claw.run(&["plugins", "install", folder]).ok();

    // A broken rebuild is reported as broken, not as "already installed".
    std::fs::write(src.path().join("net_plugin.wasm"), b"not wasm at all").unwrap();
    let run = claw.run(&["plugins", "install", folder]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("file is not WebAssembly"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("already installed"), "{}", run.stderr);

    // A good one is checked, then --force is asked for, naming both versions.
    std::fs::write(src.path().join("net_plugin.wasm"), &wasm).unwrap();
    let bumped = manifest.replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    assert_ne!(bumped, manifest);
    std::fs::write(src.path().join("claw-plugin.toml"), &bumped).unwrap();
    let run = claw.run(&["plugins", "install", folder]);
    assert!(
        run.stderr
            .contains("plugin \"net-plugin\" 0.1.0 is already installed in")
            && run
                .stderr
                .contains("the new one (0.2.0) is valid: use --force to replace it"),
        "{}",
        run.stderr
    );

    // The same folder under a new id replaces the old install.
    let renamed = bumped.replace("id = \"net-plugin\"", "id = \"net-plugin-two\"");
    std::fs::write(src.path().join("claw-plugin.toml"), &renamed).unwrap();
    let run = claw.run(&["plugins", "install", folder]);
    assert!(
        run.ok().contains(
            "replaced: net-plugin (installed from this manifest before its id changed to net-plugin-two)"
        ),
        "{}",
        run.stdout
    );
    let plugins = claw.plugins();
    assert!(!plugins.contains_key("net-plugin"), "{:?}", plugins.keys());
    assert_eq!(plugins["net-plugin-two"]["status"], "loaded");
    assert!(!claw.dir().join("plugins/net-plugin").exists());

    // Another manifest in the same folder is another plugin: both stay.
    let third = renamed.replace("id = \"net-plugin-two\"", "id = \"net-plugin-three\"");
    std::fs::write(src.path().join("third.toml"), &third).unwrap();
    let manifest_arg = src.path().join("third.toml");
    let run = claw.run(&[
        "plugins",
        "install",
        folder,
        "--manifest",
        manifest_arg.to_str().unwrap(),
    ]);
    assert!(!run.ok().contains("replaced:"), "{}", run.stdout);
    let plugins = claw.plugins();
    assert_eq!(plugins["net-plugin-two"]["status"], "loaded");
    assert_eq!(plugins["net-plugin-three"]["status"], "loaded");
}

#[test]
fn install_finds_a_component_under_cargo_target_dir_and_says_where_it_looked() {
    use crate::support::{fixture, fixture_manifest};
    let claw = Claw::new();
    let crate_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        crate_dir.path().join("claw-plugin.toml"),
        fixture_manifest("net-plugin"),
    )
    .unwrap();
    let folder = crate_dir.path().to_str().unwrap();
    let run = claw.run(&["plugins", "install", folder]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("names component \"net_plugin.wasm\", which is neither in")
            && run.stderr.contains("nor under $CARGO_TARGET_DIR")
            && run.stderr.contains("claw plugins build"),
        "{}",
        run.stderr
    );
    let target = tempfile::tempdir().unwrap();
    let release = target.path().join("wasm32-wasip2/release");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::write(release.join("net_plugin.wasm"), fixture("net_plugin.wasm")).unwrap();
    let run = claw.run_env(
        &["plugins", "install", folder],
        &[("CARGO_TARGET_DIR", target.path().to_str().unwrap())],
    );
    assert!(
        run.ok().contains("Installed net-plugin 0.1.0"),
        "{}",
        run.stdout
    );
}
