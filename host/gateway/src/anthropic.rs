//! Anthropic Messages wire format: `POST /v1/messages` bodies in, `message`
//! objects, the named SSE events of a streamed message, and errors out, in the
//! shapes the official SDK expects (mirroring tests/support/upstream.rs). No I/O.

use serde_json::{Map, Value, json};

use crate::parse::{
    Dialect, body_and_model, kind_of, messages, opt_bool, opt_max_tokens, opt_temperature, prompt,
};
use crate::reply::Reply;
use crate::wire::{Content, Encoder, Frames, WireApi};
use crate::{ApiError, ApiRequest, unique_id};
use claw_types::{ContentPart, Image, Message, Role, Usage};

const NO_TOOLS: &str =
    "claw does not support tool use yet; send the request without `tools` and tool blocks";

/// The ping frame, byte for byte as Anthropic sends it (with its space).
const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";

/// A `/v1/messages` body (public for the fuzz target).
pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    let (body, model) = body_and_model(body)?;
    refuse_tools(&body)?;
    let system = parse_system(body.get("system"))?;
    let turns = messages::<Messages>(body.get("messages"))?;
    // Optional here (the API requires it): the plugin picks a default.
    let max_tokens = opt_max_tokens(body.get("max_tokens"), "max_tokens")?;
    let temperature = opt_temperature(body.get("temperature"), 1.0)?;
    let stream = opt_bool(body.get("stream"), "stream")?;
    let prompt = prompt(
        system.into_iter().chain(turns).collect(),
        max_tokens,
        temperature,
    );
    Ok(ApiRequest {
        model,
        prompt,
        stream,
        include_usage: false,
    })
}

/// Refused rather than ignored: a client that sends tools expects tool_use back.
/// A `tool_choice` of auto/none asks for nothing, so it may stay.
fn refuse_tools(body: &Map<String, Value>) -> Result<(), ApiError> {
    let tools = match body.get("tools") {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    if tools {
        return Err(ApiError::invalid(format!("`tools`: {NO_TOOLS}")));
    }
    match body.get("tool_choice") {
        None | Some(Value::Null) => Ok(()),
        Some(c) if matches!(c["type"].as_str(), Some("auto" | "none")) => Ok(()),
        Some(_) => Err(ApiError::invalid(format!("`tool_choice`: {NO_TOOLS}"))),
    }
}

/// `system`, a string or text blocks, becomes a leading System message.
fn parse_system(value: Option<&Value>) -> Result<Option<Message>, ApiError> {
    let content = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![ContentPart::Text(s.clone())],
        Some(Value::Array(blocks)) => {
            let mut content = Vec::with_capacity(blocks.len());
            for (i, block) in blocks.iter().enumerate() {
                match (block["type"].as_str(), &block["text"]) {
                    (Some("text"), Value::String(t)) => content.push(ContentPart::Text(t.clone())),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "system[{i}] must be a text block like {{\"type\": \"text\", \"text\": \"...\"}}"
                        )));
                    }
                }
            }
            content
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`system` must be a string or an array of text blocks, got {}",
                kind_of(other)
            )));
        }
    };
    Ok((!content.is_empty()).then_some(Message {
        role: Role::System,
        content,
    }))
}

impl Dialect for Messages {
    const ROLES: &'static [(&'static str, Role)] =
        &[("user", Role::User), ("assistant", Role::Assistant)];
    const ROLE_LIST: &'static str = "user or assistant";
    const ITEM: &'static str = "block";
    const ITEM_TYPES: &'static str = "\"text\" or \"image\"";

    fn refused_role(role: &str) -> Option<String> {
        (role == "system").then(|| {
            ".role: \"system\" is not a message role here; put system text in the top-level `system` field".into()
        })
    }

    fn item(
        role: Role,
        kind: &str,
        block: &Map<String, Value>,
    ) -> Result<Option<ContentPart>, String> {
        match kind {
            "text" => match block.get("text") {
                Some(Value::String(t)) => Ok(Some(ContentPart::Text(t.clone()))),
                _ => Err(": a text block needs a string `text`".into()),
            },
            "image" if role == Role::User => image(block.get("source"))
                .map(|i| Some(ContentPart::Image(i)))
                .map_err(|why| format!(".source{why}")),
            "image" => Err(": only user messages may contain images".into()),
            // Earlier reasoning: its signature only means something to the model
            // that wrote it, and the reply may come from another, so it is dropped.
            "thinking" | "redacted_thinking" if role == Role::Assistant => Ok(None),
            "thinking" | "redacted_thinking" => Err(format!(
                ": \"{kind}\" blocks may only appear in assistant messages"
            )),
            _ if kind.contains("tool") => Err(format!(": \"{kind}\" blocks: {NO_TOOLS}")),
            "document" | "search_result" | "container_upload" => Err(format!(
                ": \"{kind}\" blocks are not supported; claw passes text and image blocks only"
            )),
            _ => Err(Self::unknown_item(kind)),
        }
    }
}

/// `{"type": "base64", "media_type", "data"}`. Remote URLs are refused:
/// fetching them would make claw an open proxy. Errors start with the field.
fn image(source: Option<&Value>) -> Result<Image, String> {
    const SHAPE: &str = "{\"type\": \"base64\", \"media_type\": \"image/png\", \"data\": \"...\"}";
    let Some(Value::Object(s)) = source else {
        return Err(format!(" is required: {SHAPE}"));
    };
    match s.get("type").and_then(Value::as_str) {
        Some("base64") => {}
        Some("url") => {
            return Err(": images must be base64; remote image URLs are not fetched".into());
        }
        Some("file") => {
            return Err(
                ": file sources (Files API) are not supported; send the image as base64".into(),
            );
        }
        _ => return Err(format!(".type must be \"base64\": {SHAPE}")),
    }
    let field = |name: &str| match s.get(name) {
        Some(Value::String(v)) if !v.trim().is_empty() => Ok(v.clone()),
        _ => Err(format!(".{name} must be a non-empty string: {SHAPE}")),
    };
    Ok(Image {
        media_type: field("media_type")?,
        data: field("data")?,
    })
}

