//! The Anthropic Messages API (`POST {base_url}/v1/messages`) on the wire,
//! streamed: Anthropic itself and compatible endpoints such as MiniMax's
//! `/anthropic`. A plain library shared by the plugins that speak this API
//! (`anthropic-messages`, `minimax-portal-auth`): each exports its own component
//! and calls [`chat`].
//!
//! [`chat`] is the only function that touches the network; `request`, `reply`
//! and `errors` are pure and unit-tested natively (`cargo test` in plugins/).

pub mod errors;
pub mod reply;
pub mod request;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream::Api;

pub use errors::API;

/// The Messages API as the SDK's upstream call needs it: its name, how its
/// errors classify, and how a whole (non-streamed) reply reads.
pub const MESSAGES: Api = Api::new(API, errors::upstream_error, reply::parse_message);

/// Run one chat request against `{endpoint.base_url}/v1/messages`, sending the
/// request's credential as `x-api-key` (an API key) or `Authorization: Bearer`
/// (a bearer token, or an API key with `endpoint.auth_header`). Failures before
/// any event are returned classified (a request the API cannot carry, such as
/// JSON output, as `unsupported`); the credential never appears in a message.
pub fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
    let headers = request::headers(&request);
    let body = serde_json::to_vec(&request::body(&request)?).unwrap_or_default();
    // No timeouts of our own: the host applies its defaults.
    let http = http::Request::post(request::url(&request.endpoint.base_url))
        .headers(headers)
        .body(body);
    MESSAGES.send(&request, http, reply::StreamDecoder::default())
}
