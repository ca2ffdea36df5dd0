//! `/v1/messages` bodies into the router's `Prompt`.

use http::HeaderMap;
use serde_json::Value;

use super::API;
use crate::parse::{
    absent, base_prompt, body_and_model, cache_hint, check_tools, kind_of, opt_bool,
    opt_max_tokens, opt_number, optional_array, passthrough, quoted, schema, short, stop_list,
    tool_description, tool_name,
};
use crate::{ApiError, ApiRequest};
use claw_types::{ReasoningSetting, SystemBlock, Tool, ToolChoice};

mod blocks;

use blocks::conversation;

/// Fields claw models (or refuses); every other field (metadata, top_k,
/// service_tier, ...) is passed through to Anthropic-kind upstreams.
const MODELED: &[&str] = &[
    "model",
    "messages",
    "system",
    "stream",
    "tools",
    "tool_choice",
    "stop_sequences",
    "max_tokens",
    "temperature",
    "top_p",
    "thinking",
    "mcp_servers",
];

/// Request headers passed through to Anthropic-kind upstreams.
const HEADERS: &[&str] = &["anthropic-beta", "anthropic-version"];

/// A `/v1/messages` body (public for the fuzz target).
pub fn parse_request(body: &[u8]) -> Result<ApiRequest, ApiError> {
    parse(body, &HeaderMap::new())
}

pub(super) fn parse(body: &[u8], headers: &HeaderMap) -> Result<ApiRequest, ApiError> {
    let (body, model) = body_and_model(body)?;
    if matches!(body.get("mcp_servers"), Some(Value::Array(a)) if !a.is_empty()) {
        return Err(ApiError::invalid(
            "`mcp_servers`: claw does not carry MCP connector blocks; leave `mcp_servers` out and give the tools as custom `tools`",
        ));
    }
    let mut system = system(body.get("system"), "system")?;
    let (messages, later_system) = conversation(body.get("messages"))?;
    // System messages inside the conversation (Claude Code sends them) join
    // the system prompt, in order: no upstream kind has them in place.
    for (i, value) in later_system {
        system.extend(self::system(
            Some(value),
            &format!("messages[{i}].content"),
        )?);
    }
    // Optional here (the API requires it): the plugin picks a default.
    let max_tokens = opt_max_tokens(body.get("max_tokens"), "max_tokens")?;
    let stream = opt_bool(body.get("stream"), "stream")?.unwrap_or(false);
    let tools = tools(body.get("tools"))?;
    let (tool_choice, parallel_tool_calls) = tool_choice(body.get("tool_choice"))?;
    check_tools(&tools, tool_choice.as_ref())?;
    let (reasoning, pass_thinking) = thinking(body.get("thinking"))?;
    let modeled: Vec<&str> = MODELED
        .iter()
        .copied()
        .filter(|&f| !(pass_thinking && f == "thinking"))
        .collect();
    let prompt = claw_core::router::Prompt {
        system,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        stop: stop_list(body.get("stop_sequences"), "stop_sequences")?,
        max_tokens,
        temperature: opt_number(body.get("temperature"), "temperature", 1.0)?,
        top_p: opt_number(body.get("top_p"), "top_p", 1.0)?,
        reasoning,
        passthrough: passthrough(API, &body, &modeled, headers, HEADERS),
        ..base_prompt()
    };
    Ok(ApiRequest {
        model,
        prompt,
        stream,
        include_usage: false,
    })
}

/// `system` (or the content of a system message, at `field`): a string or
/// text blocks (each may carry a cache hint).
fn system(value: Option<&Value>, field: &str) -> Result<Vec<SystemBlock>, ApiError> {
    let blocks = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => {
            return Ok(vec![SystemBlock {
                text: s.clone(),
                cache: None,
            }]);
        }
        Some(Value::Array(blocks)) => blocks,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`{field}` must be a string or an array of text blocks, got {}",
                kind_of(other)
            )));
        }
    };
    let mut system = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let text = match (block["type"].as_str(), &block["text"]) {
            (Some("text"), Value::String(t)) => t.clone(),
            _ => {
                return Err(ApiError::invalid(format!(
                    "{field}[{i}] must be a text block like {{\"type\": \"text\", \"text\": \"...\"}}"
                )));
            }
        };
        let cache = cache_hint(block.get("cache_control"))
            .map_err(|why| ApiError::invalid(format!("{field}[{i}]{why}")))?;
        system.push(SystemBlock { text, cache });
    }
    Ok(system)
}

