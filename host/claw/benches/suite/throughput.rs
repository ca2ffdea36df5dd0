//! Section 4, throughput at concurrency 64 as a share of direct, and the CPU
//! time per request of the proxy, the stand-in and the benchmark clients;
//! diagnostics: direct streams on fresh connections, claw serving echo.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::http::{Conn, Target, body};
use crate::procfs::{own_thread_cpu_us, standin_task, task_cpu_us, tree_cpu_us};
use crate::report::{Table, na};
use crate::setup::MODEL;
use crate::upstream::Upstream;
use crate::{count, quick};

#[derive(Clone, Copy)]
pub struct Throughput {
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

/// What `run_clients` sends: the benchmark request, or a variant for the diagnostics.
#[derive(Clone, Copy)]
pub struct Shape {
    stream: bool,
    /// A new connection for every request (as the plugin's wasi:http does upstream).
    fresh: bool,
    model: &'static str,
}

pub const PLAIN: Shape = Shape {
    stream: false,
    fresh: false,
    model: MODEL,
};

/// Requests/s of `conc` clients sending `n` requests shaped `shape` to `target`.
pub fn rps(target: &Target, conc: usize, n: usize, limit: Duration, shape: Shape) -> f64 {
    run_clients(target, conc, n, limit, shape).0
}

/// Requests/s, errors, and the client threads' CPU µs.
fn run_clients(
    target: &Target,
    conc: usize,
    n: usize,
    limit: Duration,
    shape: Shape,
) -> (f64, usize, f64) {
    let clients_cpu_ns = Arc::new(AtomicU64::new(0));
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
                    let ok = match conn.as_mut().map(|c| c.post(&t, &payload, shape.stream)) {
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

/// One measured run at c64 and the CPU time it took (µs) of each party.
struct Run {
    rps: f64,
    errors: usize,
    served: f64,
    proxy_us: f64,
    standin_us: f64,
    clients_us: f64,
}

pub fn bench(direct: &Target, proxied: &Target, proxy_pid: u32, upstream: &Upstream) -> Throughput {
    let limit = Duration::from_secs(if quick() { 10 } else { 20 });
    let n = count(4_000);
    rps(proxied, 64, count(500), limit, PLAIN); // warm up
    let standin = standin_task(upstream);
    let measure = |target: &Target, proxy: Option<u32>| {
        let t = Instant::now();
        let (s0, p0) = (task_cpu_us(&standin), proxy.map_or(0.0, tree_cpu_us));
        let (rps, errors, clients_us) = run_clients(target, 64, n, limit, PLAIN);
        let served = rps * t.elapsed().as_secs_f64();
        let proxy_us = proxy.map_or(0.0, |pid| tree_cpu_us(pid) - p0);
        Run {
            rps,
            errors,
            served,
            proxy_us,
            standin_us: task_cpu_us(&standin) - s0,
            clients_us,
        }
    };
    // Two rounds, alternating, so drift in the machine's load hits both.
    let (mut d, mut p) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        d.push(measure(direct, None));
        p.push(measure(proxied, Some(proxy_pid)));
    }
    let sum = |runs: &[Run], of: fn(&Run) -> f64| runs.iter().map(of).sum::<f64>();
    let (served_d, served_p) = (sum(&d, |r| r.served), sum(&p, |r| r.served));
    let mut t = Throughput {
        direct_fresh_stream_rps: 0.0,
        echo_rps: None,
        direct_rps: sum(&d, |r| r.rps) / d.len() as f64,
        proxied_rps: sum(&p, |r| r.rps) / p.len() as f64,
        errors: d.iter().chain(&p).map(|r| r.errors).sum(),
        proxy_cpu_us: sum(&p, |r| r.proxy_us) / served_p.max(1.0),
        standin_cpu_us: sum(&p, |r| r.standin_us) / served_p.max(1.0),
        clients_cpu_us: sum(&p, |r| r.clients_us) / served_p.max(1.0),
        direct_standin_cpu_us: sum(&d, |r| r.standin_us) / served_d.max(1.0),
        direct_clients_cpu_us: sum(&d, |r| r.clients_us) / served_d.max(1.0),
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
    t.direct_fresh_stream_rps = rps(direct, 64, n, limit, fresh_stream);
    if proxied.name == "claw" {
        let echo = Shape {
            model: "echo/echo-1",
            ..PLAIN
        };
        t.echo_rps = Some(rps(proxied, 64, n, limit, echo));
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
        d[0].rps,
        d[1].rps,
        proxied.name,
        t.proxied_rps,
        p[0].rps,
        p[1].rps,
        100.0 * t.proxied_rps / t.direct_rps,
        t.errors
    );
    t
}

impl Throughput {
    /// claw's rows, with the peer's figures beside them.
    pub fn rows(&self, peer: Option<&Throughput>, t: &mut Table) {
        let share = |x: &Throughput| 100.0 * x.proxied_rps / x.direct_rps;
        let rates = |x: &Throughput| {
            format!(
                "{:.1}% ({:.0} of {:.0} req/s)",
                share(x),
                x.proxied_rps,
                x.direct_rps
            )
        };
        let peer_cell = t.peer(peer, rates);
        t.row(
            "throughput at c64, non-stream, share of direct",
            "≥ 60%",
            rates(self),
            Some(share(self) >= 60.0),
            peer_cell,
        );
        let cpu = |x: &Throughput| {
            format!(
                "{:.0} µs; stand-in {:.0} µs (direct {:.0}); clients {:.0} µs (direct {:.0})",
                x.proxy_cpu_us,
                x.standin_cpu_us,
                x.direct_standin_cpu_us,
                x.clients_cpu_us,
                x.direct_clients_cpu_us
            )
        };
        let peer_cell = t.peer(peer, cpu);
        t.row(
            "CPU per request at c64: proxy; stand-in; benchmark clients",
            "—",
            cpu(self),
            None,
            peer_cell,
        );
        t.row(
            "c64 diagnostics: direct streams on fresh connections / claw serving echo (no upstream)",
            "—",
            format!(
                "{:.0} / {} req/s",
                self.direct_fresh_stream_rps,
                self.echo_rps.map_or("—".into(), |r| format!("{r:.0}"))
            ),
            None,
            na(),
        );
    }
}
