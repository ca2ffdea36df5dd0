//! `/v1/chat/completions` bodies into the router's `Prompt`.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::API;
use crate::parse::{
    absent, base_prompt, body_and_model, cache_hint, check_tools, kind_of, opt_bool,
    opt_max_tokens, opt_number, optional_array, passthrough, quoted, schema, short, stop_list,
    tool_description, tool_name,
};
use crate::{ApiError, ApiRequest};
use claw_types::{ReasoningEffort, ReasoningSetting, ResponseFormat, Tool, ToolChoice};

mod messages;

use messages::conversation;

/// Fields claw models (or refuses); every other field is passed through to
/// OpenAI-kind upstreams.
const MODELED: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "n",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "reasoning_effort",
    "response_format",
    "logprobs",
    "top_logprobs",
    "modalities",
    "audio",
];

const LEGACY: &str = "the legacy functions API is not supported; send `tools` (type \"function\"), `tool_choice`, assistant `tool_calls` and role \"tool\" messages instead";

/// A `/v1/chat/completions` body (public for the fuzz target).
pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    parse(body, &HeaderMap::new())
}

pub(super) fn parse(body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError> {
    let (body, model) = body_and_model(body)?;
    refuse(&body)?;
    let (system, messages) = conversation(body.get("messages"))?;
    // `max_completion_tokens` replaced the deprecated `max_tokens`; the newer wins.
    let max_completion =
        opt_max_tokens(body.get("max_completion_tokens"), "max_completion_tokens")?;
    let max_tokens = opt_max_tokens(body.get("max_tokens"), "max_tokens")?;
    let stream = opt_bool(body.get("stream"), "stream")?.unwrap_or(false);
    let include_usage = match body.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) => {
            opt_bool(o.get("include_usage"), "stream_options.include_usage")?.unwrap_or(false)
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`stream_options` must be an object like {{\"include_usage\": true}}, got {}",
                kind_of(other)
            )));
        }
    };
    let tools = tools(body.get("tools"))?;
    let tool_choice = tool_choice(body.get("tool_choice"))?;
    check_tools(&tools, tool_choice.as_ref())?;
    let prompt = claw_core::router::Prompt {
        system,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: opt_bool(body.get("parallel_tool_calls"), "parallel_tool_calls")?,
        stop: stop_list(body.get("stop"), "stop")?,
        max_tokens: max_completion.or(max_tokens),
        temperature: opt_number(body.get("temperature"), "temperature", 2.0)?,
        top_p: opt_number(body.get("top_p"), "top_p", 1.0)?,
        reasoning: reasoning_effort(body.get("reasoning_effort"))?,
        response_format: response_format(body.get("response_format"))?,
        passthrough: passthrough(API, &body, MODELED, headers, &[]),
        ..base_prompt()
    };
    Ok(ApiRequest {
        model,
        prompt,
        stream,
        include_usage,
    })
}

/// What claw cannot honour: refused with what to change, since a client
/// that asked for it would otherwise misread the reply.
fn refuse(body: &Map<String, Value>) -> Result<(), ApiError> {
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
    match body.get("functions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err(ApiError::invalid(format!("`functions`: {LEGACY}"))),
    }
    // "none" and "auto" ask for nothing without functions.
    match body.get("function_call") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "none" || s == "auto" => {}
        Some(_) => return Err(ApiError::invalid(format!("`function_call`: {LEGACY}"))),
    }
    if body.get("logprobs") == Some(&Value::Bool(true)) {
        return Err(ApiError::invalid(
            "`logprobs`: claw does not return log probabilities; leave `logprobs` out (or send false)",
        ));
    }
    let text_only = |m: &Value| m.as_str() == Some("text");
    if matches!(body.get("modalities"), Some(Value::Array(m)) if !m.iter().all(text_only))
        || !absent(body.get("audio"))
    {
        return Err(ApiError::invalid(
            "`modalities`/`audio`: claw returns text only; leave `audio` out and send `modalities` [\"text\"] (or leave it out)",
        ));
    }
    Ok(())
}

/// `[{type: "function", function: {name, description, parameters, strict}}]`.
fn tools(value: Option<&Value>) -> Result<Vec<Tool>, ApiError> {
    let items = optional_array(
        value,
        "tools",
        "{\"type\": \"function\", \"function\": {...}}",
    )?;
    items
        .iter()
        .enumerate()
        .map(|(i, t)| tool(t).map_err(|text| ApiError::invalid(format!("tools[{i}]{text}"))))
        .collect()
}

