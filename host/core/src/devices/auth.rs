//! The request path: which device a token belongs to. Cheap: the devices are
//! kept in memory and the file is read again only when it changed (so a
//! revoke by the CLI counts from the gateway's next request).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::cache::{Cached, FileKey, SideWrites, SnapToken, Snapshot};
use super::store::lock_poisoned;
use super::token::{self, TOKEN_PREFIX};
use super::{DeviceAuth, DeviceStore, file::parse_file};

/// `authenticate` records a device's last-seen time at most this often.
pub const LAST_SEEN_EVERY_MS: u64 = 60 * 1000;
/// A failed or skipped retiring of an old token is tried again after this long.
const RETRY_WRITE_MS: u64 = 1000;
/// A file modified less than this long before it was read may change again
/// without its size or modification time showing it (coarse timestamps).
const RACY: Duration = Duration::from_secs(2);

impl DeviceStore {
    /// The device `token` belongs to, or `None`. Compares the token's SHA-256
    /// in constant time with every stored hash; reads the file only when it
    /// changed since the last call. Records last-seen at most once a minute
    /// per device, and retires an upgraded device's old token when the new one
    /// is first used; those writes are skipped (tried again on a later call)
    /// when another process holds the lock, so this never waits for one.
    pub fn authenticate(&self, token: &str) -> Option<DeviceAuth> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 256 {
            return None;
        }
        let digest = token::digest(token);
        let snap = self.snapshot()?;
        let now = self.now();
        let mut found: Option<&SnapToken> = None;
        // No early exit: the time does not depend on which hash matched.
        for t in &snap.tokens {
            if token::constant_time_eq(&t.digest, &digest) {
                found = Some(t);
            }
        }
        let found = found?;
        if found.valid_until_ms.is_some_and(|until| now >= until) {
            return None;
        }
        let device = &snap.devices[found.device];
        let retire = found.valid_until_ms.is_none() && device.has_previous;
        let touch = device
            .last_seen_ms
            .is_none_or(|seen| now.saturating_sub(seen) >= LAST_SEEN_EVERY_MS);
        if retire || touch {
            self.side_write(&device.auth.device_id, token, retire, now);
        }
        Some(device.auth.clone())
    }

    /// After a device authenticated: record last-seen and, when it used its
    /// new token, forget its old one. Throttled per device; never waits.
    fn side_write(&self, device_id: &str, token: &str, retire: bool, now: u64) {
        // Whether the last attempt of each kind is long enough ago.
        let due = |tried: &HashMap<String, SideWrites>| {
            let last = tried.get(device_id).copied().unwrap_or_default();
            if retire {
                now.saturating_sub(last.retire_at) >= RETRY_WRITE_MS
            } else {
                now.saturating_sub(last.seen_at) >= LAST_SEEN_EVERY_MS
            }
        };
        if !due(&lock_poisoned(&self.side_writes)) {
            return;
        }
        let Some(_lock) = self.try_lock() else {
            return;
        };
        {
            let mut tried = lock_poisoned(&self.side_writes);
            if !due(&tried) {
                return;
            }
            let entry = tried.entry(device_id.to_string()).or_default();
            entry.seen_at = now;
            if retire {
                entry.retire_at = now;
            }
        }
        let hash = token::stored_hash(token);
        let result = self.update_locked(|file, now| {
            if let Some(d) = file.paired.get_mut(device_id) {
                if d.token_hash == hash {
                    d.previous_token = None;
                }
                if d.last_seen_ms
                    .is_none_or(|s| now.saturating_sub(s) >= LAST_SEEN_EVERY_MS)
                {
                    d.last_seen_ms = Some(now);
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::warn!(device = device_id, "cannot record a device's use: {e}");
        }
    }

    /// The devices as of the file now, read again only if it changed.
    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        let path = self.path();
        let key = match std::fs::metadata(&path) {
            Ok(meta) => Some(FileKey::of(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!("cannot read the device store {}: {e}", path.display());
                return None;
            }
        };
        let mut cache = lock_poisoned(&self.cache);
        if let Some(c) = cache.as_ref()
            && c.key == key
            && !c.racy
        {
            return c.loaded.as_ref().ok().cloned();
        }
        let (key, racy, loaded) = match File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (None, false, Ok(Arc::new(Snapshot::default())))
            }
            Err(e) => {
                tracing::warn!("cannot read the device store {}: {e}", path.display());
                return None;
            }
            Ok(mut f) => {
                // The key of the very file read, whatever was renamed over it since.
                let meta = match f.metadata() {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!("cannot read the device store {}: {e}", path.display());
                        return None;
                    }
                };
                let mut bytes = Vec::new();
                if let Err(e) = f.read_to_end(&mut bytes) {
                    tracing::warn!("cannot read the device store {}: {e}", path.display());
                    return None;
                }
                let key = FileKey::of(&meta);
                let racy = key.modified.is_none_or(|m| {
                    SystemTime::now()
                        .duration_since(m)
                        .map_or(true, |age| age < RACY)
                });
                let loaded = parse_file(&path, &bytes)
                    .map(|file| Arc::new(Snapshot::of(&file)))
                    .map_err(|e| e.to_string());
                (Some(key), racy, loaded)
            }
        };
        if let Err(e) = &loaded {
            let warned = cache
                .as_ref()
                .is_some_and(|c| c.key == key && c.loaded.is_err());
            if !warned {
                tracing::warn!("no device token is accepted: {e}");
            }
        }
        let out = loaded.as_ref().ok().cloned();
        *cache = Some(Cached { key, racy, loaded });
        out
    }
}
