//! Operations end to end: the usage ledger and `claw usage`, `/metrics`,
//! `claw logs`, and `claw config`.

#[path = "ops/config.rs"]
mod config;
#[path = "ops/logs.rs"]
mod logs;
#[path = "ops/otel.rs"]
mod otel;
mod support;
#[path = "ops/usage.rs"]
mod usage;