fn tool(value: &Value) -> Result<Tool, String> {
    const SHAPE: &str =
        "{\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}";
    let Value::Object(t) = value else {
        return Err(format!(
            " must be an object like {SHAPE}, got {}",
            kind_of(value)
        ));
    };
    match t.get("type").and_then(Value::as_str) {
        None | Some("function") => {}
        Some(kind) => {
            return Err(format!(
                ": {} tools are not supported; claw carries function tools only ({SHAPE})",
                quoted(kind)
            ));
        }
    }
    let Some(Value::Object(f)) = t.get("function") else {
        return Err(format!(".function is required: {SHAPE}"));
    };
    let name = tool_name(f.get("name"), ".function.name")?;
    let description = tool_description(f.get("description"), &name, ": .function.description")?;
    let input_schema = schema(f.get("parameters"), "function.parameters")
        .map_err(|why| format!(" ({}){why}", quoted(&name)))?;
    Ok(Tool {
        name,
        description,
        input_schema,
        cache: cache_hint(t.get("cache_control"))?,
    })
}

fn tool_choice(value: Option<&Value>) -> Result<Option<ToolChoice>, ApiError> {
    let bad = |v: &Value| {
        ApiError::invalid(format!(
            "`tool_choice` must be \"auto\", \"none\", \"required\" or {{\"type\": \"function\", \"function\": {{\"name\": \"...\"}}}}, got {}",
            short(v)
        ))
    };
    Ok(match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => return Err(bad(&Value::from(s.as_str()))),
        }),
        Some(v @ Value::Object(o)) => {
            match (o.get("type"), o.get("function").and_then(|f| f.get("name"))) {
                (Some(Value::String(t)), Some(Value::String(name)))
                    if t == "function" && !name.is_empty() =>
                {
                    Some(ToolChoice::Named(name.clone()))
                }
                _ => return Err(bad(v)),
            }
        }
        Some(other) => return Err(bad(other)),
    })
}

fn reasoning_effort(value: Option<&Value>) -> Result<Option<ReasoningSetting>, ApiError> {
    use ReasoningEffort::*;
    let effort = |e| Ok(Some(ReasoningSetting::Effort(e)));
    match value.map(|v| (v, v.as_str())) {
        None | Some((Value::Null, _)) => Ok(None),
        Some((_, Some("none"))) => Ok(Some(ReasoningSetting::Disabled)),
        Some((_, Some("minimal"))) => effort(Minimal),
        Some((_, Some("low"))) => effort(Low),
        Some((_, Some("medium"))) => effort(Medium),
        Some((_, Some("high"))) => effort(High),
        Some((v, _)) => Err(ApiError::invalid(format!(
            "`reasoning_effort` must be \"none\", \"minimal\", \"low\", \"medium\" or \"high\", got {}",
            short(v)
        ))),
    }
}

/// `{type: text | json_object | json_schema, json_schema: {name, description, schema, strict}}`.
fn response_format(value: Option<&Value>) -> Result<Option<ResponseFormat>, ApiError> {
    const SHAPE: &str = "{\"type\": \"text\"}, {\"type\": \"json_object\"} or {\"type\": \"json_schema\", \"json_schema\": {\"name\", \"schema\"}}";
    let bad = |what: String| ApiError::invalid(format!("`response_format`{what}"));
    let format = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(f)) => f,
        Some(other) => return Err(bad(format!(" must be {SHAPE}, got {}", kind_of(other)))),
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Some(ResponseFormat::Text)),
        Some("json_object") => Ok(Some(ResponseFormat::Json)),
        Some("json_schema") => {
            let Some(Value::Object(js)) = format.get("json_schema") else {
                return Err(bad(
                    ".json_schema is required: {\"name\", \"schema\"}".into()
                ));
            };
            let name = match js.get("name") {
                Some(Value::String(n)) if !n.is_empty() => n.clone(),
                _ => return Err(bad(".json_schema.name must be a non-empty string".into())),
            };
            let description = js
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string);
            let schema = match js.get("schema") {
                Some(s @ Value::Object(_)) => s.to_string(),
                _ => {
                    return Err(bad(
                        ".json_schema.schema must be a JSON Schema object".into()
                    ));
                }
            };
            let strict = js.get("strict").and_then(Value::as_bool).unwrap_or(false);
            Ok(Some(ResponseFormat::JsonSchema {
                name,
                description,
                schema,
                strict,
            }))
        }
        _ => Err(bad(format!(" must be {SHAPE}"))),
    }
}
