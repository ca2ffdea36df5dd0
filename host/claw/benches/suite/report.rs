//! Shared: the results table printed at the end (and saved as bench-suite.md).
//! Each section adds its own rows (its `rows`); this file holds the figures of
//! the run and puts the rows in the table's order.

use std::time::Duration;

use crate::baseline::Baseline;
use crate::breakdown::Breakdown;
use crate::call::CallFigures;
use crate::latency::{Floors, Level};
use crate::load::LoadFigures;
use crate::memory::ClawMemory;
use crate::native::NativeFigures;
use crate::ops::Ops;
use crate::peer::PeerFigures;
use crate::procfs::load_average;
use crate::reload::ReloadFigures;
use crate::throughput::Throughput;

/// Everything the sections measured; what a section did not run stays empty.
#[derive(Default)]
pub struct Report {
    pub load: LoadFigures,
    pub call: CallFigures,
    pub claw_latency: Vec<Level>,
    pub claw_throughput: Option<Throughput>,
    pub breakdown: Option<Breakdown>,
    pub floors: Option<Floors>,
    pub tool_call: Option<Level>,
    pub baseline: Option<Baseline>,
    pub claw_memory: ClawMemory,
    pub reload: ReloadFigures,
    pub peer: PeerFigures,
    pub native: NativeFigures,
    pub ops: Ops,
    pub total: Duration,
}

struct Row {
    figure: String,
    target: String,
    claw: String,
    pass: Option<bool>,
    peer: String,
}

/// The rows of the table, as the sections add them.
pub struct Table {
    rows: Vec<Row>,
    peer_skipped: bool,
}

impl Table {
    pub fn row(
        &mut self,
        figure: impl Into<String>,
        target: &str,
        claw: String,
        pass: Option<bool>,
        peer: String,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            target: target.into(),
            claw,
            pass,
            peer,
        });
    }

    /// The peer's cell: `show` of its figure, or why there is none.
    pub fn peer<T>(&self, figure: Option<T>, show: impl FnOnce(T) -> String) -> String {
        figure.map_or_else(
            || {
                if self.peer_skipped {
                    "skipped".to_string()
                } else {
                    na()
                }
            },
            show,
        )
    }
}

/// A cell with no figure.
pub fn na() -> String {
    "—".to_string()
}

impl Report {
    fn rows(&self) -> Vec<Row> {
        let peer = &self.peer;
        let mut t = Table {
            rows: Vec::new(),
            peer_skipped: peer.skipped.is_some(),
        };
        self.load.rows(&mut t);
        self.call.rows(&mut t);
        crate::latency::rows(&self.claw_latency, &peer.latency, &mut t);
        if let Some(f) = &self.floors {
            f.rows(&mut t);
        }
        if let Some(l) = &self.tool_call {
            crate::latency::tool_call_rows(l, &mut t);
        }
        if let Some(b) = &self.baseline {
            b.rows(&mut t);
        }
        if let Some(b) = &self.breakdown {
            b.rows(&mut t);
        }
        if let Some(c) = &self.claw_throughput {
            c.rows(peer.throughput.as_ref(), &mut t);
        }
        self.reload.rows(&mut t);
        self.claw_memory.rows(peer, &mut t);
        self.native.rows(&mut t);
        self.ops.rows(&mut t);
        t.rows
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let peer = match &self.peer.skipped {
            Some(_) => "LiteLLM proxy".to_string(),
            None => format!("LiteLLM {} proxy", self.peer.version),
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
        if let Some(why) = &self.peer.skipped {
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
            load_average(),
            self.total.as_secs_f64(),
            if crate::quick() { "; QUICK mode" } else { "" },
        ));
        out
    }
}
