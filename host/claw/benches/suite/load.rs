//! Section 1, plugin load (in-process, through the claw library): cold
//! (compile) and warm (cached artifact) per bundled plugin and for 10 copies
//! of echo; `claw plugins list` wall time and peak RSS.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use claw_plugin_host::bundled::BUNDLED;
use claw_plugin_host::loader;
use claw_plugin_host::manifest::Manifest;
use claw_plugin_host::{Limits, Runtime};

use crate::count;
use crate::report::{Table, na};
use crate::setup::{CLAW, bundled, claw_command, echo_manifest_as, settings, tokio_rt};
use crate::stats::{mb, median, ms, pct};

#[derive(Default)]
pub struct LoadFigures {
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

pub fn bench() -> LoadFigures {
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
    let echo = bundled("echo");
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
    let (t, rss) = run_measured(&["plugins", "list"], state.path());
    figures.list_cold_ms = t;
    figures.list_cold_rss_kb = rss;
    for _ in 0..count(20) {
        let (t, rss) = run_measured(&["plugins", "list"], state.path());
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
    figures
}

/// Run `claw args` in `state`; wall ms and the child's peak RSS (ru_maxrss, KiB).
fn run_measured(args: &[&str], state: &Path) -> (f64, u64) {
    let t = Instant::now();
    let child = claw_command(Path::new(CLAW), args, state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
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

impl LoadFigures {
    pub fn rows(&self, t: &mut Table) {
        for (dir, cold, warm) in &self.per_plugin {
            t.row(
                format!("load {dir}: cold (compile) / warm (cached)"),
                "warm ≤ 5 ms",
                format!("{cold:.1} ms / {warm:.2} ms"),
                Some(*warm <= 5.0),
                na(),
            );
        }
        if self.per_plugin.is_empty() {
            return;
        }
        t.row(
            "load 10 copies of echo: no cache / fresh cache / warm (all ten)",
            "—",
            format!(
                "{:.1} / {:.1} / {:.2} ms",
                self.ten_nocache_ms, self.ten_cold_ms, self.ten_warm_ms
            ),
            None,
            na(),
        );
        let list = median(&self.list_warm_ms);
        t.row(
            "`claw plugins list` wall, warm (median)",
            "≤ 50 ms",
            format!(
                "{list:.1} ms (p90 {:.1}; cold {:.0} ms)",
                pct(&self.list_warm_ms, 0.9),
                self.list_cold_ms
            ),
            Some(list <= 50.0),
            na(),
        );
        t.row(
            "`claw plugins list` peak RSS, warm / cold",
            "—",
            format!(
                "{} / {}",
                mb(self.list_warm_rss_kb),
                mb(self.list_cold_rss_kb)
            ),
            None,
            na(),
        );
    }
}
