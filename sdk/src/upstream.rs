//! Calling an upstream chat API over HTTP: what every API plugin does the same
//! way, so a plugin only writes what is specific to its API.
//!
//! [`Api::send`] sends the request the plugin built, classifies a non-2xx
//! reply with the plugin's error classifier, keeps the credential out of every
//! error message, and turns the reply into a [`ChatStream`]: an event stream
//! through the plugin's [`SseDecoder`], a JSON body through its whole-reply
//! parser. Everything else here is pure and tested natively.
//!
//! ```text
//! const MESSAGES: Api = Api::new("anthropic-messages", upstream_error, parse_message);
//!
//! fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
//!     let http = http::Request::post(upstream::join_url(&request.endpoint.base_url, "v1/messages"))
//!         .headers(headers(&request))
//!         .body(serde_json::to_vec(&body(&request)?).unwrap_or_default());
//!     MESSAGES.send(&request, http, MyDecoder::default())
//! }
//! ```

mod decode;
mod failure;
mod request;

pub use decode::{Flow, SseDecoder, SseDriver};
pub use failure::{ErrorBody, Seen, empty_reply, event_json, preview, reply_json};
pub use request::{json_object, merge_body_fields, passthrough, with_passthrough_headers};

use crate::types::{ChatEvent, ChatRequest, KeyValue, PluginError, RequestCredential};
use crate::{ChatStream, PluginErrorExt, http};

/// What [`Api::send`] needs to know about an API besides the stream decoder.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// Starts every error message (`"anthropic-messages: HTTP 529 ..."`).
    pub name: &'static str,
    /// Classifies a failure the upstream reported. `send` calls it for a
    /// non-2xx reply with its status and body text (empty if it could not be
    /// read); a decoder may call it with `None` for an error event.
    pub error: fn(status: Option<u16>, body: &str, retry_after_ms: Option<u64>) -> PluginError,
    /// Turns a whole JSON reply (when the upstream did not stream) into events.
    pub whole_reply: fn(body: &[u8]) -> Result<Vec<ChatEvent>, PluginError>,
}

impl Api {
    pub const fn new(
        name: &'static str,
        error: fn(Option<u16>, &str, Option<u64>) -> PluginError,
        whole_reply: fn(&[u8]) -> Result<Vec<ChatEvent>, PluginError>,
    ) -> Self {
        Api {
            name,
            error,
            whole_reply,
        }
    }

    /// Send `http` (built by the plugin for `request`) and return the reply as
    /// a stream. Failures before any event are returned classified, so the
    /// router can fail over; transport and read errors are prefixed with the
    /// API's name; the request's credential never appears in a message.
    pub fn send<D: SseDecoder + 'static>(
        &self,
        request: &ChatRequest,
        http: http::Request,
        decoder: D,
    ) -> Result<ChatStream, PluginError> {
        let (api, error, whole_reply) = (self.name, self.error, self.whole_reply);
        let secret = secret(&request.credential).map(str::to_owned);
        let scrub = move |e: PluginError| e.redacted(secret.as_deref());
        crate::debug!(
            "{api}: {} {} model={} stream={}",
            http.method(),
            http.url(),
            request.model,
            request.streaming
        );
        let mut response = http.send().map_err(|e| scrub(e.prefixed(api)))?;

        let status = response.status();
        if !(200..300).contains(&status) {
            // The status alone still classifies the failure if the body is lost.
            let body = response.text().unwrap_or_default();
            return Err(scrub(error(Some(status), &body, response.retry_after_ms())));
        }
        if is_event_stream(response.header("content-type"), request.streaming) {
            let mut driver = SseDriver::new(api, decoder);
            Ok(ChatStream::from_fn(move || {
                driver.step(|| response.read_chunk()).map_err(&scrub)
            }))
        } else {
            let body = response.bytes().map_err(|e| scrub(e.prefixed(api)))?;
            Ok(ChatStream::from_events(whole_reply(&body).map_err(scrub)?))
        }
    }
}

