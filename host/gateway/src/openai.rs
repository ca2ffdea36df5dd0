//! OpenAI Chat Completions wire format: `POST /v1/chat/completions` bodies in,
//! `chat.completion` objects, `chat.completion.chunk` SSE frames, errors and
//! the `GET /v1/models` list out, in the shapes the official SDK and curl users
//! expect (mirroring tests/support/upstream.rs). No I/O.

use serde_json::{Map, Value, json};

use crate::{
    ApiError, ApiRequest, json_object, kind_of, model_field, opt_bool, opt_max_tokens,
    opt_temperature, short, unique_id, unix_secs,
};
use claw_core::catalog::Catalog;
use claw_core::router::{Prompt, RunOutcome};
use claw_types::{ChatEvent, ContentPart, Image, Message, Role, Usage};

const NO_TOOLS: &str = "claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages";

pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    let body = json_object(body)?;
    let model = model_field(&body)?;
    refuse_tools(&body)?;
    match body.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(n) if n.as_u64().is_some_and(|n| n > 1) => {
            return Err(ApiError::invalid(format!(
                "`n` is {n}: claw does not support multiple choices yet; leave `n` out (or send 1) and make separate requests"
            )));
        }
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "`n` must be 1, got {}",
                short(n)
            )));
        }
    }
    let messages = parse_messages(body.get("messages"))?;
    // `max_completion_tokens` replaced the deprecated `max_tokens`; the newer wins.
    let max_completion =
        opt_max_tokens(body.get("max_completion_tokens"), "max_completion_tokens")?;
    let max_tokens = opt_max_tokens(body.get("max_tokens"), "max_tokens")?;
    let temperature = opt_temperature(body.get("temperature"), 2.0)?;
    let stream = opt_bool(body.get("stream"), "stream")?;
    let include_usage = match body.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) => opt_bool(o.get("include_usage"), "stream_options.include_usage")?,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`stream_options` must be an object like {{\"include_usage\": true}}, got {}",
                kind_of(other)
            )));
        }
    };
    Ok(ApiRequest {
        model,
        prompt: Prompt {
            messages,
            max_tokens: max_completion.or(max_tokens),
            temperature,
            // Plugins stream upstream either way; `stream` only shapes our reply.
            streaming: true,
        },
        stream,
        include_usage,
    })
}

/// Tools are refused rather than ignored: a client that sends them expects
/// tool calls back, and a silent plain-text reply would look like a model bug.
fn refuse_tools(body: &Map<String, Value>) -> Result<(), ApiError> {
    let refuse = |field: &str| Err(ApiError::invalid(format!("`{field}`: {NO_TOOLS}")));
    for field in ["tools", "functions"] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(_) => return refuse(field),
        }
    }
    for field in ["tool_choice", "function_call"] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "none" => {}
            Some(_) => return refuse(field),
        }
    }
    Ok(())
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
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" | "function" => return invalid(format!(": role \"{r}\": {NO_TOOLS}")),
            _ => {
                return invalid(format!(
                    ".role: unknown role {}; use system, developer, user or assistant",
                    short(&Value::from(r.as_str()))
                ));
            }
        },
        _ => return invalid(".role is required: system, developer, user or assistant".into()),
    };
    if role == Role::Assistant {
        let called = |field: &str| match m.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        for field in ["tool_calls", "function_call"] {
            if called(field) {
                return invalid(format!(".{field}: {NO_TOOLS}"));
            }
        }
    }
    let content = match m.get("content") {
        Some(Value::String(text)) => vec![ContentPart::Text(text.clone())],
        // An assistant turn that only called tools has null content; with
        // tools refused above, it is simply an empty turn.
        None | Some(Value::Null) if role == Role::Assistant => Vec::new(),
        None | Some(Value::Null) => {
            return invalid(".content is required: a string or an array of content parts".into());
        }
        Some(Value::Array(parts)) => {
            let mut content = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                content.push(parse_part(&format!("{at}.content[{j}]"), role, part)?);
            }
            content
        }
        Some(other) => {
            return invalid(format!(
                ".content must be a string or an array of content parts, got {}",
                kind_of(other)
            ));
        }
    };
    Ok(Message { role, content })
}

