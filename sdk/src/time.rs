//! The clocks and sleeping, over `wasi:clocks`: for polling loops (device and
//! user-code logins) and expiry times.
//!
//! ```text
//! while claw_plugin_sdk::time::now_ms() < expires_at_ms {
//!     claw_plugin_sdk::time::sleep(Duration::from_secs(2));
//!     // poll
//! }
//! ```

use std::time::Duration;

use wasip2::clocks::{monotonic_clock, wall_clock};

/// The wall clock: milliseconds since the Unix epoch (the unit of
/// `Credential::expires_at_ms`).
pub fn now_ms() -> u64 {
    let now = wall_clock::now();
    now.seconds
        .saturating_mul(1000)
        .saturating_add(u64::from(now.nanoseconds / 1_000_000))
}

/// Block for `duration` (the monotonic clock; the host's call deadline still
/// applies to the whole call).
pub fn sleep(duration: Duration) {
    let nanos = duration.as_nanos().min(u128::from(u64::MAX)) as u64;
    if nanos > 0 {
        monotonic_clock::subscribe_duration(nanos).block();
    }
}
