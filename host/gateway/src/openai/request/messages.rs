//! The `messages` of a `/v1/chat/completions` body: system blocks and
//! user/assistant turns, tool calls and their results.

use serde_json::{Map, Value};

use super::LEGACY;
use crate::ApiError;
use crate::parse::{
    CallIds, absent, arguments, cache_hint, image, kind_of, messages_array, quoted, short,
};
use claw_types::{
    CacheHint, ContentPart, ImageSource, Message, Role, SystemBlock, ToolCall, ToolOutput,
    ToolResult,
};

const ROLES: &str = "system, developer, user, assistant or tool";

/// The system blocks (system and developer messages, wherever they are) and
/// the user/assistant turns; consecutive tool messages become one user
/// message of tool results.
pub(super) fn conversation(
    value: Option<&Value>,
) -> Result<(Vec<SystemBlock>, Vec<Message>), ApiError> {
    let mut c = Conversation::default();
    for (i, m) in messages_array(value)?.iter().enumerate() {
        c.message(m)
            .map_err(|text| ApiError::invalid(format!("messages[{i}]{text}")))?;
    }
    Ok((c.system, c.messages))
}

#[derive(Default)]
struct Conversation {
    system: Vec<SystemBlock>,
    messages: Vec<Message>,
    calls: CallIds,
    /// The last message is tool results, to which the next tool message adds.
    in_results: bool,
}

impl Conversation {
    fn message(&mut self, value: &Value) -> Result<(), String> {
        let Value::Object(m) = value else {
            return Err(format!(
                " must be an object with `role` and `content`, got {}",
                kind_of(value)
            ));
        };
        let role = match m.get("role") {
            Some(Value::String(r)) => r.as_str(),
            _ => return Err(format!(".role is required: {ROLES}")),
        };
        match role {
            "system" | "developer" => {
                for (text, cache) in texts(m.get("content"))? {
                    if !text.is_empty() {
                        self.system.push(SystemBlock { text, cache });
                    }
                }
                return Ok(());
            }
            "tool" => return self.tool(m),
            "user" => {
                let content = user_content(m.get("content"))?;
                self.push(Role::User, content);
            }
            "assistant" => {
                let content = self.assistant(m)?;
                self.push(Role::Assistant, content);
            }
            "function" => return Err(format!(": role \"function\": {LEGACY}")),
            other => {
                return Err(format!(
                    ".role: unknown role {}; use {ROLES}",
                    quoted(other)
                ));
            }
        }
        Ok(())
    }

    fn push(&mut self, role: Role, content: Vec<ContentPart>) {
        self.messages.push(Message { role, content });
        self.in_results = false;
    }

    /// Reasoning (as DeepSeek-style clients send it back), text, tool calls.
    fn assistant(&mut self, m: &Map<String, Value>) -> Result<Vec<ContentPart>, String> {
        if !absent(m.get("function_call")) {
            return Err(format!(".function_call: {LEGACY}"));
        }
        let mut content = Vec::new();
        for field in ["reasoning_content", "reasoning"] {
            match m.get(field) {
                None | Some(Value::Null) => continue,
                Some(Value::String(t)) if t.is_empty() => continue,
                Some(Value::String(t)) => content.push(ContentPart::Reasoning {
                    text: t.clone(),
                    signature: None,
                }),
                Some(other) => {
                    return Err(format!(".{field} must be a string, got {}", kind_of(other)));
                }
            }
            break;
        }
        if !absent(m.get("content")) {
            let parts = parts(m.get("content"), |p| match p {
                Part::Text(text, cache) => Ok(ContentPart::Text { text, cache }),
                Part::Image(..) => Err(": only user messages may contain images".into()),
            })?;
            content.extend(parts);
        }
        match m.get("tool_calls") {
            None | Some(Value::Null) => {}
            Some(Value::Array(calls)) => {
                for (k, call) in calls.iter().enumerate() {
                    let call = tool_call(call).map_err(|t| format!(".tool_calls[{k}]{t}"))?;
                    self.calls.called(&call.id);
                    content.push(ContentPart::ToolCall(call));
                }
            }
            Some(other) => {
                return Err(format!(
                    ".tool_calls must be an array, got {}",
                    kind_of(other)
                ));
            }
        }
        Ok(content)
    }

