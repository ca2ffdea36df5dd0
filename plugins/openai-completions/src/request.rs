//! The outgoing request: URL, headers and JSON body. Pure logic, no host calls.
//!
//! Where the contract and Chat Completions differ:
//! - Thinking takes an effort: `reasoning_effort` from the setting's effort, a
//!   budget mapped to one (`claw_plugin_sdk::reasoning`); `disabled` sends
//!   nothing (upstreams have no common "off"; the passthrough can carry a
//!   vendor's own switch).
//! - Cache hints are ignored: these upstreams cache prompts on their own.
//! - `tool_choice` and `parallel_tool_calls` are sent only with tools (OpenAI
//!   refuses them alone); a text response format is the default, not sent.
//! - The message history's shape is in `messages`.

mod messages;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::reasoning;
use claw_plugin_sdk::upstream;
use serde_json::{Value, json};

use crate::errors::API;
pub use messages::messages;

/// `{base_url}/chat/completions`; a trailing '/' on the base must not double up.
pub fn url(base_url: &str) -> String {
    upstream::join_url(base_url, "chat/completions")
}

/// Headers: ours, then the client's passthrough, then the endpoint's configured ones.
pub fn headers(request: &ChatRequest) -> Vec<(String, String)> {
    let mut headers = upstream::json_headers(request.streaming);
    // Local servers (LM Studio, Ollama) need no credential: then no header.
    if let RequestCredential::ApiKey(token) | RequestCredential::Bearer(token) = &request.credential
    {
        headers.push(upstream::bearer(token));
    }
    if let Some(passthrough) = upstream::passthrough(request, API) {
        headers = upstream::with_passthrough_headers(headers, &passthrough.headers);
    }
    // Configured headers (e.g. OpenRouter's HTTP-Referer / X-Title) win over ours.
    upstream::with_configured(headers, &request.endpoint.headers)
}

pub fn body(request: &ChatRequest) -> Result<Value, PluginError> {
    let mut body = json!({
        "model": request.model,
        "messages": messages(request),
        "stream": request.streaming,
    });
    if request.streaming {
        // Without it, streams carry no token usage.
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(max) = request.max_tokens {
        body["max_tokens"] = max.into();
    }
    if let Some(t) = request.temperature.and_then(upstream::clean_f32) {
        body["temperature"] = t.into();
    }
    if let Some(p) = request.top_p.and_then(upstream::clean_f32) {
        body["top_p"] = p.into();
    }
    if !request.stop.is_empty() {
        body["stop"] = json!(request.stop);
    }
    if !request.tools.is_empty() {
        body["tools"] = tools(&request.tools)?;
        if let Some(choice) = &request.tool_choice {
            body["tool_choice"] = tool_choice(choice);
        }
        if let Some(parallel) = request.parallel_tool_calls {
            body["parallel_tool_calls"] = parallel.into();
        }
    }
    if let Some(effort) = request
        .reasoning
        .as_ref()
        .and_then(reasoning::reasoning_effort)
    {
        body["reasoning_effort"] = effort.as_str().into();
    }
    if let Some(format) = &request.response_format
        && let Some(format) = response_format(format)?
    {
        body["response_format"] = format;
    }
    if let Some(passthrough) = upstream::passthrough(request, API) {
        upstream::merge_body_fields(&mut body, &passthrough.body);
    }
    Ok(body)
}

fn tools(tools: &[Tool]) -> Result<Value, PluginError> {
    let tools = tools.iter().map(|tool| {
        let what = format!("the input schema of tool {}", tool.name);
        let mut parameters = upstream::json_object(API, &what, &tool.input_schema)?;
        // Some servers refuse a schema without a type; without one it means an object.
        parameters
            .entry("type")
            .or_insert_with(|| Value::from("object"));
        let mut function = json!({ "name": tool.name, "parameters": parameters });
        if let Some(description) = &tool.description {
            function["description"] = description.as_str().into();
        }
        Ok(json!({ "type": "function", "function": function }))
    });
    tools
        .collect::<Result<Vec<_>, PluginError>>()
        .map(Value::from)
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::Named(name) => json!({ "type": "function", "function": { "name": name } }),
    }
}

fn response_format(format: &ResponseFormat) -> Result<Option<Value>, PluginError> {
    Ok(match format {
        ResponseFormat::Text => None,
        ResponseFormat::Json => Some(json!({ "type": "json_object" })),
        ResponseFormat::JsonSchema(format) => {
            let what = format!("the response format schema {}", format.name);
            let schema = upstream::json_object(API, &what, &format.schema)?;
            let mut json_schema =
                json!({ "name": format.name, "schema": schema, "strict": format.strict });
            if let Some(description) = &format.description {
                json_schema["description"] = description.as_str().into();
            }
            Some(json!({ "type": "json_schema", "json_schema": json_schema }))
        }
    })
}

#[cfg(test)]
mod tests;
