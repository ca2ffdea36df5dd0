//! Shared: durations as numbers, percentiles, and how figures are printed.

use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The `q` quantile (nearest rank) of unsorted samples; NaN when there are none.
pub fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

pub fn median(v: &[f64]) -> f64 {
    pct(v, 0.5)
}

/// Microseconds as milliseconds, e.g. "0.214 ms".
pub fn fmt_ms(us: f64) -> String {
    if us.is_nan() {
        "n/a".into()
    } else {
        format!("{:.3} ms", us / 1000.0)
    }
}

/// The p50 and p99 of a quantile function (µs) for the table: "0.118 ms / 0.311 ms".
pub fn p50_p99(at: impl Fn(f64) -> f64) -> String {
    format!("{} / {}", fmt_ms(at(0.5)), fmt_ms(at(0.99)))
}

/// The same for the progress lines: "p50 0.118 ms p99 0.311 ms".
pub fn p50_p99_line(at: impl Fn(f64) -> f64) -> String {
    format!("p50 {} p99 {}", fmt_ms(at(0.5)), fmt_ms(at(0.99)))
}

pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}
