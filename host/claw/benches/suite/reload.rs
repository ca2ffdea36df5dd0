//! Section 5, reload under load: `claw gateway restart` with 3 and then 10
//! plugins while four clients keep sending requests, each answer checked.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Conn, Target, body, find};
use crate::quick;
use crate::report::{Table, na};
use crate::setup::{CLAW, Gateway, MODEL, bundled, claw_command, echo_manifest_as, state_dir};
use crate::stats::{median, ms};
use crate::upstream::Upstream;

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
pub struct ReloadFigures {
    phases: Vec<ReloadPhase>,
}

/// A steady client loop through the gateway: `clients` keep-alive clients,
/// alternating echo and the stand-in model, each reply checked.
struct SteadyLoad {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    first_failure: Arc<Mutex<Option<String>>>,
    workers: Vec<JoinHandle<()>>,
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
                            Some(c) => c.post(&t, &body(false, model), false),
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
    let out = claw_command(Path::new(CLAW), &["gateway", "restart", "--json"], state)
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

pub fn bench(upstream: &Upstream) -> ReloadFigures {
    // The three provider plugins (echo, openai-completions, anthropic-messages):
    // the auth plugin is denied.
    let state = state_dir(upstream, &["minimax-portal-auth", "openai-responses"]);
    let gw = Gateway::start(state.path());
    let target = gw.target("claw");
    let load = SteadyLoad::start(&target, 4, Duration::from_secs(120));
    let reps = if quick() { 3 } else { 9 };
    let mut figures = ReloadFigures::default();
    for plugins in [3u64, 10] {
        if plugins == 10 {
            // Seven more copies of echo, installed: echo-2 ... echo-8.
            let echo = bundled("echo");
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

impl ReloadFigures {
    pub fn rows(&self, t: &mut Table) {
        for phase in &self.phases {
            let took = median(&phase.took_ms);
            let (target, pass) = if phase.plugins == 10 {
                (
                    "≤ 100 ms, 0 failed",
                    Some(took <= 100.0 && phase.failed == 0),
                )
            } else {
                ("—", None)
            };
            t.row(
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
    }
}