fn parse_part(at: &str, role: Role, part: &Value) -> Result<ContentPart, ApiError> {
    let invalid = |text: String| Err(ApiError::invalid(format!("{at}{text}")));
    let Value::Object(p) = part else {
        return invalid(format!(
            " must be a content part like {{\"type\": \"text\", \"text\": \"...\"}}, got {}",
            kind_of(part)
        ));
    };
    let text_field = |field: &str| match p.get(field) {
        Some(Value::String(t)) => Ok(ContentPart::Text(t.clone())),
        _ => invalid(format!(": a \"{field}\" part needs a string `{field}`")),
    };
    match p.get("type").and_then(Value::as_str) {
        Some("text") => text_field("text"),
        // A refusal the assistant gave earlier is still what it said.
        Some("refusal") if role == Role::Assistant => text_field("refusal"),
        Some("image_url") if role == Role::User => image(p.get("image_url"))
            .map(ContentPart::Image)
            .or_else(|why| invalid(format!(": {why}"))),
        Some("image_url") => invalid(": only user messages may contain images".into()),
        Some(kind @ ("input_audio" | "file")) => invalid(format!(
            ": \"{kind}\" parts are not supported; claw passes text and images (data: URLs) only"
        )),
        Some(kind) => invalid(format!(
            ": unknown content part type {}; use \"text\" or \"image_url\"",
            short(&Value::from(kind))
        )),
        None => invalid(".type is required: \"text\" or \"image_url\"".into()),
    }
}

/// `{"url": "data:<media type>;base64,<data>"}` (a bare string is accepted too).
/// Remote URLs are refused: fetching them would make claw an open proxy.
fn image(value: Option<&Value>) -> Result<Image, String> {
    let url = match value {
        Some(Value::Object(o)) => o.get("url").and_then(Value::as_str),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let Some(url) = url else {
        return Err(
            "an image_url part needs `image_url: {\"url\": \"data:image/png;base64,...\"}`".into(),
        );
    };
    let must = "image_url must be a data: URL (base64)";
    let Some(rest) = url
        .get(..5)
        .filter(|s| s.eq_ignore_ascii_case("data:"))
        .map(|_| &url[5..])
    else {
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        return Err(
            if lower.starts_with("http://") || lower.starts_with("https://") {
                format!("{must}; remote image URLs are not fetched")
            } else {
                format!("{must}, like data:image/png;base64,<data>")
            },
        );
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return Err(format!("{must}: no ',' before the data"));
    };
    let mut params = meta.split(';');
    let media_type = params.next().unwrap_or_default().trim();
    if !params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(format!("{must}: add ;base64 after the media type"));
    }
    if !media_type.contains('/') {
        return Err(format!(
            "{must}: it needs a media type, e.g. data:image/png;base64,..."
        ));
    }
    if data.trim().is_empty() {
        return Err(format!("{must}: its data is empty"));
    }
    Ok(Image {
        media_type: media_type.to_string(),
        data: data.to_string(),
    })
}

/// `{"error": {message, type, param, code}}`. `ApiError.kind` uses Anthropic's
/// type names (the richer set); here they become OpenAI's type and code. The
/// SDK picks its exception class by status, so the type is informational.
pub fn error_body(e: &ApiError) -> Value {
    let (kind, code) = match e.kind {
        "invalid_request_error" => ("invalid_request_error", None),
        "request_too_large" => ("invalid_request_error", Some("request_too_large")),
        // What OpenAI itself sends for a bad key.
        "authentication_error" => ("invalid_request_error", Some("invalid_api_key")),
        "permission_error" => ("invalid_request_error", Some("permission_denied")),
        "not_found_error" => ("invalid_request_error", Some("not_found")),
        "billing_error" => ("insufficient_quota", Some("insufficient_quota")),
        "rate_limit_error" => ("requests", Some("rate_limit_exceeded")),
        "overloaded_error" => ("server_error", Some("overloaded")),
        "timeout_error" => ("server_error", Some("timeout")),
        "api_error" => ("server_error", None),
        other => (other, None),
    };
    json!({"error": {"message": e.message, "type": kind, "param": null, "code": code}})
}

/// Every candidate failed: a status the SDK retries (429, 503, 504, 502), never
/// 401 for an upstream auth failure, since the client's own token was fine.
pub fn failure(outcome: &RunOutcome) -> ApiError {
    crate::all_failed(outcome, 503)
}

/// A whole `chat.completion`. Thinking is not carried in `RunOutcome`, so a
/// non-streaming reply has no `reasoning_content`.
pub fn response(req: &ApiRequest, outcome: &RunOutcome) -> Value {
    json!({
        "id": format!("chatcmpl-{}", unique_id()),
        "object": "chat.completion",
        "created": unix_secs(),
        "model": req.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": outcome.text},
            "finish_reason": finish_reason(outcome.stop_reason.as_deref()),
        }],
        "usage": usage(outcome.usage),
    })
}

/// Upstream stop reasons come in either API's convention.
fn finish_reason(stop: Option<&str>) -> &'static str {
    match stop {
        Some("length" | "max_tokens" | "model_context_window_exceeded") => "length",
        Some("content_filter" | "refusal") => "content_filter",
        // end_turn, stop_sequence, stop; tool stops cannot happen without tools.
        _ => "stop",
    }
}

