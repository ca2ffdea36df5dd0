//! Optional OpenTelemetry export: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the gateway's request and
//! attempt spans (their GenAI fields: models, tokens, finish reason) go to
//! that collector over OTLP/HTTP (protobuf), in batches from a thread of
//! their own. Unset, nothing here runs.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::WithHttpConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A collector's answer is read up to this size.
const MAX_REPLY: usize = 64 * 1024;
/// One export may take this long.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether export is asked for.
pub fn wanted() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// The tracer provider exporting to the configured collector.
pub fn provider() -> Result<SdkTracerProvider, String> {
    let client = Exporter::new().map_err(|e| format!("cannot start the OTLP exporter: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .build()
        .map_err(|e| format!("cannot export to OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("claw").build())
        .build())
}

/// An HTTP client for the batch exporter, whose thread runs no tokio runtime:
/// each export runs on a small runtime of this client's own.
#[derive(Debug)]
struct Exporter {
    runtime: tokio::runtime::Runtime,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Exporter {
    fn new() -> std::io::Result<Exporter> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("claw-otlp")
            .enable_all()
            .build()?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(std::io::Error::other)?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Exporter { runtime, client })
    }
}

impl HttpClient for Exporter {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: Request<Bytes>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let send = client.request(request.map(Full::new));
            let response = tokio::time::timeout(EXPORT_TIMEOUT, send)
                .await
                .map_err(|_| "the collector did not answer within 10 s")??;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_REPLY).collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        });
        Box::pin(async move { task.await.map_err(|e| -> HttpError { Box::new(e) })? })
    }
}
