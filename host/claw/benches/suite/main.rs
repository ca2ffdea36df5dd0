//! claw's benchmark suite: prints figures, it is not a timed test.
//!
//! ```sh
//! cargo bench -p claw --bench suite
//! ```
//!
//! Seven sections, each bounded in count and time (see docs/benchmarks.md for
//! what each figure means and how it is measured):
//!
//! 1. plugin load, in-process: cold (compile) and warm (cached artifact) per
//!    bundled plugin and for 10 copies of echo; `claw plugins list` wall time
//!    and peak RSS;
//! 2. call overhead, in-process: a fresh instance from the `InstancePre` plus
//!    echo's `describe`, against building the same `ProviderInfo` in Rust;
//! 3. gateway added latency: the same OpenAI chat completion straight to the
//!    zero-delay stand-in and through `claw gateway run`, interleaved, on warm
//!    keep-alive connections with TCP_NODELAY, at concurrency 1, 16 and 64;
//!    streams: added time to first content and added gap between chunks;
//! 4. throughput through the gateway at concurrency 64 as a share of direct;
//! 5. `claw gateway restart` with 3 and 10 plugins under steady load;
//! 6. gateway RSS idle and with 100 streams in flight;
//! 7. the same for LiteLLM's proxy when it is installed (else a line says why not).
//!
//! Environment: `CLAW_BENCH_QUICK=1` runs every section with a tenth of the
//! requests (for trying the suite out; not for published figures);
//! `CLAW_BENCH_BASELINE=<path to another claw binary>` adds before/after rows:
//! that build and this one, interleaved in the same run.
//! `CLAW_BENCH_LITELLM=<path to the litellm executable>` picks the peer (default:
//! `target/litellm-venv/bin/litellm`, then `litellm` on PATH).

#[path = "../../../../tests/support/upstream.rs"]
#[allow(dead_code)]
mod upstream;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use claw_plugin_host::bundled::BUNDLED;
use claw_plugin_host::loader;
use claw_plugin_host::manifest::Manifest;
use claw_plugin_host::{Headless, Limits, NetworkGrant, PluginSettings, Runtime};
use claw_types::{
    ChatEvent, ChatRequest, ContentPart, Endpoint, InputKind, Message, ModelCost, ModelInfo,
    ProviderInfo, RequestCredential, Role,
};
use serde_json::{Value, json};
use upstream::{Behavior, Upstream};

const CLAW: &str = env!("CARGO_BIN_EXE_claw");

/// The reply the stand-in gives for the benchmark model: 32 words, so a stream
/// has 16 content deltas of two words each.
const REPLY: &str = "one two three four five six seven eight nine ten eleven twelve thirteen \
    fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two \
    twenty-three twenty-four twenty-five twenty-six twenty-seven twenty-eight twenty-nine \
    thirty thirty-one thirty-two";
/// The benchmark model; the same bare id works straight at the stand-in, through
/// claw (one provider serves it) and through LiteLLM (its `model_name`).
const MODEL: &str = "qwen3-8b";
/// A model whose streams the stand-in holds open (no content) for the memory figure.
const HOLD_MODEL: &str = "hold-1";
const HOLD_MS: u64 = 6_000;
/// LiteLLM's master key (its equivalent of claw's gateway token).
const PEER_KEY: &str = "sk-bench-master-0123456789abcdef";

/// Whether section `n` runs: all, or those listed in CLAW_BENCH_ONLY (e.g.
/// "2" or "3,4,6"; for profiling one part). Sections 3, 4 and 6 share a gateway.
fn wants(n: u32) -> bool {
    match std::env::var("CLAW_BENCH_ONLY") {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|s| s.trim() == n.to_string()),
        _ => true,
    }
}

fn quick() -> bool {
    std::env::var_os("CLAW_BENCH_QUICK").is_some_and(|v| v != "0")
}

