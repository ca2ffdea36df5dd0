//! The gateway: an HTTP server on loopback that speaks the OpenAI and Anthropic
//! wire formats, routes every request through the router, and reloads plugins
//! and config in place.
//!
//! `openai` and `anthropic` translate between each API's JSON/SSE and the
//! router's plain types; they hold no I/O, so every shape is unit-tested.

pub mod anthropic;
pub mod openai;

use crate::router::Prompt;

/// A model request parsed from either API.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The model as the client named it (a ref or an alias), echoed back.
    pub model: String,
    pub prompt: Prompt,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
}

/// An error to send back in the API's own error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The API's error type, e.g. `invalid_request_error`, `authentication_error`.
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, kind, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request_error", message)
    }
}
