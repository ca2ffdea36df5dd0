//! Who is calling and what they may do. The owner's token (the gateway token
//! of before) carries every scope; a paired device's token carries its own
//! (`claw_core::devices`). Each route names the one scope it needs, in one
//! table below; a device is also held to its limits (requests a minute,
//! concurrent streams, tokens a day).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ApiError;
use claw_core::devices::{DeviceAuth, Limits, Scope};

/// The caller a token authenticated.
#[derive(Clone)]
pub(crate) enum Caller {
    Owner,
    Device(Arc<DeviceAuth>),
}

impl Caller {
    pub(crate) fn has(&self, scope: Scope) -> bool {
        match self {
            Caller::Owner => true,
            Caller::Device(d) => d.scopes.contains(&scope),
        }
    }

    /// For logs: `owner` or the device id.
    pub(crate) fn id(&self) -> &str {
        match self {
            Caller::Owner => "owner",
            Caller::Device(d) => &d.device_id,
        }
    }

    pub(crate) fn device(&self) -> Option<&DeviceAuth> {
        match self {
            Caller::Owner => None,
            Caller::Device(d) => Some(d),
        }
    }
}

/// The scope a route needs; `None` for the routes anyone may call (`/health`,
/// and pairing, which a client does before it has a token).
pub(crate) fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    let admin = path.strip_prefix("/admin/");
    let read = *method == Method::GET;
    match admin {
        None if path == "/health" || path == "/pair" || path.starts_with("/pair/") => None,
        None if path == "/metrics" => Some(Scope::OperatorRead),
        None => Some(Scope::Inference),
        Some("infer") => Some(Scope::Inference),
        Some(p) if p == "devices" || p.starts_with("devices/") => {
            let action = p.rsplit('/').next().unwrap_or_default();
            Some(match action {
                "revoke" | "rotate" => Scope::OperatorAdmin,
                _ => Scope::OperatorPairing,
            })
        }
        Some(p) if p.ends_with("/trust") || p.ends_with("/untrust") => Some(Scope::OperatorAdmin),
        Some(_) if read => Some(Scope::OperatorRead),
        Some(_) => Some(Scope::OperatorWrite),
    }
}

/// 401: no token, or one that is not the owner's or a paired device's.
pub(crate) fn unauthenticated() -> ApiError {
    ApiError::new(
        401,
        "authentication_error",
        "missing or wrong gateway token: send `Authorization: Bearer <token>` (or `x-api-key: <token>` to /v1/messages); \
         the owner's token is in $CLAW_STATE_DIR/gateway/token, gateway.auth.token or CLAW_GATEWAY_TOKEN, \
         and a device gets its own by pairing (POST /pair, approved with `claw devices approve <id>`)",
    )
}

/// 403: the token is good but lacks the scope the route needs.
pub(crate) fn forbidden(caller: &Caller, scope: Scope, method: &Method, path: &str) -> ApiError {
    ApiError::new(
        403,
        "permission_error",
        format!(
            "device \"{}\" lacks the `{}` scope that {method} {path} needs ({}); ask for it with POST /pair \
             (deviceId, name, scopes), sent with this token, and the owner approves it with `claw devices approve <requestId>`",
            caller.id(),
            scope.as_str(),
            scope.describe()
        ),
    )
}

/// `gateway.clients` in claw.json: limits for every device, and per device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientsSection {
    pub defaults: Limits,
    pub devices: BTreeMap<String, Limits>,
}

impl ClientsSection {
    /// A device's limits: `own` (set on the device), then its entry here,
    /// then the defaults, field by field.
    fn limits(&self, device: &str, own: Limits) -> Limits {
        let entry = self.devices.get(device).copied().unwrap_or_default();
        own.or(entry.or(self.defaults))
    }
}

/// What one device has used: its requests of the last minute, its open
/// streams, its tokens today. Kept in memory by the gateway.
#[derive(Default)]
struct Usage {
    recent: VecDeque<Instant>,
    streams: u32,
    day: u64,
    tokens_today: u64,
}

/// Every device's use, against its limits. Entries exist only for devices
/// that authenticated, so the map is as bounded as the paired devices are.
#[derive(Default)]
pub(crate) struct Clients {
    config: ClientsSection,
    usage: Mutex<HashMap<String, Usage>>,
}

const MINUTE: Duration = Duration::from_secs(60);

fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

/// Seconds until the next UTC midnight.
fn until_tomorrow() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    86_400 - now % 86_400
}

/// Held while a device's request runs; a stream gives its slot back on drop.
pub(crate) struct Admission {
    clients: Arc<Clients>,
    device: String,
    stream: bool,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Admission({})", self.device)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.stream
            && let Some(u) = self.clients.lock().get_mut(&self.device)
        {
            u.streams = u.streams.saturating_sub(1);
        }
    }
}

impl Admission {
    /// Count a finished request's tokens toward the device's day.
    pub(crate) fn tokens(&self, n: u64) {
        if let Some(u) = self.clients.lock().get_mut(&self.device) {
            let day = today();
            if u.day != day {
                (u.day, u.tokens_today) = (day, 0);
            }
            u.tokens_today = u.tokens_today.saturating_add(n);
        }
    }
}

/// Over a limit: the status, the message and the seconds to wait.
#[derive(Debug)]
pub(crate) struct OverLimit {
    pub error: ApiError,
    pub retry_after: u64,
}

