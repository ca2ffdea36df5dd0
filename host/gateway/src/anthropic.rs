//! Anthropic Messages wire format: `POST /v1/messages` bodies in, `message`
//! objects, the named SSE events of a streamed message, and errors out, in the
//! shapes the official SDK expects (mirroring tests/support/upstream.rs). No I/O.

use http::HeaderMap;
use serde_json::{Value, json};

use crate::reply::Reply;
use crate::wire::{Encoder, Frames, WireApi};
use crate::{ApiError, ApiRequest};

mod count;
mod request;
mod response;
mod stream;

pub use count::count_tokens;
pub use request::parse_request;
pub use stream::Events;

/// The API kind of passthrough fields from this API's clients.
const API: &str = "anthropic-messages";

/// The ping frame, byte for byte as Anthropic sends it (with its space).
const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";

/// Anthropic's error types; `ApiError.kind` uses these names already.
const ERROR_TYPES: [&str; 10] = [
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
];

/// `POST /v1/messages`.
pub struct Messages;

impl WireApi for Messages {
    fn path(&self) -> &'static str {
        "/v1/messages"
    }

    fn name(&self) -> &'static str {
        "anthropic-messages"
    }

    /// The Anthropic SDK sends its key as `x-api-key`.
    fn token_header(&self) -> Option<&'static str> {
        Some("x-api-key")
    }

    fn tool_id_prefix(&self) -> &'static str {
        "toolu_"
    }

    /// `anthropic-beta` and `anthropic-version` are passed through.
    fn parse(&self, body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError> {
        request::parse(body, headers)
    }

    /// A whole `message`.
    fn response(&self, req: &ApiRequest, reply: &Reply) -> Value {
        response::response(req, reply)
    }

    fn encoder(&self, req: &ApiRequest) -> Box<Encoder<dyn Frames>> {
        Box::new(Encoder::new(Events::new(req), self.tool_id_prefix()))
    }

    /// `{"type": "error", "error": {type, message}}`; a kind that is not one of
    /// Anthropic's types is named from the status instead.
    fn error_body(&self, e: &ApiError) -> Value {
        let kind = match e.status {
            _ if ERROR_TYPES.contains(&e.kind) => e.kind,
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            504 => "timeout_error",
            400..=499 => "invalid_request_error",
            _ => "api_error",
        };
        json!({"type": "error", "error": {"type": kind, "message": e.message}})
    }

    fn overloaded_status(&self) -> u16 {
        529
    }
}

/// One SSE event. serde_json's compact form escapes every newline, so the
/// data always fits on one line.
fn frame(event: &str, data: &Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

#[cfg(test)]
mod reply_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
