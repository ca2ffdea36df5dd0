//! The native transport of [`Request`](super::Request): claw's host table
//! (docs/native-abi.md, `http_send` / `http_read` / `http_close`). Requests go
//! through claw's pooled client and are checked against the plugin's grant.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CHUNK_MAX, DENIED, Request, Response, Url};
use crate::PluginErrorExt;
use crate::native::host::{self, HttpFailure};
use crate::types::{ErrorReason, PluginError};

/// The request head `http_send` takes.
#[derive(Serialize)]
struct RequestHead<'a> {
    method: &'a str,
    url: &'a str,
    headers: Vec<(String, String)>,
    connect_timeout_ms: Option<u64>,
    first_byte_timeout_ms: Option<u64>,
    between_bytes_timeout_ms: Option<u64>,
}

/// The response head `http_send` answers with.
#[derive(Deserialize)]
struct ResponseHead {
    status: u16,
    headers: Vec<(String, String)>,
}

/// Whole milliseconds, rounded up: a sub-millisecond timeout must not become 0.
fn millis(d: Duration) -> u64 {
    d.as_nanos().div_ceil(1_000_000).min(u128::from(u64::MAX)) as u64
}

/// Send `request` and wait for the response head.
pub(super) fn send(request: &Request, url: Url) -> Result<Response, PluginError> {
    let full_url = url.normalized();
    let head = RequestHead {
        method: &request.method,
        url: &full_url,
        headers: request.wire_headers(),
        connect_timeout_ms: request.connect_timeout.map(millis),
        first_byte_timeout_ms: request.first_byte_timeout.map(millis),
        between_bytes_timeout_ms: request.between_bytes_timeout.map(millis),
    };
    let head = serde_json::to_vec(&head).map_err(|e| {
        PluginError::new(
            ErrorReason::Format,
            format!("request to {} failed: {e}", url.host),
        )
    })?;
    let (handle, head) = host::http_send(&head, &request.body)
        .map_err(|e| failure(&format!("request to {} failed", url.host), e))?;
    // Owns the handle from here on, so every return below closes it.
    let body = Body {
        handle: Some(handle),
        pending: Vec::new(),
    };
    let head: ResponseHead = serde_json::from_slice(&head).map_err(|e| {
        PluginError::new(
            ErrorReason::Unknown,
            format!(
                "request to {} failed: claw sent an unreadable response head: {e}",
                url.host
            ),
        )
    })?;
    Ok(Response {
        status: head.status,
        headers: head.headers,
        host: url.host,
        body,
    })
}

/// A response body, read chunk by chunk from the host.
pub(super) struct Body {
    /// `None` once the body ended or failed (the handle is closed then).
    handle: Option<u64>,
    /// What is left of a chunk longer than `CHUNK_MAX` (the host should not
    /// send one, but the 64 KiB contract of `read_chunk` holds regardless).
    pending: Vec<u8>,
}

impl Body {
    /// See [`Response::read_chunk`](super::Response::read_chunk).
    pub(super) fn read_chunk(&mut self, host: &str) -> Result<Option<Vec<u8>>, PluginError> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            return Ok(Some(self.take(rest)));
        }
        let Some(handle) = self.handle else {
            return Ok(None);
        };
        match host::http_read(handle) {
            Ok(Some(chunk)) => Ok(Some(self.take(chunk))),
            Ok(None) => {
                self.close();
                Ok(None)
            }
            Err(e) => {
                self.close();
                Err(failure(&format!("reading response from {host}"), e))
            }
        }
    }

    /// At most `CHUNK_MAX` of `chunk`; the rest waits in `pending`.
    fn take(&mut self, mut chunk: Vec<u8>) -> Vec<u8> {
        if chunk.len() > CHUNK_MAX {
            self.pending = chunk.split_off(CHUNK_MAX);
        }
        chunk
    }

    fn close(&mut self) {
        if let Some(handle) = self.handle.take() {
            host::http_close(handle);
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.close();
    }
}

/// A host failure as a classified error; `lead` says what failed
/// ("request to {host} failed").
fn failure(lead: &str, failure: HttpFailure) -> PluginError {
    let (kind, message) = match failure {
        HttpFailure::NoHost => {
            return PluginError::new(
                ErrorReason::Network,
                format!("{lead}: no claw host: native HTTP works only when claw loads the plugin"),
            );
        }
        HttpFailure::Host { kind, message } => (kind, message),
    };
    let (reason, what) = match kind.as_str() {
        "denied" => (ErrorReason::Network, format!("{DENIED}: {message}")),
        "timeout" => (ErrorReason::Timeout, format!("timed out ({message})")),
        "invalid" => (ErrorReason::Format, message),
        // `network`, `abandoned`, and kinds a later host may add.
        _ => (ErrorReason::Network, message),
    };
    PluginError::new(reason, format!("{lead}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(millis(Duration::from_micros(1)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::ZERO), 0);
    }

    #[test]
    fn host_failures_are_classified() {
        let host_failure = |kind: &str| HttpFailure::Host {
            kind: kind.into(),
            message: "detail".into(),
        };
        let lead = "request to a.test failed";
        let e = failure(lead, host_failure("denied"));
        assert_eq!(e.reason, ErrorReason::Network);
        assert_eq!(
            e.message,
            format!("request to a.test failed: {DENIED}: detail")
        );
        let e = failure(lead, host_failure("timeout"));
        assert_eq!(
            (e.reason, e.message.as_str()),
            (
                ErrorReason::Timeout,
                "request to a.test failed: timed out (detail)"
            )
        );
        let e = failure(lead, host_failure("invalid"));
        assert_eq!(e.reason, ErrorReason::Format);
        for kind in ["network", "abandoned", "something-new"] {
            let e = failure(lead, host_failure(kind));
            assert_eq!(
                (e.reason, e.message.as_str()),
                (ErrorReason::Network, "request to a.test failed: detail")
            );
        }
        let e = failure("reading response from a.test", HttpFailure::NoHost);
        assert!(
            e.message
                .starts_with("reading response from a.test: no claw host")
        );
    }
}
