//! Constructors for classified errors, so a plugin says *why* a call failed.

use crate::types::{ErrorReason, PluginError};

/// Convenience constructors and classification for [`PluginError`].
pub trait PluginErrorExt: Sized {
    fn new(reason: ErrorReason, message: impl Into<String>) -> Self;
    /// Classify an upstream HTTP failure from its status and body text.
    fn from_status(status: u16, body: &str, retry_after_ms: Option<u64>) -> Self;
    /// The message prefixed `"{api}: "`, so an error from elsewhere (the HTTP
    /// client, the SSE parser) says which API it concerns. A message that
    /// already starts with `api` is left alone, so prefixing twice is harmless.
    fn prefixed(self, api: &str) -> Self;
    /// The message with every secret replaced by `[redacted]` (see [`redact`]):
    /// upstreams sometimes echo the credential they were sent, and messages
    /// reach logs and users. Empty secrets are skipped.
    fn redacted<S: AsRef<str>>(self, secrets: impl IntoIterator<Item = S>) -> Self;
}

impl PluginErrorExt for PluginError {
    fn new(reason: ErrorReason, message: impl Into<String>) -> Self {
        PluginError {
            reason,
            message: message.into(),
            status: None,
            retry_after_ms: None,
        }
    }

    fn from_status(status: u16, body: &str, retry_after_ms: Option<u64>) -> Self {
        let reason = classify_status(status, body);
        let preview: String = body.chars().take(300).collect();
        PluginError {
            reason,
            message: format!("upstream returned HTTP {status}: {}", preview.trim()),
            status: Some(status),
            retry_after_ms,
        }
    }

    fn prefixed(mut self, api: &str) -> Self {
        if !self.message.starts_with(api) {
            self.message = format!("{api}: {}", self.message);
        }
        self
    }

    fn redacted<S: AsRef<str>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.message = redact(&self.message, secrets);
        self
    }
}

/// `text` with each secret replaced by `[redacted]`, in order; empty secrets
/// are skipped (replacing "" would insert the marker everywhere). `secrets`
/// may be an `Option<&str>`, an array or a slice.
pub fn redact<S: AsRef<str>>(text: &str, secrets: impl IntoIterator<Item = S>) -> String {
    secrets
        .into_iter()
        .fold(text.to_string(), |text, secret| match secret.as_ref() {
            "" => text,
            secret => text.replace(secret, "[redacted]"),
        })
}

/// The failover reason for an upstream HTTP status and error body.
pub fn classify_status(status: u16, body: &str) -> ErrorReason {
    let lower = body.to_ascii_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    match status {
        401 | 403 => ErrorReason::Auth,
        402 => ErrorReason::Billing,
        404 if mentions(&["model"]) => ErrorReason::ModelNotFound,
        408 | 504 => ErrorReason::Timeout,
        429 if mentions(&["quota", "balance", "billing", "credit"]) => ErrorReason::Billing,
        429 => ErrorReason::RateLimit,
        529 => ErrorReason::Overloaded,
        503 if mentions(&["overload"]) => ErrorReason::Overloaded,
        400 | 422
            if mentions(&["model"])
                && mentions(&["not found", "not exist", "unknown", "invalid model"]) =>
        {
            ErrorReason::ModelNotFound
        }
        400 | 422 if mentions(&["insufficient balance", "billing", "credit"]) => {
            ErrorReason::Billing
        }
        400 | 413 | 415 | 422 => ErrorReason::Format,
        500..=599 if mentions(&["overload"]) => ErrorReason::Overloaded,
        _ => ErrorReason::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_failover_reasons() {
        assert_eq!(classify_status(401, ""), ErrorReason::Auth);
        assert_eq!(classify_status(403, "forbidden"), ErrorReason::Auth);
        assert_eq!(classify_status(402, ""), ErrorReason::Billing);
        assert_eq!(classify_status(429, "slow down"), ErrorReason::RateLimit);
        assert_eq!(
            classify_status(429, "You exceeded your current quota"),
            ErrorReason::Billing
        );
        assert_eq!(
            classify_status(529, r#"{"type":"overloaded_error"}"#),
            ErrorReason::Overloaded
        );
        assert_eq!(
            classify_status(404, "model not found"),
            ErrorReason::ModelNotFound
        );
        assert_eq!(classify_status(400, "bad json"), ErrorReason::Format);
        assert_eq!(classify_status(500, "boom"), ErrorReason::Unknown);
    }

    #[test]
    fn secrets_are_redacted_in_order_and_empty_ones_skipped() {
        let e = PluginError::new(ErrorReason::Auth, "bad verifier abc123, token tok");
        let e = e.redacted(["abc123", "", "tok"]);
        assert_eq!(
            e.message,
            "bad verifier [redacted], [redacted]en [redacted]"
        );
        assert_eq!(redact("plain", ["x"]), "plain");
        assert_eq!(redact("key k", None::<&str>), "key k");
        assert_eq!(redact("key k", Some("")), "key k");
        let secret = String::from("k");
        assert_eq!(
            redact("key k", Some(secret.as_str())),
            "[redacted]ey [redacted]"
        );
    }

    #[test]
    fn prefixing_is_idempotent() {
        let e = PluginError::new(ErrorReason::Network, "request to x failed");
        let e = e.prefixed("my-api");
        assert_eq!(e.message, "my-api: request to x failed");
        assert_eq!(e.clone().prefixed("my-api").message, e.message);
    }
}
