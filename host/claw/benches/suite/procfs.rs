//! Shared: what /proc says about a process (memory, CPU time) and the machine.

use std::path::{Path, PathBuf};

use crate::upstream::Upstream;

/// A `/proc/<pid>/status` figure in KiB (`VmRSS`, `VmHWM`); 0 when unreadable.
pub fn rss_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// VmRSS of `pid` and all its descendants.
pub fn tree_rss_kb(pid: u32) -> u64 {
    rss_kb(pid, "VmRSS") + children(pid).into_iter().map(tree_rss_kb).sum::<u64>()
}

/// On-CPU µs of every live thread of `pid` and of its descendants.
pub fn tree_cpu_us(pid: u32) -> f64 {
    let own: f64 = tasks(&format!("/proc/{pid}/task"))
        .iter()
        .map(|t| task_cpu_us(t))
        .sum();
    children(pid)
        .into_iter()
        .fold(own, |total, child| total + tree_cpu_us(child))
}

/// On-CPU time in µs of one task (thread), from its schedstat (nanoseconds,
/// exact; the utime/stime of /proc/<pid>/stat are tick samples, too coarse here).
pub fn task_cpu_us(task_dir: &Path) -> f64 {
    std::fs::read_to_string(task_dir.join("schedstat"))
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e3)
}

/// The calling thread's on-CPU µs.
pub fn own_thread_cpu_us() -> f64 {
    task_cpu_us(Path::new("/proc/thread-self"))
}

/// The stand-in's thread in this process (named `upstream-<port>`).
pub fn standin_task(upstream: &Upstream) -> PathBuf {
    let name = format!(
        "upstream-{}",
        upstream.url().rsplit(':').next().unwrap_or("")
    );
    tasks("/proc/self/task")
        .into_iter()
        .find(|t| std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.trim() == name))
        .unwrap_or_default()
}

/// The machine's load average over 1, 5 and 15 minutes, e.g. "0.52 0.61 0.70".
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The task (thread) directories under `dir`, e.g. `/proc/<pid>/task`.
fn tasks(dir: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|t| t.path()).collect())
        .unwrap_or_default()
}

/// The pids of `pid`'s child processes.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect()
}
