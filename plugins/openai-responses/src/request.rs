//! The outgoing request: URL, headers and JSON body. Pure logic, no host calls.
//!
//! Where the contract and the Responses API differ:
//! - The system blocks become `instructions`; the conversation becomes
//!   `input` items (see `input`).
//! - Nothing is stored upstream (`store: false`): every request carries the
//!   whole conversation, as the contract does, and reasoning travels back as
//!   its encrypted content, which is therefore asked for (`include`)
//!   whenever the request asks for reasoning. It is not asked for otherwise:
//!   models that do not reason refuse it.
//! - Thinking takes an effort: `reasoning.effort` from the setting's effort, a
//!   budget mapped to one (`claw_plugin_sdk::reasoning`), with `summary:
//!   "auto"` so that the reasoning shows; `disabled` sends nothing.
//! - The API has no stop sequences. They are not refused (many clients send
//!   them by habit) but applied to the reply as it streams: the text ends
//!   before the first one, and the reply with `stop-sequence` (see
//!   `reply::stop`). That needs a stream, so a request with stop sequences
//!   always streams upstream.
//! - `max_output_tokens` has a floor of 16 in OpenAI's API; smaller limits
//!   (clients probing with 1) are raised to it rather than refused.
//! - Cache hints are ignored: OpenAI caches prompts on its own.
//! - `tool_choice` and `parallel_tool_calls` are sent only with tools; a text
//!   response format is the default, not sent.

mod input;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::reasoning;
use claw_plugin_sdk::upstream;
use serde_json::{Value, json};

use crate::errors::API;
pub use input::input;

/// OpenAI's smallest `max_output_tokens`.
pub const MIN_OUTPUT_TOKENS: u32 = 16;

/// `{base_url}/responses`; a trailing '/' on the base must not double up.
pub fn url(base_url: &str) -> String {
    upstream::join_url(base_url, "responses")
}

/// Whether to ask the upstream for a stream: when the host reads one, and
/// when stop sequences must be applied to the reply as it comes.
pub fn streams(request: &ChatRequest) -> bool {
    request.streaming || request.stop.iter().any(|s| !s.is_empty())
}

/// Headers: ours, then the client's passthrough, then the endpoint's configured ones.
pub fn headers(request: &ChatRequest) -> Vec<(String, String)> {
    let mut headers = upstream::json_headers(request.streaming);
    // Bearer is this API's own header (`auth_header` changes nothing). Local
    // servers need no credential: then no header.
    if let Some(token) = upstream::secret(&request.credential) {
        headers.push(upstream::bearer(token));
    }
    if let Some(passthrough) = upstream::passthrough(request, API) {
        headers = upstream::with_passthrough_headers(headers, &passthrough.headers);
    }
    // Configured headers (e.g. OpenAI-Organization, OpenRouter's X-Title) win over ours.
    upstream::with_configured(headers, &request.endpoint.headers)
}

pub fn body(request: &ChatRequest) -> Result<Value, PluginError> {
    let mut body = json!({
        "model": request.model,
        "input": input(request),
        "store": false,
        "stream": request.streaming,
    });
    let instructions: Vec<&str> = request
        .system
        .iter()
        .map(|b| b.text.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    if !instructions.is_empty() {
        body["instructions"] = instructions.join("\n\n").into();
    }
    if let Some(max) = request.max_tokens {
        body["max_output_tokens"] = max.max(MIN_OUTPUT_TOKENS).into();
    }
    if let Some(t) = request.temperature.and_then(upstream::clean_f32) {
        body["temperature"] = t.into();
    }
    if let Some(p) = request.top_p.and_then(upstream::clean_f32) {
        body["top_p"] = p.into();
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
        body["reasoning"] = json!({ "effort": effort.as_str(), "summary": "auto" });
        body["include"] = json!(["reasoning.encrypted_content"]);
    }
    if let Some(format) = &request.response_format
        && let Some(format) = response_format(format)?
    {
        body["text"] = json!({ "format": format });
    }
    if let Some(passthrough) = upstream::passthrough(request, API) {
        upstream::merge_body_fields(&mut body, &passthrough.body);
    }
    Ok(body)
}

/// Function tools: the Responses API's are flat (no `function` object).
/// `strict: false`, since clients' schemas rarely meet strict mode's rules
/// (every property required, no additional properties).
fn tools(tools: &[Tool]) -> Result<Value, PluginError> {
    let tools = tools.iter().map(|tool| {
        let what = format!("the input schema of tool {}", tool.name);
        let mut parameters = upstream::json_object(API, &what, &tool.input_schema)?;
        // A schema without a type means an object; OpenAI wants it said.
        parameters
            .entry("type")
            .or_insert_with(|| Value::from("object"));
        let mut tool_json = json!({
            "type": "function",
            "name": tool.name,
            "parameters": parameters,
            "strict": false,
        });
        if let Some(description) = &tool.description {
            tool_json["description"] = description.as_str().into();
        }
        Ok(tool_json)
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
        ToolChoice::Named(name) => json!({ "type": "function", "name": name }),
    }
}

/// `text.format`: flat, unlike Chat Completions' `json_schema` object.
fn response_format(format: &ResponseFormat) -> Result<Option<Value>, PluginError> {
    Ok(match format {
        ResponseFormat::Text => None,
        ResponseFormat::Json => Some(json!({ "type": "json_object" })),
        ResponseFormat::JsonSchema(format) => {
            let what = format!("the response format schema {}", format.name);
            let schema = upstream::json_object(API, &what, &format.schema)?;
            let mut json_schema = json!({
                "type": "json_schema",
                "name": format.name,
                "schema": schema,
                "strict": format.strict,
            });
            if let Some(description) = &format.description {
                json_schema["description"] = description.as_str().into();
            }
            Some(json_schema)
        }
    })
}

#[cfg(test)]
mod tests;
