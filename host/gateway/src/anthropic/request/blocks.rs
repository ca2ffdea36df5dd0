//! The `messages` of a `/v1/messages` body: content blocks, tool use and
//! tool results, thinking.

use serde_json::{Map, Value};

use crate::ApiError;
use crate::parse::{CallIds, cache_hint, kind_of, messages_array, quoted, short};
use claw_types::{ContentPart, ImageSource, Message, Role, ToolCall, ToolOutput, ToolResult};

const BLOCK_TYPES: &str =
    "\"text\", \"image\", \"tool_use\", \"tool_result\", \"thinking\" or \"redacted_thinking\"";

/// System messages found in the conversation: index and content.
type SystemMessages<'a> = Vec<(usize, &'a Value)>;

/// The turns; a tool result must answer a tool call before it. System
/// messages are handed back apart, for the system prompt.
pub(super) fn conversation(
    value: Option<&Value>,
) -> Result<(Vec<Message>, SystemMessages<'_>), ApiError> {
    let mut calls = CallIds::default();
    let (mut messages, mut system) = (Vec::new(), Vec::new());
    for (i, m) in messages_array(value)?.iter().enumerate() {
        if m.get("role").and_then(Value::as_str) == Some("system") {
            system.push((i, m.get("content").unwrap_or(&Value::Null)));
            continue;
        }
        let message = message(m, &mut calls)
            .map_err(|text| ApiError::invalid(format!("messages[{i}]{text}")))?;
        messages.push(message);
    }
    Ok((messages, system))
}

fn message(value: &Value, calls: &mut CallIds) -> Result<Message, String> {
    let Value::Object(m) = value else {
        return Err(format!(
            " must be an object with `role` and `content`, got {}",
            kind_of(value)
        ));
    };
    let role = match m.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some(other) => {
            return Err(format!(
                ".role: unknown role {}; use user, assistant or system",
                quoted(other)
            ));
        }
        None => return Err(".role is required: user or assistant".into()),
    };
    let content = match m.get("content") {
        Some(Value::String(text)) => vec![ContentPart::text(text.clone())],
        Some(Value::Array(blocks)) => {
            let mut content = Vec::with_capacity(blocks.len());
            for (j, b) in blocks.iter().enumerate() {
                let part = block(role, b, calls).map_err(|text| format!(".content[{j}]{text}"))?;
                // Empty unsigned thinking (as claw shows an upstream's hidden
                // reasoning) says nothing to send back.
                if !matches!(&part, ContentPart::Reasoning { text, signature: None } if text.is_empty())
                {
                    content.push(part);
                }
            }
            content
        }
        None | Some(Value::Null) => {
            return Err(".content is required: a string or an array of content blocks".into());
        }
        Some(other) => {
            return Err(format!(
                ".content must be a string or an array of content blocks, got {}",
                kind_of(other)
            ));
        }
    };
    Ok(Message { role, content })
}

/// The fields of a block, or the error for one that is not an object.
fn fields(value: &Value) -> Result<&Map<String, Value>, String> {
    value.as_object().ok_or_else(|| {
        format!(
            " must be a content block like {{\"type\": \"text\", \"text\": \"...\"}}, got {}",
            kind_of(value)
        )
    })
}

fn string<'a>(b: &'a Map<String, Value>, kind: &str, field: &str) -> Result<&'a str, String> {
    match b.get(field) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(format!(": a {kind} block needs a string `{field}`")),
    }
}

fn block(role: Role, value: &Value, calls: &mut CallIds) -> Result<ContentPart, String> {
    let b = fields(value)?;
    let kind = b
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!(".type is required: {BLOCK_TYPES}"))?;
    let only = |wanted: Role| {
        if role == wanted {
            Ok(())
        } else {
            let who = if wanted == Role::User {
                "user"
            } else {
                "assistant"
            };
            Err(format!(
                ": \"{kind}\" blocks may only appear in {who} messages"
            ))
        }
    };
    match kind {
        "text" => Ok(ContentPart::Text {
            text: string(b, "text", "text")?.to_string(),
            cache: cache_hint(b.get("cache_control"))?,
        }),
        "image" => {
            if role != Role::User {
                return Err(": only user messages may contain images".into());
            }
            let source = image(b.get("source")).map_err(|why| format!(".source{why}"))?;
            let cache = cache_hint(b.get("cache_control"))?;
            Ok(ContentPart::Image { source, cache })
        }
        "tool_use" => {
            only(Role::Assistant)?;
            let call = tool_use(b)?;
            calls.called(&call.id);
            Ok(ContentPart::ToolCall(call))
        }
        "tool_result" => {
            only(Role::User)?;
            tool_result(b, calls).map(ContentPart::ToolResult)
        }
        "thinking" => {
            only(Role::Assistant)?;
            let signature = match b.get("signature") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
            Ok(ContentPart::Reasoning {
                text: string(b, "thinking", "thinking")?.to_string(),
                signature,
            })
        }
        "redacted_thinking" => {
            only(Role::Assistant)?;
            Ok(ContentPart::RedactedReasoning(
                string(b, "redacted_thinking", "data")?.to_string(),
            ))
        }
        "document" | "search_result" | "container_upload" | "server_tool_use" | "mcp_tool_use"
        | "mcp_tool_result" => Err(unsupported(kind)),
        _ if kind.ends_with("_tool_result") => Err(unsupported(kind)),
        _ => Err(format!(
            ": unknown content block type {}; use {BLOCK_TYPES}",
            quoted(kind)
        )),
    }
}

