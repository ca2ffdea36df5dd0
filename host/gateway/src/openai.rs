//! OpenAI Chat Completions wire format: `POST /v1/chat/completions` bodies in,
//! `chat.completion` objects, `chat.completion.chunk` SSE frames, errors and
//! the `GET /v1/models` list out, in the shapes the official SDK and curl users
//! expect (mirroring tests/support/upstream.rs). No I/O.

use http::HeaderMap;
use serde_json::{Value, json};

use crate::reply::Reply;
use crate::wire::{Encoder, Frames, WireApi};
use crate::{ApiError, ApiRequest};
use claw_core::catalog::Catalog;

mod request;
mod response;
mod stream;

pub use request::parse_request;
pub use stream::Chunks;

/// The API kind of passthrough fields from this API's clients.
const API: &str = "openai-completions";

/// `POST /v1/chat/completions`.
pub struct ChatCompletions;

impl WireApi for ChatCompletions {
    fn path(&self) -> &'static str {
        "/v1/chat/completions"
    }

    fn name(&self) -> &'static str {
        "openai-chat"
    }

    fn tool_id_prefix(&self) -> &'static str {
        "call_"
    }

    fn parse(&self, body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError> {
        request::parse(body, headers)
    }

    /// A whole `chat.completion`.
    fn response(&self, req: &ApiRequest, reply: &Reply) -> Value {
        response::response(req, reply)
    }

    fn encoder(&self, req: &ApiRequest) -> Box<Encoder<dyn Frames>> {
        Box::new(Encoder::new(Chunks::new(req), self.tool_id_prefix()))
    }

    /// `{"error": {message, type, param, code}}`: Anthropic's kinds become
    /// OpenAI's type and code. The SDK picks its exception class by status, so
    /// the type is informational.
    fn error_body(&self, e: &ApiError) -> Value {
        let (kind, code) = match e.kind {
            "invalid_request_error" => ("invalid_request_error", None),
            "request_too_large" => ("invalid_request_error", Some("request_too_large")),
            // What OpenAI itself sends for a bad key.
            "authentication_error" => ("invalid_request_error", Some("invalid_api_key")),
            "permission_error" => ("invalid_request_error", Some("permission_denied")),
            "not_found_error" => ("invalid_request_error", Some("not_found")),
            "billing_error" => ("insufficient_quota", Some("insufficient_quota")),
            "rate_limit_error" => ("requests", Some("rate_limit_exceeded")),
            "overloaded_error" => ("server_error", Some("overloaded")),
            "timeout_error" => ("server_error", Some("timeout")),
            "api_error" => ("server_error", None),
            other => (other, None),
        };
        json!({"error": {"message": e.message, "type": kind, "param": null, "code": code}})
    }

    fn overloaded_status(&self) -> u16 {
        503
    }
}

/// One SSE event. serde_json's compact form escapes every newline, so the
/// data always fits on one line.
fn frame(data: &Value) -> String {
    format!("data: {data}\n\n")
}

/// `GET /v1/models`: every `provider/model`, then each alias whose target exists.
pub fn models(catalog: &Catalog) -> Value {
    let entry = |id: &str, owner: &str| json!({"id": id, "object": "model", "created": 0, "owned_by": owner});
    let mut data = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for provider in catalog.providers.values() {
        for model in &provider.models {
            let id = format!("{}/{}", provider.id, model.id);
            if ids.insert(id.clone()) {
                data.push(entry(&id, &provider.id));
            }
        }
    }
    for (alias, target) in &catalog.aliases {
        let exists = catalog
            .providers
            .get(&target.provider)
            .is_some_and(|p| p.model(&target.model).is_some());
        if exists && ids.insert(alias.clone()) {
            data.push(entry(alias, &target.provider));
        }
    }
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod reply_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
