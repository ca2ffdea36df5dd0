//! A local stand-in for the Anthropic Messages API, the OpenAI Chat
//! Completions API and the OpenAI Responses API (`responses`), with fault
//! modes, for tests that run the real `claw` binary against it; and for
//! MiniMax's OAuth user-code login (`/oauth/code`, `/oauth/token`, with PKCE
//! and refresh-token rotation), whose tokens the model APIs can be told to
//! require (`require_tokens`).
//!
//! The server runs on its own thread with its own tokio runtime, so tests stay
//! plain `#[test]` fns; it stops when the `Upstream` is dropped. Every answer
//! is a precomputed list of steps (send bytes, wait, cut the connection), so
//! every delay and stall is bounded by its parameters and nothing loops.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

/// The pause between two SSE events: long enough that a client sees them
/// arrive separately, short enough to keep tests quick. The default of every
/// stand-in; `Upstream::set_gap_ms` changes it (0 for benchmarks: no pauses).
pub const GAP_MS: u64 = 15;

/// What `CutAfter { words }` streams the first `words` words of, cycled.
pub const CUT_TEXT: &str = "The quick brown fox jumps over the lazy dog and keeps on running";

/// A tool-using assistant (`Behavior::Agent`).
pub mod agent {
    include!("upstream/agent.rs");
}

/// The OpenAI Responses API's shapes, for every behaviour.
pub mod responses {
    include!("upstream/responses.rs");
}

/// How the stand-in answers one request for a model.
#[derive(Clone, Debug, PartialEq)]
pub enum Behavior {
    /// A normal answer with this text, streamed a few words per delta.
    Reply(String),
    /// Wait `ms` before sending the response head, then behave as `then`.
    Delay { ms: u64, then: Box<Behavior> },
    /// 200 and the SSE head, then only keep-alives every `ping_every_ms`
    /// (0: silence) for `ms`, then the response ends without any content.
    Stall { ms: u64, ping_every_ms: u64 },
    /// An error status with the API's real error body (and Retry-After).
    Status { code: u16, retry_after: Option<u64> },
    /// A complete, well-formed stream that carries no content.
    EmptyStream,
    /// Stream the first `words` words of `CUT_TEXT`, then drop the connection
    /// without the terminating events (or the final chunk).
    CutAfter { words: usize },
    /// 200, but a data line that is not JSON.
    Malformed,
    /// A long stream sent as fast as the client reads: `events` text deltas of
    /// about `bytes` bytes each, no pauses, then a normal end. Generated as it
    /// is sent, so a long flood costs the stand-in no memory.
    Flood { events: usize, bytes: usize },
    /// A tool-using assistant: tool calls first, then an answer built from
    /// their results (see `agent`).
    Agent(agent::ToolScript),
}

/// Which API a request was routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Anthropic,
    OpenAi,
    /// The OpenAI Responses API: `POST .../responses`.
    Responses,
    /// MiniMax's OAuth endpoints: `POST .../oauth/code` and `POST .../oauth/token`.
    OAuth,
    /// No route: answered 404.
    Unknown,
}

/// One request as the stand-in saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The parsed body, or Null when it was empty or not JSON. A form-encoded
    /// body (and any body sent to the OAuth routes) is an object of its fields.
    pub body: Value,
    pub api: Api,
    pub model: Option<String>,
    /// The behaviour that answered (None for 404s, bad requests and OAuth; a
    /// request refused for its token under `require_tokens` shows a 401 status).
    pub behavior: Option<Behavior>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct Upstream {
    addr: std::net::SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    /// Per model: the behaviours in order and how many were used.
    scripts: HashMap<String, (Vec<Behavior>, usize)>,
    requests: Vec<Recorded>,
    ids: u64,
    /// `http://127.0.0.1:PORT`, for URLs in answers.
    url: String,
    oauth: OAuthState,
    /// The pause between SSE events (and before a cut), in ms; 0: none at all.
    gap_ms: u64,
    /// TCP connections accepted so far.
    connections: usize,
    /// When each streamed body was dropped by its client before its end.
    cancelled: Vec<Instant>,
    /// Streamed bodies that were sent to their end.
    finished: usize,
}

impl Upstream {
    pub fn start() -> Upstream {
        Self::start_on(0)
    }

