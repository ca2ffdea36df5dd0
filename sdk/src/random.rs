//! Random bytes from the host (`wasi:random`, or claw's table in a native
//! build), cryptographically secure: for PKCE verifiers, OAuth `state` values
//! and the like.
//!
//! ```text
//! let state = claw_plugin_sdk::random::bytes(16);
//! ```

/// `len` cryptographically secure random bytes.
#[cfg(target_arch = "wasm32")]
pub fn bytes(len: usize) -> Vec<u8> {
    wasip2::random::random::get_random_bytes(len as u64)
}

/// `len` cryptographically secure random bytes (outside claw, in a plugin's
/// own tests, from the operating system).
#[cfg(not(target_arch = "wasm32"))]
pub fn bytes(len: usize) -> Vec<u8> {
    crate::native::host::random(len)
}
