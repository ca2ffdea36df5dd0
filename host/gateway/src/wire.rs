//! The client APIs the gateway speaks, behind one trait: each module
//! translates between one API's JSON/SSE and the router's plain types, with no
//! I/O. The server dispatches by path over `APIS`, so a new API is a new module
//! and a line there.

use http::HeaderMap;
use serde_json::Value;

use crate::reply::Reply;
use crate::{ApiError, ApiRequest, anthropic, openai, responses};
use claw_core::router::RunOutcome;
use claw_types::ChatEvent;

/// Every API, by the path of its model endpoint.
pub static APIS: &[&dyn WireApi] = &[
    &openai::ChatCompletions,
    &responses::Responses,
    &anthropic::Messages,
];

/// The shape of errors on paths that are no API's (admin, models, unknown).
pub static FALLBACK: &dyn WireApi = &openai::ChatCompletions;

/// The API whose model endpoint `path` is.
pub fn serving(path: &str) -> Option<&'static dyn WireApi> {
    APIS.iter().copied().find(|api| api.path() == path)
}

/// The API whose shape errors on `path` take, and whose token header it
/// accepts: the API serving it or a path under it (`/v1/messages/count_tokens`),
/// else `FALLBACK`.
pub fn shape(path: &str) -> &'static dyn WireApi {
    serving(path)
        .or_else(|| {
            APIS.iter().copied().find(|api| {
                path.strip_prefix(api.path())
                    .is_some_and(|r| r.starts_with('/'))
            })
        })
        .unwrap_or(FALLBACK)
}

/// One client API's wire format.
pub trait WireApi: Sync {
    /// The path its model requests are POSTed to.
    fn path(&self) -> &'static str;

    /// A header that may carry the gateway token besides `Authorization: Bearer`.
    fn token_header(&self) -> Option<&'static str> {
        None
    }

    /// The prefix of ids claw makes up for tool calls an upstream sent
    /// without one (`call_`, `toolu_`).
    fn tool_id_prefix(&self) -> &'static str;

    /// A request body; `headers` are the request's (some are passed through).
    fn parse(&self, body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError>;

    /// An empty reply that gathers events the way this API shows them.
    fn reply(&self) -> Reply {
        Reply::new(self.tool_id_prefix())
    }

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

/// The frames of one API's streamed reply; each returns the exact bytes to
/// write. `Encoder` decides when each is called.
pub trait Frames: Send {
    /// What opens the reply, before any content.
    fn start(&mut self, reply: &Reply) -> String;
    /// One event as the reply recorded it (tool-call ids filled in,
    /// tool-call indexes in reply order); "" for what shows nothing.
    fn event(&mut self, event: &ChatEvent) -> String;
    /// What closes a complete reply (stop reason, usage).
    fn finish(&mut self, reply: &Reply) -> String;
    /// An error that ends the reply.
    fn error(&self, e: &ApiError) -> String;
    /// A frame clients ignore, to keep proxies and clients from timing out.
    fn keepalive(&self) -> String;
}

/// Turns the router's deliveries into one API's frames: the reply opens once
/// (on `Delivery::Committed`, or with the first frame if that was missed),
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
    /// `tool_id_prefix`: as `WireApi::tool_id_prefix`.
    pub fn new(frames: F, tool_id_prefix: &'static str) -> Self {
        Encoder {
            started: false,
            ended: false,
            reply: Reply::new(tool_id_prefix),
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
        let Some(event) = self.reply.push(event) else {
            return String::new();
        };
        let out = self.frames.event(&event);
        if out.is_empty() {
            return out;
        }
        self.start() + &out
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::gathered;

    #[test]
    fn each_api_maps_stop_reasons() {
        use claw_types::{ChatEvent, Done, StopReason::*};
        let body = br#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#;
        let stop = |api: &dyn WireApi, pointer: &str, events: &[ChatEvent]| {
            let req = api.parse(body, &HeaderMap::new()).unwrap();
            api.response(&req, &gathered(api, events))[pointer].clone()
        };
        let call = ChatEvent::ToolCallStart {
            index: 0,
            id: "c".into(),
            name: "f".into(),
        };
        // Normalized reason, then OpenAI's finish_reason and Anthropic's stop_reason,
        // without and with a tool call in the reply.
        for (reason, openai, anthropic, with_call) in [
            (
                Some(EndTurn),
                "stop",
                "end_turn",
                ("tool_calls", "tool_use"),
            ),
            (
                Some(StopSequence),
                "stop",
                "stop_sequence",
                ("stop", "stop_sequence"),
            ),
            (
                Some(MaxTokens),
                "length",
                "max_tokens",
                ("length", "max_tokens"),
            ),
            (
                Some(ToolUse),
                "tool_calls",
                "tool_use",
                ("tool_calls", "tool_use"),
            ),
            (
                Some(Refusal),
                "content_filter",
                "refusal",
                ("content_filter", "refusal"),
            ),
            (Some(Other), "stop", "end_turn", ("tool_calls", "tool_use")),
            (None, "stop", "end_turn", ("tool_calls", "tool_use")),
        ] {
            let mut events: Vec<ChatEvent> = reason
                .map(|r| ChatEvent::Done(Done::new(r, "raw")))
                .into_iter()
                .collect();
            let finish = |events: &[ChatEvent]| {
                stop(&openai::ChatCompletions, "choices", events)[0]["finish_reason"].clone()
            };
            assert_eq!(finish(&events), openai, "{reason:?}");
            assert_eq!(
                stop(&anthropic::Messages, "stop_reason", &events),
                anthropic,
                "{reason:?}"
            );
            events.insert(0, call.clone());
            assert_eq!(finish(&events), with_call.0, "{reason:?} with a call");
            assert_eq!(
                stop(&anthropic::Messages, "stop_reason", &events),
                with_call.1,
                "{reason:?} with a call"
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
                ("/v1/responses", None),
                ("/v1/messages", Some("x-api-key"))
            ]
        );
        assert_eq!(
            serving("/v1/messages").map(|a| a.path()),
            Some("/v1/messages")
        );
        assert!(serving("/v1/models").is_none() && serving("/admin/status").is_none());
        assert_eq!(FALLBACK.path(), "/v1/chat/completions");
        // count_tokens answers (and authenticates) as Anthropic's API.
        assert_eq!(shape("/v1/messages/count_tokens").path(), "/v1/messages");
        assert_eq!(shape("/v1/messagesX").path(), "/v1/chat/completions");
        // GET /v1/responses/{id} is refused in the Responses shape.
        assert_eq!(shape("/v1/responses/resp_1").path(), "/v1/responses");
        assert_eq!(shape("/admin/status").path(), "/v1/chat/completions");
    }
}
