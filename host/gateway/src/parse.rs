//! Request parsing both APIs do the same way (pure): the body and its common
//! fields, cache hints, tool schemas, the client fields passed through, and
//! the checks that span a whole request (tool names, tool-call ids).
//!
//! Inner functions return the text that follows a field's path (e.g.
//! `.content[1]: ...`) so that callers can prefix where it was.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::ApiError;
use claw_core::router::Prompt;
use claw_types::{CacheHint, ImageSource, KeyValue, Passthrough, Tool, ToolChoice};

/// The prompt fields every request sets the same way.
pub(crate) fn base_prompt() -> Prompt {
    Prompt {
        // Plugins stream upstream either way; `stream` only shapes our reply.
        streaming: true,
        ..Prompt::default()
    }
}

/// The request body as a JSON object, and the `model` it names.
pub(crate) fn body_and_model(body: &[u8]) -> Result<(Map<String, Value>, String), ApiError> {
    let body = json_object(body)?;
    let model = model_field(&body)?;
    Ok((body, model))
}

/// The request body as a JSON object, or a 400 saying what is wrong.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body is empty: send a JSON object (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::invalid(format!(
            "body must be a JSON object, got {}",
            kind_of(&other)
        ))),
        Err(e) => Err(ApiError::invalid(format!("body is not valid JSON: {e}"))),
    }
}

/// `model`: the non-empty string the client named (resolved later, by the server).
fn model_field(body: &Map<String, Value>) -> Result<String, ApiError> {
    const WHAT: &str = "a provider/model ref or an alias, see GET /v1/models";
    match body.get("model") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(ApiError::invalid(format!("`model` is required ({WHAT})")))
        }
        Some(other) => Err(ApiError::invalid(format!(
            "`model` must be a string ({WHAT}), got {}",
            kind_of(other)
        ))),
    }
}

/// `messages`: a non-empty array.
pub(crate) fn messages_array(value: Option<&Value>) -> Result<&[Value], ApiError> {
    const SHAPE: &str = "`messages` must be a non-empty array of {\"role\", \"content\"} objects";
    match value {
        Some(Value::Array(items)) if !items.is_empty() => Ok(items),
        None | Some(Value::Null) | Some(Value::Array(_)) => Err(ApiError::invalid(SHAPE)),
        Some(other) => Err(ApiError::invalid(format!(
            "{SHAPE}, got {}",
            kind_of(other)
        ))),
    }
}

/// The items of an optional array field (none when absent or null), or the
/// 400 that says what `field` must be: "an array of `shape` objects".
pub(crate) fn optional_array<'a>(
    value: Option<&'a Value>,
    field: &str,
    shape: &str,
) -> Result<&'a [Value], ApiError> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(ApiError::invalid(format!(
            "`{field}` must be an array of {shape} objects, got {}",
            kind_of(other)
        ))),
    }
}

/// A value that counts as absent: missing or `null`.
pub(crate) fn absent(value: Option<&Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

/// An optional boolean; `null` counts as absent.
pub(crate) fn opt_bool(value: Option<&Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::invalid(format!(
            "`{name}` must be true or false, got {}",
            short(other)
        ))),
    }
}

/// An optional token limit: a whole number from 1 to u32::MAX.
pub(crate) fn opt_max_tokens(value: Option<&Value>, name: &str) -> Result<Option<u32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(ApiError::invalid(format!(
                "`{name}` must be a positive whole number of tokens, got {}",
                short(v)
            ))),
        },
    }
}

/// An optional number within the API's documented range `0..=max`
/// (temperature, top_p).
pub(crate) fn opt_number(
    value: Option<&Value>,
    name: &str,
    max: f64,
) -> Result<Option<f32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(t) if (0.0..=max).contains(&t) => Ok(Some(t as f32)),
            _ => Err(ApiError::invalid(format!(
                "`{name}` must be a number from 0 to {max}, got {}",
                short(v)
            ))),
        },
    }
}

/// Stop sequences: a string or an array of strings; empty ones are dropped.
pub(crate) fn stop_list(value: Option<&Value>, name: &str) -> Result<Vec<String>, ApiError> {
    let bad = |v: &Value| {
        ApiError::invalid(format!(
            "`{name}` must be a string or an array of strings, got {}",
            short(v)
        ))
    };
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| bad(i)))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(bad(other)),
    };
    Ok(list.into_iter().filter(|s| !s.is_empty()).collect())
}

pub(crate) use claw_types::json::kind as kind_of;

/// A client's value quoted back in an error, cut to a readable length.
pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A string quoted back in an error.
pub(crate) fn quoted(s: &str) -> String {
    short(&Value::from(s))
}

/// `cache_control: {"type": "ephemeral", "ttl": "5m" | "1h"}` (Anthropic's,
/// which some OpenAI-shaped clients send too).
pub(crate) fn cache_hint(value: Option<&Value>) -> Result<Option<CacheHint>, String> {
    const SHAPE: &str = "{\"type\": \"ephemeral\"} (with an optional \"ttl\": \"5m\" or \"1h\")";
    let c = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(c)) if c.get("type").and_then(Value::as_str) == Some("ephemeral") => c,
        Some(_) => return Err(format!(".cache_control must be {SHAPE}")),
    };
    let ttl_seconds = match c.get("ttl") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(ttl(t).ok_or_else(|| {
            format!(
                ".cache_control.ttl must be a duration like \"5m\" or \"1h\", got {}",
                quoted(t)
            )
        })?),
        Some(other) => {
            return Err(format!(
                ".cache_control.ttl must be a string like \"1h\", got {}",
                short(other)
            ));
        }
    };
    Ok(Some(CacheHint { ttl_seconds }))
}

