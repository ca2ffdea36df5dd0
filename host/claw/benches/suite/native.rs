//! Section 8, native against WebAssembly: the bundled echo plugin built both
//! ways, in the same run. In-process: describe and a whole echo chat per call
//! (a component gets a fresh instance per call; a native library a fresh
//! thread). Through one gateway: the same request to each, interleaved at
//! concurrency 1 (echo has no upstream, so this is all the time claw adds).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use claw_plugin_host::loader;
use claw_plugin_host::manifest::{HOST_TARGET, Manifest, library_name};
use claw_plugin_host::{Limits, Runtime};
use serde_json::json;

use crate::count;
use crate::http::Conn;
use crate::report::{Table, na};
use crate::setup::{Gateway, bundled, echo_request, settings, tokio_rt};
use crate::stats::{median, pct};

#[derive(Default)]
pub struct NativeFigures {
    /// (wasm, native) µs per call.
    describe_us: (f64, f64),
    chat_us: (f64, f64),
    /// (wasm, native) gateway latency p50 and p99, µs.
    gateway_p50: (f64, f64),
    gateway_p99: (f64, f64),
}

/// Echo built for this machine (once per target dir); the library's path.
fn build_native_echo() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-native");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "echo",
            "--target",
            HOST_TARGET,
            "--manifest-path",
        ])
        .arg(root.join("plugins/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("run cargo");
    assert!(status.success(), "building echo for {HOST_TARGET} failed");
    target
        .join(HOST_TARGET)
        .join("release")
        .join(library_name("echo"))
}

fn native_manifest(id: &str) -> String {
    format!(
        "id = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\nsdk = \"^0.2\"\nroles = [\"provider\"]\n[native]\n{HOST_TARGET} = \"{}\"\n",
        library_name("echo")
    )
}

pub fn bench() -> NativeFigures {
    let library = build_native_echo();
    let bytes = std::fs::read(&library).unwrap();
    let rt = tokio_rt();
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
    let echo = bundled("echo");
    let wasm = rt
        .block_on(loader::load(
            &runtime,
            &Manifest::parse(echo.manifest).unwrap(),
            echo.wasm,
            settings(),
        ))
        .unwrap()
        .plugin;
    let native = rt
        .block_on(loader::load(
            &runtime,
            &Manifest::parse(&native_manifest("echo")).unwrap(),
            &bytes,
            settings(),
        ))
        .unwrap()
        .plugin;

    let request = echo_request();
    let per_call = |plugin: &claw_plugin_host::Plugin, n: usize, chat: bool| {
        rt.block_on(async {
            let t = Instant::now();
            for _ in 0..n {
                if chat {
                    let mut stream = plugin.chat(&request).await.unwrap();
                    while let Some(events) = stream.next().await.unwrap() {
                        std::hint::black_box(events);
                    }
                } else {
                    std::hint::black_box(plugin.describe_provider().await.unwrap());
                }
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        })
    };
    // Interleaved runs, the median of five for each.
    let both = |n: usize, chat: bool| {
        per_call(&wasm, n / 10, chat);
        per_call(&native, n / 10, chat);
        let (mut w, mut nv) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            w.push(per_call(&wasm, n / 5, chat));
            nv.push(per_call(&native, n / 5, chat));
        }
        (median(&w), median(&nv))
    };
    let describe_us = both(count(20_000), false);
    let chat_us = both(count(10_000), true);
    eprintln!(
        "  describe: wasm {:.2} µs, native {:.2} µs; whole echo chat: wasm {:.1} µs, native {:.1} µs",
        describe_us.0, describe_us.1, chat_us.0, chat_us.1
    );

    let (gateway_p50, gateway_p99) = through_gateway(&library);
    NativeFigures {
        describe_us,
        chat_us,
        gateway_p50,
        gateway_p99,
    }
}

/// A gateway serving `echo` (bundled) and `echo-native` (the library, trusted);
/// the same request to each in turn.
fn through_gateway(library: &Path) -> ((f64, f64), (f64, f64)) {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("plugins/echo-native");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("claw-plugin.toml"), native_manifest("echo-native")).unwrap();
    std::fs::copy(library, dir.join(library_name("echo"))).unwrap();
    let config = json!({"plugins": {"entries": {"echo-native": {"trusted": true}}}});
    std::fs::write(state.path().join("claw.json"), config.to_string()).unwrap();
    let gw = Gateway::start(state.path());
    let target = gw.target("claw");
    let mut conn = Conn::open(&target.addr).unwrap();
    let body = |model: &str| {
        json!({"model": model, "messages": [{"role": "user", "content": "Count to thirty-two, please."}]})
            .to_string()
            .into_bytes()
    };
    let (wasm_body, native_body) = (body("echo/echo-1"), body("echo-native/echo-1"));
    let n = count(3_000);
    let (mut w, mut nv) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n + 200 {
        let a = conn.post(&target, &wasm_body, false).unwrap();
        let b = conn.post(&target, &native_body, false).unwrap();
        assert_eq!((a.status, b.status), (200, 200), "echo answers both ways");
        if i >= 200 {
            w.push(a.total.as_secs_f64() * 1e6);
            nv.push(b.total.as_secs_f64() * 1e6);
        }
    }
    let at = |v: &[f64], q| pct(v, q);
    eprintln!(
        "  through the gateway (c1, {n} each): wasm p50 {:.0} µs p99 {:.0} µs; native p50 {:.0} µs p99 {:.0} µs",
        at(&w, 0.5),
        at(&w, 0.99),
        at(&nv, 0.5),
        at(&nv, 0.99)
    );
    ((at(&w, 0.5), at(&nv, 0.5)), (at(&w, 0.99), at(&nv, 0.99)))
}

impl NativeFigures {
    pub fn rows(&self, t: &mut Table) {
        if self.describe_us.0 == 0.0 {
            return;
        }
        let pair = |(w, n): (f64, f64), unit: &str, digits: usize| {
            format!(
                "wasm {w:.digits$} {unit}, native {n:.digits$} {unit} ({:.2}×)",
                n / w
            )
        };
        t.row(
            "native vs wasm: trivial call (echo describe)",
            "—",
            pair(self.describe_us, "µs", 2),
            None,
            na(),
        );
        t.row(
            "native vs wasm: whole echo chat, in-process",
            "—",
            pair(self.chat_us, "µs", 1),
            None,
            na(),
        );
        t.row(
            "native vs wasm: gateway request to echo, c1 p50",
            "—",
            pair(self.gateway_p50, "µs", 0),
            None,
            na(),
        );
        t.row(
            "native vs wasm: gateway request to echo, c1 p99",
            "—",
            pair(self.gateway_p99, "µs", 0),
            None,
            na(),
        );
    }
}
