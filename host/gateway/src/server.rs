//! The HTTP server: accepts on loopback, checks the token, routes to the model
//! endpoints and the admin API, and streams replies. Each request takes the
//! current `App` snapshot, so a reload swaps plugins for new requests while
//! requests in flight finish on the set they started with.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

use crate::access::{self, Admission, Caller, Clients};
use crate::apis;
use crate::meter::Meter;
use crate::reply::Reply;
use crate::wire::WireApi;
use crate::{ApiError, ApiRequest, anthropic, openai};
use claw_core::app::{Agent, App};
use claw_core::router::{CooldownBook, Delivery, RunOutcome};
use claw_core::state::StateDir;
use claw_core::usage::{Recorder, UsageSection};
use claw_plugin_host::{Headless, Runtime};
use claw_types::ClientClass;

pub type Body = BoxBody<Bytes, Infallible>;

/// What the server enforces on connections and requests (`gateway` in claw.json).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_body: usize,
    /// Open client connections at most; past it: a 503 and the socket closed.
    pub max_connections: usize,
    /// From when a connection starts waiting for a request head (a new
    /// connection, or a kept-alive one between requests) until the head is in.
    pub header_timeout: Duration,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub max_messages: usize,
    /// Limits of paired devices (`gateway.clients`).
    pub clients: crate::access::ClientsSection,
    /// `GET /metrics` is served and fed.
    pub metrics: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        crate::daemon::GatewaySection::default().settings()
    }
}

/// Refused connections whose 503 is still being delivered; past this many a
/// refused socket is closed at once.
const MAX_LINGERING: usize = 64;

/// Everything the request handlers share.
pub struct Gateway {
    pub(super) runtime: Arc<Runtime>,
    pub(super) state: StateDir,
    app: RwLock<Arc<App>>,
    pub(super) cooldowns: CooldownBook,
    token: String,
    settings: Settings,
    /// Client connections open now.
    connections: Arc<AtomicUsize>,
    lingering: Arc<AtomicUsize>,
    refused_log: Mutex<LogLimit>,
    pub(super) reload_lock: tokio::sync::Mutex<()>,
    pub(super) started: Instant,
    served: AtomicU64,
    in_flight: AtomicU64,
    /// Paired devices and their tokens (shared with `claw devices`).
    pub(crate) devices: Arc<claw_core::devices::DeviceStore>,
    /// What each device has used, against its limits.
    pub(crate) clients: Arc<Clients>,
    /// Where each finished model request is counted and recorded.
    pub(crate) sinks: crate::meter::Sinks,
}

impl Gateway {
    pub fn new(
        runtime: Arc<Runtime>,
        state: StateDir,
        app: App,
        token: String,
        settings: Settings,
    ) -> Gateway {
        let cooldowns = app.cooldowns();
        let devices = crate::pairing::store(&state);
        let clients = Arc::new(Clients::new(settings.clients.clone()));
        let sinks = crate::meter::Sinks {
            metrics: settings.metrics.then(crate::metrics::Metrics::new),
            recorder: start_recorder(&state, &app),
        };
        Gateway {
            sinks,
            devices,
            clients,
            runtime,
            state,
            app: RwLock::new(Arc::new(app)),
            cooldowns,
            token,
            settings,
            connections: Arc::new(AtomicUsize::new(0)),
            lingering: Arc::new(AtomicUsize::new(0)),
            refused_log: Mutex::new(LogLimit::default()),
            reload_lock: tokio::sync::Mutex::new(()),
            started: Instant::now(),
            served: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        }
    }

