//! A whole `response` object, and the items and pieces the stream shares
//! with it.

use serde_json::{Map, Value, json};

use super::{API, REDACTED};
use crate::reply::{Block, Reply};
use crate::{ApiRequest, unique_id, unix_secs};
use claw_types::{ReasoningSetting, ResponseFormat, StopReason, Tool, ToolChoice, Usage};

/// Its items in the order they came, each with an id of its own.
pub(super) fn response(req: &ApiRequest, reply: &Reply) -> Value {
    let output = reply.blocks.iter().map(item).collect();
    Head::new(req).object(status(reply), output, usage(reply.usage))
}

fn item(b: &Block) -> Value {
    match b {
        Block::Text(text) => message(&new_id("msg"), text, "completed"),
        Block::Reasoning { text, signature } => {
            reasoning(&new_id("rs"), text, signature.as_deref())
        }
        Block::RedactedReasoning(data) => redacted(&new_id("rs"), data),
        Block::ToolCall(call) => function_call(
            &new_id("fc"),
            &call.id,
            &call.name,
            arguments(&call.arguments),
            "completed",
        ),
    }
}

/// What every response object of one request shares: its id and creation
/// time, and the request's settings as the API echoes them.
pub(super) struct Head {
    id: String,
    created_at: u64,
    echo: Map<String, Value>,
}

/// Where a response is; an incomplete one says why.
pub(super) enum Status {
    InProgress,
    Completed,
    Incomplete(&'static str),
    /// With its `{code, message}`.
    Failed(Value),
}

impl Head {
    pub(super) fn new(req: &ApiRequest) -> Head {
        Head {
            id: new_id("resp"),
            created_at: unix_secs(),
            echo: echo(req),
        }
    }

    pub(super) fn object(&self, status: Status, output: Vec<Value>, usage: Value) -> Value {
        let (status, error, incomplete) = match status {
            Status::InProgress => ("in_progress", Value::Null, Value::Null),
            Status::Completed => ("completed", Value::Null, Value::Null),
            Status::Incomplete(reason) => ("incomplete", Value::Null, json!({"reason": reason})),
            Status::Failed(error) => ("failed", error, Value::Null),
        };
        let mut object = Map::new();
        object.insert("id".into(), self.id.clone().into());
        object.insert("object".into(), "response".into());
        object.insert("created_at".into(), self.created_at.into());
        object.insert("status".into(), status.into());
        object.insert("error".into(), error);
        object.insert("incomplete_details".into(), incomplete);
        object.extend(self.echo.clone());
        object.insert("output".into(), output.into());
        object.insert("usage".into(), usage);
        object.into()
    }
}

/// The request's settings as claw parsed them (`instructions` is not kept
/// apart from other system text, so it is null). Nothing is stored.
fn echo(req: &ApiRequest) -> Map<String, Value> {
    let p = &req.prompt;
    let effort = match p.reasoning {
        Some(ReasoningSetting::Effort(e)) => serde_json::to_value(e).unwrap_or_default(),
        Some(ReasoningSetting::Disabled) => "none".into(),
        _ => Value::Null,
    };
    let format = match &p.response_format {
        None | Some(ResponseFormat::Text) => json!({"type": "text"}),
        Some(ResponseFormat::Json) => json!({"type": "json_object"}),
        Some(ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        }) => json!({
            "type": "json_schema", "name": name, "description": description,
            "schema": parsed(schema), "strict": strict,
        }),
    };
    let tool_choice = match &p.tool_choice {
        None | Some(ToolChoice::Auto) => "auto".into(),
        Some(ToolChoice::None) => "none".into(),
        Some(ToolChoice::Required) => "required".into(),
        Some(ToolChoice::Named(name)) => json!({"type": "function", "name": name}),
    };
    let tool = |t: &Tool| {
        json!({
            "type": "function", "name": t.name, "description": t.description,
            "parameters": parsed(&t.input_schema), "strict": null,
        })
    };
    let metadata = p
        .passthrough
        .iter()
        .filter(|pass| pass.api == API)
        .flat_map(|pass| &pass.body)
        .find(|kv| kv.key == "metadata")
        .map_or_else(|| json!({}), |kv| parsed(&kv.value));
    let echo = json!({
        "background": false,
        "instructions": null,
        "max_output_tokens": p.max_tokens,
        "metadata": metadata,
        "model": req.model,
        "parallel_tool_calls": p.parallel_tool_calls.unwrap_or(true),
        "previous_response_id": null,
        "reasoning": {"effort": effort, "summary": null},
        "store": false,
        "temperature": p.temperature.map(number),
        "text": {"format": format},
        "tool_choice": tool_choice,
        "tools": p.tools.iter().map(tool).collect::<Vec<_>>(),
        "top_p": p.top_p.map(number),
        "truncation": "disabled",
    });
    match echo {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// JSON claw made from the client's own (schemas, passthrough values).
fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_default()
}

/// An f32 setting as the client wrote it (0.7, not 0.699999988079071).
fn number(n: f32) -> Value {
    n.to_string()
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", unique_id())
}

pub(super) fn message(id: &str, text: &str, status: &str) -> Value {
    json!({
        "id": id, "type": "message", "status": status, "role": "assistant",
        "content": [output_text(text)],
    })
}

pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// The reasoning text as one summary part (none when the upstream showed
/// none), and its signature as `encrypted_content`.
pub(super) fn reasoning(id: &str, text: &str, signature: Option<&str>) -> Value {
    let summary: Vec<Value> = Some(text)
        .filter(|t| !t.is_empty())
        .map(summary_text)
        .into_iter()
        .collect();
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(signature) = signature {
        item["encrypted_content"] = signature.into();
    }
    item
}

pub(super) fn redacted(id: &str, data: &str) -> Value {
    reasoning(id, "", Some(&format!("{REDACTED}{data}")))
}

pub(super) fn summary_text(text: &str) -> Value {
    json!({"type": "summary_text", "text": text})
}

pub(super) fn function_call(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "id": id, "type": "function_call", "status": status,
        "arguments": arguments, "call_id": call_id, "name": name,
    })
}

/// Arguments as clients parse them: a call without any is `{}`, since
/// `JSON.parse("")` fails.
pub(super) fn arguments(arguments: &str) -> &str {
    if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    }
}

/// Incomplete at the output limit or when filtered, else completed.
pub(super) fn status(reply: &Reply) -> Status {
    match reply.stop_reason() {
        StopReason::MaxTokens => Status::Incomplete("max_output_tokens"),
        StopReason::Refusal => Status::Incomplete("content_filter"),
        _ => Status::Completed,
    }
}

/// The API's `input_tokens` includes cached tokens; ours does not.
pub(super) fn usage(u: Option<Usage>) -> Value {
    let u = u.unwrap_or_default();
    let input = u64::from(u.input_tokens)
        + u64::from(u.cache_read_tokens)
        + u64::from(u.cache_write_tokens);
    let output = u64::from(u.output_tokens);
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": input + output,
    })
}
