//! Anthropic Messages wire format: `POST /v1/messages` bodies in, `message`
//! objects, the named SSE events of a streamed message, and errors out, in the
//! shapes the official SDK expects (mirroring tests/support/upstream.rs). No I/O.

use serde_json::{Map, Value, json};

use crate::{
    ApiError, ApiRequest, json_object, kind_of, model_field, opt_bool, opt_max_tokens,
    opt_temperature, short, unique_id,
};
use claw_core::router::{Prompt, RunOutcome};
use claw_types::{ChatEvent, ContentPart, Image, Message, Role, Usage};

const NO_TOOLS: &str =
    "claw does not support tool use yet; send the request without `tools` and tool blocks";

/// The ping frame, byte for byte as Anthropic sends it (with its space).
const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";

pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    let body = json_object(body)?;
    let model = model_field(&body)?;
    refuse_tools(&body)?;
    let mut messages: Vec<Message> = parse_system(body.get("system"))?.into_iter().collect();
    messages.extend(parse_messages(body.get("messages"))?);
    // Optional here (the API requires it): the plugin picks a default.
    let max_tokens = opt_max_tokens(body.get("max_tokens"), "max_tokens")?;
    let temperature = opt_temperature(body.get("temperature"), 1.0)?;
    let stream = opt_bool(body.get("stream"), "stream")?;
    Ok(ApiRequest {
        model,
        prompt: Prompt {
            messages,
            max_tokens,
            temperature,
            // Plugins stream upstream either way; `stream` only shapes our reply.
            streaming: true,
        },
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

fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let items = match value {
        Some(Value::Array(items)) if !items.is_empty() => items,
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            return Err(ApiError::invalid(
                "`messages` must be a non-empty array of {\"role\", \"content\"} objects",
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`messages` must be a non-empty array of {{\"role\", \"content\"}} objects, got {}",
                kind_of(other)
            )));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| parse_message(i, m))
        .collect()
}

fn parse_message(i: usize, message: &Value) -> Result<Message, ApiError> {
    let at = format!("messages[{i}]");
    let invalid = |text: String| Err(ApiError::invalid(format!("{at}{text}")));
    let Value::Object(m) = message else {
        return invalid(format!(
            " must be an object with `role` and `content`, got {}",
            kind_of(message)
        ));
    };
    let role = match m.get("role") {
        Some(Value::String(r)) => match r.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" => {
                return invalid(
                    ".role: \"system\" is not a message role here; put system text in the top-level `system` field".into(),
                );
            }
            _ => {
                return invalid(format!(
                    ".role: unknown role {}; use user or assistant",
                    short(&Value::from(r.as_str()))
                ));
            }
        },
        _ => return invalid(".role is required: user or assistant".into()),
    };
    let content = match m.get("content") {
        Some(Value::String(text)) => vec![ContentPart::Text(text.clone())],
        Some(Value::Array(blocks)) => {
            let mut content = Vec::with_capacity(blocks.len());
            for (j, block) in blocks.iter().enumerate() {
                content.extend(parse_block(&format!("{at}.content[{j}]"), role, block)?);
            }
            content
        }
        None | Some(Value::Null) => {
            return invalid(".content is required: a string or an array of content blocks".into());
        }
        Some(other) => {
            return invalid(format!(
                ".content must be a string or an array of content blocks, got {}",
                kind_of(other)
            ));
        }
    };
    Ok(Message { role, content })
}

