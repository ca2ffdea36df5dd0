//! The OpenAI Chat Completions API (`POST {base_url}/chat/completions`), streamed:
//! OpenRouter, Moonshot, and local servers (LM Studio, Ollama) without a credential.
//!
//! This file is the only one that touches the network; `request`, `reply` and
//! `errors` are pure and unit-tested natively:
//! `cargo test --manifest-path plugins/Cargo.toml -p openai-completions --target x86_64-unknown-linux-gnu`

mod errors;
mod reply;
mod request;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::Api;

use errors::API;

/// The Chat Completions API as the SDK's upstream call needs it.
const COMPLETIONS: Api = Api::new(API, errors::upstream_error, reply::parse_completion);

struct OpenAiCompletions;

impl Provider for OpenAiCompletions {
    fn describe() -> ProviderInfo {
        // The host's catalogs list the models; this plugin only speaks the API.
        ProviderInfo {
            apis: vec![API.into()],
            models: vec![],
        }
    }

    fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
        let url = request::url(&request.endpoint.base_url);
        let headers = request::headers(&request);
        let body = serde_json::to_vec(&request::body(&request)?).unwrap_or_default();
        // No timeouts of our own: the host applies its defaults.
        let http = http::Request::post(url).headers(headers).body(body);
        COMPLETIONS.send(&request, http, reply::StreamDecoder::default())
    }
}

claw_plugin_sdk::export_provider!(OpenAiCompletions);
