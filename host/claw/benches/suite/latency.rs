//! Section 3, the latency the gateway adds: the same OpenAI chat completion
//! straight to the zero-delay stand-in and through a proxy, interleaved, on
//! warm keep-alive connections with TCP_NODELAY, at concurrency 1, 16 and 64;
//! streams: added time to first content and added gap between chunks.
//! Section 3c, the floors at c1: a byte-forwarding TCP proxy, and claw against
//! a streamed direct request (what it asks the upstream for).
//!
//! The interleaved pairs (`run_pairs`) also serve 3d and the peer (7).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::http::{Conn, Reply, Target, body};
use crate::report::{Table, na};
use crate::setup::{MODEL, TOOL_MODEL, tokio_rt};
use crate::stats::{p50_p99, p50_p99_line, pct, us};
use crate::{count, quick};

/// The time limit of one level of pairs.
pub fn limit() -> Duration {
    Duration::from_secs(if quick() { 20 } else { 45 })
}

#[derive(Default, Clone)]
struct Samples {
    lat_us: Vec<f64>,
    ttft_us: Vec<f64>,
    gap_us: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

/// Which samples: latency, time to first content, gap between content chunks.
type Of = fn(&Samples) -> &[f64];
const LAT: Of = |s| &s.lat_us;
const TTFT: Of = |s| &s.ttft_us;
const GAP: Of = |s| &s.gap_us;

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
pub struct Level {
    pub conc: usize,
    pub stream: bool,
    pairs: usize,
    wall: Duration,
    direct: Samples,
    proxied: Samples,
}

impl Level {
    pub fn added(&self, q: f64) -> f64 {
        self.added_in(LAT, q)
    }
    pub fn added_ttft(&self, q: f64) -> f64 {
        self.added_in(TTFT, q)
    }
    pub fn added_gap(&self, q: f64) -> f64 {
        self.added_in(GAP, q)
    }
    fn added_in(&self, of: Of, q: f64) -> f64 {
        pct(of(&self.proxied), q) - pct(of(&self.direct), q)
    }
}

/// `pairs` pairs of the same request, one to each target, on `conc` client
/// threads; each thread keeps one keep-alive connection per target and
/// alternates which goes first. Bounded by `limit`.
pub fn run_pairs(
    a: &Target,
    b: &Target,
    conc: usize,
    pairs: usize,
    stream: bool,
    limit: Duration,
) -> Level {
    run_pairs_as(a, b, conc, pairs, [stream, stream], limit, MODEL)
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
    model: &'static str,
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
                let payloads = streams.map(|stream| body(stream, model));
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
                        let result = conns[k].as_mut().unwrap().post(t, &payloads[k], streams[k]);
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

/// Section 3 for one proxy (claw, or the peer): warm-up, then the six levels.
pub fn bench(direct: &Target, proxied: &Target) -> Vec<Level> {
    let limit = limit();
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
        "  c{:<2} {kind:<10} {} pairs in {:.1} s | {}{}",
        l.conc,
        l.pairs,
        l.wall.as_secs_f64(),
        compare(name, l, LAT),
        errors_note(l),
    );
    if l.stream {
        eprintln!(
            "      TTFT {}; chunk gap {}",
            compare(name, l, TTFT),
            compare(name, l, GAP)
        );
    }
}

/// "direct p50 … p99 … | {name} p50 … p99 … | added p50 … p99 …"
fn compare(name: &str, l: &Level, of: Of) -> String {
    format!(
        "direct {} | {name} {} | added {}",
        p50_p99_line(|q| pct(of(&l.direct), q)),
        p50_p99_line(|q| pct(of(&l.proxied), q)),
        p50_p99_line(|q| l.added_in(of, q)),
    )
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

fn err_suffix(l: &Level) -> String {
    let e = l.direct.errors + l.proxied.errors;
    if e > 0 {
        format!(" ({e} errors)")
    } else {
        String::new()
    }
}

/// A figure of one level, as a table cell.
type Cell = fn(&Level) -> String;

/// The latency rows: two per level of claw's (non-stream levels first), with
/// the peer's same level beside them. The first row of each kind carries the
/// target at c1.
pub fn rows(claw: &[Level], peer: &[Level], t: &mut Table) {
    fn find(levels: &[Level], conc: usize, stream: bool) -> Option<&Level> {
        levels.iter().find(|l| l.conc == conc && l.stream == stream)
    }
    fn added(l: &Level) -> String {
        format!("{}{}", p50_p99(|q| l.added(q)), err_suffix(l))
    }
    fn direct(l: &Level) -> String {
        p50_p99(|q| pct(&l.direct.lat_us, q))
    }
    fn ttft(l: &Level) -> String {
        format!("{}{}", p50_p99(|q| l.added_ttft(q)), err_suffix(l))
    }
    fn gap(l: &Level) -> String {
        p50_p99(|q| l.added_gap(q))
    }
    /// Two rows per level: each figure's name before and after
    /// "c{conc}: p50 / p99", and its cell; the first row has a target at c1.
    struct Kind {
        stream: bool,
        c1_target: &'static str,
        c1_pass: fn(&Level) -> bool,
        rows: [(&'static str, &'static str, Cell); 2],
    }
    let kinds = [
        Kind {
            stream: false,
            c1_target: "p99 ≤ 0.3 ms",
            c1_pass: |l| l.added(0.99) <= 300.0,
            rows: [
                ("added latency, non-stream, ", "", added),
                ("  direct latency, non-stream, ", " (claw run)", direct),
            ],
        },
        Kind {
            stream: true,
            c1_target: "p50 ≤ 0.5 ms",
            c1_pass: |l| l.added_ttft(0.5) <= 500.0,
            rows: [
                ("added TTFT, stream, ", "", ttft),
                ("added gap between chunks, stream, ", "", gap),
            ],
        },
    ];
    for kind in kinds {
        for conc in [1, 16, 64] {
            let Some(l) = find(claw, conc, kind.stream) else {
                continue;
            };
            let p = find(peer, conc, kind.stream);
            for (i, (before, after, cell)) in kind.rows.into_iter().enumerate() {
                let (target, pass) = if i == 0 && conc == 1 {
                    (kind.c1_target, Some((kind.c1_pass)(l)))
                } else {
                    ("—", None)
                };
                let peer_cell = t.peer(p, cell);
                t.row(
                    format!("{before}c{conc}: p50 / p99{after}"),
                    target,
                    cell(l),
                    pass,
                    peer_cell,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3c. Floors at concurrency 1
// ---------------------------------------------------------------------------

/// What any proxy adds on this machine, and what claw adds on top of the
/// upstream request it actually makes.
pub struct Floors {
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
        tokio_rt().block_on(async move {
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

pub fn bench_floors(direct: &Target, through: &Target) -> Floors {
    let limit = limit();
    let forwarder = Target {
        name: "forwarder",
        addr: start_forwarder(&direct.addr),
        ..direct.clone()
    };
    run_pairs(direct, &forwarder, 1, count(200), false, limit);
    let floors = Floors {
        forwarder: run_pairs(direct, &forwarder, 1, count(2_000), false, limit),
        forwarder_stream: run_pairs(direct, &forwarder, 1, count(1_000), true, limit),
        like_for_like: run_pairs_as(
            direct,
            through,
            1,
            count(2_000),
            [true, false],
            limit,
            MODEL,
        ),
    };
    print_level("byte-forwarding proxy", &floors.forwarder);
    print_level("byte-forwarding proxy", &floors.forwarder_stream);
    eprintln!(
        "  claw non-stream vs a direct streamed request: added {}",
        p50_p99_line(|q| floors.like_for_like.added(q))
    );
    floors
}

impl Floors {
    pub fn rows(&self, t: &mut Table) {
        let added = |l: &Level| p50_p99(|q| l.added(q));
        t.row(
            "floor: a byte-forwarding TCP proxy, added latency, non-stream, c1: p50 / p99",
            "—",
            added(&self.forwarder),
            None,
            na(),
        );
        t.row(
            "floor: a byte-forwarding TCP proxy, added TTFT, stream, c1: p50 / p99",
            "—",
            p50_p99(|q| self.forwarder_stream.added_ttft(q)),
            None,
            na(),
        );
        t.row(
            "added latency, non-stream client, c1, against a direct streamed request (what claw asks upstream for): p50 / p99",
            "—",
            added(&self.like_for_like),
            None,
            na(),
        );
    }
}

// ---------------------------------------------------------------------------
// 3e. A streamed tool call at concurrency 1
// ---------------------------------------------------------------------------

/// The same streamed request with a tool, answered by the stand-in with a tool
/// call in argument fragments: what claw adds to an agent client's turn.
pub fn bench_tool_call(direct: &Target, through: &Target) -> Level {
    let limit = limit();
    run_pairs_as(
        direct,
        through,
        1,
        count(200),
        [true, true],
        limit,
        TOOL_MODEL,
    );
    let level = run_pairs_as(
        direct,
        through,
        1,
        count(1_000),
        [true, true],
        limit,
        TOOL_MODEL,
    );
    print_level("claw, streamed tool call", &level);
    level
}

pub fn tool_call_rows(l: &Level, t: &mut Table) {
    t.row(
        "streamed tool call, c1: added latency p50 / p99",
        "—",
        format!("{}{}", p50_p99(|q| l.added(q)), err_suffix(l)),
        None,
        na(),
    );
    t.row(
        "streamed tool call, c1: added time to the first tool-call chunk p50 / p99",
        "—",
        p50_p99(|q| l.added_ttft(q)),
        None,
        na(),
    );
}
