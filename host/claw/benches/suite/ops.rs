//! Section 9, the cost of operations: the usage ledger and `/metrics` on
//! (the default) against both off (`usage.enabled: false`, `gateway.metrics:
//! false`), two gateways of this build in the same minutes, each against its
//! own interleaved direct requests, in rounds that alternate which goes first:
//! added c1 latency and c64 throughput as a share of direct.

use serde_json::{Value, json};

use crate::count;
use crate::http::{Target, check_target};
use crate::latency::{limit, run_pairs};
use crate::report::{Table, na};
use crate::setup::{Gateway, state_dir};
use crate::stats::{fmt_ms, median};
use crate::throughput::{PLAIN, rps};
use crate::upstream::Upstream;

/// Per setting (0: ledger and metrics on, 1: off): added c1 non-stream p50 and
/// p99 (µs), and the c64 throughput share of direct (%), one per round.
#[derive(Default)]
pub struct Ops {
    figures: [[Vec<f64>; 3]; 2],
    /// Rows the ledger holds after the run (the "on" gateway wrote them).
    rows: Option<u64>,
}

pub fn bench(direct: &Target, upstream: &Upstream) -> Ops {
    let on = state_dir(upstream, &[]);
    let off = state_dir(upstream, &[]);
    let path = off.path().join("claw.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["usage"] = json!({"enabled": false});
    config["gateway"] = json!({"metrics": false});
    std::fs::write(&path, config.to_string()).unwrap();
    let gw_on = Gateway::start(on.path());
    let gw_off = Gateway::start(off.path());
    let targets = [
        gw_on.target("claw, ledger+metrics on"),
        gw_off.target("claw, off"),
    ];
    let limit = limit();
    let mut out = Ops::default();
    for t in &targets {
        check_target(t);
        run_pairs(direct, t, 8, count(400), false, limit);
    }
    for round in 0..4 {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let t = &targets[k];
            let plain = run_pairs(direct, t, 1, count(500), false, limit);
            let direct_rps = rps(direct, 64, count(2_000), limit, PLAIN);
            let proxied_rps = rps(t, 64, count(2_000), limit, PLAIN);
            let f = &mut out.figures[k];
            f[0].push(plain.added(0.5));
            f[1].push(plain.added(0.99));
            f[2].push(100.0 * proxied_rps / direct_rps);
        }
    }
    drop(gw_on);
    let db = on.path().join("usage/usage.sqlite");
    out.rows = rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0)))
        .ok()
        .map(|n| n as u64);
    for (k, name) in ["on", "off"].iter().enumerate() {
        let f = &out.figures[k];
        eprintln!(
            "  ledger+metrics {name}: added c1 non-stream p50 {} p99 {}; c64 throughput {:.1}% of direct (medians of 4 rounds)",
            fmt_ms(median(&f[0])),
            fmt_ms(median(&f[1])),
            median(&f[2])
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
            "ledger+metrics off → on (same run, medians of 4 interleaved rounds): added c1 non-stream p50 / p99",
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
    }
}