/// Anthropic's error types; `ApiError.kind` uses these names already.
const ERROR_TYPES: [&str; 10] = [
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
];

/// `POST /v1/messages`.
pub struct Messages;

impl WireApi for Messages {
    fn path(&self) -> &'static str {
        "/v1/messages"
    }

    /// The Anthropic SDK sends its key as `x-api-key`.
    fn token_header(&self) -> Option<&'static str> {
        Some("x-api-key")
    }

    fn parse(&self, body: &[u8]) -> Result<ApiRequest, ApiError> {
        parse_request(body)
    }

    /// A whole `message`, its text in one block.
    fn response(&self, req: &ApiRequest, reply: &Reply) -> Value {
        let content = if reply.text.is_empty() {
            json!([])
        } else {
            json!([{"type": "text", "text": reply.text}])
        };
        json!({
            "id": format!("msg_{}", unique_id()),
            "type": "message",
            "role": "assistant",
            "model": req.model,
            "content": content,
            "stop_reason": stop_reason(reply.stop_reason.as_deref()),
            "stop_sequence": null,
            "usage": usage(reply.usage),
        })
    }

    fn encoder(&self, req: &ApiRequest) -> Box<Encoder<dyn Frames>> {
        Box::new(Encoder::new(Events::new(req)))
    }

    /// `{"type": "error", "error": {type, message}}`; a kind that is not one of
    /// Anthropic's types is named from the status instead.
    fn error_body(&self, e: &ApiError) -> Value {
        let kind = match e.status {
            _ if ERROR_TYPES.contains(&e.kind) => e.kind,
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            504 => "timeout_error",
            400..=499 => "invalid_request_error",
            _ => "api_error",
        };
        json!({"type": "error", "error": {"type": kind, "message": e.message}})
    }

    fn overloaded_status(&self) -> u16 {
        529
    }
}

/// Upstream stop reasons come in either API's convention.
fn stop_reason(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens" | "length" | "model_context_window_exceeded") => "max_tokens",
        // The sequence itself is not carried through, but the reason is.
        Some("stop_sequence") => "stop_sequence",
        Some("refusal" | "content_filter") => "refusal",
        // stop, end_turn; tool stops cannot happen without tools.
        _ => "end_turn",
    }
}

/// Our `input_tokens` excludes cache reads and writes, as Anthropic's does.
fn usage(u: Option<Usage>) -> Value {
    let u = u.unwrap_or_default();
    json!({
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    })
}

/// The named events of a streamed message.
pub struct Events {
    id: String,
    model: String,
    /// The content block being written, at `index`.
    open: Option<Content>,
    index: u32,
}

impl Events {
    pub fn new(req: &ApiRequest) -> Self {
        Events {
            id: format!("msg_{}", unique_id()),
            model: req.model.clone(),
            open: None,
            index: 0,
        }
    }

    /// Starts a block of `kind` unless one is open; a block of the other kind
    /// is closed first, and the new one takes the next index.
    fn open_block(&mut self, kind: Content) -> String {
        if self.open == Some(kind) {
            return String::new();
        }
        let mut out = self.close_block();
        let block = match kind {
            Content::Text => json!({"type": "text", "text": ""}),
            Content::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
        };
        out += &frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": self.index, "content_block": block}),
        );
        self.open = Some(kind);
        out
    }

    fn close_block(&mut self) -> String {
        if self.open.take().is_none() {
            return String::new();
        }
        let out = frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": self.index}),
        );
        self.index += 1;
        out
    }
}

impl Frames for Events {
    /// `message_start` and a ping. Usage is not known yet: message_delta
    /// carries it.
    fn start(&mut self, reply: &Reply) -> String {
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(reply.usage),
        });
        frame(
            "message_start",
            &json!({"type": "message_start", "message": message}),
        ) + PING
    }

    fn content(&mut self, kind: Content, text: &str) -> String {
        let delta = match kind {
            Content::Text => json!({"type": "text_delta", "text": text}),
            Content::Thinking => json!({"type": "thinking_delta", "thinking": text}),
        };
        self.open_block(kind)
            + &frame(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": self.index, "delta": delta}),
            )
    }

    /// Closes the open block, then `message_delta` (stop reason, usage) and
    /// `message_stop`.
    fn finish(&mut self, reply: &Reply) -> String {
        let delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(reply.stop_reason.as_deref()), "stop_sequence": null},
            // All counts: the SDK copies them over message_start's zeros.
            "usage": usage(reply.usage),
        });
        self.close_block()
            + &frame("message_delta", &delta)
            + &frame("message_stop", &json!({"type": "message_stop"}))
    }

    /// An `error` event; the SDK raises it as an APIStatusError.
    fn error(&self, e: &ApiError) -> String {
        frame("error", &Messages.error_body(e))
    }

    fn keepalive(&self) -> String {
        PING.into()
    }
}

/// One SSE event. serde_json's compact form escapes every newline, so the
/// data always fits on one line.
fn frame(event: &str, data: &Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

#[cfg(test)]
mod tests;