/// Whether to read a reply as an event stream: by its content type, else by
/// whether we asked for one (some servers send no or a generic type).
pub fn is_event_stream(content_type: Option<&str>, streaming: bool) -> bool {
    let content_type = content_type.unwrap_or("").to_ascii_lowercase();
    if content_type.contains("text/event-stream") {
        true
    } else if content_type.contains("json") {
        false
    } else {
        streaming
    }
}

/// The secret in a credential, to scrub it from error messages.
pub fn secret(credential: &RequestCredential) -> Option<&str> {
    match credential {
        RequestCredential::None => None,
        RequestCredential::ApiKey(s) | RequestCredential::Bearer(s) => Some(s),
    }
}

/// `{base}/{path}`: a configured base URL may or may not end in '/', and
/// a doubled one breaks some servers' routing.
pub fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The headers a JSON chat request starts with: `content-type`, and `accept:
/// text/event-stream` when streaming.
pub fn json_headers(streaming: bool) -> Vec<(String, String)> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if streaming {
        headers.push(("accept".into(), "text/event-stream".into()));
    }
    headers
}

/// `authorization: Bearer {token}`.
pub fn bearer(token: &str) -> (String, String) {
    ("authorization".into(), format!("Bearer {token}"))
}

/// `headers` with the endpoint's configured ones laid over them: each replaces
/// ours of the same name (any case), since sending both would give the
/// upstream two values.
pub fn with_configured(
    mut headers: Vec<(String, String)>,
    configured: &[KeyValue],
) -> Vec<(String, String)> {
    for kv in configured {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&kv.key));
        headers.push((kv.key.clone(), kv.value.clone()));
    }
    headers
}

/// A request's `f32` (a temperature) as the JSON number it means: 0.7f32 as
/// f64 is 0.699999988..., while its shortest decimal form sends 0.7.
/// Non-finite values give `None` (JSON has no NaN): leave the field out.
pub fn clean_f32(value: f32) -> Option<f64> {
    value
        .is_finite()
        .then(|| value.to_string().parse().unwrap_or(value as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_picks_the_parser() {
        assert!(is_event_stream(Some("text/event-stream"), false));
        assert!(is_event_stream(
            Some("text/event-stream; charset=utf-8"),
            false
        ));
        assert!(is_event_stream(Some("Text/Event-Stream"), false));
        assert!(!is_event_stream(Some("application/json"), true));
        assert!(!is_event_stream(
            Some("application/json; charset=utf-8"),
            true
        ));
        assert!(is_event_stream(None, true));
        assert!(!is_event_stream(None, false));
        assert!(!is_event_stream(Some("text/plain"), false));
        assert!(is_event_stream(Some("text/plain"), true));
    }

    #[test]
    fn temperatures_are_clean() {
        assert_eq!(clean_f32(0.7), Some(0.7));
        assert_eq!(clean_f32(0.2), Some(0.2));
        assert_eq!(clean_f32(1.0), Some(1.0));
        assert_eq!(clean_f32(f32::NAN), None);
        assert_eq!(clean_f32(f32::INFINITY), None);
    }

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(
            join_url("https://a.io/anthropic", "v1/messages"),
            "https://a.io/anthropic/v1/messages"
        );
        assert_eq!(
            join_url("https://a.io/v1/", "/chat/completions"),
            "https://a.io/v1/chat/completions"
        );
    }

    #[test]
    fn secrets_come_from_keys_and_tokens() {
        assert_eq!(secret(&RequestCredential::ApiKey("k".into())), Some("k"));
        assert_eq!(secret(&RequestCredential::Bearer("t".into())), Some("t"));
        assert_eq!(secret(&RequestCredential::None), None);
    }

    #[test]
    fn configured_headers_replace_ours_in_any_case() {
        let mut ours = json_headers(true);
        ours.push(bearer("t"));
        let configured = crate::testing::key_values(&[("Accept", "*/*"), ("x-title", "claw")]);
        let headers = with_configured(ours, &configured);
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("content-type", "application/json"),
                ("authorization", "Bearer t"),
                ("Accept", "*/*"),
                ("x-title", "claw")
            ]
        );
        assert_eq!(json_headers(false).len(), 1);
    }
}
