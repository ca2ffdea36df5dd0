//! The OpenAI Responses API (`POST {base_url}/responses`), streamed: OpenAI,
//! and servers that speak it (OpenRouter, vLLM, LM Studio, Ollama).
//!
//! This file is the only one that touches the network; `request`, `reply` and
//! `errors` are pure and unit-tested natively:
//! `cargo test --manifest-path plugins/Cargo.toml -p openai-responses`

mod errors;
mod reply;
mod request;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::Api;

use errors::API;

/// The Responses API as the SDK's upstream call needs it.
const RESPONSES: Api = Api::new(API, errors::upstream_error, reply::parse_response);

struct OpenAiResponses;

impl Provider for OpenAiResponses {
    fn describe() -> ProviderInfo {
        // The host's catalogs and the user's config list the models; this
        // plugin only speaks the API.
        ProviderInfo {
            apis: vec![API.into()],
            models: vec![],
        }
    }

    fn chat(mut request: ChatRequest) -> Result<ChatStream, PluginError> {
        // Stop sequences are applied while the reply streams (the API has no
        // field for them), so a request with some streams even when the host
        // would take a whole reply.
        request.streaming = request::streams(&request);
        let url = request::url(&request.endpoint.base_url);
        let headers = request::headers(&request);
        let body = serde_json::to_vec(&request::body(&request)?).unwrap_or_default();
        // No timeouts of our own: the host applies its defaults.
        let http = http::Request::post(url).headers(headers).body(body);
        RESPONSES.send(&request, http, reply::StreamDecoder::new(&request.stop))
    }
}

claw_plugin_sdk::export_provider!(OpenAiResponses);
