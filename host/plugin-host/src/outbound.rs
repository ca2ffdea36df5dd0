//! The HTTP client behind a plugin's outbound requests: keep-alive connections
//! pooled per scheme and authority (one pool per plugin, shared by its
//! instances, since every call runs on a fresh instance; never shared between
//! plugins, whose grants differ), `TCP_NODELAY` on every socket, TLS with the
//! Mozilla roots, and the per-request timeouts of `wasi:http`. Host names and
//! ports are checked before a request gets here (`grant.rs`); the connector
//! resolves the name, checks every address against the grant and connects to
//! the addresses it checked.

use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::grant::{Denials, NetworkGrant, default_port};

/// Idle connections are closed after this; shorter than the idle timeout of
/// most servers, so a request rarely meets a connection the server just closed
/// (and one that was closed before the request went out is retried).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Idle connections kept per host: a burst of 64 concurrent requests can
/// all reuse theirs.
const POOL_MAX_IDLE_PER_HOST: usize = 64;
/// Timeouts when a plugin sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(120);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(120);
/// Any longer timeout a plugin asks for is cut to this (timers add it to
/// `Instant::now()`, which must not overflow).
const LONGEST_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The TLS set-up every plugin's client shares (made once per runtime).
#[derive(Clone)]
pub struct Tls(Arc<rustls::ClientConfig>);

impl Tls {
    pub fn new() -> Result<Tls, rustls::Error> {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_webpki_roots()
        .with_no_client_auth();
        Ok(Tls(Arc::new(config)))
    }
}

#[derive(Clone)]
pub struct Outbound {
    client: Client<HttpsConnector<GrantedConnector>, WasiBody>,
}

impl Outbound {
    /// The client of one plugin, which connects only where `grant` allows.
    pub fn new(tls: &Tls, plugin: Arc<str>, grant: Arc<NetworkGrant>) -> Outbound {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls.0).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(GrantedConnector { plugin, grant });
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .build(https);
        Outbound { client }
    }

    /// Send `request` and wait for the response head, with the plugin's
    /// timeouts or the defaults. A connection the grant refuses is noted in
    /// `denials` and fails as denied.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        denials: &Denials,
    ) -> Result<http::Response<WasiBody>, Error> {
        let options = options.unwrap_or_default();
        let bounded = |t: Option<Duration>, default: Duration| {
            t.unwrap_or(default)
                .clamp(Duration::from_nanos(1), LONGEST_TIMEOUT)
        };
        let connect = bounded(options.connect_timeout, CONNECT_TIMEOUT);
        let first_byte = bounded(options.first_byte_timeout, FIRST_BYTE_TIMEOUT);
        let between_bytes = bounded(options.between_bytes_timeout, BETWEEN_BYTES_TIMEOUT);
        // The pooled connector has one connect timeout of its own; this bound
        // covers a plugin's own, shorter one plus the wait for the first byte.
        let head = tokio::time::timeout(
            connect.saturating_add(first_byte),
            self.client.request(request),
        )
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(|e| {
            let chain = std::iter::successors(e.source(), |&c| cause(c));
            match chain.filter_map(|c| c.downcast_ref::<Denied>()).next() {
                Some(Denied(why)) => {
                    denials.note(format!("claw refused {why}"));
                    Error::HttpRequestDenied
                }
                None => to_wasi_error(&e),
            }
        })?;
        let mut timer = tokio::time::interval(between_bytes);
        timer.reset();
        Ok(head.map(|incoming| {
            BetweenBytesTimeout {
                incoming: Some(incoming),
                timer,
            }
            .boxed_unsync()
        }))
    }
}

/// A connection the grant refuses: the reason names the host, address and port.
#[derive(Debug)]
pub(crate) struct Denied(pub(crate) String);

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Denied {}

/// Resolves a request's host once, checks every address against the plugin's
/// grant, and connects to the first allowed one that answers: the address
/// connected to is always one that was checked.
#[derive(Clone)]
pub(crate) struct GrantedConnector {
    plugin: Arc<str>,
    grant: Arc<NetworkGrant>,
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl tower_service::Service<http::Uri> for GrantedConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(uri).await })
    }
}

