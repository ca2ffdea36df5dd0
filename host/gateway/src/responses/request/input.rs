//! The `input` of a `/v1/responses` body: messages, function calls and their
//! outputs, and reasoning items, into system blocks and user/assistant turns.

use serde_json::{Map, Value};

use crate::ApiError;
use crate::parse::{CallIds, arguments, image, kind_of, quoted};
use crate::responses::REDACTED;
use claw_types::{
    ContentPart, ImageSource, Message, Role, SystemBlock, ToolCall, ToolOutput, ToolResult,
};

const ITEMS: &str = "\"message\", \"function_call\", \"function_call_output\" or \"reasoning\"";

/// The system blocks (system and developer messages) and the turns:
/// consecutive assistant items (messages, reasoning, function calls) join one
/// assistant message, consecutive function call outputs one user message.
pub(super) fn conversation(
    value: Option<&Value>,
) -> Result<(Vec<SystemBlock>, Vec<Message>), ApiError> {
    const SHAPE: &str = "`input` must be a string or a non-empty array of input items (messages, function calls and their outputs)";
    let items = match value {
        Some(Value::String(text)) => {
            return Ok((Vec::new(), vec![Message::text(Role::User, text)]));
        }
        Some(Value::Array(items)) if !items.is_empty() => items,
        None | Some(Value::Null) | Some(Value::Array(_)) => return Err(ApiError::invalid(SHAPE)),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "{SHAPE}, got {}",
                kind_of(other)
            )));
        }
    };
    let mut c = Conversation::default();
    for (i, item) in items.iter().enumerate() {
        c.item(item)
            .map_err(|text| ApiError::invalid(format!("input[{i}]{text}")))?;
    }
    Ok((c.system, c.messages))
}

#[derive(Default)]
struct Conversation {
    system: Vec<SystemBlock>,
    messages: Vec<Message>,
    calls: CallIds,
}

impl Conversation {
    fn item(&mut self, value: &Value) -> Result<(), String> {
        let Value::Object(item) = value else {
            return Err(format!(
                " must be an input item like {{\"role\": \"user\", \"content\": \"...\"}}, got {}",
                kind_of(value)
            ));
        };
        match item.get("type") {
            Some(Value::String(t)) => match t.as_str() {
                "message" => self.message(item),
                "function_call" => self.function_call(item),
                "function_call_output" => self.function_call_output(item),
                "reasoning" => self.reasoning(item),
                other => Err(unsupported(other)),
            },
            // An "easy" message: {role, content} without a type.
            None | Some(Value::Null) if item.contains_key("role") => self.message(item),
            None | Some(Value::Null) => Err(format!(".type is required: {ITEMS}")),
            Some(other) => Err(format!(".type must be a string, got {}", kind_of(other))),
        }
    }

    fn message(&mut self, m: &Map<String, Value>) -> Result<(), String> {
        const ROLES: &str = "user, assistant, system or developer";
        let role = match m.get("role") {
            Some(Value::String(r)) => r.as_str(),
            _ => return Err(format!(".role is required: {ROLES}")),
        };
        let parts = content(m.get("content"))?;
        let no_image = || Err(": only user messages may contain images".to_string());
        match role {
            "system" | "developer" => {
                for part in parts {
                    match part {
                        Part::Text(text) if !text.is_empty() => {
                            self.system.push(SystemBlock { text, cache: None })
                        }
                        Part::Text(_) => {}
                        Part::Image(_) => return no_image(),
                    }
                }
            }
            "user" => self.messages.push(Message {
                role: Role::User,
                content: parts.into_iter().map(Part::into_content).collect(),
            }),
            "assistant" => {
                for part in parts {
                    match part {
                        Part::Text(text) => self.assistant(ContentPart::text(text)),
                        Part::Image(_) => return no_image(),
                    }
                }
            }
            other => {
                return Err(format!(
                    ".role: unknown role {}; use {ROLES}",
                    quoted(other)
                ));
            }
        }
        Ok(())
    }

