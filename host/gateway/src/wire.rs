//! The trait every client API implements: each module translates between one
//! API's JSON/SSE and the router's plain types, with no I/O. The list of APIs
//! the server dispatches over is `apis::APIS`.

use http::HeaderMap;
use serde_json::Value;

use crate::reply::Reply;
use crate::{ApiError, ApiRequest};
use claw_core::router::RunOutcome;
use claw_types::ChatEvent;

/// One client API's wire format.
pub trait WireApi: Sync {
    /// The path its model requests are POSTed to.
    fn path(&self) -> &'static str;

    /// Its name in the usage ledger (`openai-chat`, `openai-responses`, `anthropic-messages`).
    fn name(&self) -> &'static str;

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
