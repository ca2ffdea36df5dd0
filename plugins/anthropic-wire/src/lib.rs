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

pub use errors::API;
use errors::{prefixed, redact, upstream_error};

/// Run one chat request against `{endpoint.base_url}/v1/messages`, sending the
/// request's credential as `x-api-key` (an API key) or `Authorization: Bearer`
/// (a bearer token, or an API key with `endpoint.auth_header`). Failures before
/// any event are returned classified; the credential never appears in a message.
pub fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
    let secret = request::secret(&request.credential).map(str::to_owned);
    let scrub = move |e: PluginError| redact(e, secret.as_deref());

    let url = request::url(&request.endpoint.base_url);
    claw_plugin_sdk::debug!(
        "{API}: POST {url} model={} stream={}",
        request.model,
        request.streaming
    );
    let body = serde_json::to_vec(&request::body(&request)).unwrap_or_default();
    // No timeouts of our own: the host applies its defaults.
    let mut http = http::Request::post(url).body(body);
    for (name, value) in request::headers(&request.endpoint, &request.credential, request.streaming)
    {
        http = http.header(name, value);
    }
    let mut response = http.send().map_err(|e| scrub(prefixed(e)))?;

    let status = response.status();
    if !(200..300).contains(&status) {
        // The status alone still classifies the failure if the body is lost.
        let body = response.text().unwrap_or_default();
        return Err(scrub(upstream_error(
            Some(status),
            &body,
            response.retry_after_ms(),
        )));
    }
    if reply::is_event_stream(response.header("content-type"), request.streaming) {
        let mut decoder = reply::StreamDecoder::default();
        Ok(ChatStream::from_fn(move || {
            decoder.step(|| response.read_chunk()).map_err(&scrub)
        }))
    } else {
        let body = response.bytes().map_err(|e| scrub(prefixed(e)))?;
        Ok(ChatStream::from_events(
            reply::parse_message(&body).map_err(scrub)?,
        ))
    }
}