    /// Adds `part` to the assistant message the conversation ends with, or
    /// starts one.
    fn assistant(&mut self, part: ContentPart) {
        match self.messages.last_mut() {
            Some(m) if m.role == Role::Assistant => m.content.push(part),
            _ => self.messages.push(Message {
                role: Role::Assistant,
                content: vec![part],
            }),
        }
    }

    /// `{call_id, name, arguments}` (its `id` is the item's, not the call's).
    fn function_call(&mut self, item: &Map<String, Value>) -> Result<(), String> {
        let call_id = call_id(item, "the id its function_call_output answers")?;
        let name = match item.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => return Err(".name must be a non-empty string".into()),
        };
        let arguments = arguments(item.get("arguments"))
            .map_err(|why| format!(".arguments of the call {} {why}", quoted(&call_id)))?;
        self.calls.called(&call_id);
        self.assistant(ContentPart::ToolCall(ToolCall {
            id: call_id,
            name,
            arguments,
        }));
        Ok(())
    }

    /// `{call_id, output}`, output a string or input_text/input_image parts.
    fn function_call_output(&mut self, item: &Map<String, Value>) -> Result<(), String> {
        let call_id = call_id(item, "the call_id of the function_call it answers")?;
        if self.calls.answer(&call_id).is_err() {
            return Err(format!(
                ".call_id: {} answers no function_call item before it; send that function_call item earlier in `input`",
                quoted(&call_id)
            ));
        }
        let content = match item.get("output") {
            Some(Value::String(text)) => vec![ToolOutput::Text(text.clone())],
            Some(Value::Array(parts)) => parts
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    part(p)
                        .map(|p| match p {
                            Part::Text(text) => ToolOutput::Text(text),
                            Part::Image(source) => ToolOutput::Image(source),
                        })
                        .map_err(|text| format!(".output[{j}]{text}"))
                })
                .collect::<Result<_, _>>()?,
            None | Some(Value::Null) => {
                return Err(".output is required: a string or an array of content parts".into());
            }
            Some(other) => {
                return Err(format!(
                    ".output must be a string or an array of content parts, got {}",
                    kind_of(other)
                ));
            }
        };
        let result = ContentPart::ToolResult(ToolResult {
            call_id,
            content,
            is_error: false,
            cache: None,
        });
        match self.messages.last_mut() {
            Some(m)
                if m.role == Role::User
                    && m.content
                        .iter()
                        .all(|p| matches!(p, ContentPart::ToolResult(_))) =>
            {
                m.content.push(result)
            }
            _ => self.messages.push(Message {
                role: Role::User,
                content: vec![result],
            }),
        }
        Ok(())
    }

    /// `{summary: [{type: "summary_text", text}], content?, encrypted_content?}`:
    /// the summary's text (else the raw `reasoning_text` content) signed by
    /// `encrypted_content`, or a redacted block claw marked so.
    fn reasoning(&mut self, item: &Map<String, Value>) -> Result<(), String> {
        let summary = texts(item.get("summary"), "summary", &["summary_text"])?;
        let raw = texts(item.get("content"), "content", &["reasoning_text", "text"])?;
        let signature = match item.get("encrypted_content") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(format!(
                    ".encrypted_content must be a string, got {}",
                    kind_of(other)
                ));
            }
        };
        if let Some(data) = signature.as_deref().and_then(|s| s.strip_prefix(REDACTED)) {
            self.assistant(ContentPart::RedactedReasoning(data.to_string()));
            return Ok(());
        }
        let text = if summary.is_empty() {
            raw.concat()
        } else {
            summary.join("\n\n")
        };
        if !text.is_empty() || signature.is_some() {
            self.assistant(ContentPart::Reasoning { text, signature });
        }
        Ok(())
    }
}

fn call_id(item: &Map<String, Value>, what: &str) -> Result<String, String> {
    match item.get("call_id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(format!(".call_id is required: {what}")),
    }
}