fn unsupported(kind: &str) -> String {
    format!(
        ": {} blocks are not supported: claw carries text, image, tool_use, tool_result, thinking and redacted_thinking blocks",
        quoted(kind)
    )
}

/// `{id, name, input}`: the input object becomes the call's JSON arguments.
fn tool_use(b: &Map<String, Value>) -> Result<ToolCall, String> {
    let id = match b.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(": a tool_use block needs a non-empty string `id`".into()),
    };
    let name = match b.get("name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => return Err(": a tool_use block needs a non-empty string `name`".into()),
    };
    let arguments = match b.get("input") {
        Some(input @ Value::Object(_)) => input.to_string(),
        Some(other) => {
            return Err(format!(
                ".input of the tool_use {} must be an object, got {}",
                quoted(&id),
                kind_of(other)
            ));
        }
        None => {
            return Err(format!(
                ".input of the tool_use {} is required: an object",
                quoted(&id)
            ));
        }
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// `{tool_use_id, content: string | [text | image], is_error, cache_control}`.
fn tool_result(b: &Map<String, Value>, calls: &CallIds) -> Result<ToolResult, String> {
    let call_id = match b.get("tool_use_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(": a tool_result block needs a non-empty string `tool_use_id`".into()),
    };
    calls
        .answer(&call_id)
        .map_err(|why| format!(".tool_use_id: {why}"))?;
    let content = match b.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(t)) => vec![ToolOutput::Text(t.clone())],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(k, item)| result_item(item).map_err(|text| format!(".content[{k}]{text}")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                ".content must be a string or an array of text and image blocks, got {}",
                kind_of(other)
            ));
        }
    };
    let is_error = match b.get("is_error") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(e)) => *e,
        Some(other) => {
            return Err(format!(
                ".is_error must be true or false, got {}",
                short(other)
            ));
        }
    };
    Ok(ToolResult {
        call_id,
        content,
        is_error,
        cache: cache_hint(b.get("cache_control"))?,
    })
}

fn result_item(value: &Value) -> Result<ToolOutput, String> {
    let b = fields(value)?;
    match b.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ToolOutput::Text(string(b, "text", "text")?.to_string())),
        Some("image") => image(b.get("source"))
            .map(ToolOutput::Image)
            .map_err(|why| format!(".source{why}")),
        Some(kind) => Err(format!(
            ": {} blocks are not supported in a tool result: claw carries text and image blocks there",
            quoted(kind)
        )),
        None => Err(".type is required: \"text\" or \"image\"".into()),
    }
}

/// `{"type": "base64", "media_type", "data"}` or `{"type": "url", "url"}`
/// (fetched by the upstream, never by claw). Errors start with the field.
fn image(source: Option<&Value>) -> Result<ImageSource, String> {
    const SHAPE: &str = "{\"type\": \"base64\", \"media_type\": \"image/png\", \"data\": \"...\"}";
    let Some(Value::Object(s)) = source else {
        return Err(format!(" is required: {SHAPE}"));
    };
    let field = |name: &str| match s.get(name) {
        Some(Value::String(v)) if !v.trim().is_empty() => Ok(v.clone()),
        _ => Err(format!(".{name} must be a non-empty string: {SHAPE}")),
    };
    match s.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(ImageSource::Base64 {
            media_type: field("media_type")?,
            data: field("data")?,
        }),
        Some("url") => {
            let url = field("url").map_err(|_| ".url must be an http(s) URL".to_string())?;
            let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
            if lower.starts_with("https://") || lower.starts_with("http://") {
                Ok(ImageSource::Url(url))
            } else {
                Err(".url must be an http(s) URL".into())
            }
        }
        Some("file") => Err(
            ": file sources (Files API) are not supported; send the image as base64 or a URL"
                .into(),
        ),
        _ => Err(format!(".type must be \"base64\" or \"url\": {SHAPE}")),
    }
}
