//! Section 3d, before → after (with `CLAW_BENCH_BASELINE`): another `claw`
//! binary's gateway beside this build's, in the same minutes, each against its
//! own interleaved direct requests, in rounds that alternate which build goes
//! first: added c1 latency, added c1 TTFT, c64 throughput share.

use std::path::Path;

use crate::count;
use crate::http::{Target, check_target};
use crate::latency::{limit, run_pairs};
use crate::report::{Table, na};
use crate::setup::{Gateway, state_dir};
use crate::stats::{fmt_ms, median};
use crate::throughput::{PLAIN, rps};
use crate::upstream::Upstream;

/// This build and another `claw` binary measured in the same minutes, each
/// against its own interleaved direct requests, in alternating rounds.
pub struct Baseline {
    bin: String,
    /// Per build (0: this one, 1: the baseline): added c1 non-stream p50 and
    /// p99, added c1 TTFT p50 and p99 (µs), and the c64 throughput share (%).
    figures: [[Vec<f64>; 5]; 2],
}

pub fn bench(direct: &Target, this: &Target, bin: &Path, upstream: &Upstream) -> Baseline {
    let state = state_dir(upstream, &[]);
    drop(Gateway::start_bin(bin, state.path())); // the first start compiles
    let gw = Gateway::start_bin(bin, state.path());
    let base = gw.target("baseline");
    check_target(&base);
    let limit = limit();
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
            let direct_rps = rps(direct, 64, count(2_000), limit, PLAIN);
            let proxied_rps = rps(t, 64, count(2_000), limit, PLAIN);
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

impl Baseline {
    pub fn rows(&self, t: &mut Table) {
        let f = |k: usize, i: usize| median(&self.figures[k][i]);
        // Figures `i` (p50) and `i + 1` (p99), the baseline's → this build's.
        let before_after = |i: usize| {
            let p50_p99 = |k: usize| format!("{} / {}", fmt_ms(f(k, i)), fmt_ms(f(k, i + 1)));
            format!("{} → {}", p50_p99(1), p50_p99(0))
        };
        t.row(
            format!(
                "before → after (baseline build `{}`, same run, medians of 4 interleaved rounds): added c1 non-stream p50 / p99",
                self.bin
            ),
            "—",
            before_after(0),
            None,
            na(),
        );
        t.row(
            "before → after: added TTFT c1 p50 / p99",
            "—",
            before_after(2),
            None,
            na(),
        );
        t.row(
            "before → after: throughput at c64, share of direct",
            "—",
            format!("{:.1}% → {:.1}%", f(1, 4), f(0, 4)),
            None,
            na(),
        );
    }
}