/// The texts of `[{type, text}]` parts of one of `kinds` (a reasoning item's
/// summary or content); missing is none.
fn texts(value: Option<&Value>, field: &str, kinds: &[&str]) -> Result<Vec<String>, String> {
    let parts = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(parts)) => parts,
        Some(other) => {
            return Err(format!(".{field} must be an array, got {}", kind_of(other)));
        }
    };
    parts
        .iter()
        .enumerate()
        .map(|(j, p)| match (p["type"].as_str(), &p["text"]) {
            (Some(t), Value::String(text)) if kinds.contains(&t) => Ok(text.clone()),
            _ => Err(format!(
                ".{field}[{j}] must be {{\"type\": \"{}\", \"text\": \"...\"}}",
                kinds[0]
            )),
        })
        .collect()
}

/// A content part of a message or of a function call's output.
enum Part {
    Text(String),
    Image(ImageSource),
}

impl Part {
    fn into_content(self) -> ContentPart {
        match self {
            Part::Text(text) => ContentPart::text(text),
            Part::Image(source) => ContentPart::Image {
                source,
                cache: None,
            },
        }
    }
}

/// A message's `content`: a string or an array of parts.
fn content(value: Option<&Value>) -> Result<Vec<Part>, String> {
    match value {
        Some(Value::String(text)) => Ok(vec![Part::Text(text.clone())]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, p)| part(p).map_err(|text| format!(".content[{j}]{text}")))
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

fn part(value: &Value) -> Result<Part, String> {
    let Value::Object(p) = value else {
        return Err(format!(
            " must be a content part like {{\"type\": \"input_text\", \"text\": \"...\"}}, got {}",
            kind_of(value)
        ));
    };
    let text_field = |field: &str| match p.get(field) {
        Some(Value::String(t)) => Ok(Part::Text(t.clone())),
        _ => Err(format!(
            ": a {} part needs a string `{field}`",
            quoted(kind(p))
        )),
    };
    match p.get("type").and_then(Value::as_str) {
        None => Err(".type is required: \"input_text\", \"output_text\" or \"input_image\"".into()),
        Some("input_text" | "output_text") => text_field("text"),
        // A refusal the assistant gave earlier is still what it said.
        Some("refusal") => text_field("refusal"),
        Some("input_image") => input_image(p).map(Part::Image),
        Some(kind @ ("input_file" | "input_audio")) => Err(format!(
            ": {} parts are not supported: claw carries text and images only; put the file's text in an input_text part",
            quoted(kind)
        )),
        Some(kind) => Err(format!(
            ": unknown content part type {}; use \"input_text\", \"output_text\" or \"input_image\"",
            quoted(kind)
        )),
    }
}

fn kind(p: &Map<String, Value>) -> &str {
    p.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// `{image_url: "data:..." | "https://...", detail}` (detail is the
/// upstream's to choose); a `file_id` needs OpenAI's file store.
fn input_image(p: &Map<String, Value>) -> Result<ImageSource, String> {
    match p.get("image_url") {
        Some(url @ Value::String(_)) => image(Some(url)).map_err(|why| format!(": {why}")),
        _ if !p.get("file_id").is_none_or(Value::is_null) => Err(
            ": an input_image with a file_id needs OpenAI's file store, which claw does not have; send image_url as a data: URL"
                .into(),
        ),
        _ => Err(
            ": an input_image part needs a string image_url (a data: URL or an http(s) URL)"
                .into(),
        ),
    }
}

/// The 400 text for an item type claw does not carry, with what to do.
fn unsupported(kind: &str) -> String {
    let why = match kind {
        "item_reference" => {
            "claw keeps no items (it stores nothing); send the item itself in `input`"
        }
        "custom_tool_call" | "custom_tool_call_output" => {
            "claw carries function tools only (custom tools are left out of `tools`); define the tool as a function tool"
        }
        "compaction" | "compaction_summary" => {
            "claw cannot read an encrypted compaction; send the conversation (or a summary of it) as messages"
        }
        k if k.ends_with("_call") || k.ends_with("_call_output") || k.starts_with("mcp_") => {
            "claw carries function tools only, not built-in tools (local_shell, web_search, computer use, MCP, ...); \
             leave the item out, or give its result as text in a message"
        }
        _ => {
            return format!(".type: unknown item type {}; use {ITEMS}", quoted(kind));
        }
    };
    format!(": {} items are not supported: {why}", quoted(kind))
}
