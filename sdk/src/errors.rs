//! Constructors for classified errors, so a plugin says *why* a call failed.

use crate::types::{ErrorReason, PluginError};

/// Convenience constructors and classification for [`PluginError`].
pub trait PluginErrorExt: Sized {
    fn new(reason: ErrorReason, message: impl Into<String>) -> Self;
    /// Classify an upstream HTTP failure from its status and body text.
    fn from_status(status: u16, body: &str, retry_after_ms: Option<u64>) -> Self;
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
}
