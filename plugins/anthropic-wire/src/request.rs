//! The outgoing request: URL, headers and JSON body. Pure logic, no host calls.
//!
//! Where the contract and the Messages API differ:
//! - `max_tokens` is required: the request's, else [`DEFAULT_MAX_TOKENS`] (plus
//!   the thinking budget, which Anthropic counts inside `max_tokens`).
//! - Thinking takes a budget: an effort maps to one (`claw_plugin_sdk::reasoning`),
//!   `disabled` sends `{"type":"disabled"}`. With thinking on, Anthropic refuses
//!   a temperature other than 1 and a top-p under 0.95, so the temperature is
//!   left out and top-p raised. A forced tool choice with thinking is left to
//!   the upstream to refuse.
//! - There is no response format: JSON output is `unsupported` (the router
//!   tries another model). Anthropic clients reach `output_format` through the
//!   passthrough.
//! - `tool_choice` and `disable_parallel_tool_use` are sent only with tools.

mod content;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::reasoning;
use claw_plugin_sdk::upstream;
use serde_json::{Value, json};

use crate::errors::API;
pub use content::{cache_control, messages, system};

/// Anthropic requires `max_tokens`; used when the request leaves it open.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// The API version sent unless configured or passed through otherwise.
pub const VERSION: &str = "2023-06-01";
/// Anthropic's lowest top-p while thinking.
const THINKING_MIN_TOP_P: f64 = 0.95;

/// Headers: ours, then the client's passthrough (e.g. `anthropic-version`,
/// `anthropic-beta`), then the endpoint's configured ones. `anthropic-beta` is
/// a list: configured features are added to the client's, not swapped for them.
pub fn headers(request: &ChatRequest) -> Vec<(String, String)> {
    let endpoint = &request.endpoint;
    let mut headers = vec![("anthropic-version".to_string(), VERSION.to_string())];
    headers.extend(upstream::json_headers(request.streaming));
    match &request.credential {
        RequestCredential::ApiKey(key) if !endpoint.auth_header => {
            headers.push(("x-api-key".into(), key.clone()))
        }
        RequestCredential::ApiKey(token) | RequestCredential::Bearer(token) => {
            headers.push(upstream::bearer(token))
        }
        RequestCredential::None => {}
    }
    let passed: &[KeyValue] = upstream::passthrough(request, API).map_or(&[], |p| &p.headers);
    let headers = upstream::with_passthrough_headers(headers, passed);
    let mut configured = endpoint.headers.clone();
    let client_beta = passed
        .iter()
        .find(|kv| kv.key.eq_ignore_ascii_case("anthropic-beta"));
    let ours_beta = configured
        .iter_mut()
        .find(|kv| kv.key.eq_ignore_ascii_case("anthropic-beta"));
    if let (Some(client), Some(ours)) = (client_beta, ours_beta) {
        ours.value = union_list(&client.value, &ours.value);
    }
    upstream::with_configured(headers, &configured)
}

/// Two comma-separated lists as one, each item once, in order.
fn union_list(a: &str, b: &str) -> String {
    let mut items: Vec<&str> = Vec::new();
    for item in a.split(',').chain(b.split(',')).map(str::trim) {
        if !item.is_empty() && !items.contains(&item) {
            items.push(item);
        }
    }
    items.join(",")
}

/// `{base_url}/v1/messages`; a trailing '/' on the base must not double up.
pub fn url(base_url: &str) -> String {
    upstream::join_url(base_url, "v1/messages")
}

pub fn body(request: &ChatRequest) -> Result<Value, PluginError> {
    if let Some(ResponseFormat::Json | ResponseFormat::JsonSchema(_)) = &request.response_format {
        return Err(PluginError::new(
            ErrorReason::Unsupported,
            format!(
                "{API}: the Messages API has no response format, so JSON output cannot be requested"
            ),
        ));
    }
    let budget = request
        .reasoning
        .as_ref()
        .and_then(reasoning::thinking_budget);
    let (max_tokens, budget) = fit_budget(request.max_tokens, budget);
    let mut body = json!({
        "model": request.model,
        "max_tokens": max_tokens,
        "messages": messages(&request.messages)?,
        "stream": request.streaming,
    });
    if let Some(system) = system(&request.system) {
        body["system"] = system;
    }
    if !request.tools.is_empty() {
        body["tools"] = tools(&request.tools)?;
        if let Some(choice) = tool_choice(request) {
            body["tool_choice"] = choice;
        }
    }
    if !request.stop.is_empty() {
        body["stop_sequences"] = json!(request.stop);
    }
    let temperature = request.temperature.and_then(upstream::clean_f32);
    if let Some(t) = temperature.filter(|t| budget.is_none() || *t == 1.0) {
        body["temperature"] = t.into();
    }
    if let Some(p) = request.top_p.and_then(upstream::clean_f32) {
        let p = if budget.is_some() {
            p.max(THINKING_MIN_TOP_P)
        } else {
            p
        };
        body["top_p"] = p.into();
    }
    match (budget, &request.reasoning) {
        (Some(budget), _) => {
            body["thinking"] = json!({ "type": "enabled", "budget_tokens": budget });
        }
        (None, Some(_)) => body["thinking"] = json!({ "type": "disabled" }),
        (None, None) => {}
    }
    if let Some(passthrough) = upstream::passthrough(request, API) {
        upstream::merge_body_fields(&mut body, &passthrough.body);
    }
    Ok(body)
}

/// `max_tokens` and the thinking budget, which must stay below it: without a
/// limit of the request's, the answer gets the default on top of the budget;
/// with one, the budget shrinks to fit (not below Anthropic's minimum, where
/// the upstream has the last word).
fn fit_budget(max_tokens: Option<u32>, budget: Option<u32>) -> (u32, Option<u32>) {
    match (max_tokens, budget) {
        (None, Some(budget)) => (budget.saturating_add(DEFAULT_MAX_TOKENS), Some(budget)),
        (Some(max), Some(budget)) if budget >= max => {
            let fitted = max.saturating_sub(1).max(reasoning::MIN_THINKING_BUDGET);
            (max, Some(fitted))
        }
        (max, budget) => (max.unwrap_or(DEFAULT_MAX_TOKENS), budget),
    }
}

fn tools(tools: &[Tool]) -> Result<Value, PluginError> {
    let tools = tools.iter().map(|tool| {
        let what = format!("the input schema of tool {}", tool.name);
        let mut schema = upstream::json_object(API, &what, &tool.input_schema)?;
        // The API requires a type; a schema without one means an object.
        schema
            .entry("type")
            .or_insert_with(|| Value::from("object"));
        let mut value = json!({ "name": tool.name, "input_schema": schema });
        if let Some(description) = &tool.description {
            value["description"] = description.as_str().into();
        }
        if let Some(cache) = cache_control(&tool.cache) {
            value["cache_control"] = cache;
        }
        Ok(value)
    });
    tools
        .collect::<Result<Vec<_>, PluginError>>()
        .map(Value::from)
}

/// `tool_choice`, when the request says anything about tools.
fn tool_choice(request: &ChatRequest) -> Option<Value> {
    let single = request.parallel_tool_calls == Some(false);
    let mut choice = match &request.tool_choice {
        None if !single => return None,
        None | Some(ToolChoice::Auto) => json!({ "type": "auto" }),
        Some(ToolChoice::None) => return Some(json!({ "type": "none" })),
        Some(ToolChoice::Required) => json!({ "type": "any" }),
        Some(ToolChoice::Named(name)) => json!({ "type": "tool", "name": name }),
    };
    if single {
        choice["disable_parallel_tool_use"] = true.into();
    }
    Some(choice)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
