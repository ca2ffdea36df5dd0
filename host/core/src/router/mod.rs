//! The router: builds the chain of candidates (requested model, then fallbacks,
//! no duplicates), tries them in order, records every attempt, and streams the
//! reply. It fails over freely until the first content reaches the caller
//! (preambles are held back); after that, a failure ends the reply with an error.

pub mod backend;
pub mod cooldown;
mod policy;
mod span;

use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::Instrument;

use crate::catalog::Catalog;
use crate::config::models::FailoverSettings;
use claw_types::{ChatEvent, ModelRef, Usage};
pub use claw_types::{Failure, Prompt, Reason};
pub use cooldown::{CooldownBook, Cooldowns};
pub use policy::Policy;

/// Something that can run a prompt on one candidate.
pub trait Backend: Sync {
    type Stream<'a>: ReplyStream + Send
    where
        Self: 'a;
    fn start<'a>(
        &'a self,
        catalog: &'a Catalog,
        target: &'a ModelRef,
        prompt: &'a Prompt,
    ) -> impl Future<Output = Result<Self::Stream<'a>, Failure>> + Send;
}

/// A reply in progress.
pub trait ReplyStream {
    /// The next events; `None` at the end.
    fn next(&mut self) -> impl Future<Output = Result<Option<Vec<ChatEvent>>, Failure>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Skipped,
}

/// One candidate tried (or skipped), as users see it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub provider: String,
    pub model: String,
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// A short preview of the error; never a secret.
    pub error: Option<String>,
}

impl Attempt {
    /// How the attempt went, in one word: `ok` for the answer, else the
    /// reason it failed or was skipped (logs, metrics and the usage ledger).
    pub fn label(&self) -> &'static str {
        match (self.outcome, self.reason) {
            (Outcome::Success, _) => "ok",
            (_, Some(r)) => r.as_str(),
            (_, None) => "unknown",
        }
    }
}

/// What the caller is handed while the reply streams.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// The first content of this candidate is about to follow: from here on the
    /// reply is committed to it.
    Committed(ModelRef),
    Event(ChatEvent),
}

/// The end of a routed request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub ok: bool,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub attempts: Vec<Attempt>,
    #[serde(skip)]
    pub text: String,
    pub usage: Option<Usage>,
    pub stop_reason: Option<String>,
    pub error: Option<String>,
}

impl RunOutcome {
    /// Every candidate failed (or was skipped); the error names each attempt.
    pub fn all_failed(attempts: Vec<Attempt>) -> RunOutcome {
        RunOutcome {
            ok: false,
            provider: None,
            model: None,
            error: Some(all_failed(&attempts)),
            attempts,
            text: String::new(),
            usage: None,
            stop_reason: None,
        }
    }
}

/// The ordered, de-duplicated candidates for a request.
pub fn build_chain(
    catalog: &Catalog,
    requested: &ModelRef,
    fallbacks: &[String],
) -> (Vec<ModelRef>, Vec<String>) {
    let mut chain = vec![requested.clone()];
    let mut problems = Vec::new();
    for f in fallbacks {
        match catalog.resolve(f) {
            Ok(r) if !chain.contains(&r) => chain.push(r),
            Ok(_) => {}
            Err(e) => problems.push(format!("fallback \"{f}\" ignored: {e}")),
        }
    }
    (chain, problems)
}

pub struct Router<'a, B: Backend> {
    pub catalog: &'a Catalog,
    pub backend: &'a B,
    pub policy: &'a Policy,
    pub settings: FailoverSettings,
    /// Shared by concurrent requests; locked only for a moment at a time.
    pub cooldowns: &'a CooldownBook,
}

