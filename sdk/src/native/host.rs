//! The host table `claw_init` hands over, and safe wrappers the rest of the SDK
//! calls. Without a table (a plugin's own `cargo test`, where claw is not
//! there) each wrapper does something safe and says so instead of crashing.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::abi::{ABI_VERSION, ClawHost, HOST_OK, VecSink};

/// The table from `claw_init`; null until then. The host keeps it valid until
/// it unloads the library. A second `claw_init` (the library loaded twice)
/// replaces it.
static HOST: AtomicPtr<ClawHost> = AtomicPtr::new(ptr::null_mut());

#[cfg(test)]
thread_local! {
    /// Tests on this thread see no table, as a plugin's own unit tests do
    /// (the table is process-wide; tests run in parallel).
    pub(crate) static HIDE_HOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keep `table` for every later host call.
///
/// # Safety
/// `table` is null or points to a `ClawHost` prefix of at least its `size`
/// bytes that stays valid until the library is unloaded.
pub(crate) unsafe fn install(table: *const ClawHost) -> Result<(), String> {
    if table.is_null() {
        return Err("claw_init got no host table".into());
    }
    // Read only the two leading fields until `size` says the rest is there.
    // SAFETY: every version of the table starts with `abi` and `size`.
    let (abi, size) = unsafe {
        (
            (&raw const (*table).abi).read(),
            (&raw const (*table).size).read(),
        )
    };
    if abi != ABI_VERSION {
        return Err(format!(
            "the host table is ABI {abi}; this plugin speaks {ABI_VERSION}"
        ));
    }
    let needed = size_of::<ClawHost>();
    if (size as usize) < needed {
        return Err(format!(
            "the host table has {size} bytes; ABI {ABI_VERSION} needs {needed}"
        ));
    }
    HOST.store(table.cast_mut(), Ordering::Release);
    Ok(())
}

fn table() -> Option<&'static ClawHost> {
    #[cfg(test)]
    if HIDE_HOST.with(|hide| hide.get()) {
        return None;
    }
    let table = HOST.load(Ordering::Acquire);
    // SAFETY: `install` checked the table, which lives until the library is unloaded.
    unsafe { table.as_ref() }
}

/// One line into claw's log (level 0 trace .. 4 error); stderr without claw.
pub(crate) fn log(level: u32, message: &str) {
    match table() {
        // SAFETY: the host reads `message` during the call only.
        Some(host) => unsafe { (host.log)(level, message.as_ptr(), message.len()) },
        None => {
            let name = ["trace", "debug", "info", "warn", "error"]
                .get(level as usize)
                .unwrap_or(&"log");
            eprintln!("[{name}] {message}");
        }
    }
}

/// The plugin's config, JSON object text; `{}` without claw.
pub(crate) fn config() -> String {
    let Some(host) = table() else {
        return "{}".into();
    };
    let mut out = VecSink::new();
    // SAFETY: the sink lives across the call.
    unsafe { (host.config)(out.sink()) };
    String::from_utf8_lossy(&out.0).into_owned()
}

/// One prompt (docs/native-abi.md lists the requests and answers). Errors are
/// plain text, including "there is no claw host".
pub(crate) fn prompt(request: &serde_json::Value) -> Result<serde_json::Value, String> {
    let Some(host) = table() else {
        return Err("no claw host: prompts work only when claw loads the plugin".into());
    };
    let request = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let mut out = VecSink::new();
    // SAFETY: the request bytes and the sink live across the call.
    let status = unsafe { (host.prompt)(request.as_ptr(), request.len(), out.sink()) };
    if status != HOST_OK {
        return Err(String::from_utf8_lossy(&out.0).into_owned());
    }
    serde_json::from_slice(&out.0)
        .map_err(|e| format!("the claw host sent an unreadable answer: {e}"))
}

/// `len` cryptographically secure random bytes: from claw, else from the OS.
pub(crate) fn random(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    if len == 0 {
        return buf;
    }
    match table() {
        // SAFETY: `buf` has room for `len` bytes.
        Some(host) => unsafe { (host.random)(buf.as_mut_ptr(), len) },
        None => os_random(&mut buf),
    }
    buf
}

#[cfg(unix)]
fn os_random(buf: &mut [u8]) {
    use std::io::Read;
    // No fallback to a weaker source: these bytes become PKCE verifiers and states.
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .unwrap_or_else(|e| panic!("no claw host, and reading /dev/urandom failed: {e}"));
}

#[cfg(not(unix))]
fn os_random(_buf: &mut [u8]) {
    panic!("no claw host: random bytes outside claw are available only on unix (/dev/urandom)");
}

/// Why an HTTP call through the host failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HttpFailure {
    /// No host table: the plugin is not running inside claw.
    NoHost,
    /// The host's `{"kind": k, "message": s}`.
    Host { kind: String, message: String },
}

impl HttpFailure {
    fn from_sink(bytes: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Wire {
            kind: String,
            message: String,
        }
        match serde_json::from_slice::<Wire>(bytes) {
            Ok(Wire { kind, message }) => HttpFailure::Host { kind, message },
            // Not the documented shape: keep the text, call it a network failure.
            Err(_) => HttpFailure::Host {
                kind: "network".into(),
                message: String::from_utf8_lossy(bytes).into_owned(),
            },
        }
    }
}

/// Send a request: `head` is the request head JSON. OK: the response handle
/// and the response head JSON.
pub(crate) fn http_send(head: &[u8], body: &[u8]) -> Result<(u64, Vec<u8>), HttpFailure> {
    let host = table().ok_or(HttpFailure::NoHost)?;
    let mut handle = 0u64;
    let mut out = VecSink::new();
    // SAFETY: the buffers, the handle slot and the sink live across the call.
    let status = unsafe {
        (host.http_send)(
            head.as_ptr(),
            head.len(),
            body.as_ptr(),
            body.len(),
            &mut handle,
            out.sink(),
        )
    };
    if status == HOST_OK {
        Ok((handle, out.0))
    } else {
        Err(HttpFailure::from_sink(&out.0))
    }
}

/// The next body chunk of a response; `None` at the end.
pub(crate) fn http_read(response: u64) -> Result<Option<Vec<u8>>, HttpFailure> {
    let host = table().ok_or(HttpFailure::NoHost)?;
    let mut out = VecSink::new();
    // SAFETY: the sink lives across the call.
    let status = unsafe { (host.http_read)(response, out.sink()) };
    match status {
        HOST_OK if out.0.is_empty() => Ok(None),
        HOST_OK => Ok(Some(out.0)),
        _ => Err(HttpFailure::from_sink(&out.0)),
    }
}

/// Release a response handle.
pub(crate) fn http_close(response: u64) {
    if let Some(host) = table() {
        // SAFETY: a plain call with a handle `http_send` returned.
        unsafe { (host.http_close)(response) }
    }
}
