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

/// Who wrote a message. System text is `Prompt::system`, not a message; tool
/// results travel in user messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// A prompt-cache breakpoint after the part that carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheHint {
    /// A longer life than the upstream's default, when the client asked.
    pub ttl_seconds: Option<u32>,
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Base64 {
        media_type: String,
        /// Without a `data:` prefix.
        data: String,
    },
    /// Fetched by the upstream.
    Url(String),
}

/// A tool call the assistant made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// A JSON object as text.
    pub arguments: String,
}

/// What a tool result holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolOutput {
    Text(String),
    Image(ImageSource),
}

/// The result of a tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolResult {
    pub call_id: String,
    pub content: Vec<ToolOutput>,
    pub is_error: bool,
    pub cache: Option<CacheHint>,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentPart {
    Text {
        text: String,
        cache: Option<CacheHint>,
    },
    Image {
        source: ImageSource,
        cache: Option<CacheHint>,
    },
    ToolCall(ToolCall),
    ToolResult(ToolResult),
    /// Reasoning shown earlier, sent back unchanged (signature included).
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    /// Encrypted reasoning, opaque.
    RedactedReasoning(String),
}

impl ContentPart {
    pub fn text(text: impl Into<String>) -> ContentPart {
        ContentPart::Text {
            text: text.into(),
            cache: None,
        }
    }
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
            content: vec![ContentPart::text(text)],
        }
    }
}

/// A system prompt block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemBlock {
    pub text: String,
    pub cache: Option<CacheHint>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments, an object as text.
    pub input_schema: String,
    pub cache: Option<CacheHint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    Minimal,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningSetting {
    BudgetTokens(u32),
    Effort(ReasoningEffort),
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseFormat {
    Text,
    Json,
    JsonSchema {
        name: String,
        description: Option<String>,
        /// An object as text.
        schema: String,
        strict: bool,
    },
}

/// Client fields claw does not model, for upstreams of the client's API kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passthrough {
    /// The client's API kind, e.g. "anthropic-messages".
    pub api: String,
    /// Lower-case header names.
    pub headers: Vec<KeyValue>,
    /// Top-level body fields; values are JSON texts.
    pub body: Vec<KeyValue>,
}

/// What the caller asks for, independent of provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prompt {
    pub system: Vec<SystemBlock>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub stop: Vec<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub reasoning: Option<ReasoningSetting>,
    pub response_format: Option<ResponseFormat>,
    pub passthrough: Option<Passthrough>,
    /// The host reads events as they come; a plugin may still answer at once.
    pub streaming: bool,
}

impl Prompt {
    /// A prompt of plain user/assistant messages.
    pub fn of(messages: Vec<Message>) -> Prompt {
        Prompt {
            messages,
            ..Prompt::default()
        }
    }

    fn parts(&self) -> impl Iterator<Item = &ContentPart> {
        self.messages.iter().flat_map(|m| &m.content)
    }

    /// What this prompt needs of a model or a plugin beyond plain text.
    pub fn needs(&self) -> Needs {
        let tool_part =
            |p: &ContentPart| matches!(p, ContentPart::ToolCall(_) | ContentPart::ToolResult(_));
        let image = |p: &ContentPart| match p {
            ContentPart::Image { .. } => true,
            ContentPart::ToolResult(r) => {
                r.content.iter().any(|o| matches!(o, ToolOutput::Image(_)))
            }
            _ => false,
        };
        Needs {
            tools: !self.tools.is_empty() || self.parts().any(tool_part),
            images: self.parts().any(image),
            reasoning_parts: self.parts().any(|p| {
                matches!(
                    p,
                    ContentPart::Reasoning { .. } | ContentPart::RedactedReasoning(_)
                )
            }),
        }
    }
}

/// What a prompt needs of whoever serves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Tool definitions, tool calls or tool results.
    pub tools: bool,
    pub images: bool,
    /// Reasoning blocks to send back.
    pub reasoning_parts: bool,
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
    pub prompt: Prompt,
}

/// Token usage of a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens not read from or written to the cache.
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cache_read_tokens: u32,
    pub cache_write_tokens: u32,
    /// Of `output_tokens`, those spent reasoning.
    pub reasoning_tokens: u32,
}

/// Why a reply ended, normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    Refusal,
    Other,
}

impl StopReason {
    /// The normalized reason for an upstream's own value (Anthropic, OpenAI
    /// and their look-alikes).
    pub fn from_raw(raw: &str) -> StopReason {
        match raw {
            "end_turn" | "stop" | "eos" | "completed" | "pause_turn" => StopReason::EndTurn,
            "max_tokens" | "length" | "model_context_window_exceeded" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "tool_use" | "tool_calls" | "function_call" => StopReason::ToolUse,
            "refusal" | "content_filter" => StopReason::Refusal,
            _ => StopReason::Other,
        }
    }
}

/// The end of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub reason: StopReason,
    /// The upstream's own value.
    pub raw: String,
}

impl Done {
    pub fn new(reason: StopReason, raw: impl Into<String>) -> Done {
        Done {
            reason,
            raw: raw.into(),
        }
    }

    /// Normalized from the upstream's own value.
    pub fn from_raw(raw: impl Into<String>) -> Done {
        let raw = raw.into();
        Done {
            reason: StopReason::from_raw(&raw),
            raw,
        }
    }
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
    Reasoning(String),
    /// Closes the current reasoning block.
    ReasoningSignature(String),
    /// A whole encrypted reasoning block.
    RedactedReasoning(String),
    /// A tool call begins; `index` counts the reply's tool calls from 0.
    ToolCallStart {
        index: u32,
        id: String,
        name: String,
    },
    /// A fragment of the arguments of tool call `index`.
    ToolCallDelta { index: u32, arguments: String },
    /// Tool call `index` is complete.
    ToolCallEnd(u32),
    /// Token usage so far (the latest report wins).
    Usage(Usage),
    /// The reply is complete.
    Done(Done),
}

impl ChatEvent {
    /// Content a client would see: the point after which the router can no
    /// longer switch candidates.
    pub fn is_content(&self) -> bool {
        match self {
            ChatEvent::Text(t) | ChatEvent::Reasoning(t) => !t.is_empty(),
            ChatEvent::RedactedReasoning(_) | ChatEvent::ToolCallStart { .. } => true,
            _ => false,
        }
    }

    /// Bytes of text this event carries (for output caps).
    pub fn text_len(&self) -> usize {
        match self {
            ChatEvent::Text(t)
            | ChatEvent::Reasoning(t)
            | ChatEvent::ReasoningSignature(t)
            | ChatEvent::RedactedReasoning(t)
            | ChatEvent::Started(t) => t.len(),
            ChatEvent::ToolCallStart { id, name, .. } => id.len() + name.len(),
            ChatEvent::ToolCallDelta { arguments, .. } => arguments.len(),
            ChatEvent::Done(d) => d.raw.len(),
            ChatEvent::ToolCallEnd(_) | ChatEvent::Usage(_) => 0,
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