/// "300s", "5m", "1h" in seconds.
fn ttl(text: &str) -> Option<u32> {
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return None,
    };
    let n: u32 = text[..text.len() - 1].parse().ok()?;
    n.checked_mul(unit).filter(|&s| s > 0)
}

/// A tool's name, a non-empty string; `field` is where it is (`.name`).
pub(crate) fn tool_name(value: Option<&Value>, field: &str) -> Result<String, String> {
    match value {
        Some(Value::String(n)) if !n.is_empty() => Ok(n.clone()),
        _ => Err(format!("{field} must be a non-empty string")),
    }
}

/// A tool's optional description; the error names the tool and `field`.
pub(crate) fn tool_description(
    value: Option<&Value>,
    tool: &str,
    field: &str,
) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(d)) => Ok(Some(d.clone())),
        Some(other) => Err(format!(
            " ({}){field} must be a string, got {}",
            quoted(tool),
            kind_of(other)
        )),
    }
}

/// A tool's JSON Schema as text: it must be an object; missing is an
/// object with no properties (OpenAI allows leaving it out).
pub(crate) fn schema(value: Option<&Value>, field: &str) -> Result<String, String> {
    match value {
        None | Some(Value::Null) => Ok(r#"{"type":"object","properties":{}}"#.into()),
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        Some(other) => Err(format!(
            ".{field} must be a JSON Schema object, got {}",
            kind_of(other)
        )),
    }
}

/// Tool names are unique, and a named tool choice is one of them.
pub(crate) fn check_tools(tools: &[Tool], choice: Option<&ToolChoice>) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for (i, t) in tools.iter().enumerate() {
        if !seen.insert(t.name.as_str()) {
            return Err(ApiError::invalid(format!(
                "tools[{i}]: the tool name {} is used twice; tool names must be unique",
                quoted(&t.name)
            )));
        }
    }
    match choice {
        Some(ToolChoice::Named(name)) if !seen.contains(name.as_str()) => {
            Err(ApiError::invalid(format!(
                "`tool_choice` names the tool {}, which is not in `tools`",
                quoted(name)
            )))
        }
        Some(ToolChoice::Required) if tools.is_empty() => Err(ApiError::invalid(
            "`tool_choice` requires a tool call, but `tools` is empty; send the tools or leave `tool_choice` out",
        )),
        _ => Ok(()),
    }
}

/// The tool-call ids of a conversation so far: a tool result must answer
/// one of them, or the upstream would reject the request less clearly.
#[derive(Default)]
pub(crate) struct CallIds(HashSet<String>);

impl CallIds {
    pub(crate) fn called(&mut self, id: &str) {
        self.0.insert(id.to_string());
    }

    /// The error text for a result that answers no earlier call.
    pub(crate) fn answer(&self, id: &str) -> Result<(), String> {
        if self.0.contains(id) {
            Ok(())
        } else {
            Err(format!(
                "the tool call id {} matches no tool call in an earlier assistant message",
                quoted(id)
            ))
        }
    }
}

/// Tool-call arguments as the JSON text claw carries: the client's text
/// when it is JSON (empty means no arguments), an object serialized.
pub(crate) fn arguments(value: Option<&Value>) -> Result<String, String> {
    match value {
        None | Some(Value::Null) => Ok("{}".into()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok("{}".into()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(_) => Ok(s.clone()),
            Err(e) => Err(format!("is not valid JSON ({e})")),
        },
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        Some(other) => Err(format!(
            "must be a JSON object as text, got {}",
            kind_of(other)
        )),
    }
}

/// `{"url": "data:<media type>;base64,<data>"}` or an http(s) URL the
/// upstream fetches (claw never does); a bare string is accepted too.
pub(crate) fn image(value: Option<&Value>) -> Result<ImageSource, String> {
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
    let scheme = |s: &str| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    };
    if scheme("http://") || scheme("https://") {
        return Ok(ImageSource::Url(url.to_string()));
    }
    let must = "image_url must be a data: URL (base64)";
    if !scheme("data:") {
        return Err(format!(
            "{must} or an http(s) URL, like data:image/png;base64,<data>"
        ));
    }
    let Some((meta, data)) = url[5..].split_once(',') else {
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
    Ok(ImageSource::Base64 {
        media_type: media_type.to_string(),
        data: data.to_string(),
    })
}

/// The client's fields claw does not model, for upstreams of its own API
/// kind: every top-level field not in `modeled` (nulls dropped), and the
/// request headers named in `headers`.
pub(crate) fn passthrough(
    api: &str,
    body: &Map<String, Value>,
    modeled: &[&str],
    request_headers: &http::HeaderMap,
    headers: &[&str],
) -> Option<Passthrough> {
    let body: Vec<KeyValue> = body
        .iter()
        .filter(|(k, v)| !v.is_null() && !modeled.contains(&k.as_str()))
        .map(|(k, v)| KeyValue::new(k.clone(), v.to_string()))
        .collect();
    let headers: Vec<KeyValue> = headers
        .iter()
        .flat_map(|&name| {
            request_headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(move |v| KeyValue::new(name, v))
        })
        .collect();
    (!body.is_empty() || !headers.is_empty()).then(|| Passthrough {
        api: api.into(),
        headers,
        body,
    })
}

#[cfg(test)]
mod tests;
