//! Native plugins: shared libraries loaded only when trusted, with the same
//! clear load errors as components, a panic or a stuck call confined to itself,
//! and a reload that swaps the library while requests run. The fixtures are
//! tests/fixtures/native-* and the bundled echo plugin, built for this machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::gateway::GatewayProc;
use crate::support::{
    Claw, build_native, host_triple, library_name, native_fixture, native_manifest, root,
};

/// A plugin folder outside the state dir: a manifest and a library.
fn folder(manifest: &str, library: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("claw-plugin.toml"), manifest).unwrap();
    std::fs::write(dir.path().join(library), bytes).unwrap();
    dir
}

fn demo_folder(id: &str, version: &str) -> tempfile::TempDir {
    let library = library_name("native-demo");
    let manifest = native_manifest(id, version, r#"["provider", "auth"]"#, &library);
    folder(&manifest, &library, &native_fixture("native-demo"))
}

fn chat(gw: &GatewayProc, model: &str, prompt: &str) -> (u16, Value) {
    gw.call(
        "POST",
        "/v1/chat/completions",
        &json!({"model": model, "messages": [{"role": "user", "content": prompt}]}),
    )
}

fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
}

/// The streamed text of an OpenAI chat stream, and how many deltas carried it.
fn stream_text(gw: &GatewayProc, model: &str, prompt: &str) -> (String, usize) {
    let auth = gw.auth();
    let body =
        json!({"model": model, "stream": true, "messages": [{"role": "user", "content": prompt}]});
    let r = gw.request(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &body.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let deltas: Vec<String> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    (deltas.concat(), deltas.len())
}

#[test]
fn a_native_plugin_runs_only_when_trusted_and_then_serves_chat_and_a_login() {
    let claw = Claw::new();
    let dir = demo_folder("native-demo", "0.1.0");
    let path = dir.path().to_str().unwrap();

    // Untrusted: refused before the library is opened, nothing written.
    let refused = claw.run(&["plugins", "install", path]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("refusing plugin \"native-demo\": native plugin not trusted: it would run unsandboxed, inside claw, with claw's privileges")
            && refused.stderr.contains("`claw plugins install <dir> --trust`"),
        "{}",
        refused.stderr
    );
    assert!(!claw.dir().join("plugins/native-demo").exists());

    let installed = claw.run(&["plugins", "install", path, "--trust"]);
    let out = installed.ok();
    assert!(out.contains("Installed native-demo 0.1.0 into"), "{out}");
    assert!(
        out.contains("kind:    native (trusted: runs unsandboxed"),
        "{out}"
    );
    assert!(out.contains("sdk:     claw:plugin@0.2.0"), "{out}");
    assert!(
        out.contains("models:  native-demo/echo-1, native-demo/whoami-1"),
        "{out}"
    );
    let config: Value =
        json5::from_str(&std::fs::read_to_string(claw.dir().join("claw.json")).unwrap()).unwrap();
    assert_eq!(config["plugins"]["entries"]["native-demo"]["trusted"], true);
    // Only this machine's library is installed.
    assert!(
        claw.dir()
            .join("plugins/native-demo")
            .join(library_name("native-demo"))
            .is_file()
    );

    let plugins = claw.plugins();
    let demo = &plugins["native-demo"];
    assert_eq!(demo["status"], "loaded", "{demo:#}");
    assert_eq!(
        (demo["kind"].as_str(), demo["trusted"].as_bool()),
        (Some("native"), Some(true))
    );
    assert_eq!(demo["sdk"], "claw:plugin@0.2.0");
    assert_eq!(plugins["echo"]["kind"], "wasm");
    let table = claw.run(&["plugins", "list"]);
    assert!(
        table
            .ok()
            .lines()
            .any(|l| l.starts_with("native-demo ") && l.contains(" native ")),
        "{}",
        table.stdout
    );

    // The login runs in the library, its prompts through the host table.
    let login = claw.run(&["auth", "login", "--provider", "native-demo"]);
    login.ok();
    assert!(login.stderr.contains("NATIVE-1234"), "{}", login.stderr);

    let gw = GatewayProc::start(&claw, &[]);
    // The stored token had expired: the gateway refreshed it through the library.
    let (status, body) = chat(&gw, "native-demo/whoami-1", "who?");
    assert_eq!(status, 200, "{body}");
    assert_eq!(content(&body), "token=native-token-refreshed");
    let (text, deltas) = stream_text(&gw, "native-demo/echo-1", "one two three four");
    assert_eq!(text, "one two three four");
    assert!(deltas >= 4, "one event per next: {deltas} deltas");

    // A panic fails that request only.
    let (status, body) = chat(&gw, "native-demo/echo-1", "panic");
    assert!(status >= 500, "{status} {body}");
    let error = body.to_string();
    assert!(
        error.contains(
            "plugin \\\"native-demo\\\" crashed during chat: panicked: native panic on request"
        ),
        "{error}"
    );
    let (status, body) = chat(&gw, "native-demo/echo-1", "after the panic");
    assert_eq!((status, content(&body)), (200, "after the panic"), "{body}");
    assert!(
        gw.log().contains("native-demo answering"),
        "plugin logs reach the gateway log"
    );

    // Untrusting it while the gateway runs stops it at once.
    let untrust = claw.run(&["plugins", "untrust", "native-demo"]);
    assert!(
        untrust.ok().contains("Untrusted native-demo in"),
        "{}",
        untrust.stdout
    );
    let plugins = claw.plugins();
    assert_eq!(plugins["native-demo"]["status"], "disabled");
    assert!(
        plugins["native-demo"]["error"]
            .as_str()
            .unwrap()
            .contains("run `claw plugins trust native-demo`"),
        "{:#}",
        plugins["native-demo"]
    );
    let (status, _) = chat(&gw, "native-demo/echo-1", "hello");
    assert_ne!(status, 200);
    let again = claw.run(&["plugins", "trust", "echo"]);
    assert_ne!(again.code, 0);
    assert!(
        again
            .stderr
            .contains("is a WebAssembly component: it runs sandboxed and needs no trust"),
        "{}",
        again.stderr
    );
}

/// The header of `bytes` rewritten for another architecture than this one.
fn other_architecture(mut bytes: Vec<u8>) -> (Vec<u8>, &'static str) {
    let (machine, name) = if std::env::consts::ARCH == "aarch64" {
        (62u16, "x86_64")
    } else {
        (183u16, "aarch64")
    };
    bytes[18..20].copy_from_slice(&machine.to_le_bytes());
    (bytes, name)
}

#[cfg(target_os = "linux")]
#[test]
fn each_broken_native_library_gets_its_own_error_and_the_others_load() {
    let claw = Claw::new();
    let demo = native_fixture("native-demo");
    let (foreign, arch) = other_architecture(demo.clone());
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: [(&str, &str, Vec<u8>, &str, String); 6] = [
        ("bad-abi", r#"["provider"]"#, native_fixture("native-bad-abi"), "abi",
            "plugin \"bad-abi\" was built for native ABI 99, but this host provides native ABI 1..=1. Upgrade claw".into()),
        ("no-abi", r#"["provider"]"#, native_fixture("native-no-abi"), "abi",
            "plugin \"no-abi\": the library has no `claw_abi_version` symbol: it is not a claw native plugin, or it was built without the SDK's export macro".into()),
        ("other-arch", r#"["provider", "auth"]"#, foreign, "format",
            format!("plugin \"other-arch\": the library is built for {arch} and this machine is {}", std::env::consts::ARCH)),
        ("random-bytes", r#"["provider"]"#, random, "format",
            "plugin \"random-bytes\": the file is not a shared library (it starts with bytes".into()),
        ("wrong-roles", r#"["provider"]"#, demo.clone(), "manifest-mismatch",
            "plugin \"wrong-roles\": the native library exports claw:plugin/auth but the manifest's roles do not list \"auth\"".into()),
        ("not-trusted", r#"["provider", "auth"]"#, demo, "",
            "native plugin not trusted: it would run unsandboxed".into()),
    ];
    let mut entries = serde_json::Map::new();
    for (id, roles, bytes, _, _) in &cases {
        let library = format!("lib{}.so", id.replace('-', "_"));
        claw.place_plugin(
            id,
            Some(&native_manifest(id, "0.1.0", roles, &library)),
            Some((&library, bytes)),
        );
        if *id != "not-trusted" {
            entries.insert(id.to_string(), json!({"trusted": true}));
        }
    }
    claw.write_config(&json!({"plugins": {"entries": entries}}).to_string());
    let plugins = claw.plugins();
    for (id, _, _, step, expected) in &cases {
        let entry = &plugins[*id];
        assert_eq!(entry["kind"], "native", "{entry:#}");
        let error = entry["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected.as_str()), "{id}: {error}");
        if step.is_empty() {
            assert_eq!(entry["status"], "disabled", "{entry:#}");
            assert_eq!(entry["trusted"], false);
        } else {
            assert_eq!(
                (entry["status"].as_str(), entry["errorStep"].as_str()),
                (Some("error"), Some(*step)),
                "{entry:#}"
            );
        }
    }
    assert_eq!(plugins["echo"]["status"], "loaded");
    // A manifest without a library for this machine says which it has.
    claw.place_plugin(
        "elsewhere",
        Some(
            &native_manifest("elsewhere", "0.1.0", r#"["provider"]"#, "x.so")
                .replace(host_triple(), "riscv64gc-unknown-none-elf"),
        ),
        None,
    );
    let error = claw.plugins()["elsewhere"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains(&format!(
            "names no library for this machine ({}); it has riscv64gc-unknown-none-elf",
            host_triple()
        )),
        "{error}"
    );
}

#[test]
fn a_native_call_past_its_deadline_is_abandoned_and_the_plugin_recovers() {
    let claw = Claw::new();
    let dir = demo_folder("native-demo", "0.1.0");
    claw.run(&[
        "plugins",
        "install",
        dir.path().to_str().unwrap(),
        "--trust",
    ])
    .ok();
    claw.write_config(&json!({
        "plugins": {"entries": {"native-demo": {"trusted": true, "limits": {"callTimeoutMs": 300}}}},
        "models": {"providers": {"native-demo": {"api": "native-demo", "plugin": "native-demo", "models": [{"id": "echo-1"}]}}}
    }).to_string());
    let gw = Arc::new(GatewayProc::start(&claw, &[]));
    // Four calls that sleep past their deadline: each a timeout, answered on time.
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let gw = gw.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let (status, body) = chat(&gw, "native-demo/echo-1", "sleep 2500");
                (status, body.to_string(), started.elapsed())
            })
        })
        .collect();
    for t in stuck {
        let (status, body, took) = t.join().unwrap();
        assert!(status >= 500, "{status} {body}");
        assert!(body.contains("did not finish chat within 300 ms"), "{body}");
        assert!(
            took < Duration::from_millis(2000),
            "answered after {took:?}"
        );
    }
    // At the cap: degraded, and the next call is refused without starting.
    let plugins = claw.plugins();
    assert_eq!(
        plugins["native-demo"]["health"], "degraded",
        "{:#}",
        plugins["native-demo"]
    );
    assert!(
        plugins["native-demo"]["degradedReason"]
            .as_str()
            .unwrap()
            .contains("4 calls are still running past their deadline")
    );
    let (status, body) = chat(&gw, "native-demo/echo-1", "hello");
    assert!(
        status >= 500
            && body
                .to_string()
                .contains("has 4 calls still running past their deadline"),
        "{status} {body}"
    );
    // Once they return, it serves again.
    std::thread::sleep(Duration::from_millis(2600));
    let (status, body) = chat(&gw, "native-demo/echo-1", "back again");
    assert_eq!((status, content(&body)), (200, "back again"), "{body}");
    assert_eq!(claw.plugins()["native-demo"]["health"], "ok");
}

