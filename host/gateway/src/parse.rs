//! Request parsing both APIs do the same way (pure): the body, the common
//! fields, and the `messages` array, whose items differ only in the roles and
//! content items each API spells (its `Dialect`).

use serde_json::{Map, Value};

use crate::ApiError;
use claw_core::router::Prompt;
use claw_types::{ContentPart, Message, Role};

/// The prompt of a request, whichever API it came in.
pub(crate) fn prompt(
    messages: Vec<Message>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
) -> Prompt {
    Prompt {
        messages,
        max_tokens,
        temperature,
        // Plugins stream upstream either way; `stream` only shapes our reply.
        streaming: true,
    }
}

/// The request body as a JSON object, and the `model` it names.
pub(crate) fn body_and_model(body: &[u8]) -> Result<(Map<String, Value>, String), ApiError> {
    let body = json_object(body)?;
    let model = model_field(&body)?;
    Ok((body, model))
}

/// The request body as a JSON object, or a 400 saying what is wrong.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body is empty: send a JSON object (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::invalid(format!(
            "body must be a JSON object, got {}",
            kind_of(&other)
        ))),
        Err(e) => Err(ApiError::invalid(format!("body is not valid JSON: {e}"))),
    }
}

/// `model`: the non-empty string the client named (resolved later, by the server).
fn model_field(body: &Map<String, Value>) -> Result<String, ApiError> {
    const WHAT: &str = "a provider/model ref or an alias, see GET /v1/models";
    match body.get("model") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(ApiError::invalid(format!("`model` is required ({WHAT})")))
        }
        Some(other) => Err(ApiError::invalid(format!(
            "`model` must be a string ({WHAT}), got {}",
            kind_of(other)
        ))),
    }
}

/// An optional boolean; `null` counts as absent.
pub(crate) fn opt_bool(value: Option<&Value>, name: &str) -> Result<bool, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::invalid(format!(
            "`{name}` must be true or false, got {}",
            short(other)
        ))),
    }
}

/// An optional token limit: a whole number from 1 to u32::MAX.
pub(crate) fn opt_max_tokens(value: Option<&Value>, name: &str) -> Result<Option<u32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(ApiError::invalid(format!(
                "`{name}` must be a positive whole number of tokens, got {}",
                short(v)
            ))),
        },
    }
}

/// An optional temperature within the API's documented range `0..=max`.
pub(crate) fn opt_temperature(value: Option<&Value>, max: f64) -> Result<Option<f32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(t) if (0.0..=max).contains(&t) => Ok(Some(t as f32)),
            _ => Err(ApiError::invalid(format!(
                "`temperature` must be a number from 0 to {max}, got {}",
                short(v)
            ))),
        },
    }
}

pub(crate) use claw_types::json::kind as kind_of;

/// A client's value quoted back in an error, cut to a readable length.
pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// How one API spells a message: its roles and its content items. Errors a
/// dialect returns are the text that follows the item's path, e.g.
/// `messages[0].content[1]`.
pub(crate) trait Dialect {
    /// The role names it accepts.
    const ROLES: &'static [(&'static str, Role)];
    /// The accepted roles as named in errors: "user or assistant".
    const ROLE_LIST: &'static str;
    /// What a content array holds, in errors: "part" or "block".
    const ITEM: &'static str;
    /// The item types named when one is missing or unknown.
    const ITEM_TYPES: &'static str;
    /// An assistant turn may leave its content out (OpenAI: it only called tools).
    const ASSISTANT_CONTENT_OPTIONAL: bool = false;

    /// A role name refused for a reason of its own.
    fn refused_role(_role: &str) -> Option<String> {
        None
    }

    /// A message refused for what it carries besides its content.
    fn refused_fields(_role: Role, _message: &Map<String, Value>) -> Option<String> {
        None
    }

    /// A content item of type `kind`; `Ok(None)` drops it.
    fn item(
        role: Role,
        kind: &str,
        item: &Map<String, Value>,
    ) -> Result<Option<ContentPart>, String>;

    /// The error for an item type the dialect does not know.
    fn unknown_item(kind: &str) -> String {
        format!(
            ": unknown content {} type {}; use {}",
            Self::ITEM,
            short(&Value::from(kind)),
            Self::ITEM_TYPES
        )
    }
}

/// `messages`: a non-empty array of `{"role", "content"}` objects.
pub(crate) fn messages<D: Dialect>(value: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let items = match value {
        Some(Value::Array(items)) if !items.is_empty() => items,
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            return Err(ApiError::invalid(
                "`messages` must be a non-empty array of {\"role\", \"content\"} objects",
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "`messages` must be a non-empty array of {{\"role\", \"content\"}} objects, got {}",
                kind_of(other)
            )));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            message::<D>(m).map_err(|text| ApiError::invalid(format!("messages[{i}]{text}")))
        })
        .collect()
}

fn message<D: Dialect>(message: &Value) -> Result<Message, String> {
    let Value::Object(m) = message else {
        return Err(format!(
            " must be an object with `role` and `content`, got {}",
            kind_of(message)
        ));
    };
    let list = D::ROLE_LIST;
    let role = match m.get("role") {
        Some(Value::String(r)) => match D::ROLES.iter().find(|(name, _)| name == r) {
            Some(&(_, role)) => role,
            None => {
                return Err(D::refused_role(r).unwrap_or_else(|| {
                    format!(
                        ".role: unknown role {}; use {list}",
                        short(&Value::from(r.as_str()))
                    )
                }));
            }
        },
        _ => return Err(format!(".role is required: {list}")),
    };
    if let Some(why) = D::refused_fields(role, m) {
        return Err(why);
    }
    let items = D::ITEM;
    let content = match m.get("content") {
        Some(Value::String(text)) => vec![ContentPart::Text(text.clone())],
        None | Some(Value::Null) if role == Role::Assistant && D::ASSISTANT_CONTENT_OPTIONAL => {
            Vec::new()
        }
        None | Some(Value::Null) => {
            return Err(format!(
                ".content is required: a string or an array of content {items}s"
            ));
        }
        Some(Value::Array(parts)) => {
            let mut content = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let part = item::<D>(role, part).map_err(|text| format!(".content[{j}]{text}"))?;
                content.extend(part);
            }
            content
        }
        Some(other) => {
            return Err(format!(
                ".content must be a string or an array of content {items}s, got {}",
                kind_of(other)
            ));
        }
    };
    Ok(Message { role, content })
}

fn item<D: Dialect>(role: Role, item: &Value) -> Result<Option<ContentPart>, String> {
    let Value::Object(fields) = item else {
        return Err(format!(
            " must be a content {} like {{\"type\": \"text\", \"text\": \"...\"}}, got {}",
            D::ITEM,
            kind_of(item)
        ));
    };
    match fields.get("type").and_then(Value::as_str) {
        Some(kind) => D::item(role, kind, fields),
        None => Err(format!(".type is required: {}", D::ITEM_TYPES)),
    }
}
