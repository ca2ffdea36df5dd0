//! `$CLAW_STATE_DIR/devices/devices.json` and the decisions on it.
//!
//! Every change: take `devices.lock` (a cross-process `flock`), read the file,
//! change it, write it atomically (temp file, fsync, rename), release. Reads
//! that change nothing (`list`, most `poll`s) read without the lock: a rename
//! leaves readers the old file or the new one. `authenticate` (in `auth.rs`)
//! keeps what it needs in memory and reloads only when the file changed.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use claw_types::fs::create_private_dir;

use super::cache::{Cached, SideWrites};
use super::file::{DecidedEntry, DevicesFile, OldToken, PairedEntry, PendingEntry, parse_file};
use super::token;
use super::{
    Decision, DeviceError, Limits, Listing, PairStatus, PairTicket, PairedRow, PendingRow,
    PollStatus, Scope,
};

/// The most pending requests at once (over all devices).
pub const MAX_PENDING: usize = 100;
/// After an upgrade, the device's old token keeps working until the new one is
/// first used, or this long after the approval.
pub const OLD_TOKEN_GRACE_MS: u64 = 10 * 60 * 1000;

/// A repeated request refreshes its last-asked time (a write) at most this often.
const ASKED_REFRESH_MS: u64 = 60 * 1000;

// ---------------------------------------------------------------------------
// The store

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The paired devices and pairing requests of one state dir. Cheap to create;
/// several (in one process or many) on the same dir work together.
pub struct DeviceStore {
    dir: PathBuf,
    clock: Clock,
    /// What `authenticate` read last.
    pub(super) cache: Mutex<Option<Cached>>,
    /// When this process last tried a side write for a device in
    /// `authenticate` (last seen, retiring an old token), by device id.
    pub(super) side_writes: Mutex<HashMap<String, SideWrites>>,
}

impl fmt::Debug for DeviceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Held while this store owns the lock file; dropping it releases the lock.
pub(super) struct StoreLock {
    _file: File,
}

