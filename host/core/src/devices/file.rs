//! The layout of `devices.json`, and what expires in it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::token;
use super::{DeviceError, Limits, Scope};

/// A pending request nobody asked again for this long is dropped.
pub const PENDING_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// A decided request is remembered this long (so its client can poll it).
pub const DECIDED_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// The most decided requests remembered (oldest forgotten first).
const MAX_DECIDED: usize = 1000;
const FILE_VERSION: u32 = 1;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DevicesFile {
    pub(super) version: u32,
    /// By request id.
    #[serde(default)]
    pub(super) pending: BTreeMap<String, PendingEntry>,
    /// Approved or rejected requests, by request id.
    #[serde(default)]
    pub(super) decided: BTreeMap<String, DecidedEntry>,
    /// By device id.
    #[serde(default)]
    pub(super) paired: BTreeMap<String, PairedEntry>,
}

impl DevicesFile {
    pub(super) fn empty() -> DevicesFile {
        DevicesFile {
            version: FILE_VERSION,
            pending: BTreeMap::new(),
            decided: BTreeMap::new(),
            paired: BTreeMap::new(),
        }
    }

    /// Forget what has expired.
    pub(super) fn prune(&mut self, now: u64) {
        self.pending
            .retain(|_, p| now.saturating_sub(p.last_asked_at_ms) < PENDING_TTL_MS);
        self.decided
            .retain(|_, d| now.saturating_sub(d.decided_at_ms) < DECIDED_TTL_MS);
        if self.decided.len() > MAX_DECIDED {
            let mut ages: Vec<(u64, String)> = self
                .decided
                .iter()
                .map(|(id, d)| (d.decided_at_ms, id.clone()))
                .collect();
            ages.sort();
            for (_, id) in ages.into_iter().take(self.decided.len() - MAX_DECIDED) {
                self.decided.remove(&id);
            }
        }
        for device in self.paired.values_mut() {
            if device
                .previous_token
                .as_ref()
                .is_some_and(|old| now >= old.valid_until_ms)
            {
                device.previous_token = None;
            }
        }
    }

    pub(super) fn pending_of(&self, device_id: &str) -> Option<&String> {
        self.pending
            .iter()
            .find(|(_, p)| p.device_id == device_id)
            .map(|(id, _)| id)
    }

    /// `id (name)` of each pending request, oldest first.
    pub(super) fn pending_labels(&self) -> Vec<String> {
        let mut rows: Vec<(&String, &PendingEntry)> = self.pending.iter().collect();
        rows.sort_by_key(|(id, p)| (p.requested_at_ms, *id));
        rows.into_iter()
            .map(|(id, p)| format!("{id} ({})", p.name))
            .collect()
    }

    pub(super) fn paired_labels(&self) -> Vec<String> {
        self.paired
            .iter()
            .map(|(id, d)| format!("{id} ({})", d.name))
            .collect()
    }

    pub(super) fn unknown_request(&self, request_id: &str) -> DeviceError {
        if let Some(d) = self.decided.get(request_id) {
            return DeviceError::AlreadyDecided {
                request_id: request_id.to_string(),
                device_id: d.device_id.clone(),
                approved: d.approved,
            };
        }
        DeviceError::UnknownRequest {
            request_id: super::clipped(request_id),
            pending: self.pending_labels(),
        }
    }

    pub(super) fn unknown_device(&self, device_id: &str) -> DeviceError {
        DeviceError::UnknownDevice {
            device_id: super::clipped(device_id),
            paired: self.paired_labels(),
        }
    }

    /// A request id used by no pending or remembered request.
    pub(super) fn fresh_request_id(&self) -> Result<String, String> {
        loop {
            let id = token::new_request_id()?;
            if !self.pending.contains_key(&id) && !self.decided.contains_key(&id) {
                return Ok(id);
            }
        }
    }

    /// The device's tokens that no client has yet are no longer its tokens.
    pub(super) fn forget_undelivered(&mut self, device_id: &str) {
        for d in self.decided.values_mut() {
            if d.device_id == device_id {
                d.token = None;
            }
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PendingEntry {
    pub(super) device_id: String,
    pub(super) name: String,
    pub(super) scopes: Vec<Scope>,
    pub(super) requested_at_ms: u64,
    pub(super) last_asked_at_ms: u64,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DecidedEntry {
    pub(super) device_id: String,
    pub(super) name: String,
    pub(super) approved: bool,
    /// Approved: all the device's scopes then; rejected: those asked for.
    pub(super) scopes: Vec<Scope>,
    pub(super) decided_at_ms: u64,
    /// The new token, until the first poll hands it over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) token: Option<String>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PairedEntry {
    pub(super) name: String,
    pub(super) scopes: Vec<Scope>,
    pub(super) paired_at_ms: u64,
    #[serde(default)]
    pub(super) last_seen_ms: Option<u64>,
    #[serde(default)]
    pub(super) limits: Limits,
    /// `sha256:<hex>` of the token.
    pub(super) token_hash: String,
    /// After an upgrade: the token the device had, for a short while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) previous_token: Option<OldToken>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OldToken {
    pub(super) hash: String,
    pub(super) valid_until_ms: u64,
}

pub(super) fn parse_file(path: &Path, bytes: &[u8]) -> Result<DevicesFile, DeviceError> {
    let damaged = |detail: String| DeviceError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let file: DevicesFile = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
    if file.version != FILE_VERSION {
        return Err(damaged(if file.version > FILE_VERSION {
            format!(
                "it is version {}, written by a newer claw than this one (version {FILE_VERSION}); upgrade claw",
                file.version
            )
        } else {
            format!("unknown version {}", file.version)
        }));
    }
    for (id, d) in &file.paired {
        let hashes =
            std::iter::once(&d.token_hash).chain(d.previous_token.as_ref().map(|o| &o.hash));
        for hash in hashes {
            if token::parse_hash(hash).is_none() {
                return Err(damaged(format!(
                    "device \"{id}\" has a token hash that is not sha256:<64 hex digits>"
                )));
            }
        }
    }
    Ok(file)
}
