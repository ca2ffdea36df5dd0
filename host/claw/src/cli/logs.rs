//! `claw logs`: the gateway's log, from its JSON-lines file, so nobody needs
//! to know where it is. `--follow` keeps reading as lines are written, across
//! rotations.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use super::logging::rotated;
use claw_core::state::StateDir;
use claw_core::usage::{parse_since, parse_timestamp};
use claw_gateway::daemon;

#[derive(clap::Args)]
pub struct LogsArgs {
    /// Keep printing lines as the gateway writes them (Ctrl-C stops).
    #[arg(long, short)]
    follow: bool,
    /// The lines as the gateway wrote them: one JSON object per line.
    #[arg(long)]
    json: bool,
    /// Only lines from then on: 10m, 24h, 7d, or a UTC date (2026-11-01).
    #[arg(long)]
    since: Option<String>,
    /// Only lines at this level or more severe: error, warn, info, debug, trace.
    #[arg(long)]
    level: Option<String>,
    /// The last N lines (default 200; all of them with --since).
    #[arg(long, short = 'n')]
    lines: Option<usize>,
}

const LEVELS: [&str; 5] = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

struct Filter {
    since_ms: Option<i64>,
    /// Index in `LEVELS` of the least severe level shown.
    level: usize,
    json: bool,
}

impl Filter {
    /// The line to print for `raw`, if it passes.
    fn show(&self, raw: &str) -> Option<String> {
        let Ok(line) = serde_json::from_str::<Value>(raw) else {
            // Not ours (a line cut by a kill): shown as it is, unless JSON was asked for.
            return (!self.json && !raw.trim().is_empty()).then(|| raw.to_string());
        };
        let level = line["level"].as_str().unwrap_or("INFO");
        if LEVELS.iter().position(|l| *l == level).unwrap_or(2) > self.level {
            return None;
        }
        if let Some(since) = self.since_ms {
            let at = line["timestamp"].as_str().and_then(parse_timestamp);
            if at.is_none_or(|at| at < since) {
                return None;
            }
        }
        Some(if self.json {
            raw.to_string()
        } else {
            human(&line)
        })
    }
}

pub async fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let state = StateDir::from_env()?;
    let path = daemon::json_log_path(&state);
    let level = match args.level.as_deref() {
        None => 2,
        Some(l) => match LEVELS.iter().position(|x| x.eq_ignore_ascii_case(l)) {
            Some(i) => i,
            None => bail!("`--level {l}` is not a level: use error, warn, info, debug or trace"),
        },
    };
    let since_ms = match &args.since {
        Some(s) => Some(parse_since(s, claw_core::usage::now_ms())?),
        None => None,
    };
    let filter = Filter {
        since_ms,
        level,
        json: args.json,
    };
    let limit = args
        .lines
        .or(if since_ms.is_some() { None } else { Some(200) });
    if !path.exists() && !args.follow {
        bail!(
            "no gateway log yet at {}: the gateway writes it while it runs (`claw gateway start`, or `claw gateway run`)",
            path.display()
        );
    }
    // The older file first, then the current one, whose reader then follows
    // it from exactly where the dump stopped (no line is lost in between).
    let mut shown: Vec<String> = Vec::new();
    if let Ok(text) = std::fs::read(rotated(&path)) {
        let text = String::from_utf8_lossy(&text);
        shown.extend(text.lines().filter_map(|l| filter.show(l)));
    }
    let mut tail = Tail::open(path);
    shown.extend(tail.read_lines().iter().filter_map(|l| filter.show(l)));
    let skip = limit.map_or(0, |n| shown.len().saturating_sub(n));
    for line in &shown[skip..] {
        println!("{line}");
    }
    if args.follow {
        follow(tail, &filter).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Print lines as they are appended, across rotations, until interrupted.
async fn follow(mut tail: Tail, filter: &Filter) {
    loop {
        for line in tail.read_lines() {
            if let Some(shown) = filter.show(&line) {
                println!("{shown}");
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The new complete lines of a file that may be rotated under it.
struct Tail {
    path: PathBuf,
    file: Option<std::fs::File>,
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    /// From the start of the file at `path` (if there is one yet).
    fn open(path: PathBuf) -> Tail {
        Tail {
            file: std::fs::File::open(&path).ok(),
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    fn read_lines(&mut self) -> Vec<String> {
        let mut lines = self.drain();
        if self.rotated() {
            // What the old file still had was read above; the new one from its start.
            self.file = std::fs::File::open(&self.path).ok();
            self.offset = 0;
            self.partial.clear();
            lines.extend(self.drain());
        }
        lines
    }

    fn drain(&mut self) -> Vec<String> {
        let Some(file) = self.file.as_mut() else {
            return Vec::new();
        };
        let mut buf = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        String::from_utf8_lossy(&complete)
            .lines()
            .map(String::from)
            .collect()
    }

    /// The path now names another file (or a shorter one) than the one open.
    fn rotated(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(now) = std::fs::metadata(&self.path) else {
            return false;
        };
        match self.file.as_ref().and_then(|f| f.metadata().ok()) {
            Some(open) => open.ino() != now.ino() || now.len() < self.offset,
            None => true,
        }
    }
}

/// `2026-12-03T02:10:00.123Z  INFO message key=value ...`, span fields first.
fn human(line: &Value) -> String {
    let ts = line["timestamp"].as_str().unwrap_or("-");
    let level = line["level"].as_str().unwrap_or("-");
    let fields = line["fields"].as_object();
    let message = fields
        .and_then(|f| f.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = format!("{ts} {level:>5} {message}");
    let pairs = line["span"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "name")
        .chain(
            fields
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k != "message"),
        );
    for (k, v) in pairs {
        match v {
            Value::String(s) => out.push_str(&format!(" {k}={s}")),
            other => out.push_str(&format!(" {k}={other}")),
        }
    }
    out
}