impl Clients {
    pub(crate) fn new(config: ClientsSection) -> Clients {
        Clients {
            config,
            usage: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Usage>> {
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admit a request of `caller` (the owner is never limited), or say which
    /// limit it is over and when to come back.
    pub(crate) fn admit(
        self: &Arc<Self>,
        caller: &Caller,
        stream: bool,
    ) -> Result<Option<Admission>, OverLimit> {
        let Some(device) = caller.device() else {
            return Ok(None);
        };
        let limits = self.config.limits(&device.device_id, device.limits);
        let mut all = self.lock();
        let u = all.entry(device.device_id.clone()).or_default();
        let now = Instant::now();
        while u
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            u.recent.pop_front();
        }
        let over = |what: String, retry_after: u64| OverLimit {
            error: ApiError::new(
                429,
                "rate_limit_error",
                format!(
                    "device \"{}\" is over its limit of {what} (gateway.clients in claw.json); retry in {retry_after} s",
                    device.device_id
                ),
            ),
            retry_after,
        };
        if let Some(max) = limits.requests_per_minute
            && u.recent.len() >= max as usize
        {
            let oldest = u.recent.front().copied().unwrap_or(now);
            let wait = MINUTE
                .saturating_sub(now.duration_since(oldest))
                .as_secs()
                .max(1);
            return Err(over(format!("{max} requests a minute"), wait));
        }
        if u.day != today() {
            (u.day, u.tokens_today) = (today(), 0);
        }
        if let Some(max) = limits.tokens_per_day
            && u.tokens_today >= max
        {
            return Err(over(format!("{max} tokens a day"), until_tomorrow()));
        }
        if stream
            && let Some(max) = limits.concurrent_streams
            && u.streams >= max
        {
            return Err(over(format!("{max} concurrent streams"), 1));
        }
        // Bounded: at most the limit's worth of instants is kept.
        if limits.requests_per_minute.is_some() {
            u.recent.push_back(now);
        }
        if stream {
            u.streams += 1;
        }
        Ok(Some(Admission {
            clients: self.clone(),
            device: device.device_id.clone(),
            stream,
        }))
    }

    /// A device's use and limits, for `claw devices list`.
    pub(crate) fn usage_json(&self, device: &str, own: Limits) -> Value {
        let limits = self.config.limits(device, own);
        let now = Instant::now();
        let all = self.lock();
        let u = all.get(device);
        let last_minute = u.map_or(0, |u| {
            u.recent
                .iter()
                .filter(|t| now.duration_since(**t) < MINUTE)
                .count()
        });
        let tokens = u.filter(|u| u.day == today()).map_or(0, |u| u.tokens_today);
        json!({
            "requestsLastMinute": last_minute,
            "streams": u.map_or(0, |u| u.streams),
            "tokensToday": tokens,
            "limits": limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_names_its_scope() {
        let scope = |m: Method, p: &str| required_scope(&m, p).map(Scope::as_str);
        assert_eq!(scope(Method::GET, "/health"), None);
        assert_eq!(scope(Method::POST, "/pair"), None);
        assert_eq!(scope(Method::GET, "/pair/abc"), None);
        assert_eq!(
            scope(Method::POST, "/v1/chat/completions"),
            Some("inference")
        );
        assert_eq!(scope(Method::GET, "/v1/models"), Some("inference"));
        assert_eq!(scope(Method::POST, "/admin/infer"), Some("inference"));
        assert_eq!(scope(Method::GET, "/admin/status"), Some("operator.read"));
        assert_eq!(
            scope(Method::GET, "/admin/plugins/echo"),
            Some("operator.read")
        );
        assert_eq!(scope(Method::POST, "/admin/reload"), Some("operator.write"));
        assert_eq!(
            scope(Method::POST, "/admin/plugins/echo/disable"),
            Some("operator.write")
        );
        assert_eq!(
            scope(Method::POST, "/admin/plugins/x/trust"),
            Some("operator.admin")
        );
        assert_eq!(
            scope(Method::GET, "/admin/devices"),
            Some("operator.pairing")
        );
        assert_eq!(
            scope(Method::POST, "/admin/devices/r1/approve"),
            Some("operator.pairing")
        );
        assert_eq!(
            scope(Method::POST, "/admin/devices/d1/revoke"),
            Some("operator.admin")
        );
        assert_eq!(
            scope(Method::POST, "/admin/devices/d1/rotate"),
            Some("operator.admin")
        );
    }

    fn device(id: &str) -> Caller {
        Caller::Device(Arc::new(DeviceAuth {
            device_id: id.into(),
            name: id.into(),
            scopes: vec![Scope::Inference],
            limits: Limits::default(),
        }))
    }

    #[test]
    fn limits_hold_per_device_and_the_owner_has_none() {
        let mut config = ClientsSection::default();
        config.defaults.concurrent_streams = Some(1);
        config.devices.insert(
            "a".into(),
            Limits {
                requests_per_minute: Some(2),
                tokens_per_day: Some(100),
                ..Limits::default()
            },
        );
        let clients = Arc::new(Clients::new(config));
        let a = device("a");
        assert!(clients.admit(&a, false).is_ok());
        let second = clients.admit(&a, false).unwrap().unwrap();
        let over = clients.admit(&a, false).err().unwrap();
        assert_eq!(over.error.status, 429);
        assert!((1..=60).contains(&over.retry_after));
        // Another device is not held to a's limits; the owner to none.
        assert!(clients.admit(&device("b"), false).is_ok());
        for _ in 0..10 {
            assert!(clients.admit(&Caller::Owner, true).unwrap().is_none());
        }
        // Streams: one at a time by default, given back when it ends.
        let b = device("b");
        let stream = clients.admit(&b, true).unwrap();
        assert!(clients.admit(&b, true).is_err());
        drop(stream);
        assert!(clients.admit(&b, true).is_ok());
        // Tokens a day.
        second.tokens(150);
        let usage = clients.usage_json("a", Limits::default());
        assert_eq!(usage["tokensToday"], 150);
        assert_eq!(usage["limits"]["requestsPerMinute"], 2);
    }
}
