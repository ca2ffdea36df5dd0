//! The `wasi:http` transport of [`Request`](super::Request), for components.

use std::time::Duration;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::{InputStream, StreamError};

use super::{CHUNK_MAX, DENIED, Request, Response, Url};
use crate::PluginErrorExt;
use crate::types::{ErrorReason, PluginError};

/// Send `request` and wait for the response head.
pub(super) fn send(request: &Request, url: Url) -> Result<Response, PluginError> {
    let entries: Vec<(String, Vec<u8>)> = request
        .wire_headers()
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    let fields = Fields::from_list(&entries).map_err(|e| {
        PluginError::new(
            ErrorReason::Format,
            format!("invalid request header: {e:?}"),
        )
    })?;
    let outgoing = OutgoingRequest::new(fields);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    let invalid = |what: &str| {
        PluginError::new(
            ErrorReason::Format,
            format!("invalid {what} in URL {}", request.url),
        )
    };
    let scheme = match url.scheme {
        super::Scheme::Http => Scheme::Http,
        super::Scheme::Https => Scheme::Https,
    };
    outgoing
        .set_method(&method)
        .map_err(|_| invalid("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|_| invalid("scheme"))?;
    outgoing
        .set_authority(Some(&url.authority))
        .map_err(|_| invalid("host"))?;
    outgoing
        .set_path_with_query(Some(&url.path))
        .map_err(|_| invalid("path"))?;

    let options = RequestOptions::new();
    let nanos = |d: Duration| d.as_nanos().min(u64::MAX as u128) as u64;
    if let Some(t) = request.connect_timeout {
        let _ = options.set_connect_timeout(Some(nanos(t)));
    }
    if let Some(t) = request.first_byte_timeout {
        let _ = options.set_first_byte_timeout(Some(nanos(t)));
    }
    if let Some(t) = request.between_bytes_timeout {
        let _ = options.set_between_bytes_timeout(Some(nanos(t)));
    }

    let body = outgoing
        .body()
        .map_err(|_| PluginError::new(ErrorReason::Unknown, "request body unavailable"))?;
    let pending = outgoing_handler::handle(outgoing, Some(options))
        .map_err(|e| transport_error(&url.host, e))?;
    {
        let stream = body
            .write()
            .map_err(|_| PluginError::new(ErrorReason::Unknown, "request body unavailable"))?;
        for chunk in request.body.chunks(4096) {
            if let Err(e) = stream.blocking_write_and_flush(chunk) {
                // The body stream closes when the request itself failed (e.g.
                // the host denied it): report that cause, not the closed stream.
                pending.subscribe().block();
                if let Some(Ok(Err(cause))) = pending.get() {
                    return Err(transport_error(&url.host, cause));
                }
                return Err(PluginError::new(
                    ErrorReason::Network,
                    format!("sending the request body to {}: {e:?}", url.host),
                ));
            }
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| transport_error(&url.host, e))?;

    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(transport_error(&url.host, e)),
        _ => {
            return Err(PluginError::new(
                ErrorReason::Unknown,
                "the host returned no response",
            ));
        }
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let unavailable = || PluginError::new(ErrorReason::Unknown, "response body unavailable");
    let body = response.consume().map_err(|_| unavailable())?;
    let stream = body.stream().map_err(|_| unavailable())?;
    let body = Body {
        failed: None,
        stream: Some(stream),
        _body: body,
    };
    Ok(Response {
        status,
        headers,
        host: url.host,
        body,
    })
}

/// A response body, read from its `wasi:io` stream.
pub(super) struct Body {
    /// A read failure that came after data, reported on the next read.
    failed: Option<PluginError>,
    // Field order matters: the stream must be dropped before its body.
    stream: Option<InputStream>,
    _body: IncomingBody,
}

impl Body {
    /// See [`Response::read_chunk`](super::Response::read_chunk).
    pub(super) fn read_chunk(&mut self, host: &str) -> Result<Option<Vec<u8>>, PluginError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let Some(stream) = &self.stream else {
            return Ok(None);
        };
        let mut chunk = loop {
            match stream.blocking_read(CHUNK_MAX as u64) {
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => break bytes,
                Err(e) => {
                    self.stream = None;
                    return end(host, e).map(|()| None);
                }
            }
        };
        while chunk.len() < CHUNK_MAX {
            match stream.read((CHUNK_MAX - chunk.len()) as u64) {
                Ok(more) if more.is_empty() => break,
                Ok(more) => chunk.extend_from_slice(&more),
                Err(e) => {
                    // The end (or a failure) after data: hand on the data now,
                    // report the failure on the next read.
                    self.stream = None;
                    self.failed = end(host, e).err();
                    break;
                }
            }
        }
        Ok(Some(chunk))
    }
}

/// What a stream error means for the reader: the end of the body, or a failure.
fn end(host: &str, error: StreamError) -> Result<(), PluginError> {
    match error {
        StreamError::Closed => Ok(()),
        StreamError::LastOperationFailed(e) => Err(PluginError::new(
            ErrorReason::Network,
            format!("reading response from {host}: {}", e.to_debug_string()),
        )),
    }
}

fn transport_error(host: &str, e: ErrorCode) -> PluginError {
    let (reason, what) = match &e {
        ErrorCode::HttpRequestDenied => (ErrorReason::Network, DENIED.to_string()),
        ErrorCode::DnsTimeout
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => (ErrorReason::Timeout, format!("timed out ({e:?})")),
        ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestMethodInvalid => {
            (ErrorReason::Format, format!("{e:?}"))
        }
        other => (ErrorReason::Network, format!("{other:?}")),
    };
    PluginError::new(reason, format!("request to {host} failed: {what}"))
}
