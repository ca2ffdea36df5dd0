//! The gateway: an HTTP server on loopback that speaks the OpenAI (Chat
//! Completions and Responses) and Anthropic wire formats, routes every request
//! through the router, and reloads plugins and config in place.
//!
//! Each client API is a module behind `wire::WireApi` (`openai`, `responses`,
//! `anthropic`) that translates between its JSON/SSE and the router's plain types; they
//! hold no I/O, so every shape is unit-tested. `POST /v1/messages/count_tokens`
//! answers an estimate (about 4 bytes per token, a fixed count per image):
//! no plugin API counts tokens.

pub mod access;
mod admin;
pub mod anthropic;
pub mod apis;
pub mod daemon;
pub mod devices;
mod meter;
pub mod metrics;
pub mod openai;
mod pairing;
mod parse;
pub mod reply;
pub mod responses;
pub mod server;
mod stream;
pub mod wire;

use claw_core::router::{Prompt, Reason, RunOutcome};
use claw_types::ClientClass;

/// A model request parsed from any API.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The model as the client named it (a ref or an alias), echoed back.
    pub model: String,
    pub prompt: Prompt,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
}

/// An error to send back in the API's own error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The API's error type, e.g. `invalid_request_error`, `authentication_error`.
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request_error", message)
    }
}

// ---- Helpers shared by the API modules (pure). ----

/// A process-unique id: nanoseconds since the epoch, then a process-wide
/// counter, in hex. Unique within a process without a UUID dependency.
pub(crate) fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{nanos:016x}{:08x}", n as u32)
}

pub(crate) fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How the candidates of a failed request failed, when they all agree (the
/// class of each reason is in `Reason::traits`); this picks the status, so a
/// client backs off on 429/529 and retries a 504.
fn all_failed_class(outcome: &RunOutcome) -> ClientClass {
    use claw_core::router::Outcome;
    // Candidates skipped while cooling down say nothing new about this request;
    // when every candidate was skipped because it cannot take the request as
    // it is, the client has to change it.
    let mut classes = outcome
        .attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failure)
        .map(|a| a.reason.map_or(ClientClass::Other, |r| r.traits().client));
    match classes.next() {
        Some(first) if classes.all(|c| c == first) => first,
        Some(_) => ClientClass::Other,
        None if outcome
            .attempts
            .iter()
            .any(|a| a.reason == Some(Reason::Unsupported)) =>
        {
            ClientClass::BadRequest
        }
        None => ClientClass::Other,
    }
}

/// Every candidate failed: a status clients retry or back off on (429, the
/// API's overloaded status, 504, 502), never 401 for an upstream auth failure,
/// since the client's own token was fine. The message is the router's summary
/// (it names every attempt and holds no secret).
pub(crate) fn all_failed(outcome: &RunOutcome, overloaded_status: u16) -> ApiError {
    let class = all_failed_class(outcome);
    let error = outcome
        .error
        .clone()
        .unwrap_or_else(|| claw_core::router::all_failed(&outcome.attempts));
    match class {
        ClientClass::RateLimit => ApiError::new(429, "rate_limit_error", error),
        ClientClass::Overloaded => ApiError::new(overloaded_status, "overloaded_error", error),
        ClientClass::Timeout => ApiError::new(504, "timeout_error", error),
        ClientClass::UpstreamAuth => ApiError::new(
            502,
            "api_error",
            format!(
                "The upstream provider rejected the credentials claw holds for it (your own token for claw was accepted); fix the provider's API key or login in claw's config. {error}"
            ),
        ),
        ClientClass::BadRequest => ApiError::invalid(error),
        ClientClass::Other => ApiError::new(502, "api_error", error),
    }
}

