//! Whether spans are exported to an OpenTelemetry collector: set once by the
//! binary at start. Off (the default), the request and attempt spans carry
//! only what logs need and nothing is formatted for an exporter.

use std::sync::atomic::{AtomicBool, Ordering};

static EXPORTING: AtomicBool = AtomicBool::new(false);

pub fn set_exporting(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}
