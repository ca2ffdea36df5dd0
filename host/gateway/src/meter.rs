//! One model request measured from arrival to end, then handed to the usage
//! ledger and the metrics: the one place both are fed, for streamed and whole
//! replies alike. Nothing of the prompt or the reply is kept.

use std::time::{Duration, Instant};

use tracing::Span;
use tracing::field::Empty;

use crate::access::Caller;
use crate::metrics::{Metrics, Observation};
use claw_core::app::App;
use claw_core::catalog::ModelRef;
use claw_core::router::{Outcome as Tried, RunOutcome};
use claw_core::usage::{self, Entry, Outcome, Recorder};
use claw_types::Usage;

/// The span every line logged for a request carries (its `id`). When spans
/// are exported (see `claw_types::telemetry`) a model request's span also gets
/// OpenTelemetry's GenAI fields, from `Meter`; logs print only what is recorded.
pub(crate) fn request_span(id: &str) -> Span {
    tracing::info_span!(
        "req",
        id = %id,
        chosen = Empty,
        upstream_id = Empty,
        attempts = Empty,
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
        gen_ai.operation.name = Empty,
        gen_ai.request.model = Empty,
        gen_ai.response.model = Empty,
        gen_ai.provider.name = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
        error.type = Empty,
        claw.client = Empty,
    )
}

/// Where finished requests go: the metrics (unless `gateway.metrics` is
/// false) and the usage ledger (unless `usage.enabled` is false).
pub(crate) struct Sinks {
    pub(crate) metrics: Option<Metrics>,
    pub(crate) recorder: Option<Recorder>,
}

pub(crate) struct Meter {
    at_ms: i64,
    started: Instant,
    first_content: Option<Duration>,
    request_id: String,
    client: String,
    api: &'static str,
    stream: bool,
}

impl Meter {
    pub(crate) fn start(
        request_id: &str,
        caller: &Caller,
        api: &'static str,
        stream: bool,
        requested: Option<&ModelRef>,
    ) -> Meter {
        let meter = Meter {
            at_ms: usage::now_ms(),
            started: Instant::now(),
            first_content: None,
            request_id: request_id.to_string(),
            client: match caller.device() {
                Some(d) => d.name.clone(),
                None => "owner".to_string(),
            },
            api,
            stream,
        };
        // Named before the attempts start: an exported span's name is fixed
        // once a child span needs its context.
        if claw_types::telemetry::exporting() {
            let span = Span::current();
            span.record(
                "otel.name",
                format!("chat {}", requested.map_or("-", |r| r.model.as_str())),
            );
            span.record("otel.kind", "server");
            span.record("gen_ai.operation.name", "chat");
            span.record("claw.client", meter.client.as_str());
            if let Some(r) = requested {
                span.record("gen_ai.request.model", r.model.as_str());
            }
        }
        meter
    }

    /// The router committed to a candidate: its first content follows.
    pub(crate) fn committed(&mut self) {
        self.first_content
            .get_or_insert_with(|| self.started.elapsed());
    }

    /// The request ended: `outcome` is `None` when the client went away first.
    pub(crate) fn finish(
        self,
        sinks: &Sinks,
        app: &App,
        chain: &[ModelRef],
        outcome: Option<&RunOutcome>,
        reply_usage: Option<&Usage>,
    ) {
        if sinks.recorder.is_none() && sinks.metrics.is_none() {
            return;
        }
        let duration = self.started.elapsed();
        let requested = chain.first();
        let answered = outcome
            .filter(|o| o.ok)
            .and_then(|o| o.provider.as_deref().zip(o.model.as_deref()));
        let (provider, model) = answered
            .or_else(|| requested.map(|r| (r.provider.as_str(), r.model.as_str())))
            .unwrap_or(("-", "-"));
        let state = match outcome {
            None => Outcome::Cancelled,
            Some(o) if o.ok => Outcome::Ok,
            Some(_) => Outcome::Error,
        };
        let fallback = answered
            .is_some_and(|(p, m)| requested.is_some_and(|r| r.provider != p || r.model != m));
        let usage = reply_usage.copied().filter(|_| answered.is_some());
        let cost_usd = answered.zip(usage).and_then(|((p, m), u)| {
            let spec = app.catalog.providers.get(p)?.model(m)?;
            Some(usage::cost_usd(&u, &spec.cost))
        });
        let attempts = outcome.map_or(&[][..], |o| &o.attempts[..]);
        if claw_types::telemetry::exporting() {
            record_span(answered, usage.as_ref(), outcome, state);
        }
        if let Some(metrics) = &sinks.metrics {
            metrics.observe(&Observation {
                provider,
                model,
                outcome: state.as_str(),
                attempts: attempts
                    .iter()
                    .map(|a| (a.provider.as_str(), a.model.as_str(), a.label()))
                    .collect(),
                fallback,
                usage: usage.as_ref(),
                cost_usd,
                ttft_secs: self.first_content.map(|t| t.as_secs_f64()),
                duration_secs: duration.as_secs_f64(),
            });
        }
        let Some(recorder) = &sinks.recorder else {
            return;
        };
        let reasons: Vec<String> = attempts
            .iter()
            .filter(|a| a.outcome != Tried::Success)
            .map(|a| format!("{}/{}={}", a.provider, a.model, a.label()))
            .collect();
        recorder.record(Entry {
            at_ms: self.at_ms,
            request_id: self.request_id,
            client: self.client,
            api: self.api,
            stream: self.stream,
            requested: requested.map_or_else(|| "-".to_string(), ToString::to_string),
            provider: answered.map(|(p, _)| p.to_string()),
            model: answered.map(|(_, m)| m.to_string()),
            attempts: attempts.len() as u32,
            fallback,
            reasons: reasons.join(","),
            usage: usage.unwrap_or_default(),
            cost_usd,
            ttft_ms: self.first_content.map(|t| t.as_millis() as u64),
            duration_ms: duration.as_millis() as u64,
            outcome: state,
        });
    }
}

/// What the request's exported span learns at its end.
fn record_span(
    answered: Option<(&str, &str)>,
    usage: Option<&Usage>,
    outcome: Option<&RunOutcome>,
    state: Outcome,
) {
    let span = Span::current();
    if let Some((p, m)) = answered {
        span.record("gen_ai.provider.name", p);
        span.record("gen_ai.response.model", m);
    }
    if let Some(u) = usage {
        span.record("gen_ai.usage.input_tokens", u.input_tokens);
        span.record("gen_ai.usage.output_tokens", u.output_tokens);
    }
    if let Some(stop) = outcome.and_then(|o| o.stop_reason.as_deref()) {
        span.record("gen_ai.response.finish_reasons", stop);
    }
    if state != Outcome::Ok {
        span.record("error.type", state.as_str());
        span.record("otel.status_code", "ERROR");
    }
}
