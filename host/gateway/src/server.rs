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
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::reply::Reply;
use crate::wire::{self, WireApi};
use crate::{ApiError, ApiRequest, openai};
use claw_core::app::{Agent, App};
use claw_core::router::{CooldownBook, Delivery, RunOutcome};
use claw_core::state::StateDir;
use claw_plugin_host::{Headless, Runtime};

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
        let api = wire::serving(&path);
        // Errors speak the API of the path, or OpenAI's on other paths.
        let shape = api.unwrap_or(wire::FALLBACK);
        if req.method() == Method::GET && path == "/health" {
            return json_response(StatusCode::OK, &json!({"status": "ok"}));
        }
        if !self.authorized(&req, shape) {
            let e = ApiError::new(
                401,
                "authentication_error",
                "missing or wrong gateway token: send `Authorization: Bearer <token>` (or `x-api-key: <token>` to /v1/messages); \
                 the token is in $CLAW_STATE_DIR/gateway/token, gateway.auth.token or CLAW_GATEWAY_TOKEN",
            );
            return error_response(shape, &e);
        }
        let method = req.method().clone();
        let query = req.uri().query().unwrap_or("").to_string();
        let body = match self.read_body(req).await {
            Ok(b) => b,
            Err(e) => return error_response(shape, &e),
        };
        match (&method, path.as_str(), api) {
            (&Method::POST, _, Some(api)) => self.chat(api, &body, id).await,
            (&Method::GET, "/v1/models", _) => {
                json_response(StatusCode::OK, &openai::models(&self.app().catalog))
            }
            (_, p, _) if p.starts_with("/admin/") => {
                crate::admin::handle(self, &method, p, &query, &body).await
            }
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

    fn authorized(&self, req: &Request<Incoming>, api: &dyn WireApi) -> bool {
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

    /// Run a model request; stream it when the client asked. Either way the
    /// reply is gathered from the events the router delivers.
    async fn chat(
        self: &Arc<Self>,
        api: &'static dyn WireApi,
        body: &[u8],
        id: &str,
    ) -> Response<Body> {
        let req = match api.parse(body) {
            Ok(r) => r,
            Err(e) => return error_response(api, &e),
        };
        let app = self.app();
        let chain = match app.chain(Some(&req.model), Agent::Main) {
            Ok((chain, _)) => chain,
            Err(e) => {
                return error_response(api, &ApiError::new(404, "not_found_error", e.to_string()));
            }
        };
        if req.stream {
            return crate::stream::respond(self.clone(), api, app, chain, req, id.to_string())
                .await;
        }
        let mut reply = Reply::default();
        let mut deliver = |d: Delivery| {
            if let Delivery::Event(e) = d {
                reply.push(&e);
            }
        };
        let outcome = self.route_request(&app, &chain, &req, &mut deliver).await;
        log_outcome(id, &outcome, &reply);
        if outcome.ok {
            json_response(StatusCode::OK, &api.response(&req, &reply))
        } else {
            error_response(api, &api.failure(&outcome))
        }
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

pub(crate) fn log_outcome(id: &str, outcome: &RunOutcome, reply: &Reply) {
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
        tracing::info!(request = %id, chosen = chosen.as_deref().unwrap_or("-"), upstream_id = reply.upstream_id.as_deref().unwrap_or("-"), attempts = %attempts.join(","), "routed");
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
