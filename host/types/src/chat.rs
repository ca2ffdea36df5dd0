//! A chat request as the host hands it to a provider plugin, and the events of
//! its reply.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An HTTP header or any other ordered key/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub media_type: String,
    /// Base64 without a `data:` prefix.
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentPart {
    Text(String),
    Image(Image),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentPart>,
}

impl Message {
    /// A message of one text part.
    pub fn text(role: Role, text: impl Into<String>) -> Message {
        Message {
            role,
            content: vec![ContentPart::Text(text.into())],
        }
    }
}

/// The upstream endpoint and how to authenticate, resolved from
/// `models.providers.<id>` and the auth store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The provider id in config, e.g. "minimax".
    pub provider: String,
    /// The API kind requested, e.g. "anthropic-messages".
    pub api: String,
    pub base_url: String,
    /// Extra headers configured for this provider.
    pub headers: Vec<KeyValue>,
    /// Send the credential as `Authorization: Bearer` instead of the API's own header.
    pub auth_header: bool,
}

/// One chat request to one provider plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub endpoint: Endpoint,
    pub credential: RequestCredential,
    pub model: String,
    pub messages: Vec<Message>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// The host reads events as they come; a plugin may still answer at once.
    pub streaming: bool,
}

/// Token usage of a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cache_read_tokens: u32,
    pub cache_write_tokens: u32,
}

/// One event of a reply, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The upstream accepted the request; carries its message id. Not content:
    /// the router may still fail over after it.
    Started(String),
    /// Visible reply text.
    Text(String),
    /// Reasoning text, when the model exposes it.
    Thinking(String),
    /// Token usage so far (the latest report wins).
    Usage(Usage),
    /// The reply is complete; carries the upstream stop reason.
    Done(String),
}

impl ChatEvent {
    /// Text or reasoning that a client would see: the point after which the
    /// router can no longer switch candidates.
    pub fn is_content(&self) -> bool {
        matches!(self, ChatEvent::Text(t) | ChatEvent::Thinking(t) if !t.is_empty())
    }

    /// Bytes of text this event carries (for output caps).
    pub fn text_len(&self) -> usize {
        match self {
            ChatEvent::Text(t)
            | ChatEvent::Thinking(t)
            | ChatEvent::Started(t)
            | ChatEvent::Done(t) => t.len(),
            ChatEvent::Usage(_) => 0,
        }
    }
}

/// The credential for one request; only the plugin serving the provider gets it.
#[derive(Clone, PartialEq, Eq)]
pub enum RequestCredential {
    None,
    ApiKey(String),
    /// An OAuth access token or other bearer token.
    Bearer(String),
}

impl fmt::Debug for RequestCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestCredential::None => "None",
            RequestCredential::ApiKey(_) => "ApiKey(..)",
            RequestCredential::Bearer(_) => "Bearer(..)",
        })
    }
}
