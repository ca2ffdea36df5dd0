//! Paired devices: each client gets its own token carrying only the scopes the
//! owner approved, and its own limits.
//!
//! A client asks (`request`, behind `POST /pair`), the owner decides
//! (`approve`, `reject`, later `revoke` or `rotate`), the client polls its
//! request (`poll`, behind `GET /pair/<id>`) and receives its token once. The
//! gateway checks each presented token with `authenticate`.
//!
//! Everything lives in `$CLAW_STATE_DIR/devices/devices.json` (0600 in a 0700
//! folder). Every change is a read-modify-write under a cross-process lock
//! (`devices.lock`), saved atomically, so the CLI and the gateway can both
//! change it and a kill -9 at any point leaves the old file or the new one.
//! Tokens are stored only as SHA-256 hashes, except a newly issued one, kept
//! until the client's first successful poll hands it over.
//!
//! The request id is stable: one pending request per device, and asking again
//! while it is pending returns the same id (asking for other scopes widens it
//! to the union). An id is only ever removed by a decision, a revoke, or a day
//! without anyone asking, so `approve <id>` after `list` finds it.

mod auth;
mod cache;
mod file;
mod limits;
mod scope;
mod store;
mod token;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use auth::LAST_SEEN_EVERY_MS;
pub use file::{DECIDED_TTL_MS, PENDING_TTL_MS};
pub use limits::Limits;
pub use scope::Scope;
pub use store::{DeviceStore, MAX_PENDING, OLD_TOKEN_GRACE_MS};
pub use token::TOKEN_PREFIX;

/// What `request` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairTicket {
    /// The pending request's id. For [`PairStatus::AlreadyPaired`], the id of
    /// the device's latest approved request while it is remembered (a day;
    /// polling it may still hand over an undelivered token), else empty.
    pub request_id: String,
    pub status: PairStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairStatus {
    /// Waiting for the owner.
    Pending,
    /// The device already has every scope it asked for: nothing to approve.
    AlreadyPaired,
}

impl PairStatus {
    /// `pending` or `approved`, as the API says it.
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Pending => "pending",
            PairStatus::AlreadyPaired => "approved",
        }
    }
}

/// What `poll` answered. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub enum PollStatus {
    Pending,
    /// `token` is the device's new token the first time after approval, and
    /// `None` afterwards; `scopes` are all the device's scopes.
    Approved {
        token: Option<String>,
        scopes: Vec<Scope>,
    },
    Rejected,
}

impl fmt::Debug for PollStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollStatus::Pending => f.write_str("Pending"),
            PollStatus::Rejected => f.write_str("Rejected"),
            PollStatus::Approved { token, scopes } => f
                .debug_struct("Approved")
                .field("token", &token.as_ref().map(|_| "<hidden>"))
                .field("scopes", scopes)
                .finish(),
        }
    }
}

/// What an owner's decision did, for the log line and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The request decided (`None` for `revoke` and `rotate`).
    pub request_id: Option<String>,
    pub device_id: String,
    pub name: String,
    /// `approve`: all the device's scopes now; `reject`: the scopes it asked
    /// for; `revoke` and `rotate`: the scopes it had.
    pub scopes: Vec<Scope>,
}

/// The device a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuth {
    pub device_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The device's own limits; unset fields mean "the defaults" (see [`Limits::or`]).
    pub limits: Limits,
}

/// Everything, for `claw devices list`. Never a token or a hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    /// Oldest first.
    pub pending: Vec<PendingRow>,
    /// By device id.
    pub paired: Vec<PairedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRow {
    pub request_id: String,
    pub device_id: String,
    pub name: String,
    /// What it asks for (for an upgrade, what approving adds to `current_scopes`).
    pub scopes: Vec<Scope>,
    pub requested_at_ms: u64,
    /// For an upgrade, the scopes the device has now; empty for a first pairing.
    pub current_scopes: Vec<Scope>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedRow {
    pub device_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub paired_at_ms: u64,
    /// Updated at most once a minute.
    pub last_seen_ms: Option<u64>,
    /// The device's own limits (unset fields: the defaults).
    pub limits: Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "bad device id {}: {why}; a device id is 1 to 64 characters of A-Z a-z 0-9 . _ : -",
        shown(device_id)
    )]
    BadDeviceId {
        device_id: String,
        why: &'static str,
    },
    #[error("bad device name: {why}; a name is 1 to 100 printable characters")]
    BadName { why: String },
    #[error("no scopes asked for; ask for at least one of: {}", Scope::names())]
    NoScopes,
    #[error("unknown scope {}; the scopes are: {}", shown(scope), Scope::names())]
    UnknownScope { scope: String },
    #[error(
        "device \"{device_id}\" is already paired, and this request does not come with its token; \
         a paired device asks for more scopes with its own token (the owner can `claw devices revoke {device_id}` to pair it afresh)"
    )]
    NotYours { device_id: String },
    #[error(
        "too many pending pairing requests (the most is {MAX_PENDING}); \
         run `claw devices list`, then approve or reject some with `claw devices approve|reject <requestId>`"
    )]
    TooManyPending,
    #[error("{}", unknown_request(request_id, pending))]
    UnknownRequest {
        request_id: String,
        /// `id (name)` of each pending request (empty where the caller may not see them).
        pending: Vec<String>,
    },
    #[error(
        "pairing request {request_id} of device \"{device_id}\" was already {}; nothing to do (`claw devices list` shows what is pending)",
        if *approved { "approved" } else { "rejected" }
    )]
    AlreadyDecided {
        request_id: String,
        device_id: String,
        approved: bool,
    },
    #[error("{}", unknown_device(device_id, paired))]
    UnknownDevice {
        device_id: String,
        /// `id (name)` of each paired device.
        paired: Vec<String>,
    },
    #[error(
        "the device store {path} is damaged ({detail}); claw left it untouched. \
         Fix it by hand, or move it aside to start over (every device then pairs again)"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot read the device store {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("cannot write the device store {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

fn unknown_request(id: &str, pending: &[String]) -> String {
    let list = if pending.is_empty() {
        String::new()
    } else {
        format!(" (pending: {})", pending.join(", "))
    };
    let id = shown(id);
    format!(
        "no pending pairing request {id}{list}; a request goes when it is decided, when its device is revoked, \
         or after a day nobody asked again. Run `claw devices list` to see what is pending; a client asks (again) with POST /pair"
    )
}

fn unknown_device(id: &str, paired: &[String]) -> String {
    let list = if paired.is_empty() {
        "no device is paired".to_string()
    } else {
        format!("paired: {}", paired.join(", "))
    };
    format!(
        "no paired device {} ({list}); run `claw devices list`",
        shown(id)
    )
}

/// A caller's string for a message: quoted, escaped, at most 64 characters.
fn shown(s: &str) -> String {
    let mut t: String = s.chars().take(64).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    format!("{t:?}")
}

/// A caller's string to keep in an error: at most 200 characters.
fn clipped(s: &str) -> String {
    s.chars().take(200).collect()
}