impl GrantedConnector {
    async fn connect(self, uri: http::Uri) -> Result<TokioIo<tokio::net::TcpStream>, BoxError> {
        let host = uri
            .host()
            .ok_or("no host in the URI")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri
            .port_u16()
            .or_else(|| default_port(uri.scheme_str().unwrap_or("https")))
            .ok_or("no port for this scheme")?;
        // The name and port were checked by the hook; check them again here,
        // where the connection is made.
        self.grant.check(&host, port).map_err(Denied)?;
        let resolved: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::lookup_host((host.as_str(), port)),
            )
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "dns lookup timed out"))?
            .map_err(|e| {
                io::Error::other(format!("dns error: failed to lookup address {host}: {e}"))
            })?
            .collect(),
        };
        let mut allowed = Vec::new();
        let mut refused = None;
        for addr in resolved {
            match self.grant.check_address(&host, port, addr.ip()) {
                Ok(()) => allowed.push(addr),
                Err(why) => {
                    tracing::warn!(plugin = &*self.plugin, host, %addr, "outbound connection denied: {why}");
                    refused.get_or_insert(why);
                }
            }
        }
        if allowed.is_empty() {
            return Err(match refused {
                Some(why) => Box::new(Denied(why)),
                None => format!("dns error: failed to lookup address {host}: no addresses").into(),
            });
        }
        let mut last = None;
        for addr in allowed {
            match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await
            {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(TokioIo::new(stream));
                }
                Ok(Err(e)) => last = Some(e),
                Err(_) => last = Some(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
            }
        }
        Err(Box::new(last.expect("at least one address was tried")))
    }
}

/// A response body that fails when no frame arrives within the timeout, and
/// that finishes reading its rest when dropped early, so the connection can go
/// back to the pool.
struct BetweenBytesTimeout {
    incoming: Option<hyper::body::Incoming>,
    timer: tokio::time::Interval,
}

/// A plugin that stops reading at its protocol's last event (`[DONE]`,
/// `message_stop`) leaves the chunked terminator unread, and hyper only reuses a
/// connection whose body was read to the end. Read the rest in the background,
/// bounded, instead of dropping the connection. The bound is short because the
/// same drop happens when a client leaves mid-stream: that upstream request
/// (and its cost) must end within a second, so it is closed, not read on.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(250);
const DRAIN_MAX_BYTES: usize = 64 << 10;

impl Drop for BetweenBytesTimeout {
    fn drop(&mut self) {
        if let Some(incoming) = self.incoming.take() {
            crate::drain::in_background(incoming, DRAIN_MAX_BYTES, DRAIN_TIMEOUT);
        }
    }
}

impl http_body::Body for BetweenBytesTimeout {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        let Some(incoming) = self.incoming.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                self.timer.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                // A failed body cannot be drained for reuse.
                self.incoming = None;
                Poll::Ready(Some(Err(if e.is_timeout() {
                    Error::HttpResponseTimeout
                } else {
                    Error::Hyper(e)
                })))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.timer.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.as_ref().is_none_or(|i| i.is_end_stream())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), |i| i.size_hint())
    }
}

/// The `wasi:http` error a plugin sees for a failed request, from the
/// client's error chain (which it cannot take apart by value).
fn to_wasi_error(e: &hyper_util::client::legacy::Error) -> Error {
    tracing::debug!("outbound request failed: {}", chain_text(e));
    let chain = || std::iter::successors(e.source(), |&c| cause(c));
    if e.is_connect() {
        let io = chain().filter_map(|c| c.downcast_ref::<io::Error>()).last();
        let tls = chain().find_map(|c| c.downcast_ref::<rustls::Error>());
        if let Some(rustls) = tls {
            return match rustls {
                rustls::Error::InvalidCertificate(_) => Error::TlsCertificateError,
                rustls::Error::AlertReceived(alert) => Error::TlsAlertReceived {
                    alert_id: Some(u8::from(*alert)),
                    alert_message: Some(format!("{alert:?}")),
                },
                _ => Error::TlsProtocolError,
            };
        }
        let message = io.map_or_else(|| chain_text(e), |io| io.to_string());
        return match io.map(io::Error::kind) {
            Some(io::ErrorKind::ConnectionRefused) => Error::ConnectionRefused,
            Some(io::ErrorKind::TimedOut) => Error::ConnectionTimeout,
            Some(
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof,
            ) => Error::ConnectionTerminated,
            _ if message.contains("failed to lookup address") || message.contains("dns error") => {
                Error::DnsError {
                    rcode: Some(message),
                    info_code: None,
                }
            }
            _ if chain_text(e).contains("timed out") => Error::ConnectionTimeout,
            // wasi-http's default for any other connect error is "refused",
            // which would mislead; say what happened instead.
            _ => Error::InternalError(Some(message)),
        };
    }
    match chain().find_map(|c| c.downcast_ref::<hyper::Error>()) {
        Some(h) if h.is_timeout() => Error::ConnectionReadTimeout,
        Some(h) if h.is_incomplete_message() || h.is_closed() || h.is_canceled() => {
            Error::ConnectionTerminated
        }
        _ => Error::InternalError(Some(chain_text(e))),
    }
}

/// The next error down: what an `io::Error` wraps (its `source()` skips the
/// wrapped error itself, and TLS handshake errors come wrapped twice), else
/// the source.
fn cause<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
        Some(inner) => Some(inner),
        None => e.source(),
    }
}

fn chain_text(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
