//! `/v1/responses` bodies into the router's `Prompt`.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::API;
use crate::parse::{
    absent, base_prompt, body_and_model, check_tools, kind_of, opt_bool, opt_max_tokens,
    opt_number, optional_array, passthrough, quoted, schema, short, tool_description, tool_name,
};
use crate::{ApiError, ApiRequest};
use claw_types::{
    ReasoningEffort, ReasoningSetting, ResponseFormat, SystemBlock, Tool, ToolChoice,
};

mod input;

/// Fields claw models (or refuses); every other field (`include`, `metadata`,
/// `user`, `prompt_cache_key`, `service_tier`, `truncation`, ...) is passed
/// through to Responses-kind upstreams.
const MODELED: &[&str] = &[
    "model",
    "input",
    "instructions",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_output_tokens",
    "temperature",
    "top_p",
    "reasoning",
    "text",
    "store",
    "previous_response_id",
    "conversation",
    "background",
];

const TOOL_SHAPE: &str = "{\"type\": \"function\", \"name\", \"description\", \"parameters\"}";

/// A `/v1/responses` body (public for the fuzz target).
pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    parse(body, &HeaderMap::new())
}

pub(super) fn parse(body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError> {
    let (body, model) = body_and_model(body)?;
    refuse(&body)?;
    let mut system = instructions(body.get("instructions"))?;
    let (later_system, messages) = input::conversation(body.get("input"))?;
    system.extend(later_system);
    let stream = opt_bool(body.get("stream"), "stream")?.unwrap_or(false);
    // Nothing is stored either way; only the type is checked.
    opt_bool(body.get("store"), "store")?;
    let (tool_choice, tools) = tool_choice(body.get("tool_choice"), tools(body.get("tools"))?)?;
    check_tools(&tools, tool_choice.as_ref())?;
    let (reasoning, pass_reasoning) = reasoning(body.get("reasoning"))?;
    let (response_format, pass_text) = text(body.get("text"))?;
    // A field with settings claw has no place for (reasoning.summary,
    // text.verbosity) still reaches Responses-kind upstreams whole.
    let modeled: Vec<&str> = MODELED
        .iter()
        .copied()
        .filter(|&f| !(pass_reasoning && f == "reasoning" || pass_text && f == "text"))
        .collect();
    let prompt = claw_core::router::Prompt {
        system,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: opt_bool(body.get("parallel_tool_calls"), "parallel_tool_calls")?,
        max_tokens: opt_max_tokens(body.get("max_output_tokens"), "max_output_tokens")?,
        temperature: opt_number(body.get("temperature"), "temperature", 2.0)?,
        top_p: opt_number(body.get("top_p"), "top_p", 1.0)?,
        reasoning,
        response_format,
        passthrough: passthrough(API, &body, &modeled, headers, &[]),
        ..base_prompt()
    };
    Ok(ApiRequest {
        model,
        prompt,
        stream,
        include_usage: false,
    })
}

/// What needs state claw does not keep: refused with what to send instead.
fn refuse(body: &Map<String, Value>) -> Result<(), ApiError> {
    if !absent(body.get("previous_response_id")) {
        return Err(ApiError::invalid(
            "`previous_response_id`: claw does not keep responses (it stores nothing), so it cannot continue one; \
             send the full input (every earlier item, as with store: false) and leave `previous_response_id` out",
        ));
    }
    if !absent(body.get("conversation")) {
        return Err(ApiError::invalid(
            "`conversation`: claw does not keep conversations (it stores nothing); send the full input and leave `conversation` out",
        ));
    }
    if opt_bool(body.get("background"), "background")? == Some(true) {
        return Err(ApiError::invalid(
            "`background`: claw answers while the request is open and keeps no response to poll; \
             leave `background` out (or send false), and stream if the reply takes long",
        ));
    }
    Ok(())
}

/// `instructions`: a system block before any from the input.
fn instructions(value: Option<&Value>) -> Result<Vec<SystemBlock>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![SystemBlock {
            text: s.clone(),
            cache: None,
        }]),
        Some(other) => Err(ApiError::invalid(format!(
            "`instructions` must be a string, got {}",
            kind_of(other)
        ))),
    }
}

