//! MiniMax's OAuth user-code flow, as pure logic: which endpoint and client, the
//! form fields, reading the replies, the polling schedule, and the credential
//! that results. No host calls, so all of it is unit-tested natively.
//!
//! No message built here contains a token, a code verifier or a refresh token:
//! the replies' secrets are never formatted, and callers redact the values they
//! sent (with the SDK's `PluginErrorExt::redacted`).

use claw_plugin_sdk::prelude::*;
use serde_json::Value;

/// MiniMax's public OAuth client id for the user-code login (the one MiniMax
/// issued for third-party coding tools; it is not a secret). Override it with
/// `clientId` in the plugin config (`plugins.entries.minimax-portal-auth.config`).
pub const DEFAULT_CLIENT_ID: &str = "78257093-7e40-4613-99e0-527b14b39113";

/// The scopes a chat client needs.
pub const SCOPE: &str = "group_id profile model.completion";
/// The grant type of the user-code poll.
pub const USER_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:user_code";
/// How often to poll when the code reply names no interval (milliseconds).
pub const DEFAULT_INTERVAL_MS: u64 = 2_000;
/// The longest wait between two polls, unless the server asks for longer.
pub const MAX_INTERVAL_MS: u64 = 10_000;
/// How long a code lives when the reply does not say (milliseconds).
pub const DEFAULT_CODE_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// The provider id in claw's config and auth store.
pub const PROVIDER: &str = "minimax-portal";
/// This plugin's id (the `plugin` of the provider entry it writes).
pub const PLUGIN_ID: &str = "minimax-portal-auth";
/// The model a login suggests as the default.
pub const DEFAULT_MODEL: &str = "MiniMax-M2.1";
/// What to do when the credential is gone for good.
pub const LOG_IN_AGAIN: &str = "log in again with `claw auth login --provider minimax-portal`";

/// The plugin's settings (`plugins.entries.minimax-portal-auth.config`).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// Replaces the OAuth base URL of every method (tests, self-hosted set-ups).
    pub base_url: Option<String>,
    /// Replaces [`DEFAULT_CLIENT_ID`].
    pub client_id: Option<String>,
}

/// One login method: a MiniMax region.
#[derive(Debug, PartialEq, Eq)]
pub struct Region {
    /// The auth method id.
    pub method: &'static str,
    /// The `region` extra of the credential.
    pub key: &'static str,
    pub label: &'static str,
    /// The API host, shown as the method's hint.
    pub host: &'static str,
    /// The OAuth (and API) base URL.
    pub base: &'static str,
}

pub const REGIONS: [Region; 2] = [
    Region {
        method: "oauth",
        key: "global",
        label: "MiniMax (Global)",
        host: "api.minimax.io",
        base: "https://api.minimax.io",
    },
    Region {
        method: "oauth-cn",
        key: "cn",
        label: "MiniMax (China)",
        host: "api.minimaxi.com",
        base: "https://api.minimaxi.com",
    },
];

/// The region of a method id; an unknown id is a format error naming the known ones.
pub fn region(method: &str) -> Result<&'static Region, PluginError> {
    REGIONS.iter().find(|r| r.method == method).ok_or_else(|| {
        let known: Vec<String> = REGIONS
            .iter()
            .map(|r| format!("\"{}\"", r.method))
            .collect();
        PluginError::new(
            ErrorReason::Format,
            format!(
                "{PROVIDER}: unknown login method \"{method}\"; the methods are {}",
                known.join(", ")
            ),
        )
    })
}

/// The region recorded in a credential's extras (for a refresh whose method
/// id is not one of ours).
pub fn region_from_extra(extra: &[KeyValue]) -> Option<&'static Region> {
    let key = extra.iter().find(|kv| kv.key == "region")?.value.as_str();
    REGIONS.iter().find(|r| r.key == key)
}

/// Where the OAuth calls go, and as which client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The base URL without a trailing '/'.
    pub base: String,
    pub client_id: String,
}

impl Endpoints {
    pub fn new(region: &Region, settings: &Settings) -> Endpoints {
        let non_empty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let base = non_empty(&settings.base_url).unwrap_or_else(|| region.base.to_string());
        Endpoints {
            base: base.trim_end_matches('/').to_string(),
            client_id: non_empty(&settings.client_id)
                .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string()),
        }
    }

    pub fn code_url(&self) -> String {
        format!("{}/oauth/code", self.base)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base)
    }

    /// The form that asks for a user code.
    pub fn code_form(&self, challenge: &str, state: &str) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", self.client_id.clone()),
            ("scope", SCOPE.into()),
            ("code_challenge", challenge.into()),
            ("code_challenge_method", "S256".into()),
            ("state", state.into()),
        ]
    }

    /// The form of one poll for the token.
    pub fn poll_form(&self, user_code: &str, verifier: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", USER_CODE_GRANT.into()),
            ("client_id", self.client_id.clone()),
            ("user_code", user_code.into()),
            ("code_verifier", verifier.into()),
        ]
    }

    /// The form that exchanges a refresh token.
    pub fn refresh_form(&self, refresh_token: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", self.client_id.clone()),
            ("refresh_token", refresh_token.into()),
        ]
    }
}