    /// Listen on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(port: u16) -> Upstream {
        // Bind synchronously so the port is known before `start` returns.
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind stand-in");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared {
            url: format!("http://{addr}"),
            gap_ms: GAP_MS,
            ..Shared::default()
        }));
        let (stop, stopped) = oneshot::channel();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("upstream-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(serve(listener, state, stopped));
                // Dropping the runtime here cancels connections still open.
            })
            .unwrap();
        Upstream {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The pause between two SSE events of answers from now on (`GAP_MS` until
    /// this is called). 0 sends every event at once, with no timer in between:
    /// the zero-delay stand-in of the benchmarks.
    pub fn set_gap_ms(&self, ms: u64) {
        self.shared.lock().unwrap().gap_ms = ms;
    }

    /// Answer every request for `model` this way (resets any sequence).
    pub fn behave(&self, model: &str, behavior: Behavior) {
        self.behave_seq(model, vec![behavior]);
    }

    /// Answer the first request for `model` with the first behaviour, the next
    /// with the second, and so on; the last one repeats.
    pub fn behave_seq(&self, model: &str, behaviors: Vec<Behavior>) {
        assert!(
            !behaviors.is_empty(),
            "behave_seq needs at least one behaviour"
        );
        let mut shared = self.shared.lock().unwrap();
        shared.scripts.insert(model.to_string(), (behaviors, 0));
    }

    /// TCP connections accepted so far (a kept-alive connection counts once).
    pub fn connections(&self) -> usize {
        self.shared.lock().unwrap().connections
    }

    /// When each streamed answer (SSE, or a body sent step by step) was
    /// dropped by its client before it ended, in order.
    pub fn cancelled_streams(&self) -> Vec<Instant> {
        self.shared.lock().unwrap().cancelled.clone()
    }

    /// Streamed answers sent to their end.
    pub fn finished_streams(&self) -> usize {
        self.shared.lock().unwrap().finished
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// How many requests named this model.
    pub fn count(&self, model: &str) -> usize {
        let shared = self.shared.lock().unwrap();
        shared
            .requests
            .iter()
            .filter(|r| r.model.as_deref() == Some(model))
            .count()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Mutex<Shared>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let tcp = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(_) => {
                    // e.g. out of file descriptors: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        // Small SSE events must leave at once, not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        shared.lock().unwrap().connections += 1;
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            // HTTP/1.1 keep-alive is hyper's default.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// What one request needs to shape its answer.
struct Ctx {
    api: Api,
    model: String,
    stream: bool,
    include_usage: bool,
    input_tokens: usize,
    id: u64,
    created: u64,
    /// The pause between SSE events, from `Shared::gap_ms`.
    gap_ms: u64,
    /// Where streamed answers record how they ended.
    shared: Arc<Mutex<Shared>>,
    /// The request body (the agent reads the conversation).
    body: Value,
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Mutex<Shared>>,
) -> Result<Response<Out>, Infallible> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let post = parts.method == hyper::Method::POST;
    // By suffix, so any base URL prefix (e.g. /anthropic/v1/messages) works.
    let api = match () {
        _ if post && path.ends_with("/v1/messages") => Api::Anthropic,
        _ if post && path.ends_with("/chat/completions") => Api::OpenAi,
        _ if post && path.ends_with("/responses") => Api::Responses,
        _ if post && (path.ends_with("/oauth/code") || path.ends_with("/oauth/token")) => {
            Api::OAuth
        }
        _ => Api::Unknown,
    };
    let form = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
    let body: Value = if form || api == Api::OAuth {
        form_fields(&bytes)
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v| *v = format!("{v}, {value}"))
            .or_insert(value);
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string);

    // Record before answering, so a test can see a request still in flight.
    let (behavior, id, oauth_answer, gap_ms) = {
        let mut shared = shared.lock().unwrap();
        shared.ids += 1;
        let mut oauth_answer = None;
        let behavior = match (&model, api) {
            (_, Api::OAuth) => {
                oauth_answer = Some(oauth(&mut shared, &path, &body));
                None
            }
            // Refused for its token: the script is not used up.
            (Some(_), Api::Anthropic | Api::OpenAi | Api::Responses)
                if !authorized(&shared.oauth, &headers) =>
            {
                Some(Behavior::Status {
                    code: 401,
                    retry_after: None,
                })
            }
            (Some(model), Api::Anthropic | Api::OpenAi | Api::Responses) => {
                Some(pick(&mut shared, model))
            }
            _ => None,
        };
        shared.requests.push(Recorded {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body: body.clone(),
            api,
            model: model.clone(),
            behavior: behavior.clone(),
        });
        (behavior, shared.ids, oauth_answer, shared.gap_ms)
    };
    if let Some((code, answer)) = oauth_answer {
        return Ok(json_response(code, answer));
    }

    let Some(mut behavior) = behavior else {
        return Ok(if api == Api::Unknown {
            let message = format!("the stand-in has no route for {} {path}", parts.method);
            json_response(
                404,
                json!({"error": {"message": message, "type": "not_found"}}),
            )
        } else {
            bad_request(api, &body)
        });
    };
    let ctx = Ctx {
        api,
        model: model.unwrap_or_default(),
        stream: body["stream"] == true,
        include_usage: body["stream_options"]["include_usage"] == true,
        input_tokens: ["system", "messages", "instructions", "input"]
            .iter()
            .map(|key| count_words(&body[*key]))
            .sum::<usize>()
            .max(1),
        id,
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        gap_ms,
        shared: shared.clone(),
        body: body.clone(),
    };
    // Delays come before the head; they may nest.
    while let Behavior::Delay { ms, then } = behavior {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        behavior = *then;
    }
    Ok(answer(&ctx, behavior))
}

/// The next behaviour of a model's script; unknown models get a plain reply.
fn pick(shared: &mut Shared, model: &str) -> Behavior {
    match shared.scripts.get_mut(model) {
        Some((steps, used)) => {
            let b = steps[(*used).min(steps.len() - 1)].clone();
            *used += 1;
            b
        }
        None => Behavior::Reply(format!("Hello from {model}")),
    }
}

/// A request both APIs would refuse: no usable model in the body.
fn bad_request(api: Api, body: &Value) -> Response<Out> {
    let message = if body.is_null() {
        "the request body is not valid JSON"
    } else {
        "model: Field required"
    };
    let body = match api {
        Api::Anthropic => {
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
        }
        _ => {
            json!({"error": {"message": message, "type": "invalid_request_error", "param": "model", "code": null}})
        }
    };
    json_response(400, body)
}

fn answer(ctx: &Ctx, behavior: Behavior) -> Response<Out> {
    let text = match &behavior {
        Behavior::Reply(text) => text.clone(),
        Behavior::CutAfter { words } => cut_text(*words),
        _ => String::new(),
    };
    match behavior {
        Behavior::Delay { .. } => unreachable!("delays are unwrapped by the caller"),
        Behavior::Status { code, retry_after } => error_response(ctx, code, retry_after),
        // A stall is the same on the wire whether or not streaming was asked.
        Behavior::Stall { ms, ping_every_ms } => sse(ctx, stall(ctx, ms, ping_every_ms)),
        Behavior::Reply(_) | Behavior::EmptyStream if !ctx.stream => {
            json_response(200, full_message(ctx, &text))
        }
        Behavior::Reply(_) | Behavior::EmptyStream => sse(ctx, stream_steps(ctx, &text, true)),
        Behavior::CutAfter { .. } if !ctx.stream => {
            // Half a JSON body, then the connection drops.
            let whole = full_message(ctx, &text).to_string();
            let half = whole[..whole.len() / 2].to_string();
            let steps = vec![Step::Send(half), Step::Wait(ctx.gap_ms), Step::Cut];
            streamed(ctx, "application/json", steps)
        }
        Behavior::CutAfter { .. } => sse(ctx, stream_steps(ctx, &text, false)),
        Behavior::Malformed if !ctx.stream => streamed(
            ctx,
            "application/json",
            vec![Step::Send(r#"{"type": "message", oops"#.into())],
        ),
        Behavior::Agent(script) => agent::answer(ctx, &script),
        Behavior::Flood { events, bytes } => {
            let steps = flood(ctx, events, bytes);
            streamed(ctx, "text/event-stream", steps)
        }
        Behavior::Malformed => {
            let mut steps = stream_steps(ctx, "", false);
            steps.truncate(2); // the opening event only (and its pause)
            steps.push(Step::Send(match ctx.api {
                Api::Anthropic => "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", oops\n\n".into(),
                Api::Responses => responses::MALFORMED.into(),
                _ => "data: {\"id\": \"chatcmpl-oops\", \"object\": \"chat.completion.chunk\", oops\n\n".into(),
            }));
            sse(ctx, steps)
        }
    }
}

/// The first `words` words of `CUT_TEXT`, cycled, as the deltas will carry.
pub fn cut_text(words: usize) -> String {
    let all: Vec<&str> = CUT_TEXT.split(' ').collect();
    (0..words)
        .map(|i| all[i % all.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Split text into deltas of two words each; their concatenation is exact.
fn deltas(text: &str) -> Vec<String> {
    let pieces: Vec<&str> = text.split_inclusive(' ').collect();
    pieces.chunks(2).map(|c| c.concat()).collect()
}

fn count_words(value: &Value) -> usize {
    match value {
        Value::String(s) => s.split_whitespace().count(),
        Value::Array(items) => items.iter().map(count_words).sum(),
        Value::Object(map) => map.values().map(count_words).sum(),
        _ => 0,
    }
}

/// The non-streaming body: a whole message, chat.completion or response.
fn full_message(ctx: &Ctx, text: &str) -> Value {
    let output = text.split_whitespace().count();
    match ctx.api {
        Api::Responses => responses::whole(ctx, text),
        Api::Anthropic => {
            let content = if text.is_empty() {
                json!([])
            } else {
                json!([{"type": "text", "text": text}])
            };
            json!({
                "id": format!("msg_stand{:016x}", ctx.id), "type": "message", "role": "assistant",
                "model": ctx.model, "content": content, "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": ctx.input_tokens, "output_tokens": output},
            })
        }
        _ => json!({
            "id": format!("chatcmpl-stand{:x}", ctx.id), "object": "chat.completion",
            "created": ctx.created, "model": ctx.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": ctx.input_tokens, "completion_tokens": output,
                      "total_tokens": ctx.input_tokens + output},
        }),
    }
}

/// One step of a response body.
enum Step {
    Send(String),
    Wait(u64),
    /// Drop the connection mid-body: no terminating events, no final chunk.
    Cut,
}

/// The SSE events of a reply. Empty text gives the content-free sequence;
/// `finish: false` stops after the deltas and cuts the connection.
fn stream_steps(ctx: &Ctx, text: &str, finish: bool) -> Vec<Step> {
    let mut events = Vec::new();
    let output = text.split_whitespace().count();
    match ctx.api {
        Api::Responses => events = responses::events(ctx, text, finish),
        Api::Anthropic => {
            let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
            events.push(event(
                "message_start",
                json!({"type": "message_start", "message": {
                "id": format!("msg_stand{:016x}", ctx.id), "type": "message", "role": "assistant",
                "model": ctx.model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": ctx.input_tokens, "output_tokens": 1}}}),
            ));
            // A content-free reply has no content block at all.
            if !text.is_empty() || !finish {
                events.push(event(
                    "content_block_start",
                    json!({"type": "content_block_start",
                    "index": 0, "content_block": {"type": "text", "text": ""}}),
                ));
                events.push("event: ping\ndata: {\"type\": \"ping\"}\n\n".into());
                for delta in deltas(text) {
                    events.push(event(
                        "content_block_delta",
                        json!({"type": "content_block_delta",
                        "index": 0, "delta": {"type": "text_delta", "text": delta}}),
                    ));
                }
                if finish {
                    events.push(event(
                        "content_block_stop",
                        json!({"type": "content_block_stop", "index": 0}),
                    ));
                }
            }
            if finish {
                events.push(event(
                    "message_delta",
                    json!({"type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"output_tokens": output}}),
                ));
                events.push(event("message_stop", json!({"type": "message_stop"})));
            }
        }
        _ => {
            // With include_usage, real chunks carry "usage": null until the last.
            let chunk = |choices: Value, usage: Value| {
                let mut c = json!({"id": format!("chatcmpl-stand{:x}", ctx.id),
                    "object": "chat.completion.chunk", "created": ctx.created,
                    "model": ctx.model, "choices": choices});
                if ctx.include_usage {
                    c["usage"] = usage;
                }
                format!("data: {c}\n\n")
            };
            let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "finish_reason": finish}]);
            events.push(chunk(
                choice(json!({"role": "assistant", "content": ""}), Value::Null),
                Value::Null,
            ));
            for delta in deltas(text) {
                events.push(chunk(
                    choice(json!({"content": delta}), Value::Null),
                    Value::Null,
                ));
            }
            // The content-free stream is the role chunk, then [DONE].
            if finish && !text.is_empty() {
                events.push(chunk(choice(json!({}), json!("stop")), Value::Null));
                if ctx.include_usage {
                    let usage = json!({"prompt_tokens": ctx.input_tokens, "completion_tokens": output,
                                       "total_tokens": ctx.input_tokens + output});
                    events.push(chunk(json!([]), usage));
                }
            }
            if finish {
                events.push("data: [DONE]\n\n".into());
            }
        }
    }
    let mut steps = Vec::new();
    for e in events {
        steps.push(Step::Send(e));
        steps.push(Step::Wait(ctx.gap_ms));
    }
    if !finish {
        steps.push(Step::Cut);
    }
    steps
}

/// A reply of `events` deltas of about `bytes` bytes each, without pauses,
/// made as it is sent (the frames of a one-word reply, its delta repeated).
fn flood(ctx: &Ctx, events: usize, bytes: usize) -> impl Iterator<Item = Step> + Send + 'static {
    let frames: Vec<String> = stream_steps(ctx, "x", true)
        .into_iter()
        .filter_map(|s| match s {
            Step::Send(text) => Some(text),
            _ => None,
        })
        .collect();
    let at = frames
        .iter()
        .position(|f| f.contains("\"x\""))
        .expect("a delta frame");
    let piece = "flood ".repeat(bytes.div_ceil(6).max(1));
    let delta = frames[at].replace("\"x\"", &format!("\"{piece}\""));
    let (head, tail) = (frames[..at].to_vec(), frames[at + 1..].to_vec());
    head.into_iter()
        .chain(std::iter::repeat_n(delta, events))
        .chain(tail)
        .map(Step::Send)
}

/// Keep-alives only, for exactly `ms`, then a clean end.
fn stall(ctx: &Ctx, ms: u64, ping_every_ms: u64) -> Vec<Step> {
    let keep_alive = match ctx.api {
        Api::Anthropic => "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        _ => ": keep-alive\n\n",
    };
    let mut steps = Vec::new();
    let mut elapsed = 0;
    while ping_every_ms > 0 && elapsed + ping_every_ms < ms {
        steps.push(Step::Wait(ping_every_ms));
        steps.push(Step::Send(keep_alive.into()));
        elapsed += ping_every_ms;
    }
    steps.push(Step::Wait(ms - elapsed));
    steps
}

/// The API's real error body for a status.
fn error_response(ctx: &Ctx, code: u16, retry_after: Option<u64>) -> Response<Out> {
    let body = match ctx.api {
        Api::Anthropic => {
            let (kind, message) = match code {
                400 => ("invalid_request_error", "messages: Field required"),
                401 => ("authentication_error", "invalid x-api-key"),
                // Anthropic reports an empty credit balance as an invalid request.
                402 => (
                    "invalid_request_error",
                    "Your credit balance is too low to access the API",
                ),
                403 => (
                    "permission_error",
                    "Your API key does not have permission to use the specified resource.",
                ),
                404 => ("not_found_error", "Not found"),
                413 => (
                    "request_too_large",
                    "Request exceeds the maximum allowed number of bytes.",
                ),
                429 => (
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                ),
                529 => ("overloaded_error", "Overloaded"),
                _ => ("api_error", "Internal server error"),
            };
            json!({"type": "error", "error": {"type": kind, "message": message},
                   "request_id": format!("req_stand{:016x}", ctx.id)})
        }
        _ => {
            let (kind, error_code, message) = match code {
                400 => ("invalid_request_error", Value::Null, "Invalid request"),
                401 => (
                    "invalid_request_error",
                    json!("invalid_api_key"),
                    "Incorrect API key provided: sk-stand***. You can find your API key at https://platform.openai.com/account/api-keys.",
                ),
                402 => (
                    "insufficient_quota",
                    json!("insufficient_quota"),
                    "You exceeded your current quota, please check your plan and billing details",
                ),
                403 => (
                    "request_forbidden",
                    json!("unsupported_country_region_territory"),
                    "Country, region, or territory not supported",
                ),
                404 => (
                    "invalid_request_error",
                    json!("model_not_found"),
                    "The model does not exist or you do not have access to it.",
                ),
                429 => (
                    "requests",
                    json!("rate_limit_exceeded"),
                    "Rate limit reached for requests",
                ),
                503 | 529 => (
                    "server_error",
                    json!("overloaded"),
                    "The server is overloaded or not ready yet.",
                ),
                _ => (
                    "server_error",
                    Value::Null,
                    "The server had an error while processing your request. Sorry about that!",
                ),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": error_code}})
        }
    };
    let mut response = json_response(code, body);
    if let Some(secs) = retry_after {
        response.headers_mut().insert("retry-after", secs.into());
    }
    if code == 529 {
        // hyper writes "<none>" for a status without a canonical reason.
        response
            .extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(b"Overloaded"));
    }
    response
}

fn json_response(code: u16, body: Value) -> Response<Out> {
    Response::builder()
        .status(StatusCode::from_u16(code).expect("a valid status code"))
        .header("content-type", "application/json")
        .body(Out::Full(Some(Bytes::from(body.to_string()))))
        .unwrap()
}

fn sse(ctx: &Ctx, steps: Vec<Step>) -> Response<Out> {
    streamed(ctx, "text/event-stream", steps)
}

/// A 200 whose body is written step by step by its own task; the bounded
/// channel means each step reaches the socket before the next wait begins.
/// A client that drops the body is noticed at once (also during a wait) and
/// recorded in `Shared::cancelled`.
fn streamed(
    ctx: &Ctx,
    content_type: &str,
    steps: impl IntoIterator<Item = Step, IntoIter: Send + 'static>,
) -> Response<Out> {
    let (tx, rx) = mpsc::channel(1);
    let shared = ctx.shared.clone();
    let steps = steps.into_iter();
    tokio::spawn(async move {
        for step in steps {
            let sent = match step {
                Step::Send(text) => tx.send(Ok(Bytes::from(text))).await.is_ok(),
                // No timer at all for a zero pause (a zero sleep may still wait for
                // the next timer tick).
                Step::Wait(0) => !tx.is_closed(),
                Step::Wait(ms) => tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(ms)) => true,
                    _ = tx.closed() => false,
                },
                Step::Cut => tx.send(Err(Cut)).await.is_ok(),
            };
            if !sent {
                // The client went away.
                shared.lock().unwrap().cancelled.push(Instant::now());
                return;
            }
        }
        shared.lock().unwrap().finished += 1;
    });
    let id_header = if ctx.api == Api::Anthropic {
        "request-id"
    } else {
        "x-request-id"
    };
    Response::builder()
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .header(id_header, format!("req_stand{:016x}", ctx.id))
        .body(Out::Stream(rx))
        .unwrap()
}

/// The error that makes hyper drop the connection mid-body.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stand-in cut the connection on purpose")
    }
}

impl std::error::Error for Cut {}

/// A response body: whole (sent with Content-Length) or streamed (chunked).
enum Out {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Result<Bytes, Cut>>),
}

impl Body for Out {
    type Data = Bytes;
    type Error = Cut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Cut>>> {
        match self.get_mut() {
            Out::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Out::Stream(rx) => rx
                .poll_recv(cx)
                .map(|item| item.map(|r| r.map(Frame::data))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Out::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Out::Full(None) => SizeHint::with_exact(0),
            Out::Stream(_) => SizeHint::default(),
        }
    }
}

// ---- MiniMax's OAuth user-code login, and tokens for the model APIs ----

/// The user code `/oauth/code` hands out.
pub const OAUTH_USER_CODE: &str = "ABCD-1234";
/// The poll interval `/oauth/code` asks for, in milliseconds (short: tests are fast).
pub const OAUTH_INTERVAL_MS: u64 = 100;
/// How long a user code lives, in milliseconds (`OAuthOutcome::Expire`: 1.5 s).
pub const OAUTH_CODE_LIFETIME_MS: u64 = 60_000;

/// How a login ends once the pending polls are used up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OAuthOutcome {
    /// `{"status":"success","access_token":"mm-access-<n>","refresh_token":"mm-refresh-<n>",...}`.
    Success,
    /// `{"status":"error","base_resp":{"status_code":1004,"status_msg":"user denied the authorization"}}`.
    Deny,
    /// The code lives 1.5 s and the token endpoint never succeeds (always pending).
    Expire,
    /// `/oauth/code` answers with a state other than the one it was sent.
    StateMismatch,
}

/// How the refresh-token grant answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshBehavior {
    /// New tokens "mm-access-<n>" and, with `rotate`, "mm-refresh-<n>" (without
    /// it the reply has no `refresh_token` and the old one stays valid). Only a
    /// session's latest refresh token is valid: a stale one is rejected.
    Accept { rotate: bool },
    /// 400 `{"status":"error","base_resp":{"status_msg":"refresh token is invalid or expired"}}`.
    Reject,
}

/// How the OAuth routes behave (`Upstream::oauth`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthScript {
    /// `{"status":"pending"}` answers to the user-code grant before the outcome.
    pub pending_polls: usize,
    pub outcome: OAuthOutcome,
    /// Lifetime of every access token issued (login and refresh), from issue.
    pub expires_in_ms: u64,
    /// `resource_url` of the login's success reply, when set.
    pub resource_url: Option<String>,
    pub refresh: RefreshBehavior,
    /// The only client id `/oauth/code` accepts, when set (any, when `None`).
    /// The token grants always need the client id the code or token was issued to.
    pub client_id: Option<String>,
}