pub(super) fn lock_poisoned<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DeviceStore {
    pub fn new(state_root: &Path) -> DeviceStore {
        DeviceStore::with_clock(state_root, Arc::new(claw_types::now_ms))
    }

    /// A store whose "now" (ms since the epoch) is `clock`, for tests.
    pub(super) fn with_clock(state_root: &Path, clock: Clock) -> DeviceStore {
        DeviceStore {
            dir: state_root.join("devices"),
            clock,
            cache: Mutex::new(None),
            side_writes: Mutex::new(HashMap::new()),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("devices.json")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("devices.lock")
    }

    pub(super) fn now(&self) -> u64 {
        (self.clock)()
    }

    fn write_error(&self, detail: impl fmt::Display) -> DeviceError {
        DeviceError::Write {
            path: self.path(),
            detail: detail.to_string(),
        }
    }

    fn open_lock_file(&self) -> Result<File, DeviceError> {
        let path = self.lock_path();
        let werr = |e: std::io::Error| DeviceError::Write {
            path: path.clone(),
            detail: e.to_string(),
        };
        create_private_dir(&self.dir).map_err(werr)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&path).map_err(werr)
    }

    /// Take the cross-process lock, waiting for it.
    fn lock(&self) -> Result<StoreLock, DeviceError> {
        let file = self.open_lock_file()?;
        file.lock().map_err(|e| DeviceError::Write {
            path: self.lock_path(),
            detail: e.to_string(),
        })?;
        Ok(StoreLock { _file: file })
    }

    /// Take the lock if nobody holds it.
    pub(super) fn try_lock(&self) -> Option<StoreLock> {
        let file = self.open_lock_file().ok()?;
        file.try_lock().ok()?;
        Some(StoreLock { _file: file })
    }

    /// The file as it is (no file: empty). Needs no lock.
    fn load(&self) -> Result<DevicesFile, DeviceError> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => parse_file(&path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DevicesFile::empty()),
            Err(e) => Err(DeviceError::Read {
                path,
                detail: e.to_string(),
            }),
        }
    }

    /// The file as it is, without what has expired (nothing saved).
    fn load_current(&self) -> Result<DevicesFile, DeviceError> {
        let mut file = self.load()?;
        file.prune(self.now());
        Ok(file)
    }

    fn save(&self, file: &DevicesFile) -> Result<(), DeviceError> {
        let path = self.path();
        let bytes = serde_json::to_vec_pretty(file).expect("the device file serializes");
        // Under the lock no other writer is mid-save, so every temp file beside
        // the store is a leftover of a killed one (maybe holding a token).
        let result = create_private_dir(&self.dir)
            .and_then(|()| claw_types::fs::remove_stale_temps(&path, None))
            .and_then(|_| claw_types::fs::write_atomic(&path, &bytes, Some(0o600)));
        *lock_poisoned(&self.cache) = None;
        result.map_err(|e| DeviceError::Write {
            path,
            detail: e.to_string(),
        })
    }

    /// Change the file under the lock; saved only if `f` succeeds and changed
    /// something.
    fn update<R>(
        &self,
        f: impl FnOnce(&mut DevicesFile, u64) -> Result<R, DeviceError>,
    ) -> Result<R, DeviceError> {
        let _lock = self.lock()?;
        self.update_locked(f)
    }

    pub(super) fn update_locked<R>(
        &self,
        f: impl FnOnce(&mut DevicesFile, u64) -> Result<R, DeviceError>,
    ) -> Result<R, DeviceError> {
        let now = self.now();
        let mut file = self.load()?;
        let before = file.clone();
        file.prune(now);
        let result = f(&mut file, now)?;
        if file != before {
            self.save(&file)?;
        }
        Ok(result)
    }

    // -- the client's side ----------------------------------------------------

    /// `POST /pair`: ask for `scopes` for `device_id`. `caller` is the device
    /// the request's token authenticated as (`None`: no device token).
    ///
    /// One pending request per device: asking again while it is pending
    /// returns its id, widened to the union of the scopes asked for. A paired
    /// device must ask with its own token ([`DeviceError::NotYours`]); asking
    /// for scopes it has already is [`PairStatus::AlreadyPaired`].
    pub fn request(
        &self,
        device_id: &str,
        name: &str,
        scopes: &[Scope],
        caller: Option<&str>,
    ) -> Result<PairTicket, DeviceError> {
        check_device_id(device_id)?;
        let name = check_name(name)?;
        let wanted = Scope::normalize(scopes);
        if wanted.is_empty() {
            return Err(DeviceError::NoScopes);
        }
        self.update(|file, now| {
            if let Some(device) = file.paired.get(device_id) {
                if caller != Some(device_id) {
                    return Err(DeviceError::NotYours {
                        device_id: device_id.to_string(),
                    });
                }
                if wanted.iter().all(|s| device.scopes.contains(s)) {
                    let latest = file
                        .decided
                        .iter()
                        .filter(|(_, d)| d.device_id == device_id && d.approved)
                        .max_by_key(|(id, d)| (d.decided_at_ms, *id))
                        .map(|(id, _)| id.clone());
                    return Ok(PairTicket {
                        request_id: latest.unwrap_or_default(),
                        status: PairStatus::AlreadyPaired,
                    });
                }
            }
            if let Some(id) = file.pending_of(device_id).cloned() {
                let entry = file.pending.get_mut(&id).expect("just found");
                if !wanted.iter().all(|s| entry.scopes.contains(s)) {
                    entry.scopes.extend(&wanted);
                    entry.scopes = Scope::normalize(&entry.scopes);
                    entry.last_asked_at_ms = now;
                } else if now.saturating_sub(entry.last_asked_at_ms) >= ASKED_REFRESH_MS {
                    entry.last_asked_at_ms = now;
                }
                return Ok(PairTicket {
                    request_id: id,
                    status: PairStatus::Pending,
                });
            }
            if file.pending.len() >= MAX_PENDING {
                return Err(DeviceError::TooManyPending);
            }
            let id = file.fresh_request_id().map_err(|e| self.write_error(e))?;
            file.pending.insert(
                id.clone(),
                PendingEntry {
                    device_id: device_id.to_string(),
                    name,
                    scopes: wanted,
                    requested_at_ms: now,
                    last_asked_at_ms: now,
                },
            );
            Ok(PairTicket {
                request_id: id,
                status: PairStatus::Pending,
            })
        })
    }

    /// `GET /pair/<id>`: the request's status; on approval, the token the
    /// first time (then erased from the file), `None` afterwards. An unknown
    /// id is [`DeviceError::UnknownRequest`] with no list (a client must not
    /// learn other requests' ids).
    pub fn poll(&self, request_id: &str) -> Result<PollStatus, DeviceError> {
        let unknown = || DeviceError::UnknownRequest {
            request_id: super::clipped(request_id),
            pending: Vec::new(),
        };
        let status = |file: &DevicesFile| -> Option<PollStatus> {
            if file.pending.contains_key(request_id) {
                return Some(PollStatus::Pending);
            }
            let d = file.decided.get(request_id)?;
            Some(if d.approved {
                PollStatus::Approved {
                    token: d.token.clone(),
                    scopes: d.scopes.clone(),
                }
            } else {
                PollStatus::Rejected
            })
        };
        // Most polls find nothing to hand over: no lock, no write.
        match status(&self.load_current()?) {
            None => Err(unknown()),
            Some(PollStatus::Approved { token: Some(_), .. }) => self.update(|file, _| {
                let Some(d) = file.decided.get_mut(request_id) else {
                    return Err(unknown());
                };
                Ok(PollStatus::Approved {
                    token: d.token.take(),
                    scopes: d.scopes.clone(),
                })
            }),
            Some(other) => Ok(other),
        }
    }

    // -- the owner's side -----------------------------------------------------

    /// Approve a pending request. A first pairing creates the device; an
    /// upgrade gives it the union of its scopes and the requested ones. Either
    /// way a new token is issued, handed over by the client's next poll; after
    /// an upgrade the old token keeps working (now with all the scopes) until
    /// the new one is first used or [`OLD_TOKEN_GRACE_MS`] pass.
    pub fn approve(&self, request_id: &str) -> Result<Decision, DeviceError> {
        self.update(|file, now| {
            let Some(req) = file.pending.remove(request_id) else {
                return Err(file.unknown_request(request_id));
            };
            let new_token = token::new_token().map_err(|e| self.write_error(e))?;
            let hash = token::stored_hash(&new_token);
            let scopes = match file.paired.get_mut(&req.device_id) {
                Some(device) => {
                    device.scopes.extend(&req.scopes);
                    device.scopes = Scope::normalize(&device.scopes);
                    device.name = req.name.clone();
                    let old = std::mem::replace(&mut device.token_hash, hash);
                    device.previous_token = Some(OldToken {
                        hash: old,
                        valid_until_ms: now.saturating_add(OLD_TOKEN_GRACE_MS),
                    });
                    device.scopes.clone()
                }
                None => {
                    file.paired.insert(
                        req.device_id.clone(),
                        PairedEntry {
                            name: req.name.clone(),
                            scopes: req.scopes.clone(),
                            paired_at_ms: now,
                            last_seen_ms: None,
                            limits: Limits::default(),
                            token_hash: hash,
                            previous_token: None,
                        },
                    );
                    req.scopes.clone()
                }
            };
            file.forget_undelivered(&req.device_id);
            file.decided.insert(
                request_id.to_string(),
                DecidedEntry {
                    device_id: req.device_id.clone(),
                    name: req.name.clone(),
                    approved: true,
                    scopes: scopes.clone(),
                    decided_at_ms: now,
                    token: Some(new_token),
                },
            );
            file.prune(now);
            Ok(Decision {
                request_id: Some(request_id.to_string()),
                device_id: req.device_id,
                name: req.name,
                scopes,
            })
        })
    }

    /// Reject a pending request. A paired device keeps its scopes and token.
    pub fn reject(&self, request_id: &str) -> Result<Decision, DeviceError> {
        self.update(|file, now| {
            let Some(req) = file.pending.remove(request_id) else {
                return Err(file.unknown_request(request_id));
            };
            file.decided.insert(
                request_id.to_string(),
                DecidedEntry {
                    device_id: req.device_id.clone(),
                    name: req.name.clone(),
                    approved: false,
                    scopes: req.scopes.clone(),
                    decided_at_ms: now,
                    token: None,
                },
            );
            file.prune(now);
            Ok(Decision {
                request_id: Some(request_id.to_string()),
                device_id: req.device_id,
                name: req.name,
                scopes: req.scopes,
            })
        })
    }

    /// Unpair a device: its tokens stop working at once (on the gateway, at
    /// its next request), and its requests, pending or decided, are dropped.
    pub fn revoke(&self, device_id: &str) -> Result<Decision, DeviceError> {
        self.update(|file, _| {
            let Some(device) = file.paired.remove(device_id) else {
                return Err(file.unknown_device(device_id));
            };
            file.pending.retain(|_, p| p.device_id != device_id);
            file.decided.retain(|_, d| d.device_id != device_id);
            Ok(Decision {
                request_id: None,
                device_id: device_id.to_string(),
                name: device.name,
                scopes: device.scopes,
            })
        })
    }

    /// A new token for a paired device, returned to be shown once; every
    /// token it had stops working at once (and one not yet handed over is
    /// never handed over).
    pub fn rotate(&self, device_id: &str) -> Result<(Decision, String), DeviceError> {
        self.update(|file, _| {
            let new_token = token::new_token().map_err(|e| self.write_error(e))?;
            let Some(device) = file.paired.get_mut(device_id) else {
                return Err(file.unknown_device(device_id));
            };
            device.token_hash = token::stored_hash(&new_token);
            device.previous_token = None;
            let decision = Decision {
                request_id: None,
                device_id: device_id.to_string(),
                name: device.name.clone(),
                scopes: device.scopes.clone(),
            };
            file.forget_undelivered(device_id);
            Ok((decision, new_token))
        })
    }

    /// Set a device's own limits (unset fields: the defaults).
    pub fn set_limits(&self, device_id: &str, limits: Limits) -> Result<(), DeviceError> {
        self.update(|file, _| {
            let Some(device) = file.paired.get_mut(device_id) else {
                return Err(file.unknown_device(device_id));
            };
            device.limits = limits;
            Ok(())
        })
    }

    /// Pending requests (oldest first) and paired devices (by id).
    pub fn list(&self) -> Result<Listing, DeviceError> {
        let file = self.load_current()?;
        let mut pending: Vec<PendingRow> = file
            .pending
            .iter()
            .map(|(id, p)| PendingRow {
                request_id: id.clone(),
                device_id: p.device_id.clone(),
                name: p.name.clone(),
                scopes: p.scopes.clone(),
                requested_at_ms: p.requested_at_ms,
                current_scopes: file
                    .paired
                    .get(&p.device_id)
                    .map(|d| d.scopes.clone())
                    .unwrap_or_default(),
            })
            .collect();
        pending.sort_by(|a, b| {
            (a.requested_at_ms, &a.request_id).cmp(&(b.requested_at_ms, &b.request_id))
        });
        let paired = file
            .paired
            .iter()
            .map(|(id, d)| PairedRow {
                device_id: id.clone(),
                name: d.name.clone(),
                scopes: d.scopes.clone(),
                paired_at_ms: d.paired_at_ms,
                last_seen_ms: d.last_seen_ms,
                limits: d.limits,
            })
            .collect();
        Ok(Listing { pending, paired })
    }
}

fn check_device_id(id: &str) -> Result<(), DeviceError> {
    let bad = |why| DeviceError::BadDeviceId {
        device_id: super::clipped(id),
        why,
    };
    if id.is_empty() {
        return Err(bad("it is empty"));
    }
    if id.chars().count() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
    {
        return Err(bad("it has a character other than A-Z a-z 0-9 . _ : -"));
    }
    Ok(())
}

/// The name, trimmed.
fn check_name(name: &str) -> Result<String, DeviceError> {
    let name = name.trim();
    let bad = |why: &str| DeviceError::BadName {
        why: why.to_string(),
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().count() > 100 {
        return Err(bad("it is longer than 100 characters"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(bad(&format!("it has the control character {c:?}")));
    }
    Ok(name.to_string())
}