/// The user code to show and how to poll for its approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeReply {
    pub user_code: String,
    pub verification_uri: String,
    /// When the code expires, epoch milliseconds.
    pub expires_at_ms: u64,
    /// The first wait before polling, milliseconds.
    pub interval_ms: u64,
}

/// Read the `/oauth/code` reply (status 2xx). `sent_state` is the `state` we
/// sent: a reply with any other state is refused.
pub fn parse_code_reply(
    body: &[u8],
    sent_state: &str,
    now_ms: u64,
) -> Result<CodeReply, PluginError> {
    let json = parse_json(body, "login code")?;
    if json["state"].as_str() != Some(sent_state) {
        return Err(PluginError::new(
            ErrorReason::Auth,
            "MiniMax returned a different state; the reply may have been tampered with \
             (possible CSRF). Try again.",
        ));
    }
    let text = |key: &str| {
        json[key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (Some(user_code), Some(verification_uri)) = (text("user_code"), text("verification_uri"))
    else {
        return Err(PluginError::new(
            ErrorReason::Format,
            "MiniMax's login code reply is incomplete (no user_code or verification_uri)",
        ));
    };
    let expires_at_ms = number(&json["expired_in"]).unwrap_or(now_ms + DEFAULT_CODE_LIFETIME_MS);
    let interval_ms = number(&json["interval"])
        .filter(|&ms| ms > 0)
        .unwrap_or(DEFAULT_INTERVAL_MS);
    Ok(CodeReply {
        user_code,
        verification_uri,
        expires_at_ms,
        interval_ms,
    })
}

/// Tokens from a successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    /// Epoch milliseconds.
    pub expires_at_ms: u64,
    pub resource_url: Option<String>,
}

/// What one poll of the token endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Not approved yet: poll again.
    Pending,
    Success(Tokens),
    /// The login was refused; the message says why (no secret in it).
    Denied(String),
}

/// Read a poll's reply. Non-2xx statuses are errors: 400/401/403 are the
/// server refusing this login (`Auth`), others are classified by status.
pub fn parse_poll_reply(
    status: u16,
    body: &[u8],
    retry_after_ms: Option<u64>,
) -> Result<Poll, PluginError> {
    if !(200..300).contains(&status) {
        return Err(refused(status, body, retry_after_ms, |why| {
            format!("MiniMax refused the login ({why}); run the login again")
        }));
    }
    let json = parse_json(body, "token")?;
    match json["status"].as_str() {
        Some("success") => {
            let token = |key: &str| {
                json[key]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            match (
                token("access_token"),
                token("refresh_token"),
                number(&json["expired_in"]),
            ) {
                (Some(access), Some(refresh), Some(expires_at_ms)) => Ok(Poll::Success(Tokens {
                    access,
                    refresh,
                    expires_at_ms,
                    resource_url: json["resource_url"]
                        .as_str()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                })),
                _ => Err(PluginError::new(
                    ErrorReason::Format,
                    "MiniMax's token reply is incomplete (no access_token, refresh_token or expired_in)",
                )),
            }
        }
        Some("error") => Ok(Poll::Denied(
            status_msg(&json).unwrap_or_else(|| "the login was denied".into()),
        )),
        _ => Ok(Poll::Pending),
    }
}

/// Read a refresh reply into the new credential. The new refresh token
/// replaces the old one only when the reply has one, so a rotation never loses
/// it; the extras carry over.
pub fn parse_refresh_reply(
    status: u16,
    body: &[u8],
    retry_after_ms: Option<u64>,
    old: &Credential,
) -> Result<Credential, PluginError> {
    let rejected = |why: &str| {
        let mut e = PluginError::new(
            ErrorReason::Auth,
            format!("MiniMax rejected the refresh token ({why}); {LOG_IN_AGAIN}"),
        );
        e.status = Some(status);
        e
    };
    if !(200..300).contains(&status) {
        return Err(refused(status, body, retry_after_ms, |why| {
            format!("MiniMax rejected the refresh token ({why}); {LOG_IN_AGAIN}")
        }));
    }
    let json = parse_json(body, "token refresh")?;
    if json["status"].as_str() != Some("success") {
        let why = status_msg(&json).unwrap_or_else(|| match json["status"].as_str() {
            Some(s) => format!("status \"{}\"", preview(s)),
            None => "no status in the reply".into(),
        });
        return Err(rejected(&why));
    }
    let token = |key: &str| {
        json[key]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let Some(access) = token("access_token") else {
        return Err(PluginError::new(
            ErrorReason::Format,
            "MiniMax's token refresh reply has no access_token",
        ));
    };
    Ok(Credential {
        kind: MethodKind::Oauth,
        access,
        refresh: token("refresh_token").or_else(|| old.refresh.clone()),
        expires_at_ms: number(&json["expired_in"]),
        extra: old.extra.clone(),
    })
}

/// A non-2xx reply of the token endpoint: 400/401/403 are an `Auth` error
/// worded by `message` (with MiniMax's reason); other statuses are classified
/// (rate limits, outages: trying again later may work).
fn refused(
    status: u16,
    body: &[u8],
    retry_after_ms: Option<u64>,
    message: impl Fn(&str) -> String,
) -> PluginError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let why = status_msg(&json).unwrap_or_else(|| format!("HTTP {status}"));
    if matches!(status, 400 | 401 | 403) {
        let mut e = PluginError::new(ErrorReason::Auth, message(&why));
        e.status = Some(status);
        return e;
    }
    let mut e = PluginError::from_status(status, &String::from_utf8_lossy(body), retry_after_ms);
    e.message = format!("MiniMax OAuth: {}", e.message);
    e
}

/// The reason MiniMax gives in `base_resp.status_msg`, shortened.
fn status_msg(json: &Value) -> Option<String> {
    json["base_resp"]["status_msg"]
        .as_str()
        .map(preview)
        .filter(|s| !s.is_empty())
}

fn parse_json(body: &[u8], what: &str) -> Result<Value, PluginError> {
    // serde's message is left out: it can quote the body, which may hold a token.
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            PluginError::new(
                ErrorReason::Format,
                format!("MiniMax's {what} reply is not a JSON object"),
            )
        })
}