impl Default for OAuthScript {
    fn default() -> Self {
        OAuthScript {
            pending_polls: 2,
            outcome: OAuthOutcome::Success,
            expires_in_ms: 3_600_000,
            resource_url: None,
            refresh: RefreshBehavior::Accept { rotate: true },
            client_id: None,
        }
    }
}

/// The OAuth routes' state, and which tokens the model APIs accept.
#[derive(Default)]
struct OAuthState {
    script: OAuthScript,
    /// The user code handed out (the latest `/oauth/code` replaces it).
    code: Option<CodeGrant>,
    /// Valid access tokens: expiry (epoch ms) and the refresh token of their session.
    access: HashMap<String, (u64, String)>,
    /// Valid refresh tokens, each with the client id it was issued to.
    refresh: HashMap<String, String>,
    /// Tokens issued so far (the `<n>` of "mm-access-<n>").
    issued: u64,
    refresh_calls: usize,
    require_tokens: bool,
    accepted: HashSet<String>,
}

/// The user code handed out and what its token grant must match.
struct CodeGrant {
    client_id: String,
    challenge: String,
    expires_at: u64,
    polls: usize,
}

impl Upstream {
    /// Script the OAuth routes (the default script applies until this is
    /// called). Tokens already issued stay valid.
    pub fn oauth(&self, script: OAuthScript) {
        self.shared.lock().unwrap().oauth.script = script;
    }