impl<B: Backend> Router<'_, B> {
    /// Run `prompt` through `chain`, handing committed events to `deliver`.
    pub async fn run(
        &self,
        chain: &[ModelRef],
        prompt: &Prompt,
        deliver: &mut (dyn FnMut(Delivery) + Send),
    ) -> RunOutcome {
        let mut attempts: Vec<Attempt> = Vec::new();
        let now = claw_types::now_ms();
        // Skip candidates that are cooling down, unless that would skip them all.
        let cooling: Vec<Option<(Duration, Reason)>> = chain
            .iter()
            .map(|c| self.cooldowns.remaining(c, now))
            .collect();
        let all_cooling = cooling.iter().all(Option::is_some);
        let runnable: Vec<usize> = (0..chain.len())
            .filter(|&i| all_cooling || cooling[i].is_none())
            .collect();
        let last_runnable = runnable.last().copied();
        // What the prompt needs of a model, worked out once for every candidate.
        let needs = prompt.needs();

        for (i, target) in chain.iter().enumerate() {
            if !runnable.contains(&i) {
                let (left, why) = cooling[i].expect("skipped candidates are cooling");
                tracing::info!(target: "claw::router", candidate = %target, reason = "cooldown", "model fallback decision: skip (cooling down {} s after {})", left.as_secs(), why.as_str());
                attempts.push(Attempt {
                    provider: target.provider.clone(),
                    model: target.model.clone(),
                    outcome: Outcome::Skipped,
                    reason: Some(Reason::Cooldown),
                    status: None,
                    latency_ms: 0,
                    error: Some(format!(
                        "cooling down for {} s after {}",
                        left.as_secs().max(1),
                        why.as_str()
                    )),
                });
                continue;
            }
            if let Some(why) = self.cannot_take(target, needs) {
                tracing::info!(target: "claw::router", candidate = %target, reason = "unsupported", "model fallback decision: skip ({why})");
                attempts.push(Attempt {
                    provider: target.provider.clone(),
                    model: target.model.clone(),
                    outcome: Outcome::Skipped,
                    reason: Some(Reason::Unsupported),
                    status: None,
                    latency_ms: 0,
                    error: Some(why),
                });
                continue;
            }
            let is_last = Some(i) == last_runnable;
            let started = Instant::now();
            let span = span::attempt(target);
            let result = self
                .attempt(target, prompt, is_last, deliver)
                .instrument(span.clone())
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            match result {
                AttemptResult::Done {
                    text,
                    usage,
                    stop_reason,
                } => {
                    span::done(&span, target, usage.as_ref(), stop_reason.as_deref());
                    self.cooldowns.record_success(target);
                    attempts.push(Attempt {
                        provider: target.provider.clone(),
                        model: target.model.clone(),
                        outcome: Outcome::Success,
                        reason: None,
                        status: None,
                        latency_ms,
                        error: None,
                    });
                    return RunOutcome {
                        ok: true,
                        provider: Some(target.provider.clone()),
                        model: Some(target.model.clone()),
                        attempts,
                        text,
                        usage,
                        stop_reason,
                        error: None,
                    };
                }
                AttemptResult::Failed { failure, committed } => {
                    span::failed(&span, failure.reason);
                    self.cooldowns
                        .record_failure(target, &failure, &self.settings);
                    attempts.push(Attempt {
                        provider: target.provider.clone(),
                        model: target.model.clone(),
                        // A plugin that cannot carry the request (an SDK 0.1
                        // plugin given tools) skips, like a model that cannot.
                        outcome: if failure.reason == Reason::Unsupported {
                            Outcome::Skipped
                        } else {
                            Outcome::Failure
                        },
                        reason: Some(failure.reason),
                        status: failure.status,
                        latency_ms,
                        error: Some(preview(&failure.message)),
                    });
                    if let Some(partial) = committed {
                        // Content already reached the caller: switching now would
                        // splice two replies together, so end with an error.
                        tracing::warn!(target: "claw::router", candidate = %target, reason = failure.reason.as_str(), "model fallback decision: stop (failed after content was sent)");
                        return RunOutcome {
                            ok: false,
                            provider: Some(target.provider.clone()),
                            model: Some(target.model.clone()),
                            attempts,
                            text: partial,
                            usage: None,
                            stop_reason: None,
                            error: Some(format!(
                                "{target} failed after the reply had started: {}: {}",
                                failure.reason.as_str(),
                                preview(&failure.message)
                            )),
                        };
                    }
                    let fails_over = self.policy.fails_over(failure.reason);
                    let next = chain
                        .get(i + 1)
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "none".into());
                    tracing::info!(
                        target: "claw::router", candidate = %target, reason = failure.reason.as_str(), status = failure.status,
                        next = %next, error = %preview(&failure.message),
                        "model fallback decision: {}", if fails_over { "try next" } else { "stop (policy)" }
                    );
                    if !fails_over {
                        break;
                    }
                }
            }
        }
        RunOutcome::all_failed(attempts)
    }

    /// Why the catalog's model cannot take a prompt that `needs`, if it cannot (a model the
    /// catalog does not list is left to its plugin).
    fn cannot_take(&self, target: &ModelRef, needs: claw_types::Needs) -> Option<String> {
        let provider = self.catalog.providers.get(&target.provider)?;
        provider.model(&target.model)?.cannot_take(needs)
    }

    async fn attempt(
        &self,
        target: &ModelRef,
        prompt: &Prompt,
        is_last: bool,
        deliver: &mut (dyn FnMut(Delivery) + Send),
    ) -> AttemptResult {
        // Time to first content; the last candidate gets no cut-off (only the
        // plugin's own call deadline), since there is nothing left to fail over to.
        let ttft = (!is_last && self.settings.ttft_timeout_ms > 0)
            .then(|| Duration::from_millis(self.settings.ttft_timeout_ms));
        let deadline = ttft.map(|t| tokio::time::Instant::now() + t);
        let no_content = |t: Duration| {
            Failure::new(
                Reason::Timeout,
                format!("no content within {} ms", t.as_millis()),
            )
        };
        let failed = |failure| AttemptResult::Failed {
            failure,
            committed: None,
        };

        let mut stream =
            match within(deadline, self.backend.start(self.catalog, target, prompt)).await {
                None => return failed(no_content(ttft.unwrap_or_default())),
                Some(Err(f)) => return failed(f),
                Some(Ok(s)) => s,
            };
        let mut held_back: Vec<ChatEvent> = Vec::new();
        let mut committed = false;
        let mut text = String::new();
        let mut usage = None;
        let mut stop_reason = None;
        loop {
            let next = if committed {
                Some(stream.next().await)
            } else {
                within(deadline, stream.next()).await
            };
            let batch = match next {
                None => return failed(no_content(ttft.unwrap_or_default())),
                Some(Err(f)) if committed => {
                    return AttemptResult::Failed {
                        failure: f,
                        committed: Some(text),
                    };
                }
                Some(Err(f)) => return failed(f),
                Some(Ok(None)) if !committed => {
                    return failed(Failure::new(
                        Reason::EmptyResponse,
                        "the reply ended without any content",
                    ));
                }
                Some(Ok(None)) => {
                    return AttemptResult::Done {
                        text,
                        usage,
                        stop_reason,
                    };
                }
                Some(Ok(Some(batch))) => batch,
            };
            for event in batch {
                match &event {
                    ChatEvent::Text(t) => text.push_str(t),
                    ChatEvent::Usage(u) => usage = Some(*u),
                    ChatEvent::Done(d) => stop_reason = Some(d.raw.clone()),
                    _ => {}
                }
                if !committed && event.is_content() {
                    committed = true;
                    deliver(Delivery::Committed(target.clone()));
                    for e in held_back.drain(..) {
                        deliver(Delivery::Event(e));
                    }
                }
                if committed {
                    deliver(Delivery::Event(event));
                } else {
                    held_back.push(event);
                }
            }
        }
    }
}

enum AttemptResult {
    Done {
        text: String,
        usage: Option<Usage>,
        stop_reason: Option<String>,
    },
    /// `committed` holds the text already delivered when the failure came after content.
    Failed {
        failure: Failure,
        committed: Option<String>,
    },
}

async fn within<T>(
    deadline: Option<tokio::time::Instant>,
    fut: impl Future<Output = T>,
) -> Option<T> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// The first line of an error, at most 300 characters.
fn preview(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(300).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

/// `All models failed (N): a/b: reason (HTTP 429): message | ...`
pub fn all_failed(attempts: &[Attempt]) -> String {
    let parts: Vec<String> = attempts
        .iter()
        .map(|a| {
            let status = a.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
            let reason = a.reason.map(Reason::as_str).unwrap_or("unknown");
            format!(
                "{}/{}: {reason}{status}: {}",
                a.provider,
                a.model,
                a.error.as_deref().unwrap_or("")
            )
        })
        .collect();
    format!(
        "All models failed ({}): {}",
        attempts.len(),
        parts.join(" | ")
    )
}
