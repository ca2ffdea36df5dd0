//! `GET /metrics`: Prometheus text, from the `prometheus` crate's registry.
//! Counters and histograms are fed by `meter` as each model request ends;
//! plugin health and requests in flight are read when scraped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use prometheus::{
    CounterVec, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use claw_core::registry::Registry as Plugins;
use claw_types::Usage;

/// Distinct `provider/model` label pairs at most: a client can name models no
/// catalog lists, and each pair is a series kept forever. Past it: `other`.
const MAX_MODELS: usize = 256;

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

const OUTCOMES: [&str; 3] = ["ok", "error", "cancelled"];
const TOKEN_KINDS: [&str; 5] = ["input", "output", "cache_read", "cache_write", "reasoning"];

/// The series of one `provider/model`.
struct Series {
    requests: [IntCounter; 3],
    tokens: [IntCounter; 5],
    cost: prometheus::Counter,
    ttft: prometheus::Histogram,
    duration: prometheus::Histogram,
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    attempts: IntCounterVec,
    fallbacks: IntCounter,
    tokens: IntCounterVec,
    cost: CounterVec,
    ttft: HistogramVec,
    duration: HistogramVec,
    plugin_health: IntGaugeVec,
    inflight: IntGauge,
    /// Each labelled model's series, by provider and model.
    series: Mutex<HashMap<String, HashMap<String, Arc<Series>>>>,
    /// The models labelled so far, by provider, and how many.
    models: Mutex<(HashMap<String, HashSet<String>>, usize)>,
}

