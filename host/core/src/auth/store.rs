//! The secrets file, `$CLAW_STATE_DIR/auth/profiles.json`: mode 0600 in a 0700
//! folder, every change a locked read-modify-write that replaces the file
//! atomically, so a crash mid-save leaves the old file or the new one, never a
//! mix. A lock file serialises writers (and refreshes) across processes; a
//! writer holding it removes any temp file a killed writer left behind.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::login::LoginChecks;
use claw_types::fs::create_private_dir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the credential store {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error(
        "the credential store {path} is damaged ({detail}); claw left it untouched. Move it aside and log in again."
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot write the credential store {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

/// How a stored credential was obtained (stored as `api_key`, `token`, `oauth`).
pub use claw_types::MethodKind as Kind;

/// One stored credential. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredProfile {
    pub provider: String,
    pub kind: Kind,
    /// The auth plugin that created it and can refresh it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The plugin's login method id, needed to refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The API key, token or OAuth access token.
    pub access: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// Non-secret extras from the plugin (region, resource URL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    pub updated_at_ms: u64,
    /// Set when the credential stopped working (e.g. a refresh was rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl fmt::Debug for StoredProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredProfile")
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .field("plugin", &self.plugin)
            .field("access", &fingerprint(&self.access))
            .field("expires_at_ms", &self.expires_at_ms)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

/// A short, stable, non-reversible tag for a secret, to tell keys apart in
/// listings without showing any part of them.
pub fn fingerprint(secret: &str) -> String {
    format!(
        "sha256:{}",
        &hex::encode(Sha256::digest(secret.as_bytes()))[..8]
    )
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    profiles: BTreeMap<String, StoredProfile>,
}

#[derive(Debug, Clone)]
pub struct AuthStore {
    dir: PathBuf,
    /// What a login's config patch is checked against (see `login`); in memory only.
    login_checks: Arc<LoginChecks>,
}

/// Held while a writer (or a refresh) owns the store; dropping it releases it.
pub struct StoreLock {
    _file: File,
}

impl AuthStore {
    pub fn new(state_root: &Path) -> AuthStore {
        AuthStore {
            dir: state_root.join("auth"),
            login_checks: Arc::default(),
        }
    }

    /// The same store, with what `login::save_login` checks a patch against
    /// (the loaded plugins' network grants and the catalog's models).
    pub fn with_login_checks(mut self, checks: LoginChecks) -> AuthStore {
        self.login_checks = Arc::new(checks);
        self
    }

    pub fn login_checks(&self) -> &LoginChecks {
        &self.login_checks
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("profiles.json")
    }

    /// Every profile; a missing file is none.
    pub fn load(&self) -> Result<BTreeMap<String, StoredProfile>, StoreError> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => {
                return Err(StoreError::Read {
                    path,
                    detail: e.to_string(),
                });
            }
        };
        let file: StoreFile = serde_json::from_slice(&bytes).map_err(|e| StoreError::Damaged {
            path,
            detail: e.to_string(),
        })?;
        Ok(file.profiles)
    }

    pub fn get(&self, id: &str) -> Result<Option<StoredProfile>, StoreError> {
        Ok(self.load()?.remove(id))
    }

    /// Take the cross-process lock (blocking).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let werr = |e: std::io::Error| StoreError::Write {
            path: self.dir.clone(),
            detail: e.to_string(),
        };
        create_private_dir(&self.dir).map_err(werr)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("profiles.lock"))
            .map_err(werr)?;
        file.lock().map_err(werr)?;
        Ok(StoreLock { _file: file })
    }

    /// Change the profiles under the lock and save atomically.
    pub fn update<R>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, StoredProfile>) -> R,
    ) -> Result<R, StoreError> {
        let _lock = self.lock()?;
        self.update_locked(f)
    }

    /// `update` for a caller that already holds the lock.
    pub fn update_locked<R>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, StoredProfile>) -> R,
    ) -> Result<R, StoreError> {
        let mut profiles = self.load()?;
        let result = f(&mut profiles);
        self.save(profiles)?;
        Ok(result)
    }

    fn save(&self, profiles: BTreeMap<String, StoredProfile>) -> Result<(), StoreError> {
        let path = self.path();
        let bytes = serde_json::to_vec_pretty(&StoreFile {
            version: 1,
            profiles,
        })
        .expect("profiles serialize");
        // Under the lock no other writer is mid-save, so every temp file beside
        // the store is a leftover of a killed one, holding keys: remove them all.
        create_private_dir(&self.dir)
            .and_then(|()| claw_types::fs::remove_stale_temps(&path, None))
            .and_then(|_| claw_types::fs::write_atomic(&path, &bytes, Some(0o600)))
            .map_err(|e| StoreError::Write {
                path,
                detail: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(access: &str) -> StoredProfile {
        StoredProfile {
            provider: "minimax".into(),
            kind: Kind::ApiKey,
            plugin: None,
            method: None,
            access: access.into(),
            refresh: None,
            expires_at_ms: None,
            extra: BTreeMap::new(),
            updated_at_ms: 1,
            problem: None,
        }
    }

    #[test]
    fn saves_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::new(dir.path());
        assert!(store.load().unwrap().is_empty());
        store
            .update(|p| p.insert("minimax:default".into(), profile("sk-secret-1")))
            .unwrap();
        assert_eq!(
            store.get("minimax:default").unwrap().unwrap().access,
            "sk-secret-1"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = std::fs::metadata(dir.path().join("auth"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dir_mode, 0o700);
        }
        let debug = format!("{:?}", store.get("minimax:default").unwrap().unwrap());
        assert!(
            !debug.contains("sk-secret-1") && debug.contains("sha256:"),
            "{debug}"
        );
    }

    #[test]
    fn a_save_removes_the_temp_files_killed_writers_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::new(dir.path());
        let auth = dir.path().join("auth");
        std::fs::create_dir_all(&auth).unwrap();
        for stale in [".profiles.json.tmp-12345", ".profiles.json.tmp-777-3"] {
            std::fs::write(auth.join(stale), b"{\"access\": \"sk-stale-secret\"}").unwrap();
        }
        std::fs::write(auth.join("notes.txt"), b"mine").unwrap();
        store
            .update(|p| p.insert("minimax:default".into(), profile("sk-secret-1")))
            .unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&auth)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "profiles.json", "profiles.lock"]);
    }

    #[test]
    fn a_damaged_file_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::new(dir.path());
        std::fs::create_dir_all(dir.path().join("auth")).unwrap();
        std::fs::write(store.path(), b"{ not json").unwrap();
        let err = store
            .update(|p| p.insert("x:y".into(), profile("k")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is damaged") && err.contains("left it untouched"),
            "{err}"
        );
        assert_eq!(std::fs::read(store.path()).unwrap(), b"{ not json");
    }
}
