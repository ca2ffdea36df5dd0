//! Random bytes from the host (`wasi:random`), cryptographically secure: for
//! PKCE verifiers, OAuth `state` values and the like.
//!
//! ```text
//! let state = claw_plugin_sdk::random::bytes(16);
//! ```

/// `len` cryptographically secure random bytes.
pub fn bytes(len: usize) -> Vec<u8> {
    wasip2::random::random::get_random_bytes(len as u64)
}
