//! The clocks and sleeping, over `wasi:clocks` (or the standard library in a
//! native build): for polling loops (device and user-code logins) and expiry
//! times.
//!
//! ```text
//! while claw_plugin_sdk::time::now_ms() < expires_at_ms {
//!     claw_plugin_sdk::time::sleep(Duration::from_secs(2));
//!     // poll
//! }
//! ```

use std::time::Duration;

/// The wall clock: milliseconds since the Unix epoch (the unit of
/// `Credential::expires_at_ms`).
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> u64 {
    let now = wasip2::clocks::wall_clock::now();
    now.seconds
        .saturating_mul(1000)
        .saturating_add(u64::from(now.nanoseconds / 1_000_000))
}

/// The wall clock: milliseconds since the Unix epoch (the unit of
/// `Credential::expires_at_ms`).
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    // A clock set before 1970 reads as the epoch rather than panicking.
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    since.as_millis().min(u128::from(u64::MAX)) as u64
}

/// Block for `duration` (the monotonic clock; the host's call deadline still
/// applies to the whole call).
pub fn sleep(duration: Duration) {
    #[cfg(target_arch = "wasm32")]
    {
        let nanos = duration.as_nanos().min(u128::from(u64::MAX)) as u64;
        if nanos > 0 {
            wasip2::clocks::monotonic_clock::subscribe_duration(nanos).block();
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    std::thread::sleep(duration);
}