/// What one finished request adds.
pub(crate) struct Observation<'a> {
    /// Who answered, or the first candidate when nobody did.
    pub provider: &'a str,
    pub model: &'a str,
    pub outcome: &'static str,
    /// `(provider, model, reason)` per candidate tried or skipped; `ok` for the answer.
    pub attempts: Vec<(&'a str, &'a str, &'static str)>,
    pub fallback: bool,
    pub usage: Option<&'a Usage>,
    pub cost_usd: Option<f64>,
    pub ttft_secs: Option<f64>,
    pub duration_secs: f64,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("registered once");
            c
        };
        let histogram = |name: &str, help: &str| {
            let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
            let h = HistogramVec::new(opts, &["provider", "model"]).expect("a valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("registered once");
            h
        };
        let requests = counter(
            "claw_requests_total",
            "Model requests that ended, by the model that answered (or was asked for) and outcome (ok, error, cancelled).",
            &["provider", "model", "outcome"],
        );
        let attempts = counter(
            "claw_attempts_total",
            "Candidates tried or skipped, by reason (ok for the one that answered).",
            &["provider", "model", "reason"],
        );
        let tokens = counter(
            "claw_tokens_total",
            "Tokens, by kind (input, output, cache_read, cache_write, reasoning).",
            &["provider", "model", "kind"],
        );
        let fallbacks = IntCounter::new(
            "claw_fallbacks_total",
            "Requests answered by a fallback instead of the model asked for.",
        )
        .expect("a valid metric");
        let cost = CounterVec::new(
            Opts::new(
                "claw_cost_usd_total",
                "Cost in USD from the models' configured prices.",
            ),
            &["provider", "model"],
        )
        .expect("a valid metric");
        let plugin_health = IntGaugeVec::new(
            Opts::new(
                "claw_plugin_health",
                "1 for each plugin's current status (loaded, degraded, disabled, error).",
            ),
            &["plugin", "status"],
        )
        .expect("a valid metric");
        let inflight = IntGauge::new("claw_inflight_requests", "HTTP requests being handled now.")
            .expect("a valid metric");
        for c in [
            Box::new(fallbacks.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(cost.clone()),
            Box::new(plugin_health.clone()),
            Box::new(inflight.clone()),
        ] {
            registry.register(c).expect("registered once");
        }
        let ttft = histogram(
            "claw_ttft_seconds",
            "Time from a model request's arrival to its first content.",
        );
        let duration = histogram(
            "claw_request_duration_seconds",
            "Time from a model request's arrival to its end.",
        );
        Metrics {
            registry,
            requests,
            attempts,
            fallbacks,
            tokens,
            cost,
            ttft,
            duration,
            plugin_health,
            inflight,
            series: Mutex::default(),
            models: Mutex::default(),
        }
    }

    pub(crate) fn observe(&self, o: &Observation) {
        let series = self.series(o.provider, o.model);
        if let Some(i) = OUTCOMES.iter().position(|x| *x == o.outcome) {
            series.requests[i].inc();
        }
        for (ap, am, reason) in &o.attempts {
            let (ap, am) = self.labels(ap, am);
            self.attempts.with_label_values(&[ap, am, reason]).inc();
        }
        if o.fallback {
            self.fallbacks.inc();
        }
        if let Some(u) = o.usage {
            let counts = [
                u.input_tokens,
                u.output_tokens,
                u.cache_read_tokens,
                u.cache_write_tokens,
                u.reasoning_tokens,
            ];
            for (counter, n) in series.tokens.iter().zip(counts) {
                counter.inc_by(u64::from(n));
            }
        }
        if let Some(usd) = o.cost_usd {
            series.cost.inc_by(usd);
        }
        if let Some(t) = o.ttft_secs {
            series.ttft.observe(t);
        }
        series.duration.observe(o.duration_secs);
    }

    /// One model's series, resolved once: a request then costs one map lookup,
    /// not one per metric.
    fn series(&self, provider: &str, model: &str) -> Arc<Series> {
        let (p, m) = self.labels(provider, model);
        let mut cache = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(p).and_then(|models| models.get(m)) {
            return s.clone();
        }
        let series = Arc::new(Series {
            requests: OUTCOMES.map(|o| self.requests.with_label_values(&[p, m, o])),
            tokens: TOKEN_KINDS.map(|k| self.tokens.with_label_values(&[p, m, k])),
            cost: self.cost.with_label_values(&[p, m]),
            ttft: self.ttft.with_label_values(&[p, m]),
            duration: self.duration.with_label_values(&[p, m]),
        });
        cache
            .entry(p.to_string())
            .or_default()
            .insert(m.to_string(), series.clone());
        series
    }

    /// The labels for a model: itself, or `other` once `MAX_MODELS` are in use.
    fn labels<'a>(&self, provider: &'a str, model: &'a str) -> (&'a str, &'a str) {
        let mut seen = self.models.lock().unwrap_or_else(|e| e.into_inner());
        if seen
            .0
            .get(provider)
            .is_some_and(|models| models.contains(model))
        {
            return (provider, model);
        }
        if seen.1 < MAX_MODELS {
            seen.1 += 1;
            seen.0
                .entry(provider.to_string())
                .or_default()
                .insert(model.to_string());
            return (provider, model);
        }
        ("other", "other")
    }

    /// The text a scrape gets, with the live gauges read now.
    pub(crate) fn render(&self, plugins: &Plugins, inflight: u64) -> String {
        self.inflight.set(inflight as i64);
        // Plugins come and go with reloads; only the current set is reported.
        self.plugin_health.reset();
        for p in &plugins.plugins {
            let status = match (&p.plugin, p.plugin.as_ref().and_then(|x| x.degraded())) {
                (Some(_), Some(_)) => "degraded",
                _ => p.status.as_str(),
            };
            self.plugin_health
                .with_label_values(&[p.id.as_str(), status])
                .set(1);
        }
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for these metric types.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(m: &Metrics, model: &str) {
        m.observe(&Observation {
            provider: "p",
            model,
            outcome: "ok",
            attempts: vec![("p", model, "ok")],
            fallback: false,
            usage: None,
            cost_usd: None,
            ttft_secs: None,
            duration_secs: 0.01,
        });
    }

    #[test]
    fn models_a_client_makes_up_share_one_series_past_the_cap() {
        let m = Metrics::new();
        for i in 0..MAX_MODELS + 50 {
            observe(&m, &format!("made-up-{i}"));
        }
        let text = m.render(&Plugins { plugins: vec![] }, 0);
        let series = text
            .lines()
            .filter(|l| l.starts_with("claw_requests_total{") && l.contains(r#"outcome="ok""#))
            .count();
        assert_eq!(series, MAX_MODELS + 1, "{MAX_MODELS} models and `other`");
        assert!(
            text.contains(r#"claw_requests_total{model="other",outcome="ok",provider="other"} 50"#)
        );
    }
}
