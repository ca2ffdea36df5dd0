//! Why an attempt failed, and every decision that hangs on it, in one table:
//! whether it cools the candidate down (and the whole provider), how a request
//! that failed everywhere for it answers the client, and how a probe shows it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The upstream (or the plugin's request to it) took too long.
    Timeout,
    /// The upstream refused the credential (401/403).
    Auth,
    /// Too many requests (429).
    RateLimit,
    /// Out of credit or quota.
    Billing,
    /// The upstream is overloaded (529, 503).
    Overloaded,
    /// The request or the reply was malformed.
    Format,
    /// The upstream does not know the model.
    ModelNotFound,
    /// The upstream could not be reached (DNS, connect, reset, denied host).
    Network,
    /// The upstream answered without content.
    EmptyResponse,
    Unknown,
    /// The plugin crashed (trap or panic).
    PluginTrap,
    /// The plugin did not return within its call deadline.
    PluginTimeout,
    /// The plugin went over its memory limit.
    PluginMemory,
    /// The plugin returned more than its output limit.
    PluginOutput,
    /// Skipped: the candidate is cooling down after recent failures.
    Cooldown,
    /// The candidate cannot carry this request (tools on a model or plugin
    /// without them, an image for a text-only model, ...): skipped, not cooled.
    Unsupported,
}

/// How a request whose candidates all failed for one reason answers the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    /// 429: the client should back off.
    RateLimit,
    /// 503/529: the client should retry later.
    Overloaded,
    /// 504.
    Timeout,
    /// 502, with a note that the upstream refused claw's credentials, not the client's.
    UpstreamAuth,
    /// 400: no candidate can take the request as it is; the client must change it.
    BadRequest,
    /// 502.
    Other,
}

/// Everything decided by a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traits {
    /// As in `--json`, logs and `agents.defaults.failover.stopOn`.
    pub name: &'static str,
    /// "This candidate will fail again soon": cool it down.
    pub cools_down: bool,
    /// About the account rather than the model: cool the whole provider.
    pub provider_wide: bool,
    pub client: ClientClass,
    /// The status `claw models status --probe` shows (plugin faults fold into
    /// the nearest upstream reason).
    pub probe: &'static str,
}

const fn row(
    name: &'static str,
    cools_down: bool,
    provider_wide: bool,
    client: ClientClass,
    probe: &'static str,
) -> Traits {
    Traits {
        name,
        cools_down,
        provider_wide,
        client,
        probe,
    }
}

impl Reason {
    /// The table. Every decision about a reason is read from here.
    pub const fn traits(self) -> Traits {
        use ClientClass as C;
        const COOL: bool = true;
        const KEEP: bool = false;
        const PROVIDER: bool = true;
        const MODEL: bool = false;
        match self {
            Reason::Timeout => row("timeout", COOL, MODEL, C::Timeout, "timeout"),
            Reason::Auth => row("auth", COOL, PROVIDER, C::UpstreamAuth, "auth"),
            Reason::RateLimit => row("rate_limit", COOL, MODEL, C::RateLimit, "rate_limit"),
            Reason::Billing => row("billing", COOL, PROVIDER, C::Other, "billing"),
            Reason::Overloaded => row("overloaded", COOL, MODEL, C::Overloaded, "overloaded"),
            Reason::Format => row("format", KEEP, MODEL, C::Other, "format"),
            Reason::ModelNotFound => {
                row("model_not_found", KEEP, MODEL, C::Other, "model_not_found")
            }
            Reason::Network => row("network", KEEP, MODEL, C::Other, "network"),
            Reason::EmptyResponse => row("empty_response", KEEP, MODEL, C::Other, "empty_response"),
            Reason::Unknown => row("unknown", KEEP, MODEL, C::Other, "unknown"),
            Reason::PluginTrap => row("plugin_trap", COOL, MODEL, C::Other, "unknown"),
            Reason::PluginTimeout => row("plugin_timeout", COOL, MODEL, C::Timeout, "timeout"),
            Reason::PluginMemory => row("plugin_memory", COOL, MODEL, C::Other, "unknown"),
            Reason::PluginOutput => row("plugin_output", COOL, MODEL, C::Other, "unknown"),
            Reason::Cooldown => row("cooldown", KEEP, MODEL, C::Other, "unknown"),
            Reason::Unsupported => row("unsupported", KEEP, MODEL, C::BadRequest, "unsupported"),
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.traits().name
    }
}

/// A failure a plugin classified itself. `message` is shown to users and
/// logged: it never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub reason: Reason,
    pub message: String,
    /// The upstream HTTP status, when there was one.
    pub status: Option<u16>,
    /// How long the upstream asked to wait (Retry-After), in milliseconds.
    pub retry_after_ms: Option<u64>,
}

/// A failed attempt (or start of one), classified, as the router sees it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: Reason,
    pub status: Option<u16>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Failure {
        Failure {
            reason,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for r in [
            Reason::RateLimit,
            Reason::PluginTimeout,
            Reason::ModelNotFound,
        ] {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, r.as_str());
            assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), r);
        }
    }

    #[test]
    fn account_failures_cool_the_provider_and_format_cools_nothing() {
        assert!(Reason::Auth.traits().provider_wide && Reason::Billing.traits().provider_wide);
        assert!(!Reason::Format.traits().cools_down);
        assert_eq!(Reason::PluginTimeout.traits().probe, "timeout");
    }
}