/// A non-negative integer, also when sent as a float or a string.
fn number(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })
        .or_else(|| value.as_str()?.trim().parse().ok())
}

fn preview(text: &str) -> String {
    let short: String = text.trim().chars().take(200).collect();
    short.trim_end().to_string()
}

/// The polling schedule: the first wait is the server's interval, each next
/// one 1.5 times longer, up to [`MAX_INTERVAL_MS`] (or the interval, if the
/// server asked for more); no wait runs past the code's expiry.
#[derive(Debug, Clone)]
pub struct Backoff {
    next_ms: u64,
    cap_ms: u64,
}

impl Backoff {
    pub fn new(interval_ms: u64) -> Backoff {
        Backoff {
            next_ms: interval_ms,
            cap_ms: MAX_INTERVAL_MS.max(interval_ms),
        }
    }

    /// How long to wait before the next poll, or `None` once the code has expired.
    pub fn next_wait(&mut self, now_ms: u64, expires_at_ms: u64) -> Option<u64> {
        if now_ms >= expires_at_ms {
            return None;
        }
        let wait = self.next_ms.min(expires_at_ms - now_ms);
        self.next_ms = (self.next_ms.saturating_mul(3) / 2).min(self.cap_ms);
        Some(wait)
    }
}

/// The error when the code expires before the user approved it.
pub fn expired() -> PluginError {
    PluginError::new(
        ErrorReason::Timeout,
        "the code expired before the login was approved; run the login again",
    )
}

/// The error when a refresh is asked for a credential without a refresh token.
pub fn no_refresh_token() -> PluginError {
    PluginError::new(
        ErrorReason::Auth,
        format!("no refresh token; {LOG_IN_AGAIN}"),
    )
}

/// The provider's API base URL: the token reply's `resource_url` with
/// `/anthropic` appended (unless it already ends with it), else the OAuth
/// base's `/anthropic`.
pub fn provider_base_url(resource_url: Option<&str>, oauth_base: &str) -> String {
    let base = resource_url
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(oauth_base)
        .trim_end_matches('/');
    if base.ends_with("/anthropic") {
        base.to_string()
    } else {
        format!("{base}/anthropic")
    }
}

/// The credential a login stores.
pub fn login_credential(tokens: Tokens, region: &Region, provider_base_url: &str) -> Credential {
    let kv = |key: &str, value: &str| KeyValue {
        key: key.into(),
        value: value.into(),
    };
    let mut extra = vec![kv("region", region.key)];
    if let Some(url) = &tokens.resource_url {
        extra.push(kv("resourceUrl", url));
    }
    extra.push(kv("baseUrl", provider_base_url));
    Credential {
        kind: MethodKind::Oauth,
        access: tokens.access,
        refresh: Some(tokens.refresh),
        expires_at_ms: Some(tokens.expires_at_ms),
        extra,
    }
}

/// The JSON object a login merges into claw.json: the provider with its
/// models, the suggested default model and the aliases.
pub fn config_patch(provider_base_url: &str) -> Value {
    let mut aliases = serde_json::Map::new();
    for id in ["MiniMax-M2.1", "MiniMax-M2.1-lightning"] {
        aliases.insert(
            format!("{PROVIDER}/{id}"),
            serde_json::json!({ "alias": id.to_ascii_lowercase() }),
        );
    }
    serde_json::json!({
        "models": { "providers": { PROVIDER: {
            "baseUrl": provider_base_url,
            "api": anthropic_wire::API,
            "plugin": PLUGIN_ID,
            "models": crate::catalog::config_models(),
        }}},
        "agents": { "defaults": {
            "model": { "primary": format!("{PROVIDER}/{DEFAULT_MODEL}") },
            "models": aliases,
        }},
    })
}

/// What a login tells the user afterwards.
pub fn login_notes(region: &Region) -> Vec<String> {
    vec![
        format!("Logged in to {}.", region.label),
        format!("Default model suggestion: {PROVIDER}/{DEFAULT_MODEL}"),
    ]
}

#[cfg(test)]
mod tests;
