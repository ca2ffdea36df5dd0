//! Device tokens and request ids: random, shown once, stored only as
//! `sha256:<hex>` and compared in constant time.

use sha2::{Digest, Sha256};

/// Every device token starts with this (then 64 hex digits).
pub const TOKEN_PREFIX: &str = "claw_dev_";

/// `n` random bytes as hex.
pub(super) fn random_hex(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random bytes from the system: {e}"))?;
    Ok(hex::encode(bytes))
}

/// A new device token: `claw_dev_` and 32 random bytes in hex.
pub(super) fn new_token() -> Result<String, String> {
    Ok(format!("{TOKEN_PREFIX}{}", random_hex(32)?))
}

/// A new request id: 12 hex digits.
pub(super) fn new_request_id() -> Result<String, String> {
    random_hex(6)
}

pub(super) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// How the file stores a token: `sha256:<64 hex>`.
pub(super) fn stored_hash(token: &str) -> String {
    format!("sha256:{}", hex::encode(digest(token)))
}

/// The digest in a stored hash, or `None` if it is not `sha256:<64 hex>`.
pub(super) fn parse_hash(stored: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(stored.strip_prefix("sha256:")?, &mut out).ok()?;
    Some(out)
}

/// Equal, in a time that depends only on the lengths.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