/// The bundled echo plugin, built for this machine (it builds as a component too).
fn native_echo() -> Vec<u8> {
    let dir = build_native(
        &root().join("plugins/Cargo.toml"),
        &["echo"],
        "native-bundled",
    );
    std::fs::read(dir.join(library_name("echo"))).unwrap()
}

#[test]
fn a_reload_under_load_swaps_the_native_library_with_no_failed_request() {
    let claw = Claw::new();
    let v1 = demo_folder("swap", "0.1.0");
    claw.run(&["plugins", "install", v1.path().to_str().unwrap(), "--trust"])
        .ok();
    claw.write_config(&json!({
        "plugins": {"entries": {"swap": {"trusted": true}}},
        "models": {"providers": {"swap": {"api": "native-demo", "plugin": "swap", "models": [{"id": "echo-1"}]}}}
    }).to_string());
    let echo = library_name("echo");
    let v2 = folder(
        &native_manifest("swap", "0.2.0", r#"["provider"]"#, &echo),
        &echo,
        &native_echo(),
    );
    let gw = Arc::new(GatewayProc::start(&claw, &[]));
    let before = claw.plugins()["swap"]["digest"].clone();

    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (gw, done, failed, stop) = (gw.clone(), done.clone(), failed.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && n < 400 {
                    // v1 sleeps on `sleep 20 …` and echoes it; v2 (echo) echoes it:
                    // the answer is the same either way, and calls are in flight
                    // in the old library while the new one loads.
                    let prompt = format!("sleep 20 client {c} request {n}");
                    let (status, body) = chat(&gw, "swap/echo-1", &prompt);
                    if status != 200 || content(&body) != prompt {
                        failed
                            .lock()
                            .unwrap()
                            .push(format!("{prompt}: {status} {body}"));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while done.load(Ordering::Relaxed) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(40);
    claw.run(&["plugins", "install", v2.path().to_str().unwrap(), "--force"])
        .ok();
    let restart = claw.run(&["gateway", "restart", "--json"]);
    assert_eq!(restart.json()["ok"], true, "{}", restart.stdout);
    let at_swap = done.load(Ordering::Relaxed);
    wait_for(at_swap + 40);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(*failed.lock().unwrap(), Vec::<String>::new());
    let swap = &claw.plugins()["swap"];
    assert_eq!(
        (swap["version"].as_str(), swap["status"].as_str()),
        (Some("0.2.0"), Some("loaded")),
        "{swap:#}"
    );
    assert_ne!(swap["digest"], before, "a different library is loaded");
}

/// A new user's native plugin: `new --native`, `build`, refused install, trusted
/// install, an answer, and HTTP through claw's checked client.
#[test]
fn a_native_plugin_from_an_empty_folder_answers() {
    let claw = Claw::new();
    let work = tempfile::tempdir().unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("author-plugins");
    let env = [("CARGO_TARGET_DIR", target.to_str().unwrap())];
    let created = claw.run_in(
        work.path(),
        &["plugins", "new", "my-native", "--native"],
        &env,
    );
    let out = created.ok();
    assert!(out.contains("claw plugins install . --trust"), "{out}");
    let dir: PathBuf = work.path().join("my-native");
    let manifest = std::fs::read_to_string(dir.join("claw-plugin.toml")).unwrap();
    let library = library_name("my-native");
    assert!(
        manifest.contains(&format!("[native]\n{} = \"{library}\"", host_triple())),
        "{manifest}"
    );
    let build = claw.run_in(&dir, &["plugins", "build"], &env);
    build.ok();
    assert!(dir.join(&library).is_file(), "{}", build.stderr);

    let refused = claw.run_in(&dir, &["plugins", "install", "."], &env);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("native plugin not trusted"),
        "{}",
        refused.stderr
    );
    claw.run_in(&dir, &["plugins", "install", ".", "--trust"], &env)
        .ok();
    let answer = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "my-native/echo-1",
        "--prompt",
        "round trip",
    ]);
    assert_eq!(answer.ok().trim(), "round trip", "{}", answer.stderr);
    let list = claw.run(&["plugins", "list", "--json"]).json();
    let mine = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "my-native")
        .unwrap()
        .clone();
    assert_eq!(
        (mine["kind"].as_str(), mine["status"].as_str()),
        (Some("native"), Some("loaded")),
        "{mine:#}"
    );

    // config and HTTP go through claw: its grant check and pooled client.
    crate::authors::ask_over_http(&claw, "my-native", "trusted: true,");
    crate::authors::a_refused_request_is_a_network_error(&claw, "my-native", "trusted: true,");
}