/// OpenAI's `prompt_tokens` includes cached tokens; ours does not.
fn usage(u: Option<Usage>) -> Value {
    let Some(u) = u else {
        return json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0});
    };
    let prompt = u64::from(u.input_tokens)
        + u64::from(u.cache_read_tokens)
        + u64::from(u.cache_write_tokens);
    let completion = u64::from(u.output_tokens);
    let mut v = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    if u.cache_read_tokens > 0 {
        v["prompt_tokens_details"] = json!({"cached_tokens": u.cache_read_tokens});
    }
    v
}

/// Turns the router's deliveries into `chat.completion.chunk` SSE frames.
/// Each method returns the exact bytes to write (possibly none). Calls after
/// the stream ended (finish or error) return nothing, so the output stays valid.
pub struct StreamEncoder {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    started: bool,
    ended: bool,
    usage: Option<Usage>,
    stop_reason: Option<String>,
}

impl StreamEncoder {
    pub fn new(req: &ApiRequest) -> Self {
        StreamEncoder {
            id: format!("chatcmpl-{}", unique_id()),
            created: unix_secs(),
            model: req.model.clone(),
            include_usage: req.include_usage,
            started: false,
            ended: false,
            usage: None,
            stop_reason: None,
        }
    }

    /// The role chunk, once (on `Delivery::Committed`; content starts it if missed).
    pub fn start(&mut self) -> String {
        if self.started || self.ended {
            return String::new();
        }
        self.started = true;
        self.chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    }

    pub fn event(&mut self, event: &ChatEvent) -> String {
        if self.ended {
            return String::new();
        }
        match event {
            ChatEvent::Text(t) if !t.is_empty() => {
                self.start() + &self.chunk(json!({"content": t}), Value::Null)
            }
            ChatEvent::Thinking(t) if !t.is_empty() => {
                self.start() + &self.chunk(json!({"reasoning_content": t}), Value::Null)
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

    /// The finish chunk, the usage chunk when asked for, then `[DONE]`.
    pub fn finish(&mut self) -> String {
        if self.ended {
            return String::new();
        }
        let mut out = self.start();
        self.ended = true;
        let reason = finish_reason(self.stop_reason.as_deref());
        out += &self.chunk(json!({}), reason.into());
        if self.include_usage {
            out += &frame(&json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage(self.usage),
            }));
        }
        out + "data: [DONE]\n\n"
    }

    /// An error frame; the SDK raises it as an APIError. No `[DONE]` follows.
    pub fn error(&mut self, e: &ApiError) -> String {
        if self.ended {
            return String::new();
        }
        self.ended = true;
        frame(&error_body(e))
    }

    /// An SSE comment: keeps proxies and clients from timing out, ignored by parsers.
    pub fn keepalive(&self) -> String {
        ": keep-alive\n\n".into()
    }

    fn chunk(&self, delta: Value, finish_reason: Value) -> String {
        let mut chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        });
        // With include_usage, every chunk carries "usage": null until the last.
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        frame(&chunk)
    }
}

/// One SSE event. serde_json's compact form escapes every newline, so the
/// data always fits on one line.
fn frame(data: &Value) -> String {
    format!("data: {data}\n\n")
}

