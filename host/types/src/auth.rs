//! Logins and credentials. `Debug` never shows a secret.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chat::KeyValue;

/// How a credential was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    ApiKey,
    Token,
    Oauth,
}

impl MethodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::ApiKey => "api_key",
            MethodKind::Token => "token",
            MethodKind::Oauth => "oauth",
        }
    }
}

/// One way an auth plugin can log a user in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthMethod {
    /// Stable id, e.g. "oauth" or "oauth-cn".
    pub id: String,
    pub label: String,
    pub kind: MethodKind,
    /// A short hint shown next to the label.
    pub hint: Option<String>,
}

/// The provider an auth plugin logs into, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthInfo {
    pub provider: String,
    pub methods: Vec<AuthMethod>,
}

/// A credential a login produced or a refresh renewed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub kind: MethodKind,
    /// The access token or API key.
    pub access: String,
    pub refresh: Option<String>,
    /// Absolute expiry, epoch milliseconds.
    pub expires_at_ms: Option<u64>,
    /// Non-secret extras the provider needs (e.g. resource URL, region).
    pub extra: Vec<KeyValue>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

/// What a successful login returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResult {
    /// Profile name under the provider, e.g. "default".
    pub profile: String,
    pub credential: Credential,
    /// A JSON object to merge into claw.json (providers, aliases, ...).
    pub config_patch: Option<String>,
    /// Text shown to the user after login.
    pub notes: Vec<String>,
}
