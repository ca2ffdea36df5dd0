//! Section 6, memory: 6a, the gateway's RSS idle (after its first start in a
//! state dir, which compiles, and after a warm start); 6b, the RSS added by
//! 100 streams in flight, and the peak RSS over the run. The peer's streams
//! figure is measured here too.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::http::{Conn, Target, body};
use crate::peer::PeerFigures;
use crate::procfs::{rss_kb, tree_rss_kb};
use crate::report::{Table, na};
use crate::setup::{Gateway, HOLD_MODEL, HOLD_MS};
use crate::stats::mb;
use crate::upstream::Upstream;

/// claw's memory figures (KiB).
#[derive(Default)]
pub struct ClawMemory {
    /// Idle after a warm start, after the first start, after the latency and
    /// throughput figures; the peak over the run (VmHWM).
    idle_kb: u64,
    idle_first_kb: u64,
    idle_after_kb: u64,
    pub hwm_kb: u64,
    streams: Option<StreamsMemory>,
}

#[derive(Clone, Copy, Default)]
pub struct StreamsMemory {
    before_kb: u64,
    held_kb: u64,
    after_kb: u64,
    held: usize,
}

/// 6a: start the gateway in `state` twice (the first start compiles the
/// bundled plugins into its cache, cranelift's heap stays resident; every later
/// start loads them from the cache) and read the idle RSS of each. Returns the
/// second, the usual warm start, which the other figures then run on.
pub fn start_idle(state: &Path, figures: &mut ClawMemory) -> Gateway {
    let first = Gateway::start(state);
    std::thread::sleep(Duration::from_millis(1500));
    figures.idle_first_kb = rss_kb(first.pid(), "VmRSS");
    drop(first);
    let gw = Gateway::start(state);
    std::thread::sleep(Duration::from_millis(1500));
    figures.idle_kb = rss_kb(gw.pid(), "VmRSS");
    eprintln!(
        "  idle RSS: {} after a start with a warm artifact cache, {} after the first start (compiles)",
        mb(figures.idle_kb),
        mb(figures.idle_first_kb)
    );
    gw
}

/// 6b on claw: the idle RSS after the other figures, then 100 streams.
pub fn bench_claw_streams(
    through: &Target,
    gw: &Gateway,
    upstream: &Upstream,
    figures: &mut ClawMemory,
) {
    std::thread::sleep(Duration::from_millis(1000));
    figures.idle_after_kb = rss_kb(gw.pid(), "VmRSS");
    figures.streams = Some(bench_streams(through, gw.pid(), upstream, Some(gw)));
}

/// Open 100 streams to the hold model through `target` and read `pid`'s RSS
/// (with its children, for a peer that forks) while the stand-in holds them.
pub fn bench_streams(
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

impl StreamsMemory {
    fn added(&self) -> String {
        mb(self.held_kb.saturating_sub(self.before_kb))
    }
}

impl ClawMemory {
    /// claw's memory rows, with the peer's figures beside them.
    pub fn rows(&self, peer: &PeerFigures, t: &mut Table) {
        if self.idle_kb > 0 {
            let peer_cell = t.peer(peer.idle_rss_kb, mb);
            t.row(
                "gateway RSS idle, bundled plugins: warm start (first start, compiling; idle after the load figures)",
                "≤ 40 MB",
                format!(
                    "{} ({}; {})",
                    mb(self.idle_kb),
                    mb(self.idle_first_kb),
                    mb(self.idle_after_kb)
                ),
                Some(self.idle_kb as f64 / 1024.0 <= 40.0),
                peer_cell,
            );
        }
        if let Some(s) = self.streams {
            let peer_cell = t.peer(peer.streams, |p| {
                format!("+{} ({} held)", p.added(), p.held)
            });
            t.row(
                format!("RSS added per 100 in-flight streams ({} held)", s.held),
                "—",
                format!(
                    "+{} (RSS {} held, {} after they end)",
                    s.added(),
                    mb(s.held_kb),
                    mb(s.after_kb)
                ),
                None,
                peer_cell,
            );
        }
        if self.hwm_kb > 0 {
            t.row(
                "gateway peak RSS over the run (VmHWM)",
                "—",
                mb(self.hwm_kb),
                None,
                na(),
            );
        }
    }
}
