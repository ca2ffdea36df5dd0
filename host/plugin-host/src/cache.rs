//! Compiled plugin artifacts on disk, keyed by the wasm's hash and the engine's
//! compatibility hash. Each file carries a digest of its body, checked before it
//! is deserialized, so claw only ever loads what it wrote itself, whole.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"CLAWART1";
const HEADER: usize = MAGIC.len() + 32;

/// Was a component compiled now, or loaded from the cache?
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheOutcome {
    Hit,
    Miss,
    /// No cache directory (or it could not be written).
    Off,
}

pub struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ArtifactCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        ArtifactCache { dir, engine_key }
    }

    fn path_for(&self, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let wasm_key = hex::encode(Sha256::digest(wasm));
        Some(dir.join(format!("{wasm_key}-{}.cwasm", self.engine_key)))
    }

    /// The compiled component for `wasm`, from the cache or freshly compiled.
    pub fn component(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(path) = self.path_for(wasm) else {
            return Ok((Component::new(engine, wasm)?, CacheOutcome::Off));
        };
        if let Some(component) = self.read(engine, &path) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, wasm)?;
        let outcome = match component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|body| write(&path, &body))
        {
            Ok(()) => CacheOutcome::Miss,
            Err(e) => {
                tracing::warn!(path = %path.display(), "could not write the compiled-plugin cache: {e}");
                CacheOutcome::Off
            }
        };
        Ok((component, outcome))
    }

    fn read(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let bytes = std::fs::read(path).ok()?;
        let valid = bytes.len() > HEADER
            && &bytes[..MAGIC.len()] == MAGIC
            && bytes[MAGIC.len()..HEADER] == Sha256::digest(&bytes[HEADER..])[..];
        if !valid {
            tracing::warn!(path = %path.display(), "ignoring a damaged compiled-plugin cache entry; recompiling");
            return None;
        }
        // SAFETY: the body is exactly what `Component::serialize` produced in this
        // cache (its digest matches) for an engine with this compatibility hash.
        match unsafe { Component::deserialize(engine, &bytes[HEADER..]) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot use a compiled-plugin cache entry ({e}); recompiling");
                None
            }
        }
    }
}

fn write(path: &Path, body: &[u8]) -> Result<(), String> {
    let mut bytes = Vec::with_capacity(HEADER + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&Sha256::digest(body));
    bytes.extend_from_slice(body);
    claw_types::fs::write_atomic(path, &bytes, Some(0o600)).map_err(|e| e.to_string())
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
