//! OpenAI Responses API wire format: `POST /v1/responses` bodies in, `response`
//! objects, the named SSE events of a streamed response, and errors out, in
//! the shapes Codex CLI, the OpenAI Agents SDK and `client.responses.create`
//! expect. No I/O.
//!
//! claw is stateless: it stores no response (`store` is accepted either way and
//! every response says `"store": false`), so `previous_response_id`,
//! `conversation`, `background` and `item_reference` items are refused with a
//! 400 asking for the full input. It carries function tools only: other tools
//! (`web_search`, `local_shell`, `custom`, `file_search`, ...) are left out of
//! the request with a warning, since agents such as Codex always send some of
//! them and a refusal would stop them outright. Reasoning comes back as
//! reasoning items whose summary holds the reasoning text and whose
//! `encrypted_content` holds its signature (an opaque, redacted block is
//! marked by `REDACTED`), so sending the items back restores them exactly.

use http::HeaderMap;
use serde_json::Value;

use crate::reply::Reply;
use crate::wire::{Encoder, Frames, WireApi};
use crate::{ApiError, ApiRequest, openai};

mod request;
mod response;
mod stream;

pub use request::parse_request;
pub use stream::Events;

/// The API kind of passthrough fields from this API's clients.
const API: &str = "openai-responses";

/// Prefix of the `encrypted_content` of a reasoning item that carries a
/// redacted (wholly encrypted) reasoning block rather than a signature.
const REDACTED: &str = "claw-redacted:";

/// `POST /v1/responses`.
pub struct Responses;

impl WireApi for Responses {
    fn path(&self) -> &'static str {
        "/v1/responses"
    }

    fn name(&self) -> &'static str {
        "openai-responses"
    }

    fn tool_id_prefix(&self) -> &'static str {
        "call_"
    }

    fn parse(&self, body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError> {
        request::parse(body, headers)
    }

    /// A whole `response`.
    fn response(&self, req: &ApiRequest, reply: &Reply) -> Value {
        response::response(req, reply)
    }

    fn encoder(&self, req: &ApiRequest) -> Box<Encoder<dyn Frames>> {
        Box::new(Encoder::new(Events::new(req), self.tool_id_prefix()))
    }

    /// The same `{"error": {message, type, param, code}}` as Chat Completions.
    fn error_body(&self, e: &ApiError) -> Value {
        openai::ChatCompletions.error_body(e)
    }

    fn overloaded_status(&self) -> u16 {
        503
    }
}

/// One SSE event. serde_json's compact form escapes every newline, so the
/// data always fits on one line.
fn frame(event: &str, data: &Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod reply_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
