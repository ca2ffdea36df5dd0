//! OpenAI Chat Completions wire format: `POST /v1/chat/completions` bodies in,
//! `chat.completion` objects, `chat.completion.chunk` SSE frames, errors and
//! the `GET /v1/models` list out, in the shapes the official SDK and curl users
//! expect (mirroring tests/support/upstream.rs). No I/O.

use serde_json::{Map, Value, json};

use crate::parse::{
    Dialect, body_and_model, kind_of, messages, opt_bool, opt_max_tokens, opt_temperature, prompt,
    short,
};
use crate::reply::Reply;
use crate::wire::{Content, Encoder, Frames, WireApi};
use crate::{ApiError, ApiRequest, unique_id, unix_secs};
use claw_core::catalog::Catalog;
use claw_types::{ContentPart, Image, Role, Usage};

const NO_TOOLS: &str = "claw does not support tool calling yet; send the request without `tools`, `functions`, `tool_choice` and tool messages";

/// A `/v1/chat/completions` body (public for the fuzz target).
pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    let (body, model) = body_and_model(body)?;
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
    let messages = messages::<ChatCompletions>(body.get("messages"))?;
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
    let prompt = prompt(messages, max_completion.or(max_tokens), temperature);
    Ok(ApiRequest {
        model,
        prompt,
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

impl Dialect for ChatCompletions {
    const ROLES: &'static [(&'static str, Role)] = &[
        ("system", Role::System),
        ("developer", Role::System),
        ("user", Role::User),
        ("assistant", Role::Assistant),
    ];
    const ROLE_LIST: &'static str = "system, developer, user or assistant";
    const ITEM: &'static str = "part";
    const ITEM_TYPES: &'static str = "\"text\" or \"image_url\"";
    // A turn that only called tools has null content; with tools refused, it
    // is simply an empty turn.
    const ASSISTANT_CONTENT_OPTIONAL: bool = true;

    fn refused_role(role: &str) -> Option<String> {
        matches!(role, "tool" | "function").then(|| format!(": role \"{role}\": {NO_TOOLS}"))
    }

    fn refused_fields(role: Role, message: &Map<String, Value>) -> Option<String> {
        let called = |field: &str| match message.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        ["tool_calls", "function_call"]
            .into_iter()
            .find(|field| role == Role::Assistant && called(field))
            .map(|field| format!(".{field}: {NO_TOOLS}"))
    }

    fn item(
        role: Role,
        kind: &str,
        part: &Map<String, Value>,
    ) -> Result<Option<ContentPart>, String> {
        let text_field = |field: &str| match part.get(field) {
            Some(Value::String(t)) => Ok(Some(ContentPart::Text(t.clone()))),
            _ => Err(format!(": a \"{field}\" part needs a string `{field}`")),
        };
        match kind {
            "text" => text_field("text"),
            // A refusal the assistant gave earlier is still what it said.
            "refusal" if role == Role::Assistant => text_field("refusal"),
            "image_url" if role == Role::User => image(part.get("image_url"))
                .map(|i| Some(ContentPart::Image(i)))
                .map_err(|why| format!(": {why}")),
            "image_url" => Err(": only user messages may contain images".into()),
            "input_audio" | "file" => Err(format!(
                ": \"{kind}\" parts are not supported; claw passes text and images (data: URLs) only"
            )),
            _ => Err(Self::unknown_item(kind)),
        }
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

/// `POST /v1/chat/completions`.
pub struct ChatCompletions;

impl WireApi for ChatCompletions {
    fn path(&self) -> &'static str {
        "/v1/chat/completions"
    }

    fn parse(&self, body: &[u8]) -> Result<ApiRequest, ApiError> {
        parse_request(body)
    }

    /// A whole `chat.completion`.
    fn response(&self, req: &ApiRequest, reply: &Reply) -> Value {
        json!({
            "id": format!("chatcmpl-{}", unique_id()),
            "object": "chat.completion",
            "created": unix_secs(),
            "model": req.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": finish_reason(reply.stop_reason.as_deref()),
            }],
            "usage": usage(reply.usage),
        })
    }

    fn encoder(&self, req: &ApiRequest) -> Box<Encoder<dyn Frames>> {
        Box::new(Encoder::new(Chunks::new(req)))
    }

    /// `{"error": {message, type, param, code}}`: Anthropic's kinds become
    /// OpenAI's type and code. The SDK picks its exception class by status, so
    /// the type is informational.
    fn error_body(&self, e: &ApiError) -> Value {
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

    fn overloaded_status(&self) -> u16 {
        503
    }
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

/// The `chat.completion.chunk` frames of a streamed reply.
pub struct Chunks {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
}

impl Chunks {
    pub fn new(req: &ApiRequest) -> Self {
        Chunks {
            id: format!("chatcmpl-{}", unique_id()),
            created: unix_secs(),
            model: req.model.clone(),
            include_usage: req.include_usage,
        }
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

impl Frames for Chunks {
    /// The role chunk.
    fn start(&mut self, _: &Reply) -> String {
        self.chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    }

    fn content(&mut self, kind: Content, text: &str) -> String {
        let field = match kind {
            Content::Text => "content",
            Content::Thinking => "reasoning_content",
        };
        self.chunk(json!({ field: text }), Value::Null)
    }

    /// The finish chunk, the usage chunk when asked for, then `[DONE]`.
    fn finish(&mut self, reply: &Reply) -> String {
        let reason = finish_reason(reply.stop_reason.as_deref());
        let mut out = self.chunk(json!({}), reason.into());
        if self.include_usage {
            out += &frame(&json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage(reply.usage),
            }));
        }
        out + "data: [DONE]\n\n"
    }

    /// An error frame; the SDK raises it as an APIError. No `[DONE]` follows.
    fn error(&self, e: &ApiError) -> String {
        frame(&ChatCompletions.error_body(e))
    }

    /// An SSE comment, ignored by parsers.
    fn keepalive(&self) -> String {
        ": keep-alive\n\n".into()
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
mod tests;
