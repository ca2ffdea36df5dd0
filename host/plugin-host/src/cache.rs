//! Compiled plugin artifacts on disk, keyed by the wasm's hash and the engine's
//! compatibility hash. A compiled artifact is native code, so each file carries
//! an HMAC-SHA256 tag of its name and body under a random key made once per
//! install (`<cache>/key`, 0600, in a 0700 folder), checked before the body is
//! deserialized: claw only ever loads what it wrote itself, whole, and a file
//! written by anyone without the key (or damaged) is recompiled instead.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"CLAWART2";
const KEY_FILE: &str = "key";
const KEY_LEN: usize = 32;
const HEADER: usize = MAGIC.len() + 32;

/// Was a component compiled now, or loaded from the cache?
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheOutcome {
    Hit,
    Miss,
    /// No cache directory (or it could not be written).
    Off,
    /// A native library: nothing to compile.
    Native,
}

pub struct ArtifactCache {
    /// The folder, when caching is on.
    dir: Option<PathBuf>,
    /// Its key, set up on the first compile (so a command that compiles
    /// nothing, or refuses a plugin before compiling it, writes nothing);
    /// `None` when it could not be read or made: caching is then off.
    key: OnceLock<Option<[u8; KEY_LEN]>>,
    engine_key: String,
}

impl ArtifactCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        ArtifactCache {
            dir,
            key: OnceLock::new(),
            engine_key,
        }
    }

    fn path_for(&self, wasm: &[u8]) -> Option<(PathBuf, &[u8; KEY_LEN])> {
        let dir = self.dir.as_ref()?;
        let key = self
            .key
            .get_or_init(|| match install_key(dir) {
                Ok(key) => Some(key),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "compiled-plugin cache off: cannot set up its key: {e}");
                    None
                }
            })
            .as_ref()?;
        let wasm_key = hex::encode(Sha256::digest(wasm));
        Some((
            dir.join(format!("{wasm_key}-{}.cwasm", self.engine_key)),
            key,
        ))
    }

    /// The compiled component for `wasm`, from the cache or freshly compiled.
    pub fn component(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some((path, key)) = self.path_for(wasm) else {
            return Ok((Component::new(engine, wasm)?, CacheOutcome::Off));
        };
        if let Some(component) = read(engine, &path, key) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, wasm)?;
        let outcome = match component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|body| write(&path, key, &body))
        {
            Ok(()) => CacheOutcome::Miss,
            Err(e) => {
                tracing::warn!(path = %path.display(), "could not write the compiled-plugin cache: {e}");
                CacheOutcome::Off
            }
        };
        Ok((component, outcome))
    }
}

fn read(engine: &Engine, path: &Path, key: &[u8; KEY_LEN]) -> Option<Component> {
    let bytes = std::fs::read(path).ok()?;
    let valid = bytes.len() > HEADER
        && &bytes[..MAGIC.len()] == MAGIC
        && constant_time_eq(
            &bytes[MAGIC.len()..HEADER],
            &tag(key, path, &bytes[HEADER..]),
        );
    if !valid {
        tracing::warn!(path = %path.display(), "ignoring a compiled-plugin cache entry that this install did not write (damaged, tampered with or from another key); recompiling");
        return None;
    }
    // SAFETY: the body is exactly what `Component::serialize` produced in this
    // cache (its tag under this install's secret key matches) for an engine with
    // this compatibility hash.
    match unsafe { Component::deserialize(engine, &bytes[HEADER..]) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot use a compiled-plugin cache entry ({e}); recompiling");
            None
        }
    }
}

fn write(path: &Path, key: &[u8; KEY_LEN], body: &[u8]) -> Result<(), String> {
    let mut bytes = Vec::with_capacity(HEADER + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&tag(key, path, body));
    bytes.extend_from_slice(body);
    claw_types::fs::write_atomic(path, &bytes, Some(0o600)).map_err(|e| e.to_string())
}

/// The tag of an artifact: HMAC-SHA256 over its file name (so a valid artifact
/// cannot stand in for another) and its body.
fn tag(key: &[u8; KEY_LEN], path: &Path, body: &[u8]) -> [u8; 32] {
    let name = path
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    hmac_sha256(key, &[&(name.len() as u64).to_le_bytes(), name, body])
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`; `key` is at most one block.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    assert!(key.len() <= BLOCK);
    let mut padded = [0u8; BLOCK];
    padded[..key.len()].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(padded.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(padded.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The install's cache key, made on first use: the folder is created 0700, the
/// key written 0600 under a temporary name and linked into place, so a
/// concurrent start either makes it or reads the whole of the one that won.
fn install_key(dir: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let path = dir.join(KEY_FILE);
    let read = |path: &Path| -> std::io::Result<Option<[u8; KEY_LEN]>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(bytes.try_into().ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    };
    if let Some(key) = read(&path)? {
        return Ok(key);
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let tmp = dir.join(format!(".{KEY_FILE}.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(&key)?;
        file.sync_all()?;
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => Ok(key),
            // Another process made it first, or a key of the wrong length is
            // there (damaged): use the one there, or replace the damaged one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read(&path)? {
                Some(theirs) => Ok(theirs),
                None => {
                    std::fs::rename(&tmp, &path)?;
                    Ok(key)
                }
            },
            Err(e) => Err(e),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Feeds `Hash` output into SHA-256, for a key that is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let tag = hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    const WAT: &str = r#"(component (core module (func (export "f"))))"#;

    #[test]
    fn a_tampered_artifact_is_recompiled_not_loaded() {
        let engine = Engine::default();
        let wasm = wat::parse_str(WAT).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let cache = ArtifactCache::new(&engine, Some(dir.clone()));
        assert_eq!(
            cache.component(&engine, &wasm).unwrap().1,
            CacheOutcome::Miss
        );
        assert_eq!(
            cache.component(&engine, &wasm).unwrap().1,
            CacheOutcome::Hit
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
            assert_eq!(std::fs::read(dir.join(KEY_FILE)).unwrap().len(), KEY_LEN);
        }

        // Flip a byte of the body and put a plain digest of the new body where
        // the tag goes (what passed the old, unkeyed check).
        let (path, _) = cache.path_for(&wasm).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = HEADER + (bytes.len() - HEADER) / 2;
        bytes[at] ^= 0x01;
        let digest = Sha256::digest(&bytes[HEADER..]);
        bytes[MAGIC.len()..HEADER].copy_from_slice(&digest);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            cache.component(&engine, &wasm).unwrap().1,
            CacheOutcome::Miss,
            "a tampered artifact must be recompiled, not loaded"
        );
        assert_eq!(
            cache.component(&engine, &wasm).unwrap().1,
            CacheOutcome::Hit
        );

        // The same key is used by the next start; another install's key is not.
        let again = ArtifactCache::new(&engine, Some(dir.clone()));
        assert_eq!(
            again.component(&engine, &wasm).unwrap().1,
            CacheOutcome::Hit
        );
        let other = tmp.path().join("other");
        let elsewhere = ArtifactCache::new(&engine, Some(other.clone()));
        let (other_path, _) = elsewhere.path_for(&wasm).unwrap();
        std::fs::copy(&path, &other_path).unwrap();
        assert_eq!(
            elsewhere.component(&engine, &wasm).unwrap().1,
            CacheOutcome::Miss,
            "an artifact tagged with another install's key is not loaded"
        );

        // An artifact renamed to stand in for another component is refused too.
        let (path2, key) = cache.path_for(b"other wasm").unwrap();
        std::fs::copy(&path, &path2).unwrap();
        assert!(read(&engine, &path2, key).is_none());
    }
}