/// Function tools; tools of other types are left out (and logged), since
/// agents send built-in tools (`web_search`, `local_shell`, `custom`) with
/// every request and would stop at a refusal.
fn tools(value: Option<&Value>) -> Result<Vec<Tool>, ApiError> {
    let items = optional_array(value, "tools", TOOL_SHAPE)?;
    let mut tools = Vec::new();
    let mut dropped = Vec::new();
    for (i, t) in items.iter().enumerate() {
        match tool(t).map_err(|text| ApiError::invalid(format!("tools[{i}]{text}")))? {
            Some(tool) => tools.push(tool),
            None => dropped.push(t["type"].as_str().unwrap_or_default()),
        }
    }
    if !dropped.is_empty() {
        tracing::warn!(
            dropped = %dropped.join(","),
            "left tools claw cannot carry out of the request: it carries function tools only"
        );
    }
    Ok(tools)
}

/// A function tool, or `None` for a tool of another type.
fn tool(value: &Value) -> Result<Option<Tool>, String> {
    let Value::Object(t) = value else {
        return Err(format!(
            " must be an object like {TOOL_SHAPE}, got {}",
            kind_of(value)
        ));
    };
    if t.contains_key("function") && !t.contains_key("name") {
        return Err(format!(
            ": this is a Chat Completions tool; the Responses API takes {TOOL_SHAPE}, with the name at the top level"
        ));
    }
    match t.get("type") {
        Some(Value::String(kind)) if kind == "function" => {}
        Some(Value::String(_)) => return Ok(None),
        _ => return Err(format!(".type is required: {TOOL_SHAPE}")),
    }
    let name = tool_name(t.get("name"), ".name")?;
    let description = tool_description(t.get("description"), &name, ".description")?;
    let input_schema = schema(t.get("parameters"), "parameters")
        .map_err(|why| format!(" ({}){why}", quoted(&name)))?;
    Ok(Some(Tool {
        name,
        description,
        input_schema,
        cache: None,
    }))
}

/// `"auto" | "none" | "required"`, `{type: "function", name}`, or
/// `{type: "allowed_tools", mode, tools}` (the tools not allowed are left
/// out). Forcing a tool claw left out is refused: the reply could not obey.
fn tool_choice(
    value: Option<&Value>,
    tools: Vec<Tool>,
) -> Result<(Option<ToolChoice>, Vec<Tool>), ApiError> {
    let bad = |v: &Value| {
        ApiError::invalid(format!(
            "`tool_choice` must be \"auto\", \"none\", \"required\", {{\"type\": \"function\", \"name\": \"...\"}} \
             or {{\"type\": \"allowed_tools\", \"mode\": \"auto\", \"tools\": [...]}}, got {}",
            short(v)
        ))
    };
    let c = match value {
        None | Some(Value::Null) => return Ok((None, tools)),
        Some(Value::String(s)) => {
            let choice = match s.as_str() {
                "auto" => ToolChoice::Auto,
                "none" => ToolChoice::None,
                "required" => ToolChoice::Required,
                _ => return Err(bad(&Value::from(s.as_str()))),
            };
            return Ok((Some(choice), tools));
        }
        Some(Value::Object(c)) => c,
        Some(other) => return Err(bad(other)),
    };
    let v = value.unwrap_or(&Value::Null);
    match (c.get("type").and_then(Value::as_str), c.get("name")) {
        (Some("function"), Some(Value::String(name))) if !name.is_empty() => {
            Ok((Some(ToolChoice::Named(name.clone())), tools))
        }
        (Some("allowed_tools"), _) => {
            let choice = match c.get("mode").and_then(Value::as_str) {
                Some("auto") => ToolChoice::Auto,
                Some("required") => ToolChoice::Required,
                _ => return Err(bad(v)),
            };
            let Some(Value::Array(allowed)) = c.get("tools") else {
                return Err(bad(v));
            };
            let allowed: Vec<&str> = allowed
                .iter()
                .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect();
            let tools = tools
                .into_iter()
                .filter(|t| allowed.contains(&t.name.as_str()))
                .collect();
            Ok((Some(choice), tools))
        }
        (Some("function"), _) | (None, _) => Err(bad(v)),
        (Some(kind), _) => Err(ApiError::invalid(format!(
            "`tool_choice` forces a {} tool, which claw cannot carry (it carries function tools only); \
             send \"auto\", \"required\" or {{\"type\": \"function\", \"name\": \"...\"}}",
            quoted(kind)
        ))),
    }
}

