//! The span of one attempt when spans are exported (OpenTelemetry, see
//! `claw_types::telemetry`): a client span named `chat <model>` with the GenAI
//! attributes, what is known only at the end recorded then. When nothing is
//! exported there is no span.

use tracing::Span;
use tracing::field::Empty;

use claw_types::{ModelRef, Reason, Usage};

pub(super) fn attempt(target: &ModelRef) -> Span {
    if !claw_types::telemetry::exporting() {
        return Span::none();
    }
    tracing::info_span!(
        target: "claw::router",
        "attempt",
        otel.name = %format_args!("chat {}", target.model),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = %target.provider,
        gen_ai.request.model = %target.model,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
        error.type = Empty,
    )
}

/// The attempt answered.
pub(super) fn done(span: &Span, target: &ModelRef, usage: Option<&Usage>, stop: Option<&str>) {
    if span.is_none() {
        return;
    }
    span.record("gen_ai.response.model", target.model.as_str());
    if let Some(u) = usage {
        span.record("gen_ai.usage.input_tokens", u.input_tokens);
        span.record("gen_ai.usage.output_tokens", u.output_tokens);
    }
    if let Some(stop) = stop {
        span.record("gen_ai.response.finish_reasons", stop);
    }
}

/// The attempt failed (or was cut off) for `reason`.
pub(super) fn failed(span: &Span, reason: Reason) {
    span.record("error.type", reason.as_str());
    span.record("otel.status_code", "ERROR");
}
