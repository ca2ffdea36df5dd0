//! Section 9, the cost of operations: the usage ledger and `/metrics` on
//! (the default) against both off (`usage.enabled: false`, `gateway.metrics:
//! false`), two gateways of this build in the same minutes (each setting in each process slot for half the rounds), each against its
//! own interleaved direct requests, in rounds that alternate which goes first:
//! added c1 latency and c64 throughput as a share of direct.

use serde_json::{Value, json};

use crate::count;
use crate::http::{Target, check_target};
use crate::latency::{limit, run_pairs};
use crate::procfs::tree_cpu_us;
use crate::report::{Table, na};
use crate::setup::{Gateway, state_dir};
use crate::stats::{fmt_ms, median};
use crate::throughput::{PLAIN, rps};
use crate::upstream::Upstream;

/// Per setting (0: ledger and metrics on, 1: off): added c1 non-stream p50 and
/// p99 (µs), the c64 throughput share of direct (%), and the gateway's CPU
/// per request at c64 (µs), one per round.
#[derive(Default)]
pub struct Ops {
    figures: [[Vec<f64>; 4]; 2],
    /// Rows the ledger holds after the run (the "on" gateway wrote them).
    rows: Option<u64>,
}

/// Rounds, alternating which gateway goes first.
const ROUNDS: usize = 6;

pub fn bench(direct: &Target, upstream: &Upstream) -> Ops {
    let on = state_dir(upstream, &[]);
    let off = state_dir(upstream, &[]);
    let path = off.path().join("claw.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["usage"] = json!({"enabled": false});
    config["gateway"] = json!({"metrics": false});
    std::fs::write(&path, config.to_string()).unwrap();
    let limit = limit();
    let mut out = Ops::default();
    // Two gateway processes side by side are not equal (the one started first
    // measured ~5% slower at c64 with the same config), so each setting runs
    // in each place for half the rounds.
    for placement in 0..2 {
        let dirs = [on.path(), off.path()];
        let first = Gateway::start(dirs[placement]);
        let second = Gateway::start(dirs[1 - placement]);
        let started = [&first, &second];
        // targets[k]: setting k (0 on, 1 off).
        let pids = [0, 1].map(|k| started[if k == placement { 0 } else { 1 }].pid());
        let targets = [0, 1].map(|k| {
            started[if k == placement { 0 } else { 1 }]
                .target(["claw, ledger+metrics on", "claw, off"][k])
        });
        for t in &targets {
            check_target(t);
            run_pairs(direct, t, 8, count(400), false, limit);
        }
        for round in 0..ROUNDS / 2 {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for k in order {
                let t = &targets[k];
                let plain = run_pairs(direct, t, 1, count(500), false, limit);
                // Longer than section 4's: the difference looked for is a few percent.
                let direct_rps = rps(direct, 64, count(4_000), limit, PLAIN);
                let cpu = tree_cpu_us(pids[k]);
                let proxied_rps = rps(t, 64, count(6_000), limit, PLAIN);
                let cpu_per_request = (tree_cpu_us(pids[k]) - cpu) / count(6_000) as f64;
                let f = &mut out.figures[k];
                f[0].push(plain.added(0.5));
                f[1].push(plain.added(0.99));
                f[2].push(100.0 * proxied_rps / direct_rps);
                f[3].push(cpu_per_request);
            }
        }
    }
    let db = on.path().join("usage/usage.sqlite");
    out.rows = rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0)))
        .ok()
        .map(|n| n as u64);
    for (k, name) in ["on", "off"].iter().enumerate() {
        let f = &out.figures[k];
        eprintln!(
            "  ledger+metrics {name}: added c1 non-stream p50 {} p99 {}; c64 throughput {:.1}% of direct, {:.0} µs CPU per request (medians of 6 rounds)",
            fmt_ms(median(&f[0])),
            fmt_ms(median(&f[1])),
            median(&f[2]),
            median(&f[3])
        );
    }
    eprintln!(
        "  ledger rows written by the \"on\" gateway: {:?}",
        out.rows
    );
    out
}

impl Ops {
    pub fn rows(&self, t: &mut Table) {
        if self.figures[0][0].is_empty() {
            return;
        }
        let f = |k: usize, i: usize| median(&self.figures[k][i]);
        let (on_p50, off_p50) = (f(0, 0), f(1, 0));
        let (on_rps, off_rps) = (f(0, 2), f(1, 2));
        t.row(
            "ledger+metrics off → on (same run, medians of 6 interleaved rounds): added c1 non-stream p50 / p99",
            "on no worse than off",
            format!(
                "{} / {} → {} / {}",
                fmt_ms(off_p50),
                fmt_ms(f(1, 1)),
                fmt_ms(on_p50),
                fmt_ms(f(0, 1))
            ),
            // Within 10% or 20 µs: the noise between two identical gateways.
            Some(on_p50 <= (off_p50 * 1.1).max(off_p50 + 20.0)),
            na(),
        );
        t.row(
            format!(
                "ledger+metrics off → on: throughput at c64, share of direct ({} ledger rows written)",
                self.rows.map_or_else(na, |n| n.to_string())
            ),
            "on no worse than off",
            format!("{off_rps:.1}% → {on_rps:.1}%"),
            Some(on_rps >= off_rps * 0.95),
            na(),
        );
        t.row(
            "ledger+metrics off → on: gateway CPU per request at c64",
            "—",
            format!("{:.0} µs → {:.0} µs", f(1, 3), f(0, 3)),
            None,
            na(),
        );
    }
}