    /// From now on the model APIs answer 401 (in their own error shape) unless
    /// `Authorization: Bearer <t>` or `x-api-key: <t>` carries a valid token: an
    /// access token of the OAuth routes that is neither expired nor refreshed
    /// away, or one added with `accept_token`.
    pub fn require_tokens(&self) {
        self.shared.lock().unwrap().oauth.require_tokens = true;
    }

    /// A token the model APIs accept under `require_tokens` (e.g. an API key).
    pub fn accept_token(&self, token: &str) {
        let mut shared = self.shared.lock().unwrap();
        shared.oauth.accepted.insert(token.to_string());
    }

    /// How many refresh-token grants `/oauth/token` received (rejected ones too).
    pub fn refresh_calls(&self) -> usize {
        self.shared.lock().unwrap().oauth.refresh_calls
    }
}

/// The S256 PKCE challenge of a verifier: base64url, unpadded, of its SHA-256.
pub fn pkce_challenge(verifier: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in Sha256::digest(verifier.as_bytes()).chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A form-encoded body as a JSON object of its fields (the last of a repeated
/// name wins); `+` is a space and `%XX` a byte.
fn form_fields(bytes: &[u8]) -> Value {
    let decode = |s: &str| {
        let raw = s.as_bytes();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (raw[i], hex) {
                (b'%', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (b'+', _) => {
                    out.push(b' ');
                    i += 1;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let text = String::from_utf8_lossy(bytes);
    let fields: serde_json::Map<String, Value> = text
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), Value::String(decode(v)))
        })
        .collect();
    Value::Object(fields)
}

/// MiniMax's error shape.
fn oauth_error(code: u16, status_code: u32, message: &str) -> (u16, Value) {
    let body = json!({"status": "error", "base_resp": {"status_code": status_code, "status_msg": message}});
    (code, body)
}

/// Answer `/oauth/code` or `/oauth/token`: the status and the JSON body.
fn oauth(shared: &mut Shared, path: &str, form: &Value) -> (u16, Value) {
    let field = |name: &str| form[name].as_str().unwrap_or("").to_string();
    let now = now_ms();
    let url = shared.url.clone();
    let state = &mut shared.oauth;
    if path.ends_with("/oauth/code") {
        let required = [
            "response_type",
            "client_id",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "state",
        ];
        if let Some(missing) = required.iter().find(|name| field(name).is_empty()) {
            return oauth_error(400, 1001, &format!("missing {missing}"));
        }
        if field("response_type") != "code" || field("code_challenge_method") != "S256" {
            return oauth_error(
                400,
                1001,
                "unsupported response_type or code_challenge_method",
            );
        }
        let client_id = field("client_id");
        if state
            .script
            .client_id
            .as_ref()
            .is_some_and(|id| *id != client_id)
        {
            return oauth_error(400, 1002, "invalid client_id");
        }
        let lifetime = match state.script.outcome {
            OAuthOutcome::Expire => 1_500,
            _ => OAUTH_CODE_LIFETIME_MS,
        };
        state.code = Some(CodeGrant {
            client_id,
            challenge: field("code_challenge"),
            expires_at: now + lifetime,
            polls: 0,
        });
        let echoed = match state.script.outcome {
            OAuthOutcome::StateMismatch => format!("{}-not-yours", field("state")),
            _ => field("state"),
        };
        let body = json!({"user_code": OAUTH_USER_CODE, "verification_uri": format!("{url}/verify"),
                          "expired_in": now + lifetime, "interval": OAUTH_INTERVAL_MS, "state": echoed});
        return (200, body);
    }

    match field("grant_type").as_str() {
        "urn:ietf:params:oauth:grant-type:user_code" => {
            let Some(grant) = state
                .code
                .as_mut()
                .filter(|_| field("user_code") == OAUTH_USER_CODE)
            else {
                return oauth_error(400, 1003, "invalid user_code");
            };
            if field("client_id") != grant.client_id {
                return oauth_error(400, 1002, "invalid client_id");
            }
            // PKCE: the verifier must hash to the challenge sent with the code request.
            if pkce_challenge(&field("code_verifier")) != grant.challenge {
                return oauth_error(400, 1003, "invalid code_verifier");
            }
            if state.script.outcome == OAuthOutcome::Expire {
                return (200, json!({"status": "pending"}));
            }
            if now >= grant.expires_at {
                return oauth_error(200, 1005, "the user code has expired");
            }
            grant.polls += 1;
            if grant.polls <= state.script.pending_polls {
                return (200, json!({"status": "pending"}));
            }
            let client_id = grant.client_id.clone();
            state.code = None; // a code is used once
            if state.script.outcome == OAuthOutcome::Deny {
                return oauth_error(200, 1004, "user denied the authorization");
            }
            let (access, refresh, expires) = issue(state, now, None, &client_id);
            let mut body = json!({"status": "success", "access_token": access, "refresh_token": refresh,
                                  "token_type": "Bearer", "expired_in": expires});
            if let Some(resource_url) = &state.script.resource_url {
                body["resource_url"] = json!(resource_url);
            }
            (200, body)
        }
        "refresh_token" => {
            state.refresh_calls += 1;
            let token = field("refresh_token");
            let client_id = field("client_id");
            let valid = state.refresh.get(&token) == Some(&client_id);
            let rotate = match state.script.refresh {
                RefreshBehavior::Accept { rotate } if valid => rotate,
                _ => return oauth_error(400, 1004, "refresh token is invalid or expired"),
            };
            // The session's access tokens are refreshed away.
            state.access.retain(|_, (_, session)| *session != token);
            if rotate {
                state.refresh.remove(&token);
            }
            let keep = (!rotate).then_some(token.as_str());
            let (access, refresh, expires) = issue(state, now, keep, &client_id);
            let mut body = json!({"status": "success", "access_token": access,
                                  "token_type": "Bearer", "expired_in": expires});
            if rotate {
                body["refresh_token"] = json!(refresh);
            }
            (200, body)
        }
        other => oauth_error(400, 1001, &format!("unsupported grant_type {other:?}")),
    }
}

/// Issue "mm-access-<n>" and "mm-refresh-<n>" (or keep the session's refresh
/// token); returns the access token, the refresh token and the expiry.
fn issue(
    state: &mut OAuthState,
    now: u64,
    keep_refresh: Option<&str>,
    client_id: &str,
) -> (String, String, u64) {
    state.issued += 1;
    let n = state.issued;
    let access = format!("mm-access-{n}");
    let refresh = keep_refresh.map_or_else(|| format!("mm-refresh-{n}"), str::to_string);
    let expires = now + state.script.expires_in_ms;
    state
        .access
        .insert(access.clone(), (expires, refresh.clone()));
    state.refresh.insert(refresh.clone(), client_id.to_string());
    (access, refresh, expires)
}

/// Whether a model request may pass: always, unless `require_tokens` is on.
fn authorized(state: &OAuthState, headers: &BTreeMap<String, String>) -> bool {
    if !state.require_tokens {
        return true;
    }
    let bearer = headers.get("authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    });
    let now = now_ms();
    [bearer, headers.get("x-api-key").map(String::as_str)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .any(|t| {
            state.accepted.contains(t)
                || state
                    .access
                    .get(t)
                    .is_some_and(|(expires, _)| now < *expires)
        })
}

// ---- a tiny raw HTTP/1.1 client, for the stand-in's own tests ----

/// A response as read off the wire.
pub struct RawResponse {
    pub status: u16,
    /// Lowercase names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// When the whole head (status line and headers) had arrived.
    pub head_at: Duration,
    /// Each body chunk (decoded) with when it arrived, from sending the request.
    pub chunks: Vec<(Duration, String)>,
    /// False when the connection ended before the body did.
    pub complete: bool,
}

/// POST a JSON body to `url` + `path`; returns status, headers, body text.
pub fn post_json(
    url: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, BTreeMap<String, String>, String) {
    let r = post(url, path, headers, body);
    (r.status, r.headers, r.body)
}

/// Like `post_json`, on a fresh connection, with the chunk timings.
pub fn post(url: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> RawResponse {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let stream = TcpStream::connect(host).expect("connect to the stand-in");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    exchange(
        &mut BufReader::new(stream),
        host,
        "POST",
        path,
        headers,
        &body.to_string(),
    )
}

/// POST a form-encoded body (`application/x-www-form-urlencoded`) to `url` +
/// `path`, on a fresh connection: for the OAuth routes.
pub fn post_form(url: &str, path: &str, fields: &[(&str, &str)]) -> RawResponse {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let stream = TcpStream::connect(host).expect("connect to the stand-in");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let form = "application/x-www-form-urlencoded";
    exchange_as(
        &mut BufReader::new(stream),
        host,
        "POST",
        path,
        form,
        &[],
        &body,
    )
}

/// One request/response on an open connection (so keep-alive can be tested).
pub fn exchange(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    exchange_as(conn, host, method, path, "application/json", headers, body)
}

/// `exchange` with a body of another content type.
pub fn exchange_as(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    method: &str,
    path: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
        body.len()
    );

    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let start = Instant::now();
    conn.get_mut()
        .write_all(request.as_bytes())
        .expect("send the request");

    let mut line = String::new();
    conn.read_line(&mut line).expect("read the status line");
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        conn.read_line(&mut line).expect("read a header");
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
    }
    let mut response = RawResponse {
        status,
        headers,
        head_at: start.elapsed(),
        body: String::new(),
        chunks: vec![],
        complete: false,
    };
    let push = |r: &mut RawResponse, bytes: Vec<u8>| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        r.body.push_str(&text);
        r.chunks.push((start.elapsed(), text));
    };
    if response
        .headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        loop {
            line.clear();
            if conn.read_line(&mut line).unwrap_or(0) == 0 {
                break; // cut before the last chunk
            }
            let size = line.trim_end().split(';').next().unwrap_or("");
            let Ok(size) = usize::from_str_radix(size, 16) else {
                break;
            };
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                while conn.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                response.complete = true;
                break;
            }
            let mut chunk = vec![0; size + 2]; // data and its CRLF
            if conn.read_exact(&mut chunk).is_err() {
                break;
            }
            chunk.truncate(size);
            push(&mut response, chunk);
        }
    } else if let Some(len) = response
        .headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
    {
        let mut bytes = vec![0; len];
        response.complete = conn.read_exact(&mut bytes).is_ok();
        push(&mut response, bytes);
    } else {
        let mut bytes = Vec::new();
        response.complete = conn.read_to_end(&mut bytes).is_ok();
        push(&mut response, bytes);
    }
    response
}
