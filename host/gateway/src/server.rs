//! The HTTP server: accepts on loopback, checks the token, routes to the model
//! endpoints and the admin API, and streams replies. Each request takes the
//! current `App` snapshot, so a reload swaps plugins for new requests while
//! requests in flight finish on the set they started with.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::{ApiError, ApiRequest, anthropic, openai};
use claw_core::app::{Agent, App};
use claw_core::router::{CooldownBook, Delivery, RunOutcome};
use claw_plugin_host::{Headless, Runtime};
use claw_core::state::StateDir;

pub type Body = BoxBody<Bytes, Infallible>;

/// Everything the request handlers share.
pub struct Gateway {
    pub(super) runtime: Arc<Runtime>,
    pub(super) state: StateDir,
    app: RwLock<Arc<App>>,
    pub(super) cooldowns: CooldownBook,
    token: String,
    max_body: usize,
    pub(super) reload_lock: tokio::sync::Mutex<()>,
    pub(super) started: Instant,
    served: AtomicU64,
    in_flight: AtomicU64,
}

impl Gateway {
    pub fn new(
        runtime: Arc<Runtime>,
        state: StateDir,
        app: App,
        token: String,
        max_body: usize,
    ) -> Gateway {
        let cooldowns = app.cooldowns();
        Gateway {
            runtime,
            state,
            app: RwLock::new(Arc::new(app)),
            cooldowns,
            token,
            max_body,
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
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Small SSE frames must leave at once, not wait for Nagle.
                        let _ = stream.set_nodelay(true);
                        let gateway = self.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let gateway = gateway.clone();
                                async move { Ok::<_, Infallible>(gateway.handle(req, peer).await) }
                            });
                            let conn = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
                            if let Err(e) = conn.await {
                                tracing::debug!("connection from {peer} ended: {e}");
                            }
                        });
                    }
                    Err(e) => tracing::warn!("accept failed: {e}"),
                },
                _ = &mut shutdown => break,
            }
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while self.in_flight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let id = crate::unique_id();
        let started = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let response = self.route(req, &id).await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        tracing::info!(request = %id, %peer, %method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
        response
    }

    async fn route(self: &Arc<Self>, req: Request<Incoming>, id: &str) -> Response<Body> {
        let path = req.uri().path().to_string();
        let flavor = if path == "/v1/messages" {
            Flavor::Anthropic
        } else {
            Flavor::OpenAi
        };
        if req.method() == Method::GET && path == "/health" {
            return json_response(StatusCode::OK, &json!({"status": "ok"}));
        }
        if !self.authorized(&req, flavor) {
            let e = ApiError::new(
                401,
                "authentication_error",
                "missing or wrong gateway token: send `Authorization: Bearer <token>` (or `x-api-key: <token>` to /v1/messages); \
                 the token is in $CLAW_STATE_DIR/gateway/token, gateway.auth.token or CLAW_GATEWAY_TOKEN",
            );
            return flavor.error(&e);
        }
        let method = req.method().clone();
        let query = req.uri().query().unwrap_or("").to_string();
        let body = match self.read_body(req).await {
            Ok(b) => b,
            Err(e) => return flavor.error(&e),
        };
        match (&method, path.as_str()) {
            (&Method::POST, "/v1/chat/completions") => self.chat(Flavor::OpenAi, &body, id).await,
            (&Method::POST, "/v1/messages") => self.chat(Flavor::Anthropic, &body, id).await,
            (&Method::GET, "/v1/models") => {
                json_response(StatusCode::OK, &openai::models(&self.app().catalog))
            }
            (_, p) if p.starts_with("/admin/") => {
                crate::admin::handle(self, &method, p, &query, &body).await
            }
            _ => flavor.error(&ApiError::new(
                404,
                "not_found_error",
                format!("no route for {method} {path}; see the README for the endpoints"),
            )),
        }
    }

    fn authorized(&self, req: &Request<Incoming>, flavor: Flavor) -> bool {
        let headers = req.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let api_key = (flavor == Flavor::Anthropic)
            .then(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
            .flatten();
        [bearer, api_key]
            .into_iter()
            .flatten()
            .any(|given| constant_time_eq(given.trim().as_bytes(), self.token.as_bytes()))
    }

    async fn read_body(&self, req: Request<Incoming>) -> Result<Bytes, ApiError> {
        match Limited::new(req.into_body(), self.max_body).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
                413,
                "invalid_request_error",
                format!(
                    "request body is larger than {} bytes (gateway.maxBodyBytes); send a smaller request",
                    self.max_body
                ),
            )),
            Err(e) => Err(ApiError::invalid(format!(
                "could not read the request body: {e}"
            ))),
        }
    }

    /// Run a model request; stream it when the client asked.
    async fn chat(self: &Arc<Self>, flavor: Flavor, body: &[u8], id: &str) -> Response<Body> {
        let req = match flavor.parse(body) {
            Ok(r) => r,
            Err(e) => return flavor.error(&e),
        };
        let app = self.app();
        let chain = match app.chain(Some(&req.model), Agent::Main) {
            Ok((chain, _)) => chain,
            Err(e) => return flavor.error(&ApiError::new(404, "not_found_error", e.to_string())),
        };
        if !req.stream {
            let outcome = self.route_request(&app, &chain, &req, &mut |_| {}).await;
            log_outcome(id, &outcome);
            return if outcome.ok {
                json_response(StatusCode::OK, &flavor.response(&req, &outcome))
            } else {
                flavor.error(&flavor.failure(&outcome))
            };
        }

        // Streaming: answer with the status only once the router commits to a
        // candidate (so a request that fails everywhere gets a real error status),
        // then forward frames as they come.
        let (head_tx, head_rx) = oneshot::channel::<Result<(), ApiError>>();
        let (frames_tx, frames_rx) = mpsc::unbounded_channel::<Bytes>();
        let gateway = self.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let mut encoder = flavor.encoder(&req);
            let mut head = Some(head_tx);
            let outcome = {
                let mut deliver = |d: Delivery| {
                    let frame = match d {
                        Delivery::Committed(_) => {
                            if let Some(h) = head.take() {
                                let _ = h.send(Ok(()));
                            }
                            encoder.start()
                        }
                        Delivery::Event(e) => encoder.event(&e),
                    };
                    if !frame.is_empty() {
                        let _ = frames_tx.send(Bytes::from(frame));
                    }
                };
                gateway
                    .route_request(&app, &chain, &req, &mut deliver)
                    .await
            };
            log_outcome(&id, &outcome);
            match (outcome.ok, head) {
                (true, _) => {
                    let _ = frames_tx.send(Bytes::from(encoder.finish()));
                }
                (false, Some(h)) => {
                    let _ = h.send(Err(flavor.failure(&outcome)));
                }
                (false, None) => {
                    let e = ApiError::new(
                        502,
                        "api_error",
                        outcome
                            .error
                            .clone()
                            .unwrap_or_else(|| "the reply failed".into()),
                    );
                    let _ = frames_tx.send(Bytes::from(encoder.error(&e)));
                }
            }
        });
        match head_rx.await {
            Ok(Ok(())) => {
                let stream = futures::stream::unfold(frames_rx, |mut rx| async move {
                    rx.recv()
                        .await
                        .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
                });
                Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .header(header::CACHE_CONTROL, "no-cache")
                    .body(StreamBody::new(stream).boxed())
                    .expect("a valid response")
            }
            Ok(Err(e)) => flavor.error(&e),
            Err(_) => flavor.error(&ApiError::new(
                500,
                "api_error",
                "the request ended without a reply",
            )),
        }
    }

    pub(super) async fn route_request(
        &self,
        app: &App,
        chain: &[claw_core::catalog::ModelRef],
        req: &ApiRequest,
        deliver: &mut (dyn FnMut(Delivery) + Send),
    ) -> RunOutcome {
        app.route(&self.cooldowns, chain, &req.prompt, deliver).await
    }
}

