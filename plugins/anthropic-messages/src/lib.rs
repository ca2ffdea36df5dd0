//! The Anthropic Messages API (`POST {base_url}/v1/messages`), streamed: Anthropic
//! itself and compatible endpoints such as MiniMax's `/anthropic`.
//!
//! A thin component over the `anthropic-wire` library, which holds the wire
//! logic (request body, event stream, error classification, the HTTP call) and
//! its native unit tests; `minimax-portal-auth` shares it.

use claw_plugin_sdk::prelude::*;

struct AnthropicMessages;

impl Provider for AnthropicMessages {
    fn describe() -> ProviderInfo {
        // The host's catalogs list the models; this plugin only speaks the API.
        ProviderInfo {
            apis: vec![anthropic_wire::API.into()],
            models: vec![],
        }
    }

    fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
        anthropic_wire::chat(request)
    }
}

claw_plugin_sdk::export_provider!(AnthropicMessages);