/// Custom tools `[{name, description, input_schema, cache_control}]`.
fn tools(value: Option<&Value>) -> Result<Vec<Tool>, ApiError> {
    let items = optional_array(
        value,
        "tools",
        "{\"name\", \"description\", \"input_schema\"}",
    )?;
    items
        .iter()
        .enumerate()
        .map(|(i, t)| tool(t).map_err(|text| ApiError::invalid(format!("tools[{i}]{text}"))))
        .collect()
}

/// Server tools (web search, bash, text editor, ...) run on Anthropic's side
/// and answer in blocks claw does not carry, so they are refused, not dropped.
fn tool(value: &Value) -> Result<Tool, String> {
    const SHAPE: &str = "{\"name\", \"description\", \"input_schema\"}";
    let Value::Object(t) = value else {
        return Err(format!(
            " must be an object like {SHAPE}, got {}",
            kind_of(value)
        ));
    };
    match t.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        Some(kind) => {
            return Err(format!(
                ": the server tool type {} is not supported: claw carries only custom tools ({SHAPE}); remove it from `tools`",
                quoted(kind)
            ));
        }
    }
    let name = tool_name(t.get("name"), ".name")?;
    let description = tool_description(t.get("description"), &name, ".description")?;
    if absent(t.get("input_schema")) {
        return Err(format!(
            " ({}).input_schema is required: a JSON Schema object",
            quoted(&name)
        ));
    }
    let input_schema = schema(t.get("input_schema"), "input_schema")
        .map_err(|why| format!(" ({}){why}", quoted(&name)))?;
    Ok(Tool {
        name,
        description,
        input_schema,
        cache: cache_hint(t.get("cache_control"))?,
    })
}

/// `{type: auto | any | tool | none, name, disable_parallel_tool_use}`.
fn tool_choice(value: Option<&Value>) -> Result<(Option<ToolChoice>, Option<bool>), ApiError> {
    let bad = |v: &Value| {
        ApiError::invalid(format!(
            "`tool_choice` must be {{\"type\": \"auto\"}}, {{\"type\": \"any\"}}, {{\"type\": \"tool\", \"name\": \"...\"}} or {{\"type\": \"none\"}}, got {}",
            short(v)
        ))
    };
    let c = match value {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(Value::Object(c)) => c,
        Some(other) => return Err(bad(other)),
    };
    let choice = match (c.get("type").and_then(Value::as_str), c.get("name")) {
        (Some("auto"), _) => ToolChoice::Auto,
        (Some("any"), _) => ToolChoice::Required,
        (Some("none"), _) => ToolChoice::None,
        (Some("tool"), Some(Value::String(name))) if !name.is_empty() => {
            ToolChoice::Named(name.clone())
        }
        _ => return Err(bad(value.unwrap_or(&Value::Null))),
    };
    let parallel = opt_bool(
        c.get("disable_parallel_tool_use"),
        "tool_choice.disable_parallel_tool_use",
    )?
    .map(|disable| !disable);
    Ok((Some(choice), parallel))
}

/// `thinking`: enabled with a budget, or disabled. Adaptive (the model
/// decides) has no setting of its own: the upstream's default, with the
/// field passed through (the `bool`) for Anthropic-kind upstreams.
fn thinking(value: Option<&Value>) -> Result<(Option<ReasoningSetting>, bool), ApiError> {
    const SHAPE: &str = "{\"type\": \"enabled\", \"budget_tokens\": N}, {\"type\": \"disabled\"} or {\"type\": \"adaptive\"}";
    let t = match value {
        None | Some(Value::Null) => return Ok((None, false)),
        Some(Value::Object(t)) => t,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`thinking` must be {SHAPE}, got {}",
                kind_of(other)
            )));
        }
    };
    match t.get("type").and_then(Value::as_str) {
        Some("enabled") => {
            let budget = opt_max_tokens(t.get("budget_tokens"), "thinking.budget_tokens")?
                .ok_or_else(|| {
                    ApiError::invalid("`thinking.budget_tokens` is required with \"enabled\"")
                })?;
            Ok((Some(ReasoningSetting::BudgetTokens(budget)), false))
        }
        Some("disabled") => Ok((Some(ReasoningSetting::Disabled), false)),
        Some("adaptive") => Ok((None, true)),
        _ => Err(ApiError::invalid(format!("`thinking` must be {SHAPE}"))),
    }
}