/// `{effort, summary}`: the effort (`xhigh` as `high`, the most claw has);
/// `true` when the field carries more (a summary setting) and is passed through.
fn reasoning(value: Option<&Value>) -> Result<(Option<ReasoningSetting>, bool), ApiError> {
    use ReasoningEffort::*;
    let r = match value {
        None | Some(Value::Null) => return Ok((None, false)),
        Some(Value::Object(r)) => r,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`reasoning` must be an object like {{\"effort\": \"medium\"}}, got {}",
                kind_of(other)
            )));
        }
    };
    let effort = |e| Some(ReasoningSetting::Effort(e));
    let setting = match r.get("effort").map(|v| (v, v.as_str())) {
        None | Some((Value::Null, _)) => None,
        Some((_, Some("none"))) => Some(ReasoningSetting::Disabled),
        Some((_, Some("minimal"))) => effort(Minimal),
        Some((_, Some("low"))) => effort(Low),
        Some((_, Some("medium"))) => effort(Medium),
        Some((_, Some("high" | "xhigh"))) => effort(High),
        Some((v, _)) => {
            return Err(ApiError::invalid(format!(
                "`reasoning.effort` must be \"none\", \"minimal\", \"low\", \"medium\", \"high\" or \"xhigh\", got {}",
                short(v)
            )));
        }
    };
    Ok((setting, more_than(r, "effort")))
}

/// `text: {format: {type: text | json_object | json_schema, name, schema,
/// strict, description}}`; `true` when it carries more (`verbosity`).
fn text(value: Option<&Value>) -> Result<(Option<ResponseFormat>, bool), ApiError> {
    const SHAPE: &str = "{\"type\": \"text\"}, {\"type\": \"json_object\"} or {\"type\": \"json_schema\", \"name\", \"schema\"}";
    let bad = |what: String| ApiError::invalid(format!("`text.format`{what}"));
    let t = match value {
        None | Some(Value::Null) => return Ok((None, false)),
        Some(Value::Object(t)) => t,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`text` must be an object like {{\"format\": {{\"type\": \"text\"}}}}, got {}",
                kind_of(other)
            )));
        }
    };
    let more = more_than(t, "format");
    let f = match t.get("format") {
        None | Some(Value::Null) => return Ok((None, more)),
        Some(Value::Object(f)) => f,
        Some(other) => return Err(bad(format!(" must be {SHAPE}, got {}", kind_of(other)))),
    };
    let format = match f.get("type").and_then(Value::as_str) {
        Some("text") => ResponseFormat::Text,
        Some("json_object") => ResponseFormat::Json,
        Some("json_schema") => {
            let name = match f.get("name") {
                Some(Value::String(n)) if !n.is_empty() => n.clone(),
                _ => return Err(bad(".name must be a non-empty string".into())),
            };
            let schema = match f.get("schema") {
                Some(s @ Value::Object(_)) => s.to_string(),
                _ => return Err(bad(".schema must be a JSON Schema object".into())),
            };
            ResponseFormat::JsonSchema {
                name,
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                schema,
                strict: f.get("strict").and_then(Value::as_bool).unwrap_or(false),
            }
        }
        _ => return Err(bad(format!(" must be {SHAPE}"))),
    };
    Ok((Some(format), more))
}

/// `o` has a non-null field besides `field`.
fn more_than(o: &Map<String, Value>, field: &str) -> bool {
    o.iter().any(|(k, v)| k != field && !v.is_null())
}
