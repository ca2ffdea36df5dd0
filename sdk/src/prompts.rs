//! Interactive login steps, rendered by the host (terminal or gateway client).

#[cfg(target_arch = "wasm32")]
pub use crate::bindings::claw::plugin::prompts::{ask, open_url, pick, progress, show_code};

#[cfg(not(target_arch = "wasm32"))]
pub use native::{ask, open_url, pick, progress, show_code};

/// The same functions over the native host table. A prompt the host cannot
/// show (or no claw at all, in a plugin's own tests) reads as "cancelled":
/// `None` or `false`, with a warning in the log.
#[cfg(not(target_arch = "wasm32"))]
mod native {
    use serde_json::{Value, json};

    fn prompt(request: Value) -> Option<Value> {
        match crate::native::host::prompt(&request) {
            Ok(answer) => Some(answer),
            Err(why) => {
                crate::log::warn(&format!("prompt {} failed: {why}", request["op"]));
                None
            }
        }
    }

    /// Show a code the user must enter at `url` (device / user-code flows).
    pub fn show_code(code: &str, url: &str) {
        prompt(json!({"op": "show_code", "code": code, "url": url}));
    }

    /// Offer to open `url` in a browser; false if it was not opened.
    pub fn open_url(url: &str) -> bool {
        prompt(json!({"op": "open_url", "url": url})).and_then(|v| v.as_bool()) == Some(true)
    }

    /// Ask for a value; `secret` values are not echoed. `None` when the host
    /// cannot ask or the user cancelled.
    pub fn ask(question: &str, secret: bool) -> Option<String> {
        match prompt(json!({"op": "ask", "question": question, "secret": secret}))? {
            Value::String(answer) => Some(answer),
            _ => None,
        }
    }

    /// Ask the user to pick one of `options`; its index, or `None`.
    pub fn pick(question: &str, options: &[String]) -> Option<u32> {
        let answer = prompt(json!({"op": "pick", "question": question, "options": options}))?;
        answer.as_u64().and_then(|i| u32::try_from(i).ok())
    }

    /// Report progress of a long step (e.g. "waiting for approval").
    pub fn progress(message: &str) {
        prompt(json!({"op": "progress", "message": message}));
    }
}
