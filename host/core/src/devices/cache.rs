//! What `authenticate` keeps between calls: the devices and token hashes of
//! the file version it read last, and when it last wrote for each device.

use std::sync::Arc;
use std::time::SystemTime;

use super::DeviceAuth;
use super::file::DevicesFile;
use super::token;

/// When `authenticate` last tried each kind of side write for a device.
#[derive(Clone, Copy, Default)]
pub(super) struct SideWrites {
    pub(super) seen_at: u64,
    pub(super) retire_at: u64,
}

/// Identifies one version of the file: a save renames a new file into place,
/// so the inode changes too.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct FileKey {
    pub(super) len: u64,
    pub(super) modified: Option<SystemTime>,
    pub(super) inode: u64,
}

impl FileKey {
    pub(super) fn of(meta: &std::fs::Metadata) -> FileKey {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        FileKey {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

pub(super) struct Cached {
    /// `None`: no file.
    pub(super) key: Option<FileKey>,
    /// Read too soon after it was written to trust `key` alone: read again next time.
    pub(super) racy: bool,
    /// The file's devices, or why it could not be read.
    pub(super) loaded: Result<Arc<Snapshot>, String>,
}

#[derive(Default)]
pub(super) struct Snapshot {
    pub(super) devices: Vec<SnapDevice>,
    pub(super) tokens: Vec<SnapToken>,
}

pub(super) struct SnapDevice {
    pub(super) auth: DeviceAuth,
    pub(super) last_seen_ms: Option<u64>,
    pub(super) has_previous: bool,
}

pub(super) struct SnapToken {
    pub(super) digest: [u8; 32],
    /// Index into `devices`.
    pub(super) device: usize,
    /// `Some` for a device's previous token: when it stops working.
    pub(super) valid_until_ms: Option<u64>,
}

impl Snapshot {
    pub(super) fn of(file: &DevicesFile) -> Snapshot {
        let mut snap = Snapshot::default();
        for (id, d) in &file.paired {
            let device = snap.devices.len();
            snap.devices.push(SnapDevice {
                auth: DeviceAuth {
                    device_id: id.clone(),
                    name: d.name.clone(),
                    scopes: d.scopes.clone(),
                    limits: d.limits,
                },
                last_seen_ms: d.last_seen_ms,
                has_previous: d.previous_token.is_some(),
            });
            if let Some(digest) = token::parse_hash(&d.token_hash) {
                snap.tokens.push(SnapToken {
                    digest,
                    device,
                    valid_until_ms: None,
                });
            }
            if let Some(old) = &d.previous_token
                && let Some(digest) = token::parse_hash(&old.hash)
            {
                snap.tokens.push(SnapToken {
                    digest,
                    device,
                    valid_until_ms: Some(old.valid_until_ms),
                });
            }
        }
        snap
    }
}