/// Test helpers shared by the API modules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use claw_core::router::Reason;
    pub(crate) use claw_types::ChatEvent;

    use crate::ApiError;
    use crate::reply::Reply;
    use crate::wire::{Encoder, Frames, WireApi};
    use claw_core::router::{Attempt, Outcome, RunOutcome};
    use claw_types::{ContentPart, Done, ImageSource, Message, ToolOutput, Usage};

    /// The message of the 400 `api` gives `body`.
    pub(crate) fn parse_error(api: &dyn WireApi, body: &str) -> String {
        let e = api
            .parse(body.as_bytes(), &http::HeaderMap::new())
            .expect_err(body);
        assert_eq!((e.status, e.kind), (400, "invalid_request_error"), "{body}");
        e.message
    }

    /// The frame that ends a stream when `model` fails after some content;
    /// nothing may follow it.
    pub(crate) fn cut_after_content<F: Frames>(enc: &mut Encoder<F>, model: &str) -> String {
        enc.event(&ChatEvent::Text("partial".into()));
        let e = ApiError::new(
            502,
            "api_error",
            format!("{model} failed after the reply had started: network: reset"),
        );
        let frame = enc.error(&e);
        assert_eq!(enc.finish(), "");
        assert_eq!(enc.error(&e), "");
        frame
    }

    /// A reply with reasoning, text in pieces, usage and a stop reason.
    pub(crate) fn full_stream(usage: Usage, stop: &str) -> Vec<ChatEvent> {
        vec![
            ChatEvent::Started("msg_up".into()),
            ChatEvent::Reasoning("Hmm.".into()),
            ChatEvent::Text("Hello".into()),
            ChatEvent::Text(" there,".into()),
            ChatEvent::Text(" friend".into()),
            ChatEvent::Usage(usage),
            ChatEvent::Done(Done::from_raw(stop)),
        ]
    }

    /// The frames for a committed stream of `events` that completes.
    pub(crate) fn run<F: Frames>(enc: &mut Encoder<F>, events: &[ChatEvent]) -> Vec<String> {
        let mut out = vec![enc.start()];
        out.extend(events.iter().map(|e| enc.event(e)));
        out.push(enc.finish());
        out
    }

    /// A finished stream writes nothing more.
    pub(crate) fn assert_ended<F: Frames>(enc: &mut Encoder<F>) {
        assert_eq!(enc.finish(), "", "the stream ends once");
        assert_eq!(enc.event(&ChatEvent::Text("late".into())), "");
    }

    /// Messages as short text, for readable assertions.
    pub(crate) fn show(messages: &[Message]) -> Vec<String> {
        let image = |s: &ImageSource| match s {
            ImageSource::Base64 { media_type, data } => format!("image({media_type}, {data})"),
            ImageSource::Url(url) => format!("image({url})"),
        };
        let cached = |c: &Option<claw_types::CacheHint>| match c {
            Some(h) => format!("[cache {:?}]", h.ttl_seconds),
            None => String::new(),
        };
        let part = |p: &ContentPart| match p {
            ContentPart::Text { text, cache } => format!("text({text}){}", cached(cache)),
            ContentPart::Image { source, cache } => format!("{}{}", image(source), cached(cache)),
            ContentPart::ToolCall(c) => format!("call({}, {}, {})", c.id, c.name, c.arguments),
            ContentPart::ToolResult(r) => {
                let outputs: Vec<String> = r
                    .content
                    .iter()
                    .map(|o| match o {
                        ToolOutput::Text(t) => t.clone(),
                        ToolOutput::Image(s) => image(s),
                    })
                    .collect();
                let error = if r.is_error { " error" } else { "" };
                format!(
                    "result({}{error}: {}){}",
                    r.call_id,
                    outputs.join(" "),
                    cached(&r.cache)
                )
            }
            ContentPart::Reasoning { text, signature } => {
                format!("reasoning({text}, {})", signature.as_deref().unwrap_or("-"))
            }
            ContentPart::RedactedReasoning(d) => format!("redacted({d})"),
        };
        messages
            .iter()
            .map(|m| {
                let parts: Vec<String> = m.content.iter().map(part).collect();
                format!("{:?}: {}", m.role, parts.join(" "))
            })
            .collect()
    }

    pub(crate) fn usage_of(input: u32, output: u32, cache_read: u32, cache_write: u32) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
            reasoning_tokens: 0,
        }
    }

    /// A reply gathered from `events`, as the router would deliver them.
    pub(crate) fn gathered(api: &dyn WireApi, events: &[ChatEvent]) -> Reply {
        let mut reply = api.reply();
        for e in events {
            reply.push(e);
        }
        reply
    }

    /// A complete text reply as the router's events would gather it.
    pub(crate) fn reply(text: &str, usage: Option<Usage>, stop: Option<&str>) -> Reply {
        let mut events = vec![ChatEvent::Text(text.into())];
        events.extend(usage.map(ChatEvent::Usage));
        events.extend(stop.map(|s| ChatEvent::Done(Done::from_raw(s))));
        gathered(&crate::openai::ChatCompletions, &events)
    }

    /// A routed request where every candidate failed with these reasons.
    pub(crate) fn failed(attempts: &[(Reason, Option<u16>)]) -> RunOutcome {
        let attempts: Vec<Attempt> = attempts
            .iter()
            .enumerate()
            .map(|(i, &(reason, status))| Attempt {
                provider: "p".into(),
                model: format!("m{i}"),
                outcome: if reason == Reason::Cooldown {
                    Outcome::Skipped
                } else {
                    Outcome::Failure
                },
                reason: Some(reason),
                status,
                latency_ms: 5,
                error: Some("upstream said no".into()),
            })
            .collect();
        let error = claw_core::router::all_failed(&attempts);
        RunOutcome {
            ok: false,
            provider: None,
            model: None,
            attempts,
            text: String::new(),
            usage: None,
            stop_reason: None,
            error: Some(error),
        }
    }
}