/// `n`, or a tenth of it (at least 20) under CLAW_BENCH_QUICK.
fn count(n: usize) -> usize {
    if quick() { (n / 10).max(20) } else { n }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let started = Instant::now();
    let mut report = Report::default();
    eprintln!(
        "claw benchmark suite{} (cores: {}, load average: {})",
        if quick() {
            " — QUICK mode, figures not for publication"
        } else {
            ""
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    if wants(1) {
        section("1. plugin load");
        bench_load(&mut report);
    }
    if wants(2) {
        section("2. call overhead");
        bench_call(&mut report);
    }

    // One stand-in for every HTTP figure, with no pause between SSE events.
    let upstream = Upstream::start();
    upstream.set_gap_ms(0);
    upstream.behave(MODEL, Behavior::Reply(REPLY.into()));
    upstream.behave(
        HOLD_MODEL,
        Behavior::Stall {
            ms: HOLD_MS,
            ping_every_ms: 0,
        },
    );

    let direct = Target::new(
        "direct",
        &upstream.url(),
        "/v1/chat/completions",
        "Bearer sk-bench",
    );
    if wants(3) || wants(4) || wants(6) {
        bench_gateway(&mut report, &upstream, &direct);
    }
    if wants(5) {
        section("5. reload under load");
        report.reload = bench_reload(&upstream);
    }
    if wants(7) {
        section("7. peer: LiteLLM proxy");
        bench_peer(&mut report, &upstream, &direct);
    }

    report.total = started.elapsed();
    let table = report.render();
    println!("\n{table}");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-suite.md");
    match std::fs::write(&out, &table) {
        Ok(()) => eprintln!("(also written to {})", out.display()),
        Err(e) => eprintln!("could not write {}: {e}", out.display()),
    }
}

/// Sections 3, 4 and 6 on one `claw gateway run` with the bundled plugins.
fn bench_gateway(report: &mut Report, upstream: &Upstream, direct: &Target) {
    let claw_state = tempfile::tempdir().unwrap();
    write_claw_config(claw_state.path(), upstream, &[]);
    section("6a. gateway idle memory");
    // The first start in a state dir compiles the bundled plugins into its
    // cache (cranelift's heap stays resident); every later start loads them
    // from the cache. The idle figure is the usual, warm start; the rest of the
    // figures run on that gateway too.
    let first = Gateway::start(claw_state.path());
    std::thread::sleep(Duration::from_millis(1500));
    report.claw_idle_first_kb = rss_kb(first.pid(), "VmRSS");
    drop(first);
    let gw = Gateway::start(claw_state.path());
    std::thread::sleep(Duration::from_millis(1500));
    report.claw_idle_rss_kb = rss_kb(gw.pid(), "VmRSS");
    eprintln!(
        "  idle RSS: {} after a start with a warm artifact cache, {} after the first start (compiles)",
        mb(report.claw_idle_rss_kb),
        mb(report.claw_idle_first_kb)
    );
    eprintln!("  gateway pid {} on {}", gw.pid(), gw.url());

    let through = Target::new(
        "claw",
        &gw.url(),
        "/v1/chat/completions",
        &format!("Bearer {}", gw.token),
    );
    check_target(direct);
    check_target(&through);

    if wants(3) {
        section("3. gateway added latency (claw)");
        report.claw_latency = bench_latency(direct, &through);
    }
    if let Some(bin) = std::env::var_os("CLAW_BENCH_BASELINE") {
        section("3d. before/after: this build against CLAW_BENCH_BASELINE, interleaved");
        report.baseline = Some(bench_baseline(direct, &through, Path::new(&bin), upstream));
    }
    if wants(3) {
        section(
            "3c. floors at c1: a byte-forwarding proxy, and claw against a streamed direct request",
        );
        report.floors = Some(bench_floors(direct, &through));
    }
    if wants(3) {
        section("3b. where the added latency goes (c1, in-process plugin vs HTTP)");
        report.breakdown = Some(bench_breakdown(direct, &through, upstream));
    }
    if wants(4) {
        section("4. throughput at concurrency 64 (claw)");
        report.claw_throughput = Some(bench_throughput(direct, &through, gw.pid(), upstream));
    }
    if wants(6) {
        section("6b. gateway memory with 100 streams in flight");
        std::thread::sleep(Duration::from_millis(1000));
        report.claw_idle_after_kb = rss_kb(gw.pid(), "VmRSS");
        report.claw_streams = Some(bench_streams_memory(
            &through,
            gw.pid(),
            upstream,
            Some(&gw),
        ));
    }
    report.claw_hwm_kb = rss_kb(gw.pid(), "VmHWM");
}

fn bench_peer(report: &mut Report, upstream: &Upstream, direct: &Target) {
    match find_litellm() {
        Ok(litellm) => match Peer::start(&litellm, upstream) {
            Ok(peer) => {
                let target = Target::new(
                    "litellm",
                    &peer.url(),
                    "/v1/chat/completions",
                    &format!("Bearer {PEER_KEY}"),
                );
                check_target(&target);
                std::thread::sleep(Duration::from_millis(1500));
                report.peer_idle_rss_kb = Some(tree_rss_kb(peer.pid()));
                report.peer_version = peer.version.clone();
                report.peer_latency = bench_latency(direct, &target);
                report.peer_throughput =
                    Some(bench_throughput(direct, &target, peer.pid(), upstream));
                report.peer_streams =
                    Some(bench_streams_memory(&target, peer.pid(), upstream, None));
            }
            Err(e) => report.peer_skipped = Some(format!("LiteLLM did not start: {e}")),
        },
        Err(why) => report.peer_skipped = Some(why),
    }
    if let Some(why) = &report.peer_skipped {
        eprintln!("  skipped: {why}");
    }
}

fn section(name: &str) {
    eprintln!("\n== {name}");
}

// ---------------------------------------------------------------------------
// 1. Plugin load (in-process) and `claw plugins list`
// ---------------------------------------------------------------------------

fn settings() -> PluginSettings {
    PluginSettings {
        config_json: "{}".into(),
        grant: Arc::new(NetworkGrant::none()),
        prompter: Arc::new(Headless),
        limits: Default::default(),
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[derive(Default)]
struct LoadFigures {
    /// Per bundled plugin: (dir, cold median ms, warm median ms).
    per_plugin: Vec<(String, f64, f64)>,
    /// 10 copies of echo, ms for all ten: no cache (10 compiles), a fresh cache
    /// (1 compile, 9 hits: the cache is keyed by content), a warm cache.
    ten_nocache_ms: f64,
    ten_cold_ms: f64,
    ten_warm_ms: f64,
    list_cold_ms: f64,
    list_cold_rss_kb: u64,
    list_warm_ms: Vec<f64>,
    list_warm_rss_kb: u64,
}

fn echo_manifest_as(id: &str) -> String {
    let echo = BUNDLED
        .iter()
        .find(|b| b.dir == "echo")
        .expect("echo is bundled");
    let text = echo
        .manifest
        .replacen("id = \"echo\"", &format!("id = \"{id}\""), 1);
    assert!(
        text.contains(&format!("id = \"{id}\"")),
        "echo manifest has no id line"
    );
    text
}

fn bench_load(report: &mut Report) {
    let rt = tokio_rt();
    let mut figures = LoadFigures::default();
    let (cold_reps, warm_reps) = (3, count(30));
    for bundled in BUNDLED {
        let manifest = Manifest::parse(bundled.manifest).unwrap();
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        for _ in 0..cold_reps {
            let cache = tempfile::tempdir().unwrap();
            let runtime =
                Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
            let t = Instant::now();
            let loaded = rt
                .block_on(loader::load(&runtime, &manifest, bundled.wasm, settings()))
                .unwrap_or_else(|e| panic!("loading {}: {e}", bundled.dir));
            cold.push(ms(t.elapsed()));
            assert_eq!(loaded.cache, claw_plugin_host::CacheOutcome::Miss);
            drop(loaded);
            // Warm: the artifact is on disk; a reload deserializes it.
            for _ in 0..warm_reps {
                let t = Instant::now();
                let loaded = rt
                    .block_on(loader::load(&runtime, &manifest, bundled.wasm, settings()))
                    .unwrap();
                warm.push(ms(t.elapsed()));
                assert_eq!(loaded.cache, claw_plugin_host::CacheOutcome::Hit);
            }
        }
        let (c, w) = (median(&cold), median(&warm));
        eprintln!(
            "  {:<22} cold {:>8.1} ms   warm {:>6.2} ms (median of {} / {}; {} KiB wasm)",
            bundled.dir,
            c,
            w,
            cold.len(),
            warm.len(),
            bundled.wasm.len() / 1024
        );
        figures.per_plugin.push((bundled.dir.to_string(), c, w));
    }

    // Ten copies of echo under different ids, loaded one after another as a
    // reload does.
    let echo = BUNDLED.iter().find(|b| b.dir == "echo").unwrap();
    let copies: Vec<Manifest> = (1..=10)
        .map(|i| Manifest::parse(&echo_manifest_as(&format!("echo-{i}"))).unwrap())
        .collect();
    let load_all = |runtime: &Arc<Runtime>| {
        let t = Instant::now();
        for m in &copies {
            rt.block_on(loader::load(runtime, m, echo.wasm, settings()))
                .unwrap();
        }
        ms(t.elapsed())
    };
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    figures.ten_nocache_ms = load_all(&runtime);
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
    figures.ten_cold_ms = load_all(&runtime);
    figures.ten_warm_ms = median(&(0..5).map(|_| load_all(&runtime)).collect::<Vec<_>>());
    eprintln!(
        "  10 copies of echo: no cache {:.1} ms, fresh cache {:.1} ms, warm {:.2} ms (all ten)",
        figures.ten_nocache_ms, figures.ten_cold_ms, figures.ten_warm_ms
    );

    // `claw plugins list` with no gateway running: a fresh state dir (cold:
    // compiles the bundled plugins into its cache), then warm runs.
    let state = tempfile::tempdir().unwrap();
    let (t, rss) = run_measured(CLAW, &["plugins", "list"], state.path());
    figures.list_cold_ms = t;
    figures.list_cold_rss_kb = rss;
    for _ in 0..count(20) {
        let (t, rss) = run_measured(CLAW, &["plugins", "list"], state.path());
        figures.list_warm_ms.push(t);
        figures.list_warm_rss_kb = figures.list_warm_rss_kb.max(rss);
    }
    eprintln!(
        "  claw plugins list: cold {:.1} ms ({} peak); warm median {:.1} ms, p90 {:.1} ms, peak RSS {}",
        figures.list_cold_ms,
        mb(figures.list_cold_rss_kb),
        median(&figures.list_warm_ms),
        pct(&figures.list_warm_ms, 0.9),
        mb(figures.list_warm_rss_kb)
    );
    report.load = figures;
}

/// Run `claw args` in `state`; wall ms and the child's peak RSS (ru_maxrss, KiB).
fn run_measured(bin: &str, args: &[&str], state: &Path) -> (f64, u64) {
    let t = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .env("CLAW_STATE_DIR", state)
        .env_remove("CLAW_LOG")
        .env_remove("CLAW_GATEWAY_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run claw");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; `rusage` is a POD out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = ms(t.elapsed());
    assert_eq!(r, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "claw {args:?} failed (status {status})"
    );
    std::mem::forget(child); // already reaped
    (wall, usage.ru_maxrss as u64)
}

// ---------------------------------------------------------------------------
// 2. Call overhead (in-process)
// ---------------------------------------------------------------------------

#[derive(Default)]
struct CallFigures {
    describe_us: f64,
    floor_us: f64,
    chat_us: f64,
}

/// What echo's `describe` returns, built in plain Rust: the floor.
#[inline(never)]
fn describe_in_rust() -> ProviderInfo {
    ProviderInfo {
        apis: vec!["echo".into()],
        models: vec![ModelInfo {
            id: "echo-1".into(),
            name: "Echo".into(),
            reasoning: false,
            input: vec![InputKind::Text],
            context_window: 32_768,
            max_tokens: 4_096,
            cost: Some(ModelCost {
                input: 0.0,
                output: 0.0,
                cache_read: 0.0,
                cache_write: 0.0,
            }),
        }],
    }
}

fn echo_request(text: &str) -> ChatRequest {
    ChatRequest {
        endpoint: Endpoint {
            provider: "echo".into(),
            api: "echo".into(),
            base_url: String::new(),
            headers: vec![],
            auth_header: false,
        },
        credential: RequestCredential::None,
        model: "echo-1".into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![ContentPart::Text(text.into())],
        }],
        max_tokens: None,
        temperature: None,
        streaming: true,
    }
}

fn bench_call(report: &mut Report) {
    let rt = tokio_rt();
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
    let echo = BUNDLED.iter().find(|b| b.dir == "echo").unwrap();
    let manifest = Manifest::parse(echo.manifest).unwrap();
    let loaded = rt
        .block_on(loader::load(&runtime, &manifest, echo.wasm, settings()))
        .unwrap();
    let plugin = loaded.plugin.clone();
    let expected = describe_in_rust();
    assert_eq!(
        serde_json::to_value(loaded.provider.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&expected).unwrap(),
        "the floor builds what echo describes"
    );

    // Fresh instance from the InstancePre + describe(): Plugin::describe_provider
    // is exactly that (a new Store with limits and deadline, instantiate, call).
    let n = count(50_000);
    let per_call = |n: usize| {
        rt.block_on(async {
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(plugin.describe_provider().await.unwrap());
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        })
    };
    per_call(n / 10); // warm up
    let runs: Vec<f64> = (0..5).map(|_| per_call(n / 5)).collect();
    let describe_us = median(&runs);

    let m = count(2_000_000);
    let floor = |m: usize| {
        let t = Instant::now();
        for _ in 0..m {
            std::hint::black_box(describe_in_rust());
        }
        t.elapsed().as_secs_f64() * 1e6 / m as f64
    };
    floor(m / 10);
    let floor_us = median(&(0..5).map(|_| floor(m / 5)).collect::<Vec<_>>());

    // For context: a whole echo chat on a fresh instance (instance, chat, every next).
    let k = count(10_000);
    let chat_us = rt.block_on(async {
        let request = echo_request("hello big world");
        let t = Instant::now();
        for _ in 0..k {
            let mut stream = plugin.chat(&request).await.unwrap();
            while let Some(events) = stream.next().await.unwrap() {
                std::hint::black_box(
                    events
                        .iter()
                        .filter(|e| matches!(e, ChatEvent::Text(_)))
                        .count(),
                );
            }
        }
        t.elapsed().as_secs_f64() * 1e6 / k as f64
    });
    eprintln!(
        "  fresh instance + describe(): {describe_us:.2} µs/call (median of 5 × {}); plain Rust: {floor_us:.3} µs/call; \
         whole echo chat on a fresh instance: {chat_us:.1} µs",
        n / 5
    );
    report.call = CallFigures {
        describe_us,
        floor_us,
        chat_us,
    };
}

// ---------------------------------------------------------------------------
// The gateway under test, and a small keep-alive HTTP/1.1 client
// ---------------------------------------------------------------------------

fn write_claw_config(state: &Path, upstream: &Upstream, deny: &[&str]) {
    let config = json!({
        "models": {"providers": {
            "lmstudio": {"baseUrl": format!("{}/v1", upstream.url()),
                         "models": [{"id": MODEL}, {"id": HOLD_MODEL}]},
        }},
        "plugins": {"deny": deny},
    });
    std::fs::write(state.join("claw.json"), config.to_string()).unwrap();
}

/// A process this suite started; stopped (by its pid) when dropped.
struct Proc {
    child: Child,
    /// Signal the whole process group (one we created for it).
    group: bool,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        let target = if self.group { -pid } else { pid };
        // SAFETY: signalling a process (group) this suite spawned.
        unsafe { libc::kill(target, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                if self.group {
                    unsafe { libc::kill(target, libc::SIGKILL) };
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(target, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

struct Gateway {
    proc: Proc,
    port: u16,
    token: String,
}

impl Gateway {
    /// `claw gateway run --port 0` in `state`, with its default logging (info,
    /// to a file), once it listens.
    fn start(state: &Path) -> Gateway {
        Self::start_bin(Path::new(CLAW), state)
    }

    /// The same with another `claw` binary (`CLAW_BENCH_BASELINE`).
    fn start_bin(bin: &Path, state: &Path) -> Gateway {
        let log = std::fs::File::create(state.join("gateway-bench.log")).unwrap();
        let _ = std::fs::remove_file(state.join("gateway/state.json"));
        let child = Command::new(bin)
            .args(["gateway", "run", "--port", "0"])
            .env("CLAW_STATE_DIR", state)
            .env_remove("CLAW_LOG")
            .env_remove("CLAW_GATEWAY_TOKEN")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the gateway");
        let proc = Proc {
            child,
            group: false,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Some(port) = std::fs::read(state.join("gateway/state.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["port"].as_u64())
            {
                break port as u16;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not start; log in {}",
                state.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let token = std::fs::read_to_string(state.join("gateway/token"))
            .expect("the gateway wrote its token")
            .trim()
            .to_string();
        Gateway { proc, port, token }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }

    fn status(&self) -> Value {
        let mut conn = Conn::open(&format!("127.0.0.1:{}", self.port)).unwrap();
        let reply = conn
            .send(
                "GET",
                "/admin/status",
                &format!("Bearer {}", self.token),
                b"",
                false,
            )
            .unwrap();
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
    }
}

/// Where and how to send the benchmark requests.
#[derive(Clone)]
struct Target {
    name: &'static str,
    /// host:port
    addr: String,
    path: String,
    auth: String,
}

impl Target {
    fn new(name: &'static str, url: &str, path: &str, auth: &str) -> Target {
        Target {
            name,
            addr: url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string(),
            path: path.into(),
            auth: auth.into(),
        }
    }
}

/// The one request body of the latency figures, streamed or not.
fn body(stream: bool, model: &str) -> Vec<u8> {
    let mut b = json!({"model": model, "max_tokens": 64,
        "messages": [{"role": "user", "content": "Count to thirty-two, please."}]});
    if stream {
        b["stream"] = json!(true);
    }
    b.to_string().into_bytes()
}

/// One response as read off the wire, with timings from the request's send.
struct Reply {
    status: u16,
    body: Vec<u8>,
    total: Duration,
    /// Arrival of each body chunk that carried content text (streams only).
    content_at: Vec<Duration>,
}

/// A keep-alive HTTP/1.1 connection with TCP_NODELAY.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            host: addr.to_string(),
        })
    }

    /// Write a request (one write) without reading the answer.
    fn write(&mut self, method: &str, path: &str, auth: &str, body: &[u8]) -> std::io::Result<()> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {auth}\r\ncontent-type: application/json\r\naccept: */*\r\ncontent-length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.reader.get_mut().write_all(&request)
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        auth: &str,
        body: &[u8],
        stream: bool,
    ) -> std::io::Result<Reply> {
        let start = Instant::now();
        self.write(method, path, auth, body)?;
        self.read(start, stream)
    }

    /// Read one response; with `stream`, note when content chunks arrive.
    fn read(&mut self, start: Instant, stream: bool) -> std::io::Result<Reply> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let r = &mut self.reader;
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let (mut chunked, mut length, mut close) = (false, None, false);
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(bad("headers cut"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "content-length" => length = value.parse::<usize>().ok(),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        let mut content_at = Vec::new();
        if chunked {
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    return Err(bad("body cut"));
                }
                let size =
                    usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| bad("chunk size"))?;
                if size == 0 {
                    line.clear();
                    r.read_line(&mut line)?; // the empty line after the last chunk
                    break;
                }
                let at = body.len();
                body.resize(at + size, 0);
                r.read_exact(&mut body[at..])?;
                let mut crlf = [0; 2];
                r.read_exact(&mut crlf)?;
                if stream && has_content(&body[at..]) {
                    content_at.push(start.elapsed());
                }
            }
        } else if let Some(len) = length {
            body.resize(len, 0);
            r.read_exact(&mut body)?;
            if stream && has_content(&body) {
                content_at.push(start.elapsed());
            }
        } else {
            r.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            // The next request needs a new connection.
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "server closed",
            ));
        }
        Ok(Reply {
            status,
            body,
            total: start.elapsed(),
            content_at,
        })
    }
}

/// Does an SSE chunk carry content text (`"content":"<something>"`, with or
/// without a space after the colon)? The role chunk's `"content":""` does not.
fn has_content(chunk: &[u8]) -> bool {
    let key = b"\"content\":";
    let mut i = 0;
    while let Some(pos) = find(&chunk[i..], key) {
        let mut j = i + pos + key.len();
        while chunk.get(j) == Some(&b' ') {
            j += 1;
        }
        if chunk.get(j) == Some(&b'"') && chunk.get(j + 1).is_some_and(|&c| c != b'"') {
            return true;
        }
        i = j;
    }
    false
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A request through `target` must answer 200 with the whole reply, both ways.
fn check_target(target: &Target) {
    let mut conn = Conn::open(&target.addr).unwrap_or_else(|e| panic!("{}: {e}", target.name));
    for stream in [false, true] {
        let reply = conn
            .send(
                "POST",
                &target.path,
                &target.auth,
                &body(stream, MODEL),
                stream,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", target.name));
        let text = String::from_utf8_lossy(&reply.body);
        assert_eq!(reply.status, 200, "{}: {text}", target.name);
        assert!(
            text.contains("thirty-two"),
            "{}: the reply is not the stand-in's: {text}",
            target.name
        );
        if stream {
            assert!(
                reply.content_at.len() >= 2,
                "{}: the stream did not arrive in chunks: {text}",
                target.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Added latency: interleaved direct and proxied requests
// ---------------------------------------------------------------------------

#[derive(Default, Clone)]
struct Samples {
    lat_us: Vec<f64>,
    ttft_us: Vec<f64>,
    gap_us: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

impl Samples {
    fn record(&mut self, result: std::io::Result<Reply>) {
        match result {
            Ok(r) if r.status == 200 => {
                self.lat_us.push(us(r.total));
                if let Some(first) = r.content_at.first() {
                    self.ttft_us.push(us(*first));
                }
                for w in r.content_at.windows(2) {
                    self.gap_us.push(us(w[1] - w[0]));
                }
            }
            Ok(r) => self.error(format!(
                "HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            Err(e) => self.error(e.to_string()),
        }
    }
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }
    fn merge(&mut self, other: Samples) {
        self.lat_us.extend(other.lat_us);
        self.ttft_us.extend(other.ttft_us);
        self.gap_us.extend(other.gap_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// One concurrency level: direct and proxied samples of the same requests.
struct Level {
    conc: usize,
    stream: bool,
    pairs: usize,
    wall: Duration,
    direct: Samples,
    proxied: Samples,
}

impl Level {
    fn added(&self, q: f64) -> f64 {
        pct(&self.proxied.lat_us, q) - pct(&self.direct.lat_us, q)
    }
    fn added_ttft(&self, q: f64) -> f64 {
        pct(&self.proxied.ttft_us, q) - pct(&self.direct.ttft_us, q)
    }
    fn added_gap(&self, q: f64) -> f64 {
        pct(&self.proxied.gap_us, q) - pct(&self.direct.gap_us, q)
    }
}

/// `pairs` pairs of the same request, one to each target, on `conc` client
/// threads; each thread keeps one keep-alive connection per target and
/// alternates which goes first. Bounded by `limit`.
fn run_pairs(
    a: &Target,
    b: &Target,
    conc: usize,
    pairs: usize,
    stream: bool,
    limit: Duration,
) -> Level {
    run_pairs_as(a, b, conc, pairs, [stream, stream], limit)
}

/// `run_pairs` with each target's request streamed or not on its own
/// (`streams[0]` for `a`, `streams[1]` for `b`).
fn run_pairs_as(
    a: &Target,
    b: &Target,
    conc: usize,
    pairs: usize,
    streams: [bool; 2],
    limit: Duration,
) -> Level {
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let started = Instant::now();
    let workers: Vec<_> = (0..conc)
        .map(|_| {
            let (a, b, next) = (a.clone(), b.clone(), next.clone());
            std::thread::spawn(move || {
                let targets = [&a, &b];
                let mut conns: [Option<Conn>; 2] = [None, None];
                let mut samples = [Samples::default(), Samples::default()];
                let payloads = streams.map(|stream| body(stream, MODEL));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= pairs || Instant::now() > deadline {
                        break;
                    }
                    let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
                    for k in order {
                        let t = targets[k];
                        if conns[k].is_none() {
                            match Conn::open(&t.addr) {
                                Ok(c) => conns[k] = Some(c),
                                Err(e) => {
                                    samples[k].error(format!("connect: {e}"));
                                    continue;
                                }
                            }
                        }
                        let result = conns[k].as_mut().unwrap().send(
                            "POST",
                            &t.path,
                            &t.auth,
                            &payloads[k],
                            streams[k],
                        );
                        if result.is_err() {
                            conns[k] = None; // reconnect next time
                        }
                        samples[k].record(result);
                    }
                }
                samples
            })
        })
        .collect();
    let (mut direct, mut proxied) = (Samples::default(), Samples::default());
    for w in workers {
        let [d, p] = w.join().unwrap();
        direct.merge(d);
        proxied.merge(p);
    }
    Level {
        conc,
        stream: streams[1],
        pairs: next.load(Ordering::Relaxed).min(pairs),
        wall: started.elapsed(),
        direct,
        proxied,
    }
}

fn bench_latency(direct: &Target, proxied: &Target) -> Vec<Level> {
    let limit = Duration::from_secs(if quick() { 20 } else { 45 });
    let mut levels = Vec::new();
    // Warm up both paths (connections, caches, the gateway's pool slots).
    run_pairs(direct, proxied, 8, count(400), false, limit);
    run_pairs(direct, proxied, 8, count(200), true, limit);
    let plan = [
        (1, false, count(2_000)),
        (16, false, count(5_000)),
        (64, false, count(5_000)),
        (1, true, count(1_000)),
        (16, true, count(2_000)),
        (64, true, count(2_000)),
    ];
    for (conc, stream, pairs) in plan {
        let level = run_pairs(direct, proxied, conc, pairs, stream, limit);
        print_level(proxied.name, &level);
        levels.push(level);
    }
    levels
}

fn print_level(name: &str, l: &Level) {
    let kind = if l.stream { "stream" } else { "non-stream" };
    eprintln!(
        "  c{:<2} {kind:<10} {} pairs in {:.1} s | direct p50 {} p99 {} | {name} p50 {} p99 {} | added p50 {} p99 {}{}",
        l.conc,
        l.pairs,
        l.wall.as_secs_f64(),
        fmt_ms(pct(&l.direct.lat_us, 0.5)),
        fmt_ms(pct(&l.direct.lat_us, 0.99)),
        fmt_ms(pct(&l.proxied.lat_us, 0.5)),
        fmt_ms(pct(&l.proxied.lat_us, 0.99)),
        fmt_ms(l.added(0.5)),
        fmt_ms(l.added(0.99)),
        errors_note(l),
    );
    if l.stream {
        eprintln!(
            "      TTFT direct p50 {} p99 {} | {name} p50 {} p99 {} | added p50 {} p99 {}; chunk gap direct p50 {} p99 {} | {name} p50 {} p99 {} | added p50 {} p99 {}",
            fmt_ms(pct(&l.direct.ttft_us, 0.5)),
            fmt_ms(pct(&l.direct.ttft_us, 0.99)),
            fmt_ms(pct(&l.proxied.ttft_us, 0.5)),
            fmt_ms(pct(&l.proxied.ttft_us, 0.99)),
            fmt_ms(l.added_ttft(0.5)),
            fmt_ms(l.added_ttft(0.99)),
            fmt_ms(pct(&l.direct.gap_us, 0.5)),
            fmt_ms(pct(&l.direct.gap_us, 0.99)),
            fmt_ms(pct(&l.proxied.gap_us, 0.5)),
            fmt_ms(pct(&l.proxied.gap_us, 0.99)),
            fmt_ms(l.added_gap(0.5)),
            fmt_ms(l.added_gap(0.99)),
        );
    }
}

fn errors_note(l: &Level) -> String {
    let mut s = String::new();
    for (name, samples) in [("direct", &l.direct), ("proxied", &l.proxied)] {
        if samples.errors > 0 {
            s.push_str(&format!(
                " | {} {name} errors, first: {}",
                samples.errors,
                samples
                    .first_error
                    .as_deref()
                    .unwrap_or("?")
                    .chars()
                    .take(200)
                    .collect::<String>()
            ));
        }
    }
    s
}

// ---------------------------------------------------------------------------
// 3b. Breakdown at concurrency 1
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct Breakdown {
    /// Medians in µs, each a streamed request for the same reply, drained.
    direct_keepalive_us: f64,
    direct_fresh_conn_us: f64,
    plugin_inprocess_us: f64,
    gateway_us: f64,
}

/// The same streamed request four ways, interleaved, one at a time: straight
/// to the stand-in on a keep-alive connection and on a fresh connection each
/// time (as the plugin's wasi:http does), the openai-completions plugin called
/// in-process through the claw library (fresh instance, wasi:http, SSE parsing
/// in wasm; no gateway), and through the gateway.
fn bench_breakdown(direct: &Target, through: &Target, upstream: &Upstream) -> Breakdown {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    let bundled = BUNDLED
        .iter()
        .find(|b| b.dir == "openai-completions")
        .unwrap();
    let manifest = Manifest::parse(bundled.manifest).unwrap();
    let settings = PluginSettings {
        grant: Arc::new(NetworkGrant::new(vec!["127.0.0.1".into()], [], None)),
        ..settings()
    };
    let plugin = rt
        .block_on(loader::load(&runtime, &manifest, bundled.wasm, settings))
        .unwrap()
        .plugin;
    let request = ChatRequest {
        endpoint: Endpoint {
            provider: "lmstudio".into(),
            api: "openai-completions".into(),
            base_url: format!("{}/v1", upstream.url()),
            headers: vec![],
            auth_header: false,
        },
        credential: RequestCredential::None,
        model: MODEL.into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![ContentPart::Text("Count to thirty-two, please.".into())],
        }],
        max_tokens: Some(64),
        temperature: None,
        streaming: true,
    };
    let chat = || {
        rt.block_on(async {
            let t = Instant::now();
            let mut stream = plugin.chat(&request).await.expect("plugin chat");
            let mut text = String::new();
            while let Some(events) = stream.next().await.expect("plugin next") {
                for e in events {
                    if let ChatEvent::Text(t) = e {
                        text.push_str(&t);
                    }
                }
            }
            assert!(text.ends_with("thirty-two"), "plugin reply: {text}");
            us(t.elapsed())
        })
    };
    let payload = body(true, MODEL);
    let mut keep = Conn::open(&direct.addr).unwrap();
    let mut gw = Conn::open(&through.addr).unwrap();
    let n = count(1_000);
    let mut v: [Vec<f64>; 4] = Default::default();
    for i in 0..n + 50 {
        let a = us(keep
            .send("POST", &direct.path, &direct.auth, &payload, true)
            .unwrap()
            .total);
        let b = {
            let mut fresh = Conn::open(&direct.addr).unwrap();
            us(fresh
                .send("POST", &direct.path, &direct.auth, &payload, true)
                .unwrap()
                .total)
        };
        let c = chat();
        let d = us(gw
            .send("POST", &through.path, &through.auth, &payload, true)
            .unwrap()
            .total);
        if i >= 50 {
            for (k, x) in [a, b, c, d].into_iter().enumerate() {
                v[k].push(x);
            }
        }
    }
    let r = Breakdown {
        direct_keepalive_us: median(&v[0]),
        direct_fresh_conn_us: median(&v[1]),
        plugin_inprocess_us: median(&v[2]),
        gateway_us: median(&v[3]),
    };
    eprintln!(
        "  streamed request, medians of {n}: direct keep-alive {}, direct fresh connection {}, plugin in-process {}, through the gateway {}",
        fmt_ms(r.direct_keepalive_us),
        fmt_ms(r.direct_fresh_conn_us),
        fmt_ms(r.plugin_inprocess_us),
        fmt_ms(r.gateway_us)
    );
    r
}

/// What any proxy adds on this machine, and what claw adds on top of the
/// upstream request it actually makes.
struct Floors {
    /// Direct vs a byte-forwarding TCP proxy, non-stream and stream, c1.
    forwarder: Level,
    forwarder_stream: Level,
    /// A direct *streamed* request vs claw answering a non-stream client (claw
    /// asks the upstream for a stream either way), c1.
    like_for_like: Level,
}

/// A TCP proxy that only copies bytes (tokio, one thread, TCP_NODELAY both
/// ways): the least any HTTP proxy can add here.
fn start_forwarder(to: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let to = to.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((mut client, _)) = listener.accept().await {
                let to = to.clone();
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(&to).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = upstream.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
    });
    addr
}

fn bench_floors(direct: &Target, through: &Target) -> Floors {
    let limit = Duration::from_secs(if quick() { 20 } else { 45 });
    let forwarder = Target {
        name: "forwarder",
        addr: start_forwarder(&direct.addr),
        ..direct.clone()
    };
    run_pairs(direct, &forwarder, 1, count(200), false, limit);
    let floors = Floors {
        forwarder: run_pairs(direct, &forwarder, 1, count(2_000), false, limit),
        forwarder_stream: run_pairs(direct, &forwarder, 1, count(1_000), true, limit),
        like_for_like: run_pairs_as(direct, through, 1, count(2_000), [true, false], limit),
    };
    print_level("byte-forwarding proxy", &floors.forwarder);
    print_level("byte-forwarding proxy", &floors.forwarder_stream);
    eprintln!(
        "  claw non-stream vs a direct streamed request: added p50 {} p99 {}",
        fmt_ms(floors.like_for_like.added(0.5)),
        fmt_ms(floors.like_for_like.added(0.99))
    );
    floors
}

/// This build and another `claw` binary measured in the same minutes, each
/// against its own interleaved direct requests, in alternating rounds.
struct Baseline {
    bin: String,
    /// Per build (0: this one, 1: the baseline): added c1 non-stream p50 and
    /// p99, added c1 TTFT p50 and p99 (µs), and the c64 throughput share (%).
    figures: [[Vec<f64>; 5]; 2],
}

fn bench_baseline(direct: &Target, this: &Target, bin: &Path, upstream: &Upstream) -> Baseline {
    let state = tempfile::tempdir().unwrap();
    write_claw_config(state.path(), upstream, &[]);
    drop(Gateway::start_bin(bin, state.path())); // the first start compiles
    let gw = Gateway::start_bin(bin, state.path());
    let base = Target::new(
        "baseline",
        &gw.url(),
        "/v1/chat/completions",
        &format!("Bearer {}", gw.token),
    );
    check_target(&base);
    let limit = Duration::from_secs(if quick() { 20 } else { 45 });
    let mut out = Baseline {
        bin: bin.display().to_string(),
        figures: Default::default(),
    };
    for t in [this, &base] {
        run_pairs(direct, t, 8, count(400), false, limit);
    }
    for round in 0..4 {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let t = [this, &base][k];
            let plain = run_pairs(direct, t, 1, count(500), false, limit);
            let streamed = run_pairs(direct, t, 1, count(250), true, limit);
            let (direct_rps, _) = run_one(direct, 64, count(2_000), limit);
            let (proxied_rps, _) = run_one(t, 64, count(2_000), limit);
            let f = &mut out.figures[k];
            f[0].push(plain.added(0.5));
            f[1].push(plain.added(0.99));
            f[2].push(streamed.added_ttft(0.5));
            f[3].push(streamed.added_ttft(0.99));
            f[4].push(100.0 * proxied_rps / direct_rps);
        }
    }
    for (k, name) in ["this build", "baseline"].iter().enumerate() {
        let f = &out.figures[k];
        eprintln!(
            "  {name}: added c1 non-stream p50 {} p99 {}; added TTFT p50 {} p99 {}; c64 throughput {:.1}% of direct (medians of 4 rounds)",
            fmt_ms(median(&f[0])),
            fmt_ms(median(&f[1])),
            fmt_ms(median(&f[2])),
            fmt_ms(median(&f[3])),
            median(&f[4])
        );
    }
    out
}

// ---------------------------------------------------------------------------
// 4. Throughput at concurrency 64
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Throughput {
    direct_rps: f64,
    proxied_rps: f64,
    errors: usize,
    /// CPU time per request (µs) while proxied: the proxy's processes, the
    /// stand-in's thread, and this process's other threads (the clients).
    proxy_cpu_us: f64,
    standin_cpu_us: f64,
    clients_cpu_us: f64,
    /// The same for direct requests (no proxy).
    direct_standin_cpu_us: f64,
    direct_clients_cpu_us: f64,
    /// Diagnostics: streamed requests straight to the stand-in, each on a fresh
    /// connection; and claw serving the echo model (no upstream at all).
    direct_fresh_stream_rps: f64,
    echo_rps: Option<f64>,
}

/// On-CPU time in µs of one task (thread), from its schedstat (nanoseconds,
/// exact; the utime/stime of /proc/<pid>/stat are tick samples, too coarse here).
fn task_cpu_us(task_dir: &Path) -> f64 {
    std::fs::read_to_string(task_dir.join("schedstat"))
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e3)
}

/// On-CPU µs of every live thread of `pid` and of its descendants.
fn tree_cpu_us(pid: u32) -> f64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default();
    let mut total: f64 = tasks.iter().map(|t| task_cpu_us(&t.path())).sum();
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
        total += tree_cpu_us(child);
    }
    total
}

/// The stand-in's thread in this process (named `upstream-<port>`).
fn standin_task(upstream: &Upstream) -> PathBuf {
    let name = format!(
        "upstream-{}",
        upstream.url().rsplit(':').next().unwrap_or("")
    );
    let tasks = std::fs::read_dir("/proc/self/task")
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default();
    tasks
        .into_iter()
        .map(|t| t.path())
        .find(|t| std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.trim() == name))
        .unwrap_or_default()
}

/// The calling thread's on-CPU µs.
fn own_thread_cpu_us() -> f64 {
    task_cpu_us(Path::new("/proc/thread-self"))
}

/// What `run_one` sends: the benchmark request, or a variant for the diagnostics.
#[derive(Clone, Copy)]
struct Shape {
    stream: bool,
    /// A new connection for every request (as the plugin's wasi:http does upstream).
    fresh: bool,
    model: &'static str,
}

const PLAIN: Shape = Shape {
    stream: false,
    fresh: false,
    model: MODEL,
};

fn run_one(target: &Target, conc: usize, n: usize, limit: Duration) -> (f64, usize) {
    run_shaped(target, conc, n, limit, PLAIN)
}

/// Requests/s, errors, and the client threads' CPU µs.
fn run_shaped(
    target: &Target,
    conc: usize,
    n: usize,
    limit: Duration,
    shape: Shape,
) -> (f64, usize) {
    let (rps, errors, _) = run_measured_clients(target, conc, n, limit, shape);
    (rps, errors)
}

fn run_measured_clients(
    target: &Target,
    conc: usize,
    n: usize,
    limit: Duration,
    shape: Shape,
) -> (f64, usize, f64) {
    let clients_cpu_ns = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let started = Instant::now();
    let workers: Vec<_> = (0..conc)
        .map(|_| {
            let (t, next, done, errors) =
                (target.clone(), next.clone(), done.clone(), errors.clone());
            let clients_cpu_ns = clients_cpu_ns.clone();
            std::thread::spawn(move || {
                let cpu0 = own_thread_cpu_us();
                let payload = body(shape.stream, shape.model);
                let mut conn: Option<Conn> = None;
                while next.fetch_add(1, Ordering::Relaxed) < n && Instant::now() < deadline {
                    if conn.is_none() || shape.fresh {
                        conn = Conn::open(&t.addr).ok();
                    }
                    let ok = match conn
                        .as_mut()
                        .map(|c| c.send("POST", &t.path, &t.auth, &payload, shape.stream))
                    {
                        Some(Ok(r)) => r.status == 200,
                        Some(Err(_)) => {
                            conn = None;
                            false
                        }
                        None => false,
                    };
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let used = (own_thread_cpu_us() - cpu0).max(0.0);
                clients_cpu_ns.fetch_add((used * 1e3) as u64, Ordering::Relaxed);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    (
        done.load(Ordering::Relaxed) as f64 / secs,
        errors.load(Ordering::Relaxed),
        clients_cpu_ns.load(Ordering::Relaxed) as f64 / 1e3,
    )
}

fn bench_throughput(
    direct: &Target,
    proxied: &Target,
    proxy_pid: u32,
    upstream: &Upstream,
) -> Throughput {
    let limit = Duration::from_secs(if quick() { 10 } else { 20 });
    let n = count(4_000);
    run_one(proxied, 64, count(500), limit); // warm up
    let standin = standin_task(upstream);
    // Two rounds, alternating, so drift in the machine's load hits both.
    let mut d = Vec::new();
    let mut p = Vec::new();
    let mut errors = 0;
    let (mut served_d, mut served_p) = (0.0, 0.0);
    let (mut cpu_p, mut cpu_s, mut cpu_b, mut cpu_ds, mut cpu_db) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for _ in 0..2 {
        let t = Instant::now();
        let s0 = task_cpu_us(&standin);
        let (rps, e, b) = run_measured_clients(direct, 64, n, limit, PLAIN);
        served_d += rps * t.elapsed().as_secs_f64();
        (cpu_ds, cpu_db) = (cpu_ds + task_cpu_us(&standin) - s0, cpu_db + b);
        d.push(rps);
        errors += e;
        let t = Instant::now();
        let (s0, p0) = (task_cpu_us(&standin), tree_cpu_us(proxy_pid));
        let (rps, e, b) = run_measured_clients(proxied, 64, n, limit, PLAIN);
        served_p += rps * t.elapsed().as_secs_f64();
        cpu_p += tree_cpu_us(proxy_pid) - p0;
        cpu_s += task_cpu_us(&standin) - s0;
        cpu_b += b;
        p.push(rps);
        errors += e;
    }
    let mut t = Throughput {
        direct_fresh_stream_rps: 0.0,
        echo_rps: None,
        direct_rps: d.iter().sum::<f64>() / d.len() as f64,
        proxied_rps: p.iter().sum::<f64>() / p.len() as f64,
        errors,
        proxy_cpu_us: cpu_p / served_p.max(1.0),
        standin_cpu_us: cpu_s / served_p.max(1.0),
        clients_cpu_us: cpu_b / served_p.max(1.0),
        direct_standin_cpu_us: cpu_ds / served_d.max(1.0),
        direct_clients_cpu_us: cpu_db / served_d.max(1.0),
    };
    eprintln!(
        "  CPU per request: {} {:.0} µs, stand-in {:.0} µs, clients {:.0} µs (direct: stand-in {:.0} µs, clients {:.0} µs)",
        proxied.name,
        t.proxy_cpu_us,
        t.standin_cpu_us,
        t.clients_cpu_us,
        t.direct_standin_cpu_us,
        t.direct_clients_cpu_us
    );
    // Diagnostics: what the proxy asks of the stand-in (a stream on a fresh
    // connection per request), and the proxy without an upstream (echo).
    let fresh_stream = Shape {
        stream: true,
        fresh: true,
        model: MODEL,
    };
    let (rps, _) = run_shaped(direct, 64, n, limit, fresh_stream);
    t.direct_fresh_stream_rps = rps;
    if proxied.name == "claw" {
        let echo = Shape {
            stream: false,
            fresh: false,
            model: "echo/echo-1",
        };
        let (rps, _) = run_shaped(proxied, 64, n, limit, echo);
        t.echo_rps = Some(rps);
    }
    eprintln!(
        "  diagnostics at c64: direct streamed requests on a fresh connection each {:.0} req/s{}",
        t.direct_fresh_stream_rps,
        t.echo_rps
            .map(|r| format!("; claw with the echo model (no upstream) {r:.0} req/s"))
            .unwrap_or_default()
    );
    eprintln!(
        "  c64 non-stream: direct {:.0} req/s ({:.0}, {:.0}), {} {:.0} req/s ({:.0}, {:.0}): {:.0}% of direct; {} errors",
        t.direct_rps,
        d[0],
        d[1],
        proxied.name,
        t.proxied_rps,
        p[0],
        p[1],
        100.0 * t.proxied_rps / t.direct_rps,
        t.errors
    );
    t
}

// ---------------------------------------------------------------------------
// 5. Reload under steady load
// ---------------------------------------------------------------------------

#[derive(Default)]
struct ReloadPhase {
    plugins: u64,
    took_ms: Vec<f64>,
    wall_ms: Vec<f64>,
    requests: usize,
    failed: usize,
    first_failure: Option<String>,
}

#[derive(Default)]
struct ReloadFigures {
    phases: Vec<ReloadPhase>,
}

/// A steady client loop through the gateway: `clients` keep-alive clients,
/// alternating echo and the stand-in model, each reply checked.
struct SteadyLoad {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    first_failure: Arc<Mutex<Option<String>>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl SteadyLoad {
    fn start(target: &Target, clients: usize, limit: Duration) -> SteadyLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let first_failure = Arc::new(Mutex::new(None));
        let deadline = Instant::now() + limit;
        let workers = (0..clients)
            .map(|i| {
                let (t, stop, ok, failed, first) = (
                    target.clone(),
                    stop.clone(),
                    ok.clone(),
                    failed.clone(),
                    first_failure.clone(),
                );
                std::thread::spawn(move || {
                    let mut conn: Option<Conn> = None;
                    let mut n = i;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        n += 1;
                        let (model, expect) = if n % 2 == 0 {
                            ("echo/echo-1", "Count")
                        } else {
                            (MODEL, "thirty-two")
                        };
                        if conn.is_none() {
                            conn = Conn::open(&t.addr).ok();
                        }
                        let result = match conn.as_mut() {
                            Some(c) => c.send("POST", &t.path, &t.auth, &body(false, model), false),
                            None => Err(std::io::Error::other("cannot connect")),
                        };
                        let failure = match result {
                            Ok(r)
                                if r.status == 200
                                    && find(&r.body, expect.as_bytes()).is_some() =>
                            {
                                None
                            }
                            Ok(r) => Some(format!(
                                "HTTP {} {}",
                                r.status,
                                String::from_utf8_lossy(&r.body)
                            )),
                            Err(e) => {
                                conn = None;
                                Some(e.to_string())
                            }
                        };
                        match failure {
                            None => ok.fetch_add(1, Ordering::Relaxed),
                            Some(f) => {
                                first.lock().unwrap().get_or_insert(f);
                                failed.fetch_add(1, Ordering::Relaxed)
                            }
                        };
                    }
                })
            })
            .collect();
        SteadyLoad {
            stop,
            ok,
            failed,
            first_failure,
            workers,
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            let _ = w.join();
        }
    }
}

fn restart(state: &Path) -> (f64, Value) {
    let t = Instant::now();
    let out = Command::new(CLAW)
        .args(["gateway", "restart", "--json"])
        .env("CLAW_STATE_DIR", state)
        .env_remove("CLAW_LOG")
        .env_remove("CLAW_GATEWAY_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run claw gateway restart");
    let wall = ms(t.elapsed());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "claw gateway restart printed no JSON:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (wall, summary)
}

fn bench_reload(upstream: &Upstream) -> ReloadFigures {
    let state = tempfile::tempdir().unwrap();
    // The three provider plugins (echo, openai-completions, anthropic-messages):
    // the auth plugin is denied.
    write_claw_config(state.path(), upstream, &["minimax-portal-auth"]);
    let gw = Gateway::start(state.path());
    let target = Target::new(
        "claw",
        &gw.url(),
        "/v1/chat/completions",
        &format!("Bearer {}", gw.token),
    );
    let load = SteadyLoad::start(&target, 4, Duration::from_secs(120));
    let reps = if quick() { 3 } else { 9 };
    let mut figures = ReloadFigures::default();
    for plugins in [3u64, 10] {
        if plugins == 10 {
            // Seven more copies of echo, installed: echo-2 ... echo-8.
            let echo = BUNDLED.iter().find(|b| b.dir == "echo").unwrap();
            for i in 2..=8 {
                let dir = state.path().join("plugins").join(format!("echo-{i}"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(
                    dir.join("claw-plugin.toml"),
                    echo_manifest_as(&format!("echo-{i}")),
                )
                .unwrap();
                std::fs::write(dir.join("echo.wasm"), echo.wasm).unwrap();
            }
        }
        // One restart to pick the set up (and fill the cache), then warm ones.
        let (_, first) = restart(state.path());
        assert_eq!(first["loaded"], plugins, "{first:#}");
        std::thread::sleep(Duration::from_millis(300));
        let (ok0, failed0) = load.counts();
        let mut phase = ReloadPhase {
            plugins,
            ..Default::default()
        };
        for _ in 0..reps {
            let (wall, summary) = restart(state.path());
            assert_eq!(summary["ok"], true, "{summary:#}");
            assert_eq!(summary["loaded"], plugins, "{summary:#}");
            phase.wall_ms.push(wall);
            phase
                .took_ms
                .push(summary["tookMs"].as_f64().unwrap_or(f64::NAN));
            std::thread::sleep(Duration::from_millis(150));
        }
        let (ok1, failed1) = load.counts();
        phase.requests = (ok1 - ok0) + (failed1 - failed0);
        phase.failed = failed1 - failed0;
        phase.first_failure = load.first_failure.lock().unwrap().clone();
        eprintln!(
            "  {plugins} plugins: reload tookMs median {:.1} (min {:.1}, max {:.1}); `claw gateway restart` wall median {:.1} ms; \
             {} requests during the {} reloads, {} failed{}",
            median(&phase.took_ms),
            phase.took_ms.iter().cloned().fold(f64::INFINITY, f64::min),
            phase.took_ms.iter().cloned().fold(0.0, f64::max),
            median(&phase.wall_ms),
            phase.requests,
            reps,
            phase.failed,
            phase
                .first_failure
                .as_deref()
                .map(|f| format!(" (first: {f})"))
                .unwrap_or_default()
        );
        figures.phases.push(phase);
    }
    load.stop();
    figures
}

// ---------------------------------------------------------------------------
// 6. Memory with 100 streams in flight
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct StreamsMemory {
    before_kb: u64,
    held_kb: u64,
    after_kb: u64,
    held: usize,
}

/// Open 100 streams to the hold model through `target` and read `pid`'s RSS
/// (with its children, for a peer that forks) while the stand-in holds them.
fn bench_streams_memory(
    target: &Target,
    pid: u32,
    upstream: &Upstream,
    gw: Option<&Gateway>,
) -> StreamsMemory {
    const STREAMS: usize = 100;
    let before_count = upstream.count(HOLD_MODEL);
    let before_kb = tree_rss_kb(pid);
    let payload = body(true, HOLD_MODEL);
    let mut conns = Vec::new();
    for _ in 0..STREAMS {
        let mut c = Conn::open(&target.addr).expect("connect");
        c.write("POST", &target.path, &target.auth, &payload)
            .expect("send");
        conns.push(c);
    }
    let deadline = Instant::now() + Duration::from_secs(HOLD_MS / 1000 - 2);
    while upstream.count(HOLD_MODEL) - before_count < STREAMS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let held = upstream.count(HOLD_MODEL) - before_count;
    std::thread::sleep(Duration::from_millis(500));
    let held_kb = tree_rss_kb(pid);
    // The status request itself is in flight too.
    let in_flight = gw.map(|g| {
        g.status()["inFlight"]
            .as_u64()
            .unwrap_or(1)
            .saturating_sub(1)
    });
    // Let them end (the stand-in ends each hold without content) and read the answers.
    let readers: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            std::thread::spawn(move || c.read(Instant::now(), true).map(|r| r.status).ok())
        })
        .collect();
    for r in readers {
        let _ = r.join();
    }
    std::thread::sleep(Duration::from_millis(1000));
    let after_kb = tree_rss_kb(pid);
    eprintln!(
        "  {held} streams held at the stand-in{}: RSS before {}, while held {} (+{}), after {}",
        in_flight
            .map(|n| format!(" ({n} in flight at the gateway)"))
            .unwrap_or_default(),
        mb(before_kb),
        mb(held_kb),
        mb(held_kb.saturating_sub(before_kb)),
        mb(after_kb)
    );
    StreamsMemory {
        before_kb,
        held_kb,
        after_kb,
        held,
    }
}

fn rss_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// VmRSS of `pid` and all its descendants.
fn tree_rss_kb(pid: u32) -> u64 {
    let mut total = rss_kb(pid, "VmRSS");
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
        total += tree_rss_kb(child);
    }
    total
}

// ---------------------------------------------------------------------------
// 7. The peer: LiteLLM's proxy
// ---------------------------------------------------------------------------

fn find_litellm() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CLAW_BENCH_LITELLM") {
        return Ok(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap();
    let venv = root.join("target/litellm-venv/bin/litellm");
    if venv.is_file() {
        return Ok(venv);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("litellm"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    on_path.ok_or_else(|| {
        "LiteLLM is not installed (no target/litellm-venv/bin/litellm, no litellm on PATH, no CLAW_BENCH_LITELLM); \
         install it with: python3 -m venv target/litellm-venv && target/litellm-venv/bin/pip install 'litellm[proxy]'"
            .to_string()
    })
}

struct Peer {
    proc: Proc,
    port: u16,
    version: String,
    _dir: tempfile::TempDir,
}

impl Peer {
    fn start(litellm: &Path, upstream: &Upstream) -> Result<Peer, String> {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str| {
            format!(
                "  - model_name: {name}\n    litellm_params:\n      model: openai/{name}\n      api_base: {}/v1\n      api_key: sk-bench\n",
                upstream.url()
            )
        };
        // A master key, as claw has its token (LiteLLM refuses to start without one).
        let config = format!(
            "model_list:\n{}{}litellm_settings:\n  telemetry: false\n  drop_params: true\ngeneral_settings:\n  master_key: {PEER_KEY}\n",
            entry(MODEL),
            entry(HOLD_MODEL)
        );
        let config_path = dir.path().join("litellm.yaml");
        std::fs::write(&config_path, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())?;
        let python = litellm.with_file_name("python");
        let version = Command::new(&python)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "?".into());
        let log = std::fs::File::create(dir.path().join("litellm.log")).unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new(litellm)
            .arg("--config")
            .arg(&config_path)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--num_workers",
                "1",
            ])
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_TELEMETRY", "False")
            .env("LITELLM_LOG", "ERROR")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", litellm.display()))?;
        let mut proc = Proc { child, group: true };
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(mut c) = Conn::open(&format!("127.0.0.1:{port}"))
                && let Ok(r) = c.send(
                    "GET",
                    "/health/liveliness",
                    &format!("Bearer {PEER_KEY}"),
                    b"",
                    false,
                )
                && r.status == 200
            {
                break;
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                let log =
                    std::fs::read_to_string(dir.path().join("litellm.log")).unwrap_or_default();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(format!("litellm exited ({status}):\n{tail}"));
            }
            if Instant::now() > deadline {
                return Err("litellm did not answer /health/liveliness within 180 s".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "  LiteLLM {version} listening on 127.0.0.1:{port} (pid {})",
            proc.pid()
        );
        Ok(Peer {
            proc,
            port,
            version,
            _dir: dir,
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Report {
    load: LoadFigures,
    call: CallFigures,
    claw_latency: Vec<Level>,
    claw_throughput: Option<Throughput>,
    breakdown: Option<Breakdown>,
    floors: Option<Floors>,
    baseline: Option<Baseline>,
    claw_idle_rss_kb: u64,
    claw_idle_first_kb: u64,
    claw_idle_after_kb: u64,
    claw_hwm_kb: u64,
    claw_streams: Option<StreamsMemory>,
    reload: ReloadFigures,
    peer_latency: Vec<Level>,
    peer_throughput: Option<Throughput>,
    peer_idle_rss_kb: Option<u64>,
    peer_streams: Option<StreamsMemory>,
    peer_version: String,
    peer_skipped: Option<String>,
    total: Duration,
}

struct Row {
    figure: String,
    target: String,
    claw: String,
    pass: Option<bool>,
    peer: String,
}

impl Report {
    fn level<'a>(levels: &'a [Level], conc: usize, stream: bool) -> Option<&'a Level> {
        levels.iter().find(|l| l.conc == conc && l.stream == stream)
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut row =
            |figure: String, target: &str, claw: String, pass: Option<bool>, peer: String| {
                rows.push(Row {
                    figure,
                    target: target.into(),
                    claw,
                    pass,
                    peer,
                })
            };
        let na = || "—".to_string();
        let peer_na = || {
            if self.peer_skipped.is_some() {
                "skipped".to_string()
            } else {
                "—".to_string()
            }
        };

        // 1. Load
        for (dir, cold, warm) in &self.load.per_plugin {
            row(
                format!("load {dir}: cold (compile) / warm (cached)"),
                "warm ≤ 5 ms",
                format!("{cold:.1} ms / {warm:.2} ms"),
                Some(*warm <= 5.0),
                na(),
            );
        }
        if !self.load.per_plugin.is_empty() {
            row(
                "load 10 copies of echo: no cache / fresh cache / warm (all ten)".into(),
                "—",
                format!(
                    "{:.1} / {:.1} / {:.2} ms",
                    self.load.ten_nocache_ms, self.load.ten_cold_ms, self.load.ten_warm_ms
                ),
                None,
                na(),
            );
            let list = median(&self.load.list_warm_ms);
            row(
                "`claw plugins list` wall, warm (median)".into(),
                "≤ 50 ms",
                format!(
                    "{list:.1} ms (p90 {:.1}; cold {:.0} ms)",
                    pct(&self.load.list_warm_ms, 0.9),
                    self.load.list_cold_ms
                ),
                Some(list <= 50.0),
                na(),
            );
            row(
                "`claw plugins list` peak RSS, warm / cold".into(),
                "—",
                format!(
                    "{} / {}",
                    mb(self.load.list_warm_rss_kb),
                    mb(self.load.list_cold_rss_kb)
                ),
                None,
                na(),
            );
        }

        // 2. Call
        if self.call.describe_us > 0.0 {
            row(
                "fresh instance + trivial export call (echo describe)".into(),
                "≤ 20 µs",
                format!("{:.2} µs", self.call.describe_us),
                Some(self.call.describe_us <= 20.0),
                na(),
            );
            row(
                "same result built in plain Rust (floor)".into(),
                "—",
                format!("{:.3} µs", self.call.floor_us),
                None,
                na(),
            );
            row(
                "whole echo chat on a fresh instance (context)".into(),
                "—",
                format!("{:.1} µs", self.call.chat_us),
                None,
                na(),
            );
        }

        // 3. Latency
        let peer_level = |conc, stream| Self::level(&self.peer_latency, conc, stream);
        for conc in [1, 16, 64] {
            if let Some(l) = Self::level(&self.claw_latency, conc, false) {
                let target = if conc == 1 { "p99 ≤ 0.3 ms" } else { "—" };
                let pass = (conc == 1).then(|| l.added(0.99) <= 300.0);
                row(
                    format!("added latency, non-stream, c{conc}: p50 / p99"),
                    target,
                    format!(
                        "{} / {}{}",
                        fmt_ms(l.added(0.5)),
                        fmt_ms(l.added(0.99)),
                        err_suffix(l)
                    ),
                    pass,
                    peer_level(conc, false).map_or_else(peer_na, |p| {
                        format!(
                            "{} / {}{}",
                            fmt_ms(p.added(0.5)),
                            fmt_ms(p.added(0.99)),
                            err_suffix(p)
                        )
                    }),
                );
                row(
                    format!("  direct latency, non-stream, c{conc}: p50 / p99 (claw run)"),
                    "—",
                    format!(
                        "{} / {}",
                        fmt_ms(pct(&l.direct.lat_us, 0.5)),
                        fmt_ms(pct(&l.direct.lat_us, 0.99))
                    ),
                    None,
                    peer_level(conc, false).map_or_else(peer_na, |p| {
                        format!(
                            "{} / {}",
                            fmt_ms(pct(&p.direct.lat_us, 0.5)),
                            fmt_ms(pct(&p.direct.lat_us, 0.99))
                        )
                    }),
                );
            }
        }
        for conc in [1, 16, 64] {
            if let Some(l) = Self::level(&self.claw_latency, conc, true) {
                let target = if conc == 1 { "p50 ≤ 0.5 ms" } else { "—" };
                let pass = (conc == 1).then(|| l.added_ttft(0.5) <= 500.0);
                row(
                    format!("added TTFT, stream, c{conc}: p50 / p99"),
                    target,
                    format!(
                        "{} / {}{}",
                        fmt_ms(l.added_ttft(0.5)),
                        fmt_ms(l.added_ttft(0.99)),
                        err_suffix(l)
                    ),
                    pass,
                    peer_level(conc, true).map_or_else(peer_na, |p| {
                        format!(
                            "{} / {}{}",
                            fmt_ms(p.added_ttft(0.5)),
                            fmt_ms(p.added_ttft(0.99)),
                            err_suffix(p)
                        )
                    }),
                );
                row(
                    format!("added gap between chunks, stream, c{conc}: p50 / p99"),
                    "—",
                    format!(
                        "{} / {}",
                        fmt_ms(l.added_gap(0.5)),
                        fmt_ms(l.added_gap(0.99))
                    ),
                    None,
                    peer_level(conc, true).map_or_else(peer_na, |p| {
                        format!(
                            "{} / {}",
                            fmt_ms(p.added_gap(0.5)),
                            fmt_ms(p.added_gap(0.99))
                        )
                    }),
                );
            }
        }

        if let Some(f) = &self.floors {
            let added = |l: &Level| format!("{} / {}", fmt_ms(l.added(0.5)), fmt_ms(l.added(0.99)));
            row(
                "floor: a byte-forwarding TCP proxy, added latency, non-stream, c1: p50 / p99"
                    .into(),
                "—",
                added(&f.forwarder),
                None,
                na(),
            );
            row(
                "floor: a byte-forwarding TCP proxy, added TTFT, stream, c1: p50 / p99".into(),
                "—",
                format!(
                    "{} / {}",
                    fmt_ms(f.forwarder_stream.added_ttft(0.5)),
                    fmt_ms(f.forwarder_stream.added_ttft(0.99))
                ),
                None,
                na(),
            );
            row("added latency, non-stream client, c1, against a direct streamed request (what claw asks upstream for): p50 / p99".into(), "—",
                added(&f.like_for_like), None, na());
        }
        if let Some(b) = &self.baseline {
            let f = |k: usize, i: usize| median(&b.figures[k][i]);
            row(
                format!(
                    "before → after (baseline build `{}`, same run, medians of 4 interleaved rounds): added c1 non-stream p50 / p99",
                    b.bin
                ),
                "—",
                format!(
                    "{} / {} → {} / {}",
                    fmt_ms(f(1, 0)),
                    fmt_ms(f(1, 1)),
                    fmt_ms(f(0, 0)),
                    fmt_ms(f(0, 1))
                ),
                None,
                na(),
            );
            row(
                "before → after: added TTFT c1 p50 / p99".into(),
                "—",
                format!(
                    "{} / {} → {} / {}",
                    fmt_ms(f(1, 2)),
                    fmt_ms(f(1, 3)),
                    fmt_ms(f(0, 2)),
                    fmt_ms(f(0, 3))
                ),
                None,
                na(),
            );
            row(
                "before → after: throughput at c64, share of direct".into(),
                "—",
                format!("{:.1}% → {:.1}%", f(1, 4), f(0, 4)),
                None,
                na(),
            );
        }
        if let Some(b) = self.breakdown {
            row("c1 stream, medians: direct keep-alive / direct fresh connection / plugin in-process / through the gateway".into(), "—",
                format!("{} / {} / {} / {}", fmt_ms(b.direct_keepalive_us), fmt_ms(b.direct_fresh_conn_us), fmt_ms(b.plugin_inprocess_us), fmt_ms(b.gateway_us)),
                None, na());
        }

        // 4. Throughput
        if let Some(t) = self.claw_throughput {
            let share = t.proxied_rps / t.direct_rps;
            row(
                "throughput at c64, non-stream, share of direct".into(),
                "≥ 60%",
                format!(
                    "{:.1}% ({:.0} of {:.0} req/s)",
                    100.0 * share,
                    t.proxied_rps,
                    t.direct_rps
                ),
                Some(share >= 0.6),
                self.peer_throughput.map_or_else(peer_na, |p| {
                    format!(
                        "{:.1}% ({:.0} of {:.0} req/s)",
                        100.0 * p.proxied_rps / p.direct_rps,
                        p.proxied_rps,
                        p.direct_rps
                    )
                }),
            );
            let cpu = |t: &Throughput| {
                format!(
                    "{:.0} µs; stand-in {:.0} µs (direct {:.0}); clients {:.0} µs (direct {:.0})",
                    t.proxy_cpu_us,
                    t.standin_cpu_us,
                    t.direct_standin_cpu_us,
                    t.clients_cpu_us,
                    t.direct_clients_cpu_us
                )
            };
            row(
                "CPU per request at c64: proxy; stand-in; benchmark clients".into(),
                "—",
                cpu(&t),
                None,
                self.peer_throughput.as_ref().map_or_else(peer_na, cpu),
            );
            row("c64 diagnostics: direct streams on fresh connections / claw serving echo (no upstream)".into(), "—",
                format!("{:.0} / {} req/s", t.direct_fresh_stream_rps, t.echo_rps.map_or("—".into(), |r| format!("{r:.0}"))), None, na());
        }

        // 5. Reload
        for phase in &self.reload.phases {
            let took = median(&phase.took_ms);
            let (target, pass) = if phase.plugins == 10 {
                (
                    "≤ 100 ms, 0 failed",
                    Some(took <= 100.0 && phase.failed == 0),
                )
            } else {
                ("—", None)
            };
            row(
                format!(
                    "reload, {} warm plugins: tookMs median; CLI wall; failed/requests",
                    phase.plugins
                ),
                target,
                format!(
                    "{took:.1} ms; {:.0} ms; {}/{}",
                    median(&phase.wall_ms),
                    phase.failed,
                    phase.requests
                ),
                pass,
                na(),
            );
        }

        // 6. Memory
        if self.claw_idle_rss_kb > 0 {
            row("gateway RSS idle, bundled plugins: warm start (first start, compiling; idle after the load figures)".into(), "≤ 40 MB",
                format!("{} ({}; {})", mb(self.claw_idle_rss_kb), mb(self.claw_idle_first_kb), mb(self.claw_idle_after_kb)),
                Some(self.claw_idle_rss_kb as f64 / 1024.0 <= 40.0),
                self.peer_idle_rss_kb.map_or_else(peer_na, mb));
        }
        if let Some(s) = self.claw_streams {
            row(
                format!("RSS added per 100 in-flight streams ({} held)", s.held),
                "—",
                format!(
                    "+{} (RSS {} held, {} after they end)",
                    mb(s.held_kb.saturating_sub(s.before_kb)),
                    mb(s.held_kb),
                    mb(s.after_kb)
                ),
                None,
                self.peer_streams.map_or_else(peer_na, |p| {
                    format!(
                        "+{} ({} held)",
                        mb(p.held_kb.saturating_sub(p.before_kb)),
                        p.held
                    )
                }),
            );
        }
        if self.claw_hwm_kb > 0 {
            row(
                "gateway peak RSS over the run (VmHWM)".into(),
                "—",
                mb(self.claw_hwm_kb),
                None,
                na(),
            );
        }
        rows
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let peer = match &self.peer_skipped {
            Some(_) => "LiteLLM proxy".to_string(),
            None => format!("LiteLLM {} proxy", self.peer_version),
        };
        out.push_str(&format!(
            "| Figure | Target | claw | Pass | {peer} |\n|---|---|---|---|---|\n"
        ));
        for r in self.rows() {
            let pass = match r.pass {
                Some(true) => "pass",
                Some(false) => "**MISS**",
                None => "",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.figure, r.target, r.claw, pass, r.peer
            ));
        }
        if let Some(why) = &self.peer_skipped {
            out.push_str(&format!("\nPeer skipped: {why}\n"));
        }
        out.push_str(&format!(
            "\nRun: {}; {} cores; load average at the end {}; total {:.0} s{}.\n",
            std::process::Command::new("date")
                .arg("-u")
                .arg("+%Y-%m-%d %H:%M UTC")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split(' ')
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            self.total.as_secs_f64(),
            if quick() { "; QUICK mode" } else { "" },
        ));
        out
    }
}

fn err_suffix(l: &Level) -> String {
    let e = l.direct.errors + l.proxied.errors;
    if e > 0 {
        format!(" ({e} errors)")
    } else {
        String::new()
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The `q` quantile (nearest rank) of unsorted samples; NaN when there are none.
fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

fn median(v: &[f64]) -> f64 {
    pct(v, 0.5)
}

/// Microseconds as milliseconds, e.g. "0.214 ms".
fn fmt_ms(us: f64) -> String {
    if us.is_nan() {
        "n/a".into()
    } else {
        format!("{:.3} ms", us / 1000.0)
    }
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}
