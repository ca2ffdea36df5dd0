//! claw's own domain types: what a request, a reply, a model, a credential and a
//! failure are, independent of any SDK version or wire format. The plugin host
//! converts each supported WIT version to and from these; everything above it
//! (router, gateway, CLI) speaks only these. Nothing here knows wasmtime or WIT.

mod auth;
mod chat;
pub mod fs;
pub mod json;
mod model;
mod reason;
pub mod telemetry;
pub mod text;

pub use auth::{AuthInfo, AuthMethod, Credential, LoginResult, MethodKind};
pub use chat::{
    CacheHint, ChatEvent, ChatRequest, ContentPart, Done, Endpoint, ImageSource, KeyValue, Message,
    Needs, Passthrough, Prompt, ReasoningEffort, ReasoningSetting, RequestCredential,
    ResponseFormat, Role, StopReason, SystemBlock, Tool, ToolCall, ToolChoice, ToolOutput,
    ToolResult, Usage,
};
pub use model::{InputKind, ModelCost, ModelInfo, ModelRef, ProviderInfo};
pub use reason::{ClientClass, Failure, PluginError, Reason, Traits};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
