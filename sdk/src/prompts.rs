//! Interactive login steps, rendered by the host (terminal or gateway client).

pub use crate::bindings::claw::plugin::prompts::{ask, open_url, pick, progress, show_code};
