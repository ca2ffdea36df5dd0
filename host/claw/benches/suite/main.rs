//! claw's benchmark suite: prints figures, it is not a timed test.
//!
//! ```sh
//! cargo bench -p claw --bench suite
//! CLAW_BENCH_QUICK=1 CLAW_BENCH_ONLY=load,call cargo bench -p claw --bench suite   # two sections, quickly
//! ```
//!
//! Nine sections, each bounded in count and time (see docs/benchmarks.md for
//! what each figure means and how it is measured), one file each:
//!
//! 1. `load.rs`: plugin load, in-process: cold (compile) and warm (cached
//!    artifact) per bundled plugin and for 10 copies of echo; `claw plugins
//!    list` wall time and peak RSS;
//! 2. `call.rs`: call overhead, in-process: a fresh instance from the
//!    `InstancePre` plus echo's `describe`, against building the same
//!    `ProviderInfo` in Rust;
//! 3. `latency.rs`: gateway added latency: the same OpenAI chat completion
//!    straight to the zero-delay stand-in and through `claw gateway run`,
//!    interleaved, on warm keep-alive connections with TCP_NODELAY, at
//!    concurrency 1, 16 and 64; streams: added time to first content and added
//!    gap between chunks; 3c, the floors, is there too; `breakdown.rs` is 3b
//!    (where the added latency goes) and `baseline.rs` is 3d (before → after
//!    against `CLAW_BENCH_BASELINE`);
//! 4. `throughput.rs`: throughput through the gateway at concurrency 64 as a
//!    share of direct;
//! 5. `reload.rs`: `claw gateway restart` with 3 and 10 plugins under steady load;
//! 6. `memory.rs`: gateway RSS idle and with 100 streams in flight;
//! 7. `peer.rs`: the same for LiteLLM's proxy when it is installed (else a line
//!    says why not);
//! 8. `native.rs`: the bundled echo plugin as a native library against the
//!    same plugin as a component: call overhead in-process, and a request
//!    through one gateway to each;
//! 9. `ops.rs`: the usage ledger and `/metrics` on against off, two gateways
//!    interleaved: added c1 latency and c64 throughput.
//!
//! Shared: `setup.rs` (the stand-in upstream, state dirs, starting the claw
//! gateway and other processes, in-process plugin helpers), `http.rs` (the
//! keep-alive client and the request), `procfs.rs` (RSS and CPU time from
//! /proc), `stats.rs` (percentiles and number formats), `report.rs` (the table;
//! each section adds its rows). This file: the environment, which sections run,
//! and their order.
//!
//! Environment: `CLAW_BENCH_QUICK=1` runs every section with a tenth of the
//! requests (for trying the suite out; not for published figures);
//! `CLAW_BENCH_ONLY=<section,...>` runs only the sections listed, by number or
//! by name (`load`, `call`, `latency`, `throughput`, `reload`, `memory`,
//! `peer`, `native`, `ops`), e.g. `2`, `3,4,6` or `load,call` (sections 3, 4 and 6 share one
//! gateway, started for any of them; 3b and 3c run with 3, 3d whenever
//! `CLAW_BENCH_BASELINE` is set and the gateway runs);
//! `CLAW_BENCH_BASELINE=<path to another claw binary>` adds before/after rows:
//! that build and this one, interleaved in the same run.
//! `CLAW_BENCH_LITELLM=<path to the litellm executable>` picks the peer (default:
//! `target/litellm-venv/bin/litellm`, then `litellm` on PATH).

#[path = "../../../../tests/support/upstream.rs"]
#[allow(dead_code)]
mod upstream;

mod baseline;
mod breakdown;
mod call;
mod http;
mod latency;
mod load;
mod memory;
mod native;
mod ops;
mod peer;
mod procfs;
mod reload;
mod report;
mod setup;
mod stats;
mod throughput;

use std::path::Path;
use std::time::Instant;

use crate::http::{Target, check_target};
use crate::procfs::{load_average, rss_kb};
use crate::report::Report;
use crate::upstream::Upstream;

/// The sections' names, for CLAW_BENCH_ONLY: section `n` is `SECTIONS[n - 1]`.
const SECTIONS: [&str; 9] = [
    "load",
    "call",
    "latency",
    "throughput",
    "reload",
    "memory",
    "peer",
    "native",
    "ops",
];

/// Whether section `n` runs: all, or those listed in CLAW_BENCH_ONLY by number
/// or name (e.g. "2", "3,4,6" or "load,call"; for profiling one part).
/// Sections 3, 4 and 6 share a gateway.
fn wants(n: u32) -> bool {
    let name = SECTIONS[n as usize - 1];
    match std::env::var("CLAW_BENCH_ONLY") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(str::trim)
            .any(|s| s == n.to_string() || s.eq_ignore_ascii_case(name)),
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

fn section(name: &str) {
    eprintln!("\n== {name}");
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
        load_average()
    );

    if wants(1) {
        section("1. plugin load");
        report.load = load::bench();
    }
    if wants(2) {
        section("2. call overhead");
        report.call = call::bench();
    }

    let upstream = setup::start_upstream();
    let direct = setup::direct_target(&upstream);
    if wants(3) || wants(4) || wants(6) {
        bench_gateway(&mut report, &upstream, &direct);
    }
    if wants(5) {
        section("5. reload under load");
        report.reload = reload::bench(&upstream);
    }
    if wants(7) {
        section("7. peer: LiteLLM proxy");
        report.peer = peer::bench(&upstream, &direct);
    }
    if wants(8) {
        section("8. native against WebAssembly (echo built both ways)");
        report.native = native::bench();
    }
    if wants(9) {
        section("9. usage ledger and metrics: on against off (c1 latency, c64 throughput)");
        report.ops = ops::bench(&direct, &upstream);
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
    let claw_state = setup::state_dir(upstream, &[]);
    section("6a. gateway idle memory");
    // The idle figure is the usual, warm start; the rest of the figures run on
    // that gateway too.
    let gw = memory::start_idle(claw_state.path(), &mut report.claw_memory);
    eprintln!("  gateway pid {} on {}", gw.pid(), gw.url());

    let through = gw.target("claw");
    check_target(direct);
    check_target(&through);

    if wants(3) {
        section("3. gateway added latency (claw)");
        report.claw_latency = latency::bench(direct, &through);
    }
    if let Some(bin) = std::env::var_os("CLAW_BENCH_BASELINE") {
        section("3d. before/after: this build against CLAW_BENCH_BASELINE, interleaved");
        report.baseline = Some(baseline::bench(direct, &through, Path::new(&bin), upstream));
    }
    if wants(3) {
        section(
            "3c. floors at c1: a byte-forwarding proxy, and claw against a streamed direct request",
        );
        report.floors = Some(latency::bench_floors(direct, &through));
        section("3e. a streamed tool call (c1)");
        report.tool_call = Some(latency::bench_tool_call(direct, &through));
        section("3b. where the added latency goes (c1, in-process plugin vs HTTP)");
        report.breakdown = Some(breakdown::bench(direct, &through, upstream));
    }
    if wants(4) {
        section("4. throughput at concurrency 64 (claw)");
        report.claw_throughput = Some(throughput::bench(direct, &through, gw.pid(), upstream));
    }
    if wants(6) {
        section("6b. gateway memory with 100 streams in flight");
        memory::bench_claw_streams(&through, &gw, upstream, &mut report.claw_memory);
    }
    report.claw_memory.hwm_kb = rss_kb(gw.pid(), "VmHWM");
}
