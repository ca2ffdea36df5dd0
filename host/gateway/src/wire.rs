//! The client APIs the gateway speaks, behind one trait: each module
//! translates between one API's JSON/SSE and the router's plain types, with no
//! I/O. The server dispatches by path over `APIS`, so a new API is a new module
//! and a line there.

use serde_json::Value;

use crate::reply::Reply;
use crate::{ApiError, ApiRequest, anthropic, openai};
use claw_core::router::RunOutcome;
use claw_types::ChatEvent;

/// Every API, by the path of its model endpoint.
pub static APIS: &[&dyn WireApi] = &[&openai::ChatCompletions, &anthropic::Messages];

/// The shape of errors on paths that are no API's (admin, models, unknown).
pub static FALLBACK: &dyn WireApi = &openai::ChatCompletions;

/// The API whose model endpoint `path` is.
pub fn serving(path: &str) -> Option<&'static dyn WireApi> {
    APIS.iter().copied().find(|api| api.path() == path)
}

/// One client API's wire format.
pub trait WireApi: Sync {
    /// The path its model requests are POSTed to.
    fn path(&self) -> &'static str;

    /// A header that may carry the gateway token besides `Authorization: Bearer`.
    fn token_header(&self) -> Option<&'static str> {
        None
    }

    fn parse(&self, body: &[u8]) -> Result<ApiRequest, ApiError>;

    /// A whole (non-streamed) reply.
    fn response(&self, req: &ApiRequest, reply: &Reply) -> Value;

    /// The encoder of a streamed reply.
    fn encoder(&self, req: &ApiRequest) -> Box<Encoder<dyn Frames>>;

    /// An error in the API's own shape. `ApiError.kind` uses Anthropic's type
    /// names (the richer set).
    fn error_body(&self, e: &ApiError) -> Value;

    /// The status for "every candidate is overloaded" that the API's SDK
    /// retries (OpenAI 503, Anthropic 529).
    fn overloaded_status(&self) -> u16;

    /// Every candidate failed: a status the SDK retries or backs off on (429,
    /// overloaded, 504, 502), never 401 for an upstream auth failure, since the
    /// client's own token was fine.
    fn failure(&self, outcome: &RunOutcome) -> ApiError {
        crate::all_failed(outcome, self.overloaded_status())
    }
}

/// Reply content: visible text or reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Text,
    Thinking,
}

/// The frames of one API's streamed reply; each returns the exact bytes to
/// write. `Encoder` decides when each is called.
pub trait Frames: Send {
    /// What opens the reply, before any content.
    fn start(&mut self, reply: &Reply) -> String;
    /// A non-empty piece of content.
    fn content(&mut self, kind: Content, text: &str) -> String;
    /// What closes a complete reply (stop reason, usage).
    fn finish(&mut self, reply: &Reply) -> String;
    /// An error that ends the reply.
    fn error(&self, e: &ApiError) -> String;
    /// A frame clients ignore, to keep proxies and clients from timing out.
    fn keepalive(&self) -> String;
}

/// Turns the router's deliveries into one API's frames: the reply opens once
/// (on `Delivery::Committed`, or with the first content if that was missed),
/// and nothing follows its end (finish or error), so the output stays valid
/// whatever it is fed. It gathers the `Reply` it finishes with from the same
/// events it encodes.
pub struct Encoder<F: ?Sized> {
    started: bool,
    ended: bool,
    reply: Reply,
    pub(crate) frames: F,
}

impl<F: Frames> Encoder<F> {
    pub fn new(frames: F) -> Self {
        Encoder {
            started: false,
            ended: false,
            reply: Reply::default(),
            frames,
        }
    }
}

impl<F: Frames + ?Sized> Encoder<F> {
    pub fn start(&mut self) -> String {
        if self.started || self.ended {
            return String::new();
        }
        self.started = true;
        self.frames.start(&self.reply)
    }

    pub fn event(&mut self, event: &ChatEvent) -> String {
        if self.ended {
            return String::new();
        }
        self.reply.push(event);
        match event {
            ChatEvent::Text(t) if !t.is_empty() => self.content(Content::Text, t),
            ChatEvent::Thinking(t) if !t.is_empty() => self.content(Content::Thinking, t),
            _ => String::new(),
        }
    }

    pub fn finish(&mut self) -> String {
        if self.ended {
            return String::new();
        }
        let out = self.start();
        self.ended = true;
        out + &self.frames.finish(&self.reply)
    }

    pub fn error(&mut self, e: &ApiError) -> String {
        if self.ended {
            return String::new();
        }
        self.ended = true;
        self.frames.error(e)
    }

    pub fn keepalive(&self) -> String {
        self.frames.keepalive()
    }

    /// What the reply said so far.
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    fn content(&mut self, kind: Content, text: &str) -> String {
        self.start() + &self.frames.content(kind, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::reply;

    #[test]
    fn each_api_maps_stop_reasons_of_either_convention() {
        let body = br#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#;
        let stop = |api: &dyn WireApi, pointer: &str, reason: Option<&str>| {
            let req = api.parse(body).unwrap();
            api.response(&req, &reply("", None, reason))[pointer].clone()
        };
        // Upstream reason, then OpenAI's finish_reason and Anthropic's stop_reason.
        for (upstream, openai, anthropic) in [
            (Some("stop"), "stop", "end_turn"),
            (Some("end_turn"), "stop", "end_turn"),
            (Some("stop_sequence"), "stop", "stop_sequence"),
            (Some("length"), "length", "max_tokens"),
            (Some("max_tokens"), "length", "max_tokens"),
            (Some("refusal"), "content_filter", "refusal"),
            (Some("content_filter"), "content_filter", "refusal"),
            (Some("tool_calls"), "stop", "end_turn"),
            (Some("something_new"), "stop", "end_turn"),
            (None, "stop", "end_turn"),
        ] {
            let finish =
                stop(&openai::ChatCompletions, "choices", upstream)[0]["finish_reason"].clone();
            assert_eq!(finish, openai, "{upstream:?}");
            assert_eq!(
                stop(&anthropic::Messages, "stop_reason", upstream),
                anthropic,
                "{upstream:?}"
            );
        }
    }

    #[test]
    fn apis_are_found_by_path_and_only_anthropic_takes_x_api_key() {
        let paths: Vec<_> = APIS.iter().map(|a| (a.path(), a.token_header())).collect();
        assert_eq!(
            paths,
            [
                ("/v1/chat/completions", None),
                ("/v1/messages", Some("x-api-key"))
            ]
        );
        assert_eq!(
            serving("/v1/messages").map(|a| a.path()),
            Some("/v1/messages")
        );
        assert!(serving("/v1/models").is_none() && serving("/admin/status").is_none());
        assert_eq!(FALLBACK.path(), "/v1/chat/completions");
    }
}