/// One content block; `None` for blocks that are dropped on purpose.
fn parse_block(at: &str, role: Role, block: &Value) -> Result<Option<ContentPart>, ApiError> {
    let invalid = |text: String| Err(ApiError::invalid(format!("{at}{text}")));
    let Value::Object(b) = block else {
        return invalid(format!(
            " must be a content block like {{\"type\": \"text\", \"text\": \"...\"}}, got {}",
            kind_of(block)
        ));
    };
    match b.get("type").and_then(Value::as_str) {
        Some("text") => match b.get("text") {
            Some(Value::String(t)) => Ok(Some(ContentPart::Text(t.clone()))),
            _ => invalid(": a text block needs a string `text`".into()),
        },
        Some("image") if role == Role::User => image(b.get("source"))
            .map(|i| Some(ContentPart::Image(i)))
            .or_else(|why| invalid(format!(".source{why}"))),
        Some("image") => invalid(": only user messages may contain images".into()),
        // Earlier reasoning: its signature only means something to the model
        // that wrote it, and the reply may come from another, so it is dropped.
        Some("thinking" | "redacted_thinking") if role == Role::Assistant => Ok(None),
        Some(kind @ ("thinking" | "redacted_thinking")) => invalid(format!(
            ": \"{kind}\" blocks may only appear in assistant messages"
        )),
        Some(kind) if kind.contains("tool") => invalid(format!(": \"{kind}\" blocks: {NO_TOOLS}")),
        Some(kind @ ("document" | "search_result" | "container_upload")) => invalid(format!(
            ": \"{kind}\" blocks are not supported; claw passes text and image blocks only"
        )),
        Some(kind) => invalid(format!(
            ": unknown content block type {}; use \"text\" or \"image\"",
            short(&Value::from(kind))
        )),
        None => invalid(".type is required: \"text\" or \"image\"".into()),
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

/// `{"type": "error", "error": {type, message}}`; a kind that is not one of
/// Anthropic's types is named from the status instead.
pub fn error_body(e: &ApiError) -> Value {
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

/// Every candidate failed: a status the SDK retries (429, 529, 504, 502), never
/// 401 for an upstream auth failure, since the client's own key was fine.
pub fn failure(outcome: &RunOutcome) -> ApiError {
    crate::all_failed(outcome, 529)
}

/// A whole `message`. Thinking is not carried in `RunOutcome`, so a
/// non-streaming reply has text blocks only.
pub fn response(req: &ApiRequest, outcome: &RunOutcome) -> Value {
    let content = if outcome.text.is_empty() {
        json!([])
    } else {
        json!([{"type": "text", "text": outcome.text}])
    };
    json!({
        "id": format!("msg_{}", unique_id()),
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": content,
        "stop_reason": stop_reason(outcome.stop_reason.as_deref()),
        "stop_sequence": null,
        "usage": usage(outcome.usage),
    })
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
    let u = u.unwrap_or(Usage {
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
    });
    json!({
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
}

/// Turns the router's deliveries into the events of a streamed message. Each
/// method returns the exact bytes to write (possibly none). Calls after the
/// stream ended (finish or error) return nothing, so the output stays valid.
pub struct StreamEncoder {
    id: String,
    model: String,
    started: bool,
    ended: bool,
    /// The content block being written, at `index`.
    open: Option<Block>,
    index: u32,
    usage: Option<Usage>,
    stop_reason: Option<String>,
}

impl StreamEncoder {
    pub fn new(req: &ApiRequest) -> Self {
        StreamEncoder {
            id: format!("msg_{}", unique_id()),
            model: req.model.clone(),
            started: false,
            ended: false,
            open: None,
            index: 0,
            usage: None,
            stop_reason: None,
        }
    }

    /// `message_start` and a ping, once (on `Delivery::Committed`; content
    /// starts it if missed). Usage is not known yet: message_delta carries it.
    pub fn start(&mut self) -> String {
        if self.started || self.ended {
            return String::new();
        }
        self.started = true;
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(self.usage),
        });
        frame(
            "message_start",
            &json!({"type": "message_start", "message": message}),
        ) + PING
    }

    pub fn event(&mut self, event: &ChatEvent) -> String {
        if self.ended {
            return String::new();
        }
        match event {
            ChatEvent::Text(t) if !t.is_empty() => {
                self.start()
                    + &self.open_block(Block::Text)
                    + &self.delta(json!({"type": "text_delta", "text": t}))
            }
            ChatEvent::Thinking(t) if !t.is_empty() => {
                self.start()
                    + &self.open_block(Block::Thinking)
                    + &self.delta(json!({"type": "thinking_delta", "thinking": t}))
            }
            ChatEvent::Usage(u) => {
                self.usage = Some(*u);
                String::new()
            }
            ChatEvent::Done(reason) => {
                self.stop_reason = Some(reason.clone());
                String::new()
            }
            _ => String::new(),
        }
    }

    /// Closes the open block, then `message_delta` (stop reason, usage) and
    /// `message_stop`.
    pub fn finish(&mut self) -> String {
        if self.ended {
            return String::new();
        }
        let mut out = self.start() + &self.close_block();
        self.ended = true;
        let delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.stop_reason.as_deref()), "stop_sequence": null},
            // All counts: the SDK copies them over message_start's zeros.
            "usage": usage(self.usage),
        });
        out += &frame("message_delta", &delta);
        out + &frame("message_stop", &json!({"type": "message_stop"}))
    }

    /// An `error` event; the SDK raises it as an APIStatusError.
    pub fn error(&mut self, e: &ApiError) -> String {
        if self.ended {
            return String::new();
        }
        self.ended = true;
        frame("error", &error_body(e))
    }

    pub fn keepalive(&self) -> String {
        PING.into()
    }

    /// Starts a block of `kind` unless one is open; a block of the other kind
    /// is closed first, and the new one takes the next index.
    fn open_block(&mut self, kind: Block) -> String {
        if self.open == Some(kind) {
            return String::new();
        }
        let mut out = self.close_block();
        let block = match kind {
            Block::Text => json!({"type": "text", "text": ""}),
            Block::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
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

    fn delta(&self, delta: Value) -> String {
        frame(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": self.index, "delta": delta}),
        )
    }
}

/// One SSE event. serde_json's compact form escapes every newline, so the
/// data always fits on one line.
fn frame(event: &str, data: &Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_core::router::Reason;

    fn parse(body: &str) -> Result<ApiRequest, ApiError> {
        parse_request(body.as_bytes())
    }

    fn error(body: &str) -> String {
        let e = parse(body).expect_err(body);
        assert_eq!((e.status, e.kind), (400, "invalid_request_error"), "{body}");
        e.message
    }

    /// Messages as short text, for readable assertions.
    fn show(messages: &[Message]) -> Vec<String> {
        messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "System",
                    Role::User => "User",
                    Role::Assistant => "Assistant",
                };
                let parts: Vec<String> = m
                    .content
                    .iter()
                    .map(|p| match p {
                        ContentPart::Text(t) => format!("text({t})"),
                        ContentPart::Image(i) => format!("image({}, {})", i.media_type, i.data),
                    })
                    .collect();
                format!("{role}: {}", parts.join(" "))
            })
            .collect()
    }

    #[test]
    fn parses_a_streaming_request_as_the_python_sdk_sends_it() {
        // anthropic.messages.create(model=..., max_tokens=1024, system=...,
        // messages=[...], stream=True); httpx writes json.dumps output.
        let req = parse(r#"{"max_tokens": 1024, "messages": [{"role": "user", "content": "Hello, Claude"}], "model": "minimax/MiniMax-M2.1", "system": "You are terse.", "stream": true}"#).unwrap();
        assert_eq!(req.model, "minimax/MiniMax-M2.1");
        assert!(req.stream && req.prompt.streaming && !req.include_usage);
        assert_eq!(req.prompt.max_tokens, Some(1024));
        assert_eq!(req.prompt.temperature, None);
        assert_eq!(
            show(&req.prompt.messages),
            ["System: text(You are terse.)", "User: text(Hello, Claude)"]
        );
    }

    #[test]
    fn parses_blocks_system_blocks_and_ignores_unknown_fields() {
        let req = parse(r#"{"model": "fast", "temperature": 0.5, "top_k": 5, "stop_sequences": ["END"],
            "metadata": {"user_id": "u"}, "thinking": {"type": "enabled", "budget_tokens": 2000},
            "tool_choice": {"type": "auto"}, "tools": [],
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be kind."}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                    {"type": "text", "text": "What is this?"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "It looks like...", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xx"},
                    {"type": "text", "text": "A cat."}]},
                {"role": "user", "content": "Thanks"}]}"#).unwrap();
        assert!(!req.stream && req.prompt.streaming);
        assert_eq!(
            (req.prompt.max_tokens, req.prompt.temperature),
            (None, Some(0.5))
        );
        assert_eq!(
            show(&req.prompt.messages),
            [
                "System: text(Be brief.) text(Be kind.)",
                "User: image(image/jpeg, /9j/4AAQ) text(What is this?)",
                "Assistant: text(A cat.)",
                "User: text(Thanks)",
            ]
        );
        // An empty system adds no message.
        let req = parse(
            r#"{"model": "a/b", "system": "", "messages": [{"role": "user", "content": "hi"}]}"#,
        )
        .unwrap();
        assert_eq!(show(&req.prompt.messages), ["User: text(hi)"]);
    }

    #[test]
    fn each_malformed_request_gets_a_clear_400() {
        let m = r#""messages": [{"role": "user", "content": "hi"}]"#;
        let with = |extra: &str| format!(r#"{{"model": "a/b", {m}, {extra}}}"#);
        let msgs = |messages: &str| format!(r#"{{"model": "a/b", "messages": {messages}}}"#);
        let blocks = |blocks: &str| msgs(&format!(r#"[{{"role": "user", "content": {blocks}}}]"#));
        let shape = r#"{"type": "base64", "media_type": "image/png", "data": "..."}"#;
        let cases: Vec<(String, String)> = vec![
            ("{\"model\": }".into(), "body is not valid JSON: expected value at line 1 column 11".into()),
            (" ".into(), "body is empty: send a JSON object (Content-Type: application/json)".into()),
            ("\"hi\"".into(), "body must be a JSON object, got a string".into()),
            (format!("{{{m}}}"), "`model` is required (a provider/model ref or an alias, see GET /v1/models)".into()),
            (format!(r#"{{"model": ["a"], {m}}}"#), "`model` must be a string (a provider/model ref or an alias, see GET /v1/models), got an array".into()),
            (r#"{"model": "a/b", "max_tokens": 10}"#.into(), "`messages` must be a non-empty array of {\"role\", \"content\"} objects".into()),
            (msgs("[]"), "`messages` must be a non-empty array of {\"role\", \"content\"} objects".into()),
            (msgs("{}"), "`messages` must be a non-empty array of {\"role\", \"content\"} objects, got an object".into()),
            (msgs("[1]"), "messages[0] must be an object with `role` and `content`, got a number".into()),
            (msgs(r#"[{"content": "hi"}]"#), "messages[0].role is required: user or assistant".into()),
            (msgs(r#"[{"role": "system", "content": "hi"}]"#), "messages[0].role: \"system\" is not a message role here; put system text in the top-level `system` field".into()),
            (msgs(r#"[{"role": "model", "content": "hi"}]"#), "messages[0].role: unknown role \"model\"; use user or assistant".into()),
            (msgs(r#"[{"role": "user"}]"#), "messages[0].content is required: a string or an array of content blocks".into()),
            (msgs(r#"[{"role": "user", "content": {"type": "text"}}]"#), "messages[0].content must be a string or an array of content blocks, got an object".into()),
            (blocks("[\"hi\"]"), "messages[0].content[0] must be a content block like {\"type\": \"text\", \"text\": \"...\"}, got a string".into()),
            (blocks(r#"[{"text": "hi"}]"#), "messages[0].content[0].type is required: \"text\" or \"image\"".into()),
            (blocks(r#"[{"type": "text", "text": 5}]"#), "messages[0].content[0]: a text block needs a string `text`".into()),
            (blocks(r#"[{"type": "audio"}]"#), "messages[0].content[0]: unknown content block type \"audio\"; use \"text\" or \"image\"".into()),
            (blocks(r#"[{"type": "document", "source": {}}]"#), "messages[0].content[0]: \"document\" blocks are not supported; claw passes text and image blocks only".into()),
            (blocks(r#"[{"type": "tool_result", "tool_use_id": "t1", "content": "42"}]"#), "messages[0].content[0]: \"tool_result\" blocks: claw does not support tool use yet; send the request without `tools` and tool blocks".into()),
            (msgs(r#"[{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}]"#),
                "messages[1].content[0]: \"tool_use\" blocks: claw does not support tool use yet; send the request without `tools` and tool blocks".into()),
            (blocks(r#"[{"type": "thinking", "thinking": "x"}]"#), "messages[0].content[0]: \"thinking\" blocks may only appear in assistant messages".into()),
            (blocks(r#"[{"type": "image"}]"#), format!("messages[0].content[0].source is required: {shape}")),
            (blocks(r#"[{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]"#), "messages[0].content[0].source: images must be base64; remote image URLs are not fetched".into()),
            (blocks(r#"[{"type": "image", "source": {"type": "file", "file_id": "f1"}}]"#), "messages[0].content[0].source: file sources (Files API) are not supported; send the image as base64".into()),
            (blocks(r#"[{"type": "image", "source": {"media_type": "image/png", "data": "AA"}}]"#), format!("messages[0].content[0].source.type must be \"base64\": {shape}")),
            (blocks(r#"[{"type": "image", "source": {"type": "base64", "data": "AA"}}]"#), format!("messages[0].content[0].source.media_type must be a non-empty string: {shape}")),
            (blocks(r#"[{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}]"#), format!("messages[0].content[0].source.data must be a non-empty string: {shape}")),
            (msgs(r#"[{"role": "assistant", "content": [{"type": "image", "source": {}}]}]"#), "messages[0].content[0]: only user messages may contain images".into()),
            (with(r#""system": 5"#), "`system` must be a string or an array of text blocks, got a number".into()),
            (with(r#""system": [{"type": "image"}]"#), "system[0] must be a text block like {\"type\": \"text\", \"text\": \"...\"}".into()),
            (with(r#""tools": [{"name": "get_weather", "input_schema": {}}]"#), "`tools`: claw does not support tool use yet; send the request without `tools` and tool blocks".into()),
            (with(r#""tool_choice": {"type": "any"}"#), "`tool_choice`: claw does not support tool use yet; send the request without `tools` and tool blocks".into()),
            (with(r#""max_tokens": 0"#), "`max_tokens` must be a positive whole number of tokens, got 0".into()),
            (with(r#""max_tokens": 1.5"#), "`max_tokens` must be a positive whole number of tokens, got 1.5".into()),
            (with(r#""temperature": 1.2"#), "`temperature` must be a number from 0 to 1, got 1.2".into()),
            (with(r#""stream": 1"#), "`stream` must be true or false, got 1".into()),
        ];
        for (body, expected) in cases {
            assert_eq!(error(&body), expected, "body: {body}");
        }
        // A long value is quoted back cut short.
        let long = format!(
            r#"{{"model": "a/b", "messages": [{{"role": "{}", "content": "x"}}]}}"#,
            "r".repeat(500)
        );
        assert!(error(&long).len() < 150);
    }

    #[test]
    fn never_panics_on_any_prefix_or_odd_value() {
        let good = r#"{"model": "a/b", "max_tokens": 5, "system": [{"type": "text", "text": "s"}], "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}, {"type": "text", "text": "ü"}]}], "stream": true}"#;
        assert!(parse(good).is_ok());
        for cut in 0..good.len() {
            let _ = parse_request(&good.as_bytes()[..cut]);
        }
        for body in [
            "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [null, []]}]}",
            "{\"model\": \"a/b\", \"tool_choice\": 3, \"messages\": []}",
            "{\"model\": \"a/b\", \"system\": [null], \"messages\": [{}]}",
            "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\", \"source\": {\"type\": 1}}]}]}",
        ] {
            let _ = parse(body);
        }
        let _ = parse_request(b"\xc3\x28");
    }

    fn usage_of(input: u32, output: u32, cache_read: u32, cache_write: u32) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
        }
    }

    fn outcome(text: &str, usage: Option<Usage>, stop: Option<&str>) -> RunOutcome {
        RunOutcome {
            ok: true,
            provider: Some("lmstudio".into()),
            model: Some("qwen3-8b".into()),
            attempts: vec![],
            text: text.into(),
            usage,
            stop_reason: stop.map(Into::into),
            error: None,
        }
    }

    fn request() -> ApiRequest {
        parse(r#"{"model": "fast", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "stream": true}"#).unwrap()
    }

    #[test]
    fn renders_a_message() {
        let mut r = response(
            &request(),
            &outcome("Hi!", Some(usage_of(9, 2, 3, 4)), Some("length")),
        );
        let id = r["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("msg_") && id.len() > 20, "{id}");
        r["id"] = "X".into();
        assert_eq!(
            r,
            json!({"id": "X", "type": "message", "role": "assistant", "model": "fast",
                "content": [{"type": "text", "text": "Hi!"}], "stop_reason": "max_tokens", "stop_sequence": null,
                "usage": {"input_tokens": 9, "cache_creation_input_tokens": 4, "cache_read_input_tokens": 3, "output_tokens": 2}})
        );
        let empty = response(&request(), &outcome("", None, None));
        assert_ne!(empty["id"].as_str().unwrap(), id, "ids are unique");
        assert_eq!(empty["content"], json!([]));
        assert_eq!(empty["stop_reason"], "end_turn");
        assert_eq!(empty["usage"]["output_tokens"], 0);
    }

    #[test]
    fn maps_stop_reasons_of_either_convention() {
        for (stop, expected) in [
            (Some("stop"), "end_turn"),
            (Some("end_turn"), "end_turn"),
            (Some("length"), "max_tokens"),
            (Some("max_tokens"), "max_tokens"),
            (Some("stop_sequence"), "stop_sequence"),
            (Some("content_filter"), "refusal"),
            (Some("tool_calls"), "end_turn"),
            (None, "end_turn"),
        ] {
            assert_eq!(stop_reason(stop), expected, "{stop:?}");
        }
    }

    fn encoder() -> StreamEncoder {
        let mut enc = StreamEncoder::new(&request());
        assert!(enc.id.starts_with("msg_"));
        enc.id = "msg_1".into(); // fixed, so frames compare byte for byte
        enc
    }

    #[test]
    fn streams_the_exact_events() {
        let mut enc = encoder();
        let mut frames = vec![enc.start()];
        for e in [
            ChatEvent::Started("msg_up".into()),
            ChatEvent::Thinking("Hmm.".into()),
            ChatEvent::Text("Hello".into()),
            ChatEvent::Text(" there,".into()),
            ChatEvent::Text(" friend".into()),
            ChatEvent::Usage(usage_of(12, 3, 0, 5)),
            ChatEvent::Done("stop".into()),
        ] {
            frames.push(enc.event(&e));
        }
        frames.push(enc.finish());
        let expected = [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"fast\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}}\n\n\
             event: ping\ndata: {\"type\": \"ping\"}\n\n",
            "",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n\
             event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm.\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
             event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
             event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" there,\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" friend\"}}\n\n",
            "",
            "",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
             event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":0,\"output_tokens\":3}}\n\n\
             event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ];
        assert_eq!(frames, expected);
        assert_eq!(enc.finish(), "", "the stream ends once");
        assert_eq!(enc.event(&ChatEvent::Text("late".into())), "");
    }

    #[test]
    fn each_switch_between_thinking_and_text_opens_the_next_block() {
        let mut enc = encoder();
        let out = enc.event(&ChatEvent::Text("a".into()))
            + &enc.event(&ChatEvent::Thinking("b".into()))
            + &enc.event(&ChatEvent::Text("".into()))
            + &enc.event(&ChatEvent::Text("c".into()))
            + &enc.finish();
        let events: Vec<(String, Value)> = out
            .split_terminator("\n\n")
            .map(|f| {
                let (event, data) = f
                    .strip_prefix("event: ")
                    .unwrap()
                    .split_once("\ndata: ")
                    .unwrap();
                (event.to_string(), serde_json::from_str(data).unwrap())
            })
            .collect();
        let summary: Vec<String> = events
            .iter()
            .map(|(e, d)| match e.as_str() {
                "content_block_start" => {
                    format!("start {} {}", d["index"], d["content_block"]["type"])
                }
                "content_block_delta" => format!("delta {} {}", d["index"], d["delta"]["type"]),
                "content_block_stop" => format!("stop {}", d["index"]),
                other => other.to_string(),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "message_start",
                "ping",
                "start 0 \"text\"",
                "delta 0 \"text_delta\"",
                "stop 0",
                "start 1 \"thinking\"",
                "delta 1 \"thinking_delta\"",
                "stop 1",
                "start 2 \"text\"",
                "delta 2 \"text_delta\"",
                "stop 2",
                "message_delta",
                "message_stop",
            ]
        );
        assert_eq!(enc.start(), "", "message_start only once");
    }

    #[test]
    fn frames_stay_valid_sse_whatever_the_text() {
        let nasty = "line1\nline2\r\n\"q\" \\ \u{2028} \u{0} 🦀\n\nevent: error\ndata: x";
        let mut enc = encoder();
        let out = enc.event(&ChatEvent::Text(nasty.into())) + &enc.finish();
        for f in out.split_terminator("\n\n") {
            let (event, data) = f
                .strip_prefix("event: ")
                .unwrap()
                .split_once("\ndata: ")
                .unwrap();
            assert!(
                !event.contains('\n') && !data.contains('\n') && !data.contains('\r'),
                "{f}"
            );
            let _: Value = serde_json::from_str(data).unwrap();
        }
        assert!(out.contains(&serde_json::to_string(nasty).unwrap()));
    }

    #[test]
    fn an_error_ends_the_stream() {
        let mut enc = encoder();
        enc.event(&ChatEvent::Text("partial".into()));
        let e = ApiError::new(
            502,
            "api_error",
            "lmstudio/qwen3-8b failed after the reply had started: network: reset",
        );
        assert_eq!(
            enc.error(&e),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"lmstudio/qwen3-8b failed after the reply had started: network: reset\"}}\n\n"
        );
        assert_eq!(enc.finish(), "");
        assert_eq!(enc.error(&e), "");
        // Before any content (all candidates failed once headers were out).
        let mut enc = encoder();
        assert_eq!(
            enc.error(&ApiError::new(
                529,
                "overloaded_error",
                "All models failed (1): a/b: overloaded (HTTP 529): Overloaded"
            )),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"All models failed (1): a/b: overloaded (HTTP 529): Overloaded\"}}\n\n"
        );
        assert_eq!(
            enc.keepalive(),
            "event: ping\ndata: {\"type\": \"ping\"}\n\n"
        );
    }

    #[test]
    fn error_bodies_use_anthropic_types() {
        let kind =
            |status, kind| error_body(&ApiError::new(status, kind, "m"))["error"]["type"].clone();
        assert_eq!(
            error_body(&ApiError::invalid("bad")),
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}})
        );
        assert_eq!(kind(401, "authentication_error"), "authentication_error");
        assert_eq!(kind(529, "overloaded_error"), "overloaded_error");
        // Kinds from elsewhere (e.g. OpenAI's) are named from the status.
        for (status, expected) in [
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (422, "invalid_request_error"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "overloaded_error"),
            (504, "timeout_error"),
        ] {
            assert_eq!(kind(status, "server_error"), expected, "{status}");
        }
    }

    use crate::test_support::failed;

    #[test]
    fn failures_map_to_a_status_the_client_can_act_on() {
        use Reason::*;
        let cases = [
            (
                vec![(RateLimit, Some(429)), (RateLimit, None)],
                429,
                "rate_limit_error",
            ),
            (
                vec![
                    (Overloaded, Some(529)),
                    (Cooldown, None),
                    (Overloaded, Some(503)),
                ],
                529,
                "overloaded_error",
            ),
            (
                vec![(Timeout, None), (PluginTimeout, None)],
                504,
                "timeout_error",
            ),
            (vec![(Auth, Some(401)), (Auth, Some(403))], 502, "api_error"),
            (vec![(Timeout, None), (Auth, Some(401))], 502, "api_error"),
            (vec![(Billing, Some(402))], 502, "api_error"),
        ];
        for (attempts, status, kind) in cases {
            let outcome = failed(&attempts);
            let e = failure(&outcome);
            assert_eq!((e.status, e.kind), (status, kind), "{attempts:?}");
            assert!(
                e.message.ends_with(outcome.error.as_deref().unwrap()),
                "{}",
                e.message
            );
        }
        let e = failure(&failed(&[(Auth, Some(401))]));
        assert!(
            e.message.contains("your own token for claw was accepted"),
            "{}",
            e.message
        );
        assert_eq!(
            error_body(&e)["error"]["type"],
            "api_error",
            "never authentication_error"
        );
    }

    #[test]
    fn upstream_errors_pass_through_only_as_given() {
        // The router already redacted; the gateway must neither add nor alter.
        let mut outcome = failed(&[(Reason::Unknown, Some(500))]);
        let given = "All models failed (1): p/m0: unknown (HTTP 500): upstream echoed x-api-key: [redacted] and sk-ant-***";
        outcome.error = Some(given.into());
        let e = failure(&outcome);
        assert_eq!(e.message, given);
        let body = error_body(&e);
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "api_error", "message": given}})
        );
        let frame = encoder().error(&e);
        assert_eq!(frame.matches("sk-ant-").count(), 1, "{frame}");
    }
}