    /// The plugin set and config new requests use.
    pub fn app(&self) -> Arc<App> {
        self.app.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn swap(&self, app: App) -> Arc<App> {
        std::mem::replace(
            &mut *self.app.write().unwrap_or_else(|e| e.into_inner()),
            Arc::new(app),
        )
    }

    /// Wait (bounded) until the usage rows of finished requests are written.
    pub fn flush_usage(&self) {
        if let Some(r) = &self.sinks.recorder
            && !r.flush(Duration::from_secs(5))
        {
            tracing::warn!("usage ledger: the last rows were not written within 5 s of shutdown");
        }
    }

    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Accept connections until `shutdown` resolves, then wait (bounded) for
    /// requests in flight.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = AcceptBackoff::default();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff.reset();
                        self.clone().connection(stream, peer);
                    }
                    Err(e) => {
                        // Out of file descriptors (or another transient error):
                        // pause instead of spinning, and say so once a second.
                        let (pause, log) = backoff.failed(Instant::now());
                        if let Some(suppressed) = log {
                            let more = if suppressed > 0 {
                                format!(" ({suppressed} more since the last report)")
                            } else {
                                String::new()
                            };
                            tracing::warn!("accept failed: {e}{more}; pausing accepts for {} ms", pause.as_millis());
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = &mut shutdown => break,
                        }
                    }
                },
                _ = &mut shutdown => break,
            }
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while self.in_flight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Serve one accepted connection on its own task, or refuse it when
    /// `max_connections` are open.
    fn connection(self: Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let Some(slot) = Slot::take(&self.connections, self.settings.max_connections) else {
            self.refuse(stream, peer);
            return;
        };
        // Small SSE frames must leave at once, not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let timeout = self.settings.header_timeout;
        let gateway = self;
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(gateway.handle(req, peer).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }

    /// Past the connection cap: a minimal 503 and the socket closed. The
    /// request is read (briefly, bounded) after the answer so the close does
    /// not reset the connection before the client has read the 503.
    fn refuse(&self, stream: TcpStream, peer: SocketAddr) {
        let max = self.settings.max_connections;
        if let Some(suppressed) = self
            .refused_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report(Instant::now())
        {
            tracing::warn!(%peer, suppressed, "refused a connection: {max} are open (gateway.maxConnections)");
        }
        let answer = busy_response(max);
        let _ = stream.try_write(&answer);
        let Some(lingering) = Slot::take(&self.lingering, MAX_LINGERING) else {
            return;
        };
        tokio::spawn(async move {
            let _lingering = lingering;
            let mut stream = stream;
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = stream.shutdown().await;
                let mut buf = [0u8; 4096];
                let mut read = 0;
                while read < 64 << 10 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => read += n,
                    }
                }
            })
            .await;
        });
    }

    /// The open client connections.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let id = crate::unique_id();
        let started = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        // Every line logged for this request (the router's attempts too) carries its id.
        let span = crate::meter::request_span(&id);
        let mut response = self.route(req, &id).instrument(span.clone()).await;
        // The id in the log and the usage ledger, for the client to quote.
        if let Ok(value) = http::HeaderValue::from_str(&id) {
            response.headers_mut().insert("x-request-id", value);
        }
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        span.in_scope(|| {
            tracing::info!(%peer, %method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
        });
        response
    }

    async fn route(self: &Arc<Self>, req: Request<Incoming>, id: &str) -> Response<Body> {
        let path = req.uri().path().to_string();
        let api = apis::serving(&path);
        // Errors speak the API of the path (or of the API it is under), or
        // OpenAI's on other paths.
        let shape = apis::shape(&path);
        if req.method() == Method::GET && path == "/health" {
            return json_response(StatusCode::OK, &json!({"status": "ok"}));
        }
        if let Err(e) = self.host_allowed(&req) {
            return error_response(shape, &e);
        }
        let caller = self.caller(&req, shape);
        let method = req.method().clone();
        let pairing = path == "/pair" || path.starts_with("/pair/");
        let scope = access::required_scope(&method, &path);
        let caller = match (caller, scope) {
            (Some(caller), Some(scope)) if !caller.has(scope) => {
                return error_response(shape, &access::forbidden(&caller, scope, &method, &path));
            }
            (None, Some(_)) => return error_response(shape, &access::unauthenticated()),
            (caller, _) => caller,
        };
        let query = req.uri().query().unwrap_or("").to_string();
        let headers = req.headers().clone();
        let body = match self.read_body(req).await {
            Ok(b) => b,
            Err(e) => return error_response(shape, &e),
        };
        if pairing {
            return crate::pairing::handle(self, &method, &path, caller, &body).await;
        }
        let caller = caller.unwrap_or(Caller::Owner);
        // Chat requests are admitted once parsed (a stream holds a slot);
        // everything else here.
        let admission = match api {
            Some(_) if method == Method::POST => None,
            _ => match self.clients.admit(&caller, false) {
                Ok(a) => a,
                Err(over) => return over_limit(shape, over),
            },
        };
        let _admission = admission;
        match (&method, path.as_str(), api) {
            (&Method::POST, _, Some(api)) => self.chat(api, body, &headers, id, &caller).await,
            (&Method::POST, "/v1/messages/count_tokens", _) => count_tokens(&body, &headers),
            (&Method::GET, "/metrics", _) => self.metrics_response(shape),
            (&Method::GET, "/v1/models", _) => {
                json_response(StatusCode::OK, &openai::models(&self.app().catalog))
            }
            (_, p, _) if p.starts_with("/admin/") => {
                crate::admin::handle(self, &method, p, &query, &body).await
            }
            // Retrieving, cancelling or deleting a stored response.
            (_, p, _) if p.starts_with("/v1/responses/") => error_response(
                shape,
                &ApiError::new(
                    404,
                    "not_found_error",
                    format!(
                        "no route for {method} {path}: claw stores no responses (it is stateless); \
                         keep what you need from the reply and send the full input with each request"
                    ),
                ),
            ),
            _ => error_response(
                shape,
                &ApiError::new(
                    404,
                    "not_found_error",
                    format!("no route for {method} {path}; see the README for the endpoints"),
                ),
            ),
        }
    }

    /// DNS rebinding: a web page whose name now resolves to 127.0.0.1 reaches
    /// the gateway with its own name in `Host` (and its own `Origin`). Only
    /// loopback names and the configured ones get in.
    fn host_allowed(&self, req: &Request<Incoming>) -> Result<(), ApiError> {
        let headers = req.headers();
        let host = headers
            .get(header::HOST)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        if let Some(host) = host.filter(|h| !host_allowed(h, &self.settings.allowed_hosts)) {
            return Err(ApiError::new(
                403,
                "permission_error",
                format!(
                    "Host {host:?} is not allowed: the gateway answers requests for localhost, 127.0.0.1 and [::1] \
                     and for the names in gateway.allowedHosts (this blocks DNS-rebinding attacks from web pages); \
                     if you reach the gateway by this name, add it to gateway.allowedHosts in claw.json"
                ),
            ));
        }
        for origin in headers.get_all(header::ORIGIN) {
            let origin = String::from_utf8_lossy(origin.as_bytes());
            if !origin_allowed(&origin, &self.settings.allowed_origins) {
                return Err(ApiError::new(
                    403,
                    "permission_error",
                    format!(
                        "Origin {origin:?} is not allowed: browsers may call the gateway only from loopback pages \
                         and the origins in gateway.allowedOrigins (a web page must not use your gateway); \
                         add this origin to gateway.allowedOrigins in claw.json if you trust it"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Who the request's token belongs to: the owner, a paired device, or
    /// nobody (no token, or an unknown one).
    fn caller(&self, req: &Request<Incoming>, api: &dyn WireApi) -> Option<Caller> {
        let headers = req.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let api_key = api
            .token_header()
            .and_then(|name| headers.get(name))
            .and_then(|v| v.to_str().ok());
        let given: Vec<&str> = [bearer, api_key]
            .into_iter()
            .flatten()
            .map(str::trim)
            .collect();
        if given
            .iter()
            .any(|g| constant_time_eq(g.as_bytes(), self.token.as_bytes()))
        {
            return Some(Caller::Owner);
        }
        given
            .iter()
            .find_map(|g| self.devices.authenticate(g))
            .map(|d| Caller::Device(Arc::new(d)))
    }

    async fn read_body(&self, req: Request<Incoming>) -> Result<Bytes, ApiError> {
        match Limited::new(req.into_body(), self.settings.max_body)
            .collect()
            .await
        {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
                413,
                "invalid_request_error",
                format!(
                    "request body is larger than {} bytes (gateway.maxBodyBytes); send a smaller request",
                    self.settings.max_body
                ),
            )),
            Err(e) => Err(ApiError::invalid(format!(
                "could not read the request body: {e}"
            ))),
        }
    }

    /// Run a model request; stream it when the client asked. Either way the
    /// reply is gathered from the events the router delivers.
    async fn chat(
        self: &Arc<Self>,
        api: &'static dyn WireApi,
        body: Bytes,
        headers: &HeaderMap,
        id: &str,
        caller: &Caller,
    ) -> Response<Body> {
        let parsed = api.parse(&body, headers);
        // The request lives on as parsed; its bytes are not needed any more.
        drop(body);
        let req = match parsed {
            Ok(r) => r,
            Err(e) => return error_response(api, &e),
        };
        let (count, max) = (req.prompt.messages.len(), self.settings.max_messages);
        if count > max {
            return error_response(
                api,
                &ApiError::invalid(format!(
                    "the request has {count} messages, more than the {max} the gateway accepts (gateway.maxMessages); \
                     send fewer (e.g. summarize or drop older turns)"
                )),
            );
        }
        let app = self.app();
        let chain = match app.chain(Some(&req.model), Agent::Main) {
            Ok((chain, _)) => chain,
            Err(e) => {
                return error_response(api, &ApiError::new(404, "not_found_error", e.to_string()));
            }
        };
        let admission = match self.clients.admit(caller, req.stream) {
            Ok(a) => a,
            Err(over) => return over_limit(api, over),
        };
        let mut meter = Meter::start(id, caller, api.name(), req.stream, chain.first());
        if req.stream {
            return crate::stream::respond(self.clone(), api, app, chain, req, admission, meter)
                .await;
        }
        let mut reply = api.reply();
        let mut deliver = |d: Delivery| match d {
            Delivery::Event(e) => {
                reply.push(&e);
            }
            Delivery::Committed(_) => meter.committed(),
        };
        let outcome = self.route_request(&app, &chain, &req, &mut deliver).await;
        log_outcome(&outcome, &reply, false);
        count_tokens_of(admission.as_ref(), &reply);
        meter.finish(
            &self.sinks,
            &app,
            &chain,
            Some(&outcome),
            reply.usage.as_ref(),
        );
        if outcome.ok {
            json_response(StatusCode::OK, &api.response(&req, &reply))
        } else {
            self.failure_response(api, &outcome)
        }
    }

    /// Every candidate failed: the API's error, with `Retry-After` when the
    /// status asks the client to come back (rate limited or overloaded).
    pub(crate) fn failure_response(
        &self,
        api: &dyn WireApi,
        outcome: &RunOutcome,
    ) -> Response<Body> {
        let e = api.failure(outcome);
        let mut response = error_response(api, &e);
        if e.status == 429 || e.status == api.overloaded_status() {
            let secs = self.retry_after(outcome).unwrap_or(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
        }
        response
    }

    /// Whole seconds until the rate-limited or overloaded candidates are tried
    /// again: the cooldown each failure started, which is at least the
    /// Retry-After the failure carried (the router does not keep that itself).
    fn retry_after(&self, outcome: &RunOutcome) -> Option<u64> {
        let now = claw_types::now_ms();
        outcome
            .attempts
            .iter()
            .filter(|a| {
                a.reason.is_some_and(|r| {
                    matches!(
                        r.traits().client,
                        ClientClass::RateLimit | ClientClass::Overloaded
                    )
                })
            })
            .filter_map(|a| {
                let target = claw_types::ModelRef {
                    provider: a.provider.clone(),
                    model: a.model.clone(),
                };
                self.cooldowns.remaining(&target, now)
            })
            .map(|(left, _)| (left.as_millis() as u64).div_ceil(1000).max(1))
            .max()
    }

    pub(super) async fn route_request(
        &self,
        app: &App,
        chain: &[claw_core::catalog::ModelRef],
        req: &ApiRequest,
        deliver: &mut (dyn FnMut(Delivery) + Send),
    ) -> RunOutcome {
        app.route(&self.cooldowns, chain, &req.prompt, deliver)
            .await
    }
}

impl Gateway {
    fn metrics_response(&self, shape: &dyn WireApi) -> Response<Body> {
        let Some(metrics) = &self.sinks.metrics else {
            return error_response(
                shape,
                &ApiError::new(
                    404,
                    "not_found_error",
                    "metrics are off (`gateway.metrics: false` in claw.json); remove that setting, then `claw gateway stop` and `claw gateway start` (settings under `gateway` are read at start)",
                ),
            );
        };
        let text = metrics.render(&self.app().registry, self.in_flight());
        Response::builder()
            .status(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .body(Full::new(Bytes::from(text)).boxed())
            .expect("a valid response")
    }
}

/// The usage ledger's writer, unless `usage.enabled` is false. A bad `usage`
/// section is reported and the defaults used: recording is no reason to refuse requests.
fn start_recorder(state: &StateDir, app: &App) -> Option<Recorder> {
    let section = app
        .config
        .section::<UsageSection>("usage")
        .unwrap_or_else(|e| {
            tracing::warn!("{e}; the usage ledger uses its defaults");
            UsageSection::default()
        });
    if !section.enabled {
        return None;
    }
    let path = claw_core::usage::ledger_path(state);
    match Recorder::start(path, section.retention()) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(
                "usage ledger: cannot start its writer thread: {e}; usage is not recorded"
            );
            None
        }
    }
}

/// `POST /v1/messages/count_tokens` (same auth as /v1/messages): an
/// estimate from the request alone, since no plugin API counts tokens (see
/// `anthropic::count_tokens`).
fn count_tokens(body: &[u8], headers: &HeaderMap) -> Response<Body> {
    let api = &anthropic::Messages;
    match api.parse(body, headers) {
        Ok(req) => json_response(StatusCode::OK, &anthropic::count_tokens(&req.prompt)),
        Err(e) => error_response(api, &e),
    }
}

/// A device's finished request counts its tokens toward its day.
pub(crate) fn count_tokens_of(admission: Option<&Admission>, reply: &Reply) {
    if let (Some(a), Some(u)) = (admission, &reply.usage) {
        let total = u64::from(u.input_tokens)
            + u64::from(u.output_tokens)
            + u64::from(u.cache_read_tokens)
            + u64::from(u.cache_write_tokens);
        a.tokens(total);
    }
}

/// A device over one of its limits: 429 in the API's own shape, with Retry-After.
fn over_limit(api: &dyn WireApi, over: access::OverLimit) -> Response<Body> {
    let mut response = error_response(api, &over.error);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, over.retry_after.into());
    response
}

/// How a routed request ended. A whole reply's outcome goes on the request's
/// span, so its one `request` line (logged when the response is ready) says
/// it; a stream's is its own line, since the stream ends after that line.
pub(crate) fn log_outcome(outcome: &RunOutcome, reply: &Reply, streamed: bool) {
    let chosen = outcome
        .provider
        .as_ref()
        .zip(outcome.model.as_ref())
        .map(|(p, m)| format!("{p}/{m}"));
    let attempts: Vec<String> = outcome
        .attempts
        .iter()
        .map(|a| format!("{}/{}={}", a.provider, a.model, a.label()))
        .collect();
    let (chosen, attempts) = (chosen.as_deref().unwrap_or("-"), attempts.join(","));
    if outcome.ok && !streamed {
        let span = tracing::Span::current();
        span.record("chosen", chosen);
        span.record("upstream_id", reply.upstream_id.as_deref().unwrap_or("-"));
        span.record("attempts", attempts);
    } else if outcome.ok {
        tracing::info!(
            chosen,
            upstream_id = reply.upstream_id.as_deref().unwrap_or("-"),
            attempts,
            "routed"
        );
    } else {
        tracing::warn!(
            attempts,
            "failed: {}",
            outcome.error.as_deref().unwrap_or("")
        );
    }
}

/// A place among at most `max` (open connections, lingering refusals); given
/// back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(count.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer past the connection cap, complete on the wire; the body reads
/// as an error in both APIs' shapes.
fn busy_response(max: usize) -> Vec<u8> {
    let body = json!({"type": "error", "error": {"type": "overloaded_error", "message": format!(
        "the claw gateway has {max} connections open, its limit (gateway.maxConnections); retry shortly, or close idle connections"
    )}})
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// At most one log line a second; counts what it held back.
#[derive(Debug, Default)]
struct LogLimit {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    /// `Some(held back since the last line)` when a line may be written now.
    fn report(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < Duration::from_secs(1) => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Accept errors: pause 10 ms, doubling to 1 s while they go on; back to no
/// pause after a success. The log stays at one line a second.
#[derive(Debug, Default)]
struct AcceptBackoff {
    pause: Duration,
    log: LogLimit,
}

const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

impl AcceptBackoff {
    /// The pause before the next accept, and whether to log (with how many
    /// failures were not logged since the last line).
    fn failed(&mut self, now: Instant) -> (Duration, Option<u64>) {
        self.pause = (self.pause * 2).clamp(ACCEPT_PAUSE_MIN, ACCEPT_PAUSE_MAX);
        (self.pause, self.log.report(now))
    }

    fn reset(&mut self) {
        self.pause = Duration::ZERO;
    }
}

/// `host` or `host:port`, the host lowercased without brackets or a final dot.
fn split_host(authority: &str) -> (String, Option<&str>) {
    let (name, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((name, tail)) => (name, tail.strip_prefix(':')),
            None => (authority, None),
        },
        None => match authority.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') => (name, Some(port)),
            _ => (authority, None),
        },
    };
    (
        name.trim_end_matches('.').to_ascii_lowercase(),
        port.filter(|p| !p.is_empty()),
    )
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A `Host` that is a loopback name or address, or configured (`name` for any
/// port, `name:port` for that one, `*` for any host).
pub(crate) fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim();
    let (name, port) = split_host(host);
    if is_loopback_name(&name) {
        return true;
    }
    allowed.iter().any(|entry| {
        let entry = entry.trim();
        if entry == "*" {
            return true;
        }
        let (entry_name, entry_port) = split_host(entry);
        entry_name == name && entry_port.is_none_or(|p| Some(p) == port)
    })
}

/// An `Origin` whose host is loopback, or one configured exactly
/// (`scheme://host[:port]`, or `*`).
pub(crate) fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    let loopback = origin
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
        .is_some_and(|(_, authority)| is_loopback_name(&split_host(authority).0));
    loopback
        || allowed.iter().any(|entry| {
            let entry = entry.trim().trim_end_matches('/');
            entry == "*" || entry.eq_ignore_ascii_case(origin)
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut bytes = serde_json::to_vec(value).expect("JSON values serialize");
    bytes.push(b'\n');
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)).boxed())
        .expect("a valid response")
}

/// An error in `api`'s shape, with its status.
pub(crate) fn error_response(api: &dyn WireApi, e: &ApiError) -> Response<Body> {
    json_response(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_GATEWAY),
        &api.error_body(e),
    )
}

/// Headless prompter for plugins loaded by the gateway (logins run in the CLI).
pub fn prompter() -> Arc<dyn claw_plugin_host::Prompter> {
    Arc::new(Headless)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn loopback_and_configured_hosts_are_allowed_others_are_not() {
        for host in [
            "localhost",
            "localhost:18789",
            "LOCALHOST.:18789",
            "127.0.0.1",
            "127.0.0.1:80",
            "127.1.2.3:9",
            "[::1]",
            "[::1]:18789",
        ] {
            assert!(host_allowed(host, &[]), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:18789",
            "localhost.evil.example",
            "192.168.1.5:18789",
            "[::2]:1",
            "",
        ] {
            assert!(!host_allowed(host, &[]), "{host}");
        }
        let allowed = names(&["gateway.lan", "box:8080"]);
        assert!(host_allowed("gateway.lan:18789", &allowed));
        assert!(host_allowed("Gateway.LAN", &allowed));
        assert!(host_allowed("box:8080", &allowed));
        assert!(!host_allowed("box:8081", &allowed));
        assert!(!host_allowed("other.lan", &allowed));
        assert!(host_allowed("anything", &names(&["*"])));
    }

    #[test]
    fn loopback_and_configured_origins_are_allowed_others_are_not() {
        for origin in [
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://[::1]:8443",
        ] {
            assert!(origin_allowed(origin, &[]), "{origin}");
        }
        for origin in [
            "https://evil.example",
            "http://evil.example:18789",
            "null",
            "file://",
            "http://localhost.evil.example",
        ] {
            assert!(!origin_allowed(origin, &[]), "{origin}");
        }
        let allowed = names(&["https://app.example.com"]);
        assert!(origin_allowed("https://app.example.com", &allowed));
        assert!(origin_allowed("https://APP.example.com/", &allowed));
        assert!(!origin_allowed("http://app.example.com", &allowed));
        assert!(origin_allowed("null", &names(&["*"])));
    }

    #[test]
    fn accept_errors_back_off_and_log_once_a_second() {
        let mut backoff = AcceptBackoff::default();
        let t0 = Instant::now();
        let pauses: Vec<u128> = (0..9).map(|_| backoff.failed(t0).0.as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.failed(t0).0, ACCEPT_PAUSE_MIN);

        let mut log = LogLimit::default();
        assert_eq!(log.report(t0), Some(0));
        for ms in [1, 200, 999] {
            assert_eq!(log.report(t0 + Duration::from_millis(ms)), None);
        }
        assert_eq!(log.report(t0 + Duration::from_millis(1000)), Some(3));
        assert_eq!(log.report(t0 + Duration::from_millis(1001)), None);
    }

    #[test]
    fn slots_are_bounded_and_given_back() {
        let count = Arc::new(AtomicUsize::new(0));
        let a = Slot::take(&count, 2).unwrap();
        let _b = Slot::take(&count, 2).unwrap();
        assert!(Slot::take(&count, 2).is_none());
        drop(a);
        assert!(Slot::take(&count, 2).is_some());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_busy_answer_is_a_complete_503() {
        let text = String::from_utf8(busy_response(8)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: Value = serde_json::from_str(body).unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("gateway.maxConnections")
        );
    }
}