    fn tool(&mut self, m: &Map<String, Value>) -> Result<(), String> {
        let call_id = match m.get("tool_call_id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => {
                return Err(
                    ".tool_call_id is required: the id of the tool call this message answers"
                        .into(),
                );
            }
        };
        self.calls
            .answer(&call_id)
            .map_err(|why| format!(".tool_call_id: {why}"))?;
        let outputs = match m.get("content") {
            None | Some(Value::Null) => Vec::new(),
            value => parts(value, |p| {
                Ok(match p {
                    Part::Text(text, cache) => (ToolOutput::Text(text), cache),
                    Part::Image(source, cache) => (ToolOutput::Image(source), cache),
                })
            })?,
        };
        // A result has one cache hint: a part's marks the whole result.
        let cache = outputs.iter().rev().find_map(|(_, c)| *c);
        let content = outputs.into_iter().map(|(o, _)| o).collect();
        let result = ContentPart::ToolResult(ToolResult {
            call_id,
            content,
            is_error: false,
            cache,
        });
        match self.messages.last_mut() {
            Some(last) if self.in_results => last.content.push(result),
            _ => {
                self.messages.push(Message {
                    role: Role::User,
                    content: vec![result],
                });
                self.in_results = true;
            }
        }
        Ok(())
    }
}

/// `{id, type: "function", function: {name, arguments}}`.
fn tool_call(value: &Value) -> Result<ToolCall, String> {
    let Value::Object(call) = value else {
        return Err(format!(
            " must be an object like {{\"id\", \"type\": \"function\", \"function\": {{\"name\", \"arguments\"}}}}, got {}",
            kind_of(value)
        ));
    };
    match call.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == "function" => {}
        Some(other) => {
            return Err(format!(
                ".type: {} tool calls are not supported; claw carries function tool calls only",
                short(other)
            ));
        }
    }
    let id = match call.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(".id is required: the tool call's id".into()),
    };
    let Some(Value::Object(function)) = call.get("function") else {
        return Err(".function is required: {\"name\", \"arguments\"}".into());
    };
    let name = match function.get("name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => return Err(".function.name must be a non-empty string".into()),
    };
    let arguments = arguments(function.get("arguments"))
        .map_err(|why| format!(".function.arguments of the call {} {why}", quoted(&id)))?;
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// A content part of any message.
enum Part {
    Text(String, Option<CacheHint>),
    Image(ImageSource, Option<CacheHint>),
}

/// `content`: a string or an array of parts, each turned into `T` by `keep`
/// or refused.
fn parts<T>(
    value: Option<&Value>,
    keep: impl Fn(Part) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    match value {
        Some(Value::String(text)) => Ok(vec![keep(Part::Text(text.clone(), None))?]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(j, item)| {
                part(item)
                    .and_then(&keep)
                    .map_err(|text| format!(".content[{j}]{text}"))
            })
            .collect(),
        None | Some(Value::Null) => {
            Err(".content is required: a string or an array of content parts".into())
        }
        Some(other) => Err(format!(
            ".content must be a string or an array of content parts, got {}",
            kind_of(other)
        )),
    }
}

fn user_content(value: Option<&Value>) -> Result<Vec<ContentPart>, String> {
    parts(value, |p| {
        Ok(match p {
            Part::Text(text, cache) => ContentPart::Text { text, cache },
            Part::Image(source, cache) => ContentPart::Image { source, cache },
        })
    })
}

/// System text: text parts only.
fn texts(value: Option<&Value>) -> Result<Vec<(String, Option<CacheHint>)>, String> {
    parts(value, |p| match p {
        Part::Text(text, cache) => Ok((text, cache)),
        Part::Image(..) => Err(": only user messages may contain images".into()),
    })
}

fn part(item: &Value) -> Result<Part, String> {
    let Value::Object(part) = item else {
        return Err(format!(
            " must be a content part like {{\"type\": \"text\", \"text\": \"...\"}}, got {}",
            kind_of(item)
        ));
    };
    let cache = cache_hint(part.get("cache_control"))?;
    let text_field = |field: &str| match part.get(field) {
        Some(Value::String(t)) => Ok(Part::Text(t.clone(), cache)),
        _ => Err(format!(": a \"{field}\" part needs a string `{field}`")),
    };
    match part.get("type").and_then(Value::as_str) {
        None => Err(".type is required: \"text\" or \"image_url\"".into()),
        Some("text") => text_field("text"),
        // A refusal the assistant gave earlier is still what it said.
        Some("refusal") => text_field("refusal"),
        Some("image_url") => image(part.get("image_url"))
            .map(|source| Part::Image(source, cache))
            .map_err(|why| format!(": {why}")),
        Some(kind @ ("input_audio" | "file")) => Err(format!(
            ": \"{kind}\" parts are not supported: claw carries text and images only"
        )),
        Some(kind) => Err(format!(
            ": unknown content part type {}; use \"text\" or \"image_url\"",
            quoted(kind)
        )),
    }
}