fn log_outcome(id: &str, outcome: &RunOutcome) {
    let chosen = outcome
        .provider
        .as_ref()
        .zip(outcome.model.as_ref())
        .map(|(p, m)| format!("{p}/{m}"));
    let attempts: Vec<String> = outcome
        .attempts
        .iter()
        .map(|a| {
            format!(
                "{}/{}={}",
                a.provider,
                a.model,
                a.reason.map_or("ok", |r| r.as_str())
            )
        })
        .collect();
    if outcome.ok {
        tracing::info!(request = %id, chosen = chosen.as_deref().unwrap_or("-"), attempts = %attempts.join(","), "routed");
    } else {
        tracing::warn!(request = %id, attempts = %attempts.join(","), "failed: {}", outcome.error.as_deref().unwrap_or(""));
    }
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

/// Which API's shapes a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    OpenAi,
    Anthropic,
}

/// One encoder type for either API.
enum Encoder {
    OpenAi(openai::StreamEncoder),
    Anthropic(anthropic::StreamEncoder),
}

impl Encoder {
    fn start(&mut self) -> String {
        match self {
            Encoder::OpenAi(e) => e.start(),
            Encoder::Anthropic(e) => e.start(),
        }
    }
    fn event(&mut self, event: &claw_types::ChatEvent) -> String {
        match self {
            Encoder::OpenAi(e) => e.event(event),
            Encoder::Anthropic(e) => e.event(event),
        }
    }
    fn finish(&mut self) -> String {
        match self {
            Encoder::OpenAi(e) => e.finish(),
            Encoder::Anthropic(e) => e.finish(),
        }
    }
    fn error(&mut self, err: &ApiError) -> String {
        match self {
            Encoder::OpenAi(e) => e.error(err),
            Encoder::Anthropic(e) => e.error(err),
        }
    }
}

impl Flavor {
    fn parse(self, body: &[u8]) -> Result<ApiRequest, ApiError> {
        match self {
            Flavor::OpenAi => openai::parse_request(body),
            Flavor::Anthropic => anthropic::parse_request(body),
        }
    }
    fn response(self, req: &ApiRequest, outcome: &RunOutcome) -> Value {
        match self {
            Flavor::OpenAi => openai::response(req, outcome),
            Flavor::Anthropic => anthropic::response(req, outcome),
        }
    }
    fn failure(self, outcome: &RunOutcome) -> ApiError {
        match self {
            Flavor::OpenAi => openai::failure(outcome),
            Flavor::Anthropic => anthropic::failure(outcome),
        }
    }
    fn encoder(self, req: &ApiRequest) -> Encoder {
        match self {
            Flavor::OpenAi => Encoder::OpenAi(openai::StreamEncoder::new(req)),
            Flavor::Anthropic => Encoder::Anthropic(anthropic::StreamEncoder::new(req)),
        }
    }
    pub(super) fn error(self, e: &ApiError) -> Response<Body> {
        let body = match self {
            Flavor::OpenAi => openai::error_body(e),
            Flavor::Anthropic => anthropic::error_body(e),
        };
        json_response(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_GATEWAY),
            &body,
        )
    }
}

/// Headless prompter for plugins loaded by the gateway (logins run in the CLI).
pub fn prompter() -> Arc<dyn claw_plugin_host::Prompter> {
    Arc::new(Headless)
}