/// `GET /v1/models`: every `provider/model`, then each alias whose target exists.
pub fn models(catalog: &Catalog) -> Value {
    let entry = |id: &str, owner: &str| json!({"id": id, "object": "model", "created": 0, "owned_by": owner});
    let mut data = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for provider in catalog.providers.values() {
        for model in &provider.models {
            let id = format!("{}/{}", provider.id, model.id);
            if ids.insert(id.clone()) {
                data.push(entry(&id, &provider.id));
            }
        }
    }
    for (alias, target) in &catalog.aliases {
        let exists = catalog
            .providers
            .get(&target.provider)
            .is_some_and(|p| p.model(&target.model).is_some());
        if exists && ids.insert(alias.clone()) {
            data.push(entry(alias, &target.provider));
        }
    }
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_core::catalog::{Credential, ModelRef, ModelSpec, Provider};
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
                let parts: Vec<String> = m
                    .content
                    .iter()
                    .map(|p| match p {
                        ContentPart::Text(t) => format!("text({t})"),
                        ContentPart::Image(i) => format!("image({}, {})", i.media_type, i.data),
                    })
                    .collect();
                let role = match m.role {
                    Role::System => "System",
                    Role::User => "User",
                    Role::Assistant => "Assistant",
                };
                format!("{role}: {}", parts.join(" "))
            })
            .collect()
    }

    #[test]
    fn parses_a_streaming_request_as_the_python_sdk_sends_it() {
        // openai.chat.completions.create(model=..., messages=[...], stream=True,
        // stream_options={"include_usage": True}); httpx writes json.dumps output.
        let req = parse(r#"{"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi"}], "model": "minimax/MiniMax-M2.1", "stream": true, "stream_options": {"include_usage": true}}"#).unwrap();
        assert_eq!(req.model, "minimax/MiniMax-M2.1");
        assert!(req.stream && req.include_usage && req.prompt.streaming);
        assert_eq!(
            show(&req.prompt.messages),
            ["System: text(You are terse.)", "User: text(Say hi)"]
        );
        assert_eq!(
            (req.prompt.max_tokens, req.prompt.temperature),
            (None, None)
        );
    }

    #[test]
    fn parses_parts_roles_limits_and_ignores_unknown_fields() {
        let req = parse(r#"{"model": "fast", "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]},
            {"role": "assistant", "content": null, "tool_calls": []},
            {"role": "assistant", "content": [{"type": "text", "text": "A "}, {"type": "refusal", "refusal": "no"}]},
            {"role": "user", "content": "ok"}],
            "max_completion_tokens": 256, "temperature": 0.7, "top_p": 0.9, "seed": 1, "user": "u1",
            "metadata": {"a": "b"}, "tool_choice": "none", "tools": [], "n": 1, "stream": false}"#).unwrap();
        assert_eq!(req.model, "fast");
        assert!(!req.stream && !req.include_usage && req.prompt.streaming);
        assert_eq!(req.prompt.max_tokens, Some(256));
        assert_eq!(req.prompt.temperature, Some(0.7));
        assert_eq!(
            show(&req.prompt.messages),
            [
                "System: text(Be brief.)",
                "User: text(What is this?) image(image/png, iVBORw0KGgo=)",
                "Assistant: ",
                "Assistant: text(A ) text(no)",
                "User: text(ok)",
            ]
        );
    }

    #[test]
    fn max_completion_tokens_wins_over_the_deprecated_max_tokens() {
        let m = r#""messages": [{"role": "user", "content": "hi"}]"#;
        let req = parse(&format!(r#"{{"model": "a/b", {m}, "max_tokens": 100}}"#)).unwrap();
        assert_eq!(req.prompt.max_tokens, Some(100));
        let req = parse(&format!(
            r#"{{"model": "a/b", {m}, "max_tokens": 100, "max_completion_tokens": 50}}"#
        ))
        .unwrap();
        assert_eq!(req.prompt.max_tokens, Some(50));
        let req = parse(&format!(r#"{{"model": "a/b", {m}, "max_tokens": null, "temperature": null, "stream": null, "stream_options": null}}"#)).unwrap();
        assert_eq!(
            (req.prompt.max_tokens, req.prompt.temperature, req.stream),
            (None, None, false)
        );
    }

    #[test]
    fn each_malformed_request_gets_a_clear_400() {
        let m = r#""messages": [{"role": "user", "content": "hi"}]"#;
        let with = |extra: &str| format!(r#"{{"model": "a/b", {m}, {extra}}}"#);
        let msgs = |messages: &str| format!(r#"{{"model": "a/b", "messages": {messages}}}"#);
        let cases: Vec<(String, &str)> = vec![
            (
                "{\"model\"".into(),
                "body is not valid JSON: EOF while parsing an object at line 1 column 8",
            ),
            (
                "{model: 1}".into(),
                "body is not valid JSON: key must be a string at line 1 column 2",
            ),
            (
                "".into(),
                "body is empty: send a JSON object (Content-Type: application/json)",
            ),
            ("[1]".into(), "body must be a JSON object, got an array"),
            (
                format!("{{{m}}}"),
                "`model` is required (a provider/model ref or an alias, see GET /v1/models)",
            ),
            (
                format!(r#"{{"model": "  ", {m}}}"#),
                "`model` is required (a provider/model ref or an alias, see GET /v1/models)",
            ),
            (
                format!(r#"{{"model": 4, {m}}}"#),
                "`model` must be a string (a provider/model ref or an alias, see GET /v1/models), got a number",
            ),
            (
                r#"{"model": "a/b"}"#.into(),
                "`messages` must be a non-empty array of {\"role\", \"content\"} objects",
            ),
            (
                msgs("[]"),
                "`messages` must be a non-empty array of {\"role\", \"content\"} objects",
            ),
            (
                msgs("\"hi\""),
                "`messages` must be a non-empty array of {\"role\", \"content\"} objects, got a string",
            ),
            (
                msgs("[\"hi\"]"),
                "messages[0] must be an object with `role` and `content`, got a string",
            ),
            (
                msgs(r#"[{"content": "hi"}]"#),
                "messages[0].role is required: system, developer, user or assistant",
            ),
            (
                msgs(r#"[{"role": "bot", "content": "hi"}]"#),
                "messages[0].role: unknown role \"bot\"; use system, developer, user or assistant",
            ),
            (
                msgs(r#"[{"role": "user"}]"#),
                "messages[0].content is required: a string or an array of content parts",
            ),
            (
                msgs(r#"[{"role": "user", "content": 3}]"#),
                "messages[0].content must be a string or an array of content parts, got a number",
            ),
            (
                msgs(r#"[{"role": "user", "content": [3]}]"#),
                "messages[0].content[0] must be a content part like {\"type\": \"text\", \"text\": \"...\"}, got a number",
            ),
            (
                msgs(r#"[{"role": "user", "content": [{"text": "x"}]}]"#),
                "messages[0].content[0].type is required: \"text\" or \"image_url\"",
            ),
            (
                msgs(r#"[{"role": "user", "content": [{"type": "text"}]}]"#),
                "messages[0].content[0]: a \"text\" part needs a string `text`",
            ),
            (
                msgs(r#"[{"role": "user", "content": [{"type": "video"}]}]"#),
                "messages[0].content[0]: unknown content part type \"video\"; use \"text\" or \"image_url\"",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]"#,
                ),
                "messages[0].content[0]: \"input_audio\" parts are not supported; claw passes text and images (data: URLs) only",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]"#,
                ),
                "messages[2].content[0]: image_url must be a data: URL (base64); remote image URLs are not fetched",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}]"#,
                ),
                "messages[0].content[0]: image_url must be a data: URL (base64): add ;base64 after the media type",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:;base64,abc"}}]}]"#,
                ),
                "messages[0].content[0]: image_url must be a data: URL (base64): it needs a media type, e.g. data:image/png;base64,...",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}]}]"#,
                ),
                "messages[0].content[0]: image_url must be a data: URL (base64): its data is empty",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64"}}]}]"#,
                ),
                "messages[0].content[0]: image_url must be a data: URL (base64): no ',' before the data",
            ),
            (
                msgs(
                    r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "cat.png"}}]}]"#,
                ),
                "messages[0].content[0]: image_url must be a data: URL (base64), like data:image/png;base64,<data>",
            ),
            (
                msgs(r#"[{"role": "user", "content": [{"type": "image_url"}]}]"#),
                "messages[0].content[0]: an image_url part needs `image_url: {\"url\": \"data:image/png;base64,...\"}`",
            ),
            (
                msgs(
                    r#"[{"role": "system", "content": [{"type": "image_url", "image_url": "data:image/png;base64,AA"}]}]"#,
                ),
                "messages[0].content[0]: only user messages may contain images",
            ),
            (
                msgs(r#"[{"role": "tool", "content": "42", "tool_call_id": "c1"}]"#),
                "messages[0]: role \"tool\": claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages",
            ),
            (
                msgs(r#"[{"role": "assistant", "content": null, "tool_calls": [{"id": "c1"}]}]"#),
                "messages[0].tool_calls: claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages",
            ),
            (
                with(r#""tools": [{"type": "function", "function": {"name": "f"}}]"#),
                "`tools`: claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages",
            ),
            (
                with(r#""functions": [{"name": "f"}]"#),
                "`functions`: claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages",
            ),
            (
                with(r#""tool_choice": "auto""#),
                "`tool_choice`: claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages",
            ),
            (
                with(r#""n": 2"#),
                "`n` is 2: claw does not support multiple choices yet; leave `n` out (or send 1) and make separate requests",
            ),
            (with(r#""n": 0"#), "`n` must be 1, got 0"),
            (
                with(r#""max_tokens": 0"#),
                "`max_tokens` must be a positive whole number of tokens, got 0",
            ),
            (
                with(r#""max_tokens": -5"#),
                "`max_tokens` must be a positive whole number of tokens, got -5",
            ),
            (
                with(r#""max_completion_tokens": "100""#),
                "`max_completion_tokens` must be a positive whole number of tokens, got \"100\"",
            ),
            (
                with(r#""max_tokens": 4294967296"#),
                "`max_tokens` must be a positive whole number of tokens, got 4294967296",
            ),
            (
                with(r#""temperature": 2.5"#),
                "`temperature` must be a number from 0 to 2, got 2.5",
            ),
            (
                with(r#""temperature": "hot""#),
                "`temperature` must be a number from 0 to 2, got \"hot\"",
            ),
            (
                with(r#""stream": "yes""#),
                "`stream` must be true or false, got \"yes\"",
            ),
            (
                with(r#""stream": true, "stream_options": true"#),
                "`stream_options` must be an object like {\"include_usage\": true}, got a boolean",
            ),
            (
                with(r#""stream": true, "stream_options": {"include_usage": 1}"#),
                "`stream_options.include_usage` must be true or false, got 1",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error(&body), expected, "body: {body}");
        }
    }

    #[test]
    fn never_panics_on_any_prefix_or_odd_value() {
        let good = r#"{"model": "a/b", "messages": [{"role": "user", "content": [{"type": "text", "text": "hé"}, {"type": "image_url", "image_url": {"url": "DATA:image/png;base64,AA"}}]}], "max_tokens": 9, "stream": true, "stream_options": {"include_usage": true}}"#;
        assert!(parse(good).is_ok(), "the data: scheme is case-insensitive");
        for cut in 0..good.len() {
            let _ = parse_request(&good.as_bytes()[..cut]);
        }
        let odd = [
            "\u{feff}{}",
            "null",
            "\"x\"",
            "1e999",
            "{\"model\": \"a/b\", \"messages\": [null]}",
            "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"é\"}}]}]}",
            "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:é\"}}]}]}",
            "{\"model\": \"a/b\", \"messages\": [{\"role\": 7}], \"temperature\": -0.0}",
        ];
        for body in odd {
            let _ = parse(body);
        }
        let _ = parse_request(&[0xff, 0xfe, b'{']);
        let deep = "[".repeat(10_000);
        assert!(error(&deep).starts_with("body is not valid JSON: recursion limit exceeded"));
    }

    fn outcome(text: &str, usage: Option<Usage>, stop: Option<&str>) -> RunOutcome {
        RunOutcome {
            ok: true,
            provider: Some("minimax".into()),
            model: Some("MiniMax-M2.1".into()),
            attempts: vec![],
            text: text.into(),
            usage,
            stop_reason: stop.map(Into::into),
            error: None,
        }
    }

    fn usage_of(input: u32, output: u32, cache_read: u32, cache_write: u32) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
        }
    }

    #[test]
    fn renders_a_chat_completion() {
        let req =
            parse(r#"{"model": "fast", "messages": [{"role": "user", "content": "hi"}]}"#).unwrap();
        let mut r = response(
            &req,
            &outcome(
                "Hello \"you\"",
                Some(usage_of(10, 4, 6, 0)),
                Some("max_tokens"),
            ),
        );
        let id = r["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("chatcmpl-") && id.len() > 20, "{id}");
        assert!(r["created"].as_u64().unwrap() > 1_700_000_000);
        r["id"] = "X".into();
        r["created"] = 0.into();
        assert_eq!(
            r,
            json!({"id": "X", "object": "chat.completion", "created": 0, "model": "fast",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello \"you\""}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 16, "completion_tokens": 4, "total_tokens": 20, "prompt_tokens_details": {"cached_tokens": 6}}})
        );
        let other = response(&req, &outcome("x", None, None));
        assert_ne!(other["id"].as_str().unwrap(), id, "ids are unique");
        assert_eq!(
            other["usage"],
            json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        );
        assert_eq!(other["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn maps_stop_reasons_of_either_convention() {
        for (stop, expected) in [
            (Some("end_turn"), "stop"),
            (Some("stop_sequence"), "stop"),
            (Some("stop"), "stop"),
            (Some("max_tokens"), "length"),
            (Some("length"), "length"),
            (Some("refusal"), "content_filter"),
            (Some("content_filter"), "content_filter"),
            (Some("something_new"), "stop"),
            (None, "stop"),
        ] {
            assert_eq!(finish_reason(stop), expected, "{stop:?}");
        }
    }

    fn encoder(include_usage: bool) -> StreamEncoder {
        let body = format!(
            r#"{{"model": "fast", "messages": [{{"role": "user", "content": "hi"}}], "stream": true, "stream_options": {{"include_usage": {include_usage}}}}}"#
        );
        let mut enc = StreamEncoder::new(&parse(&body).unwrap());
        assert!(enc.id.starts_with("chatcmpl-"));
        // Fixed, so the frames can be compared byte for byte.
        enc.id = "chatcmpl-1".into();
        enc.created = 1700000000;
        enc
    }

    fn run(enc: &mut StreamEncoder, events: &[ChatEvent]) -> Vec<String> {
        let mut out = vec![enc.start()];
        out.extend(events.iter().map(|e| enc.event(e)));
        out.push(enc.finish());
        out
    }

    fn full_stream() -> Vec<ChatEvent> {
        vec![
            ChatEvent::Started("msg_up".into()),
            ChatEvent::Thinking("Hmm.".into()),
            ChatEvent::Text("Hello".into()),
            ChatEvent::Text(" there,".into()),
            ChatEvent::Text(" friend".into()),
            ChatEvent::Usage(usage_of(12, 3, 0, 0)),
            ChatEvent::Done("end_turn".into()),
        ]
    }

    #[test]
    fn streams_the_exact_chunks_with_usage() {
        let mut enc = encoder(true);
        let head = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"fast","choices":[{"index":0,"delta":"#;
        let tail = ",\"usage\":null}\n\n";
        assert_eq!(
            run(&mut enc, &full_stream()),
            [
                format!(
                    r#"{head}{{"role":"assistant","content":""}},"finish_reason":null}}]{tail}"#
                ),
                String::new(),
                format!(r#"{head}{{"reasoning_content":"Hmm."}},"finish_reason":null}}]{tail}"#),
                format!(r#"{head}{{"content":"Hello"}},"finish_reason":null}}]{tail}"#),
                format!(r#"{head}{{"content":" there,"}},"finish_reason":null}}]{tail}"#),
                format!(r#"{head}{{"content":" friend"}},"finish_reason":null}}]{tail}"#),
                String::new(),
                String::new(),
                format!(r#"{head}{{}},"finish_reason":"stop"}}]{tail}"#)
                    + "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"fast\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}\n\n"
                    + "data: [DONE]\n\n",
            ]
        );
        assert_eq!(enc.finish(), "", "the stream ends once");
        assert_eq!(enc.event(&ChatEvent::Text("late".into())), "");
    }

    #[test]
    fn streams_without_usage_unless_asked() {
        let mut enc = encoder(false);
        let frames = run(
            &mut enc,
            &[
                ChatEvent::Text("Hi".into()),
                ChatEvent::Done("max_tokens".into()),
            ],
        );
        let head = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"fast","choices":[{"index":0,"delta":"#;
        assert_eq!(
            frames,
            [
                format!(
                    "{head}{{\"role\":\"assistant\",\"content\":\"\"}},\"finish_reason\":null}}]}}\n\n"
                ),
                format!("{head}{{\"content\":\"Hi\"}},\"finish_reason\":null}}]}}\n\n"),
                String::new(),
                format!("{head}{{}},\"finish_reason\":\"length\"}}]}}\n\ndata: [DONE]\n\n"),
            ]
        );
        // Content before `start` still opens with the role chunk, once.
        let mut enc = encoder(false);
        let first = enc.event(&ChatEvent::Text("x".into()));
        assert!(
            first.starts_with(&format!("{head}{{\"role\"")) && first.matches("data: ").count() == 2
        );
        assert_eq!(enc.start(), "");
    }

    #[test]
    fn frames_stay_valid_sse_whatever_the_text() {
        let nasty = "line1\nline2\r\n\"quoted\" \\ </script> \u{2028} \u{0} é 🦀\n\ndata: fake";
        let mut enc = encoder(true);
        let out = enc.start() + &enc.event(&ChatEvent::Text(nasty.into())) + &enc.finish();
        let frames: Vec<&str> = out.split_terminator("\n\n").collect();
        assert_eq!(frames.len(), 5);
        for f in &frames {
            let data = f.strip_prefix("data: ").unwrap();
            assert!(!data.contains('\n') && !data.contains('\r'), "{f}");
        }
        let text: Value = serde_json::from_str(frames[1].strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(text["choices"][0]["delta"]["content"], nasty);
    }

    #[test]
    fn an_error_ends_the_stream_without_done() {
        let mut enc = encoder(false);
        enc.start();
        enc.event(&ChatEvent::Text("partial".into()));
        let e = ApiError::new(
            502,
            "api_error",
            "minimax/MiniMax-M2.1 failed after the reply had started: network: reset",
        );
        assert_eq!(
            enc.error(&e),
            "data: {\"error\":{\"message\":\"minimax/MiniMax-M2.1 failed after the reply had started: network: reset\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
        );
        assert_eq!(enc.finish(), "");
        assert_eq!(enc.error(&e), "");
        // Before any content (all candidates failed once headers were out).
        let mut enc = encoder(true);
        let frame = enc.error(&ApiError::new(
            429,
            "rate_limit_error",
            "All models failed (1): a/b: rate_limit (HTTP 429): slow down",
        ));
        assert_eq!(
            frame,
            "data: {\"error\":{\"message\":\"All models failed (1): a/b: rate_limit (HTTP 429): slow down\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n"
        );
        assert_eq!(enc.keepalive(), ": keep-alive\n\n");
    }

    #[test]
    fn error_bodies_use_openai_types() {
        let body = |status, kind| error_body(&ApiError::new(status, kind, "m"))["error"].clone();
        assert_eq!(
            body(400, "invalid_request_error"),
            json!({"message": "m", "type": "invalid_request_error", "param": null, "code": null})
        );
        assert_eq!(
            body(401, "authentication_error"),
            json!({"message": "m", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"})
        );
        assert_eq!(body(404, "not_found_error")["code"], "not_found");
        assert_eq!(body(429, "rate_limit_error")["code"], "rate_limit_exceeded");
        assert_eq!(body(503, "overloaded_error")["type"], "server_error");
        assert_eq!(body(504, "timeout_error")["code"], "timeout");
        assert_eq!(
            body(500, "server_error")["type"],
            "server_error",
            "an OpenAI type passes through"
        );
        assert_eq!(
            error_body(&ApiError::invalid("x"))
                .as_object()
                .unwrap()
                .len(),
            1
        );
    }

    use crate::test_support::failed;

    #[test]
    fn failures_map_to_a_status_the_client_can_act_on() {
        use Reason::*;
        let cases = [
            (
                vec![(RateLimit, Some(429)), (RateLimit, Some(429))],
                429,
                "rate_limit_error",
            ),
            (
                vec![(RateLimit, Some(429)), (Cooldown, None)],
                429,
                "rate_limit_error",
            ),
            (
                vec![(Overloaded, Some(529)), (Overloaded, Some(503))],
                503,
                "overloaded_error",
            ),
            (
                vec![(Timeout, None), (PluginTimeout, None)],
                504,
                "timeout_error",
            ),
            (vec![(Auth, Some(401))], 502, "api_error"),
            (
                vec![(RateLimit, Some(429)), (Overloaded, Some(529))],
                502,
                "api_error",
            ),
            (vec![(Network, None)], 502, "api_error"),
            (vec![], 502, "api_error"),
        ];
        for (attempts, status, kind) in cases {
            let outcome = failed(&attempts);
            let e = failure(&outcome);
            assert_eq!((e.status, e.kind), (status, kind), "{attempts:?}");
            if attempts.first().map(|a| a.0) != Some(Auth) {
                assert_eq!(
                    Some(e.message),
                    outcome.error,
                    "the router's summary, as is"
                );
            }
        }
        let outcome = failed(&[(Auth, Some(401))]);
        let e = failure(&outcome);
        assert!(e.message.starts_with("The upstream provider rejected the credentials claw holds for it (your own token for claw was accepted)"), "{}", e.message);
        assert!(
            e.message
                .ends_with("All models failed (1): p/m0: auth (HTTP 401): upstream said no"),
            "{}",
            e.message
        );
    }

    #[test]
    fn upstream_errors_pass_through_only_as_given() {
        // The router already redacted; the gateway must neither add nor alter.
        let mut outcome = failed(&[(Reason::Auth, Some(401)), (Reason::Network, None)]);
        let given = "All models failed (2): p/m0: auth (HTTP 401): Incorrect API key provided: sk-stand***. | p/m1: network: reset";
        outcome.error = Some(given.into());
        let e = failure(&outcome);
        assert_eq!(e.message, given);
        let body = error_body(&e).to_string();
        assert_eq!(body.matches("sk-stand").count(), 1, "{body}");
        assert!(body.contains(&serde_json::to_string(given).unwrap()));
    }

    fn spec(id: &str) -> ModelSpec {
        ModelSpec {
            id: id.into(),
            name: id.into(),
            reasoning: false,
            input: vec!["text".into()],
            cost: Default::default(),
            context_window: 1000,
            max_tokens: 100,
        }
    }

    fn provider(id: &str, models: &[&str]) -> Provider {
        Provider {
            id: id.into(),
            api: "openai-completions".into(),
            base_url: "http://127.0.0.1:1/v1".into(),
            headers: vec![],
            auth_header: false,
            credential: Credential::None,
            models: models.iter().map(|m| spec(m)).collect(),
            plugin: None,
            origin: "config",
        }
    }

    #[test]
    fn lists_models_and_aliases() {
        let mut catalog = Catalog::default();
        catalog
            .providers
            .insert("minimax".into(), provider("minimax", &["MiniMax-M2.1"]));
        catalog.providers.insert(
            "openrouter".into(),
            provider("openrouter", &["minimax/minimax-m2.1"]),
        );
        let alias = |p: &str, m: &str| ModelRef {
            provider: p.into(),
            model: m.into(),
        };
        catalog
            .aliases
            .insert("fast".into(), alias("openrouter", "minimax/minimax-m2.1"));
        catalog.aliases.insert("gone".into(), alias("nowhere", "x"));
        assert_eq!(
            models(&catalog),
            json!({"object": "list", "data": [
                {"id": "minimax/MiniMax-M2.1", "object": "model", "created": 0, "owned_by": "minimax"},
                {"id": "openrouter/minimax/minimax-m2.1", "object": "model", "created": 0, "owned_by": "openrouter"},
                {"id": "fast", "object": "model", "created": 0, "owned_by": "openrouter"},
            ]})
        );
    }
}
