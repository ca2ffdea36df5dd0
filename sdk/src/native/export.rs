//! What the `claw_*` symbols do: the export macros emit thin `extern "C"`
//! functions that call these, instantiated for the plugin's type. Every one
//! catches panics, so a panic fails that call only and never unwinds into claw.

use std::any::Any;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::abi::{
    ClawHost, ClawSink, STATUS_BAD_INPUT, STATUS_OK, STATUS_PANIC, STATUS_PLUGIN_ERROR, bytes,
};
use super::host;
use crate::types::{ChatRequest, Credential, ErrorReason, PluginError};
use crate::{Auth, ChatStream, PluginErrorExt, Provider, SDK_VERSION};

/// How a call ended, before it is written to the sink.
enum Outcome {
    Ok(Vec<u8>),
    Failed(PluginError),
    BadInput(String),
}

fn encode<T: Serialize>(value: &T) -> Outcome {
    match serde_json::to_vec(value) {
        Ok(json) => Outcome::Ok(json),
        Err(e) => Outcome::Failed(PluginError::new(
            ErrorReason::Unknown,
            format!("the plugin's result could not be written as JSON: {e}"),
        )),
    }
}

fn parse<T: DeserializeOwned>(json: &[u8], what: &str) -> Result<T, Outcome> {
    serde_json::from_slice(json).map_err(|e| {
        Outcome::BadInput(format!(
            "the {what} is not a claw:plugin@{SDK_VERSION} JSON: {e}"
        ))
    })
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the plugin panicked (with a payload that is not text)".to_string()
    }
}

/// Drop a panic payload without letting a panicking `Drop` escape either.
fn discard(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// Run `work`, write its outcome to `out`, return the status.
///
/// # Safety
/// `out` is the sink the caller handed over for this call.
unsafe fn run(out: ClawSink, work: impl FnOnce() -> Outcome) -> i32 {
    let (status, bytes) = match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Outcome::Ok(json)) => (STATUS_OK, json),
        Ok(Outcome::Failed(error)) => (
            STATUS_PLUGIN_ERROR,
            serde_json::to_vec(&error).unwrap_or_default(),
        ),
        Ok(Outcome::BadInput(why)) => (STATUS_BAD_INPUT, why.into_bytes()),
        Err(payload) => {
            let message = panic_message(&*payload);
            discard(payload);
            (STATUS_PANIC, message.into_bytes())
        }
    };
    // SAFETY: as the caller promises.
    unsafe { out.put(&bytes) };
    status
}

/// `claw_init`: keep the host table. 0 = OK; 3 = unusable table; 2 = panic.
///
/// # Safety
/// `table` is null or claw's table, valid until the library is unloaded.
pub unsafe fn init(table: *const ClawHost) -> i32 {
    // SAFETY: as the caller promises.
    match catch_unwind(|| unsafe { host::install(table) }) {
        Ok(Ok(())) => STATUS_OK,
        Ok(Err(_)) => STATUS_BAD_INPUT,
        Err(payload) => {
            discard(payload);
            STATUS_PANIC
        }
    }
}

/// The SDK version, NUL-terminated, built from [`SDK_VERSION`] at compile time.
static SDK_VERSION_C: [u8; SDK_VERSION.len() + 1] = {
    let version = SDK_VERSION.as_bytes();
    let mut out = [0u8; SDK_VERSION.len() + 1];
    let mut i = 0;
    while i < version.len() {
        assert!(version[i] != 0, "SDK_VERSION must not contain NUL");
        out[i] = version[i];
        i += 1;
    }
    out
};

/// `claw_sdk_version`: a static NUL-terminated string.
pub fn sdk_version() -> *const c_char {
    SDK_VERSION_C.as_ptr().cast()
}

/// `claw_describe`.
///
/// # Safety
/// `out` is the sink the caller handed over for this call.
pub unsafe fn describe<T: Provider>(out: ClawSink) -> i32 {
    // SAFETY: as the caller promises.
    unsafe { run(out, || encode(&T::describe())) }
}

/// `claw_describe_auth`.
///
/// # Safety
/// `out` is the sink the caller handed over for this call.
pub unsafe fn describe_auth<T: Auth>(out: ClawSink) -> i32 {
    // SAFETY: as the caller promises.
    unsafe { run(out, || encode(&T::describe_auth())) }
}

/// `claw_chat`: on OK, `*stream` is a handle for [`chat_next`] and [`chat_close`].
///
/// # Safety
/// `request..request+len` is readable, `stream` is writable (or null), and
/// `out` is the caller's sink, all for the duration of the call.
pub unsafe fn chat<T: Provider>(
    request: *const u8,
    len: usize,
    stream: *mut u64,
    out: ClawSink,
) -> i32 {
    // SAFETY: as the caller promises.
    let request = unsafe { bytes(request, len) };
    let work = || {
        if stream.is_null() {
            return Outcome::BadInput("claw_chat got no place for the stream handle".into());
        }
        let request: ChatRequest = match parse(request, "chat request") {
            Ok(request) => request,
            Err(bad) => return bad,
        };
        match T::chat(request) {
            Ok(chat) => {
                let handle = Box::into_raw(Box::new(chat)) as u64;
                // SAFETY: `stream` is non-null and writable, as the caller promises.
                unsafe { stream.write(handle) };
                Outcome::Ok(Vec::new())
            }
            Err(error) => Outcome::Failed(error),
        }
    };
    // SAFETY: as the caller promises.
    unsafe { run(out, work) }
}

/// `claw_chat_next`: `null` at the end, else a non-empty array of events.
///
/// # Safety
/// `stream` is a live handle from [`chat`] (not yet closed), used by one
/// thread at a time; `out` is the caller's sink.
pub unsafe fn chat_next(stream: u64, out: ClawSink) -> i32 {
    let work = || {
        // SAFETY: a live handle from `chat` is a `Box<ChatStream>` pointer.
        let Some(chat) = (unsafe { (stream as *const ChatStream).as_ref() }) else {
            return Outcome::BadInput("claw_chat_next got stream handle 0".into());
        };
        match chat.next_batch() {
            Ok(None) => Outcome::Ok(b"null".to_vec()),
            Ok(Some(events)) => encode(&events),
            Err(error) => Outcome::Failed(error),
        }
    };
    // SAFETY: as the caller promises.
    unsafe { run(out, work) }
}

/// `claw_chat_close`: frees the stream (a panic while dropping it is logged).
///
/// # Safety
/// `stream` is 0 or a live handle from [`chat`]; it is not used afterwards.
pub unsafe fn chat_close(stream: u64) {
    if stream == 0 {
        return;
    }
    // SAFETY: a live handle from `chat` is a `Box<ChatStream>` pointer, freed once.
    let chat = unsafe { Box::from_raw(stream as *mut ChatStream) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(chat))) {
        let message = panic_message(&*payload);
        discard(payload);
        host::log(
            4,
            &format!("a chat stream panicked while closing: {message}"),
        );
    }
}

/// `claw_login`: `method` is the method id as plain text.
///
/// # Safety
/// `method..method+len` is readable and `out` is the caller's sink, for the call.
pub unsafe fn login<T: Auth>(method: *const u8, len: usize, out: ClawSink) -> i32 {
    // SAFETY: as the caller promises.
    let method = unsafe { bytes(method, len) };
    let work = || match std::str::from_utf8(method) {
        Ok(method) => match T::login(method.to_string()) {
            Ok(result) => encode(&result),
            Err(error) => Outcome::Failed(error),
        },
        Err(e) => Outcome::BadInput(format!("the login method is not UTF-8 text: {e}")),
    };
    // SAFETY: as the caller promises.
    unsafe { run(out, work) }
}

/// What `claw_refresh` receives.
#[derive(serde::Deserialize)]
struct RefreshRequest {
    method: String,
    credential: Credential,
}

/// `claw_refresh`: `request` is `{"method": id, "credential": credential}`.
///
/// # Safety
/// `request..request+len` is readable and `out` is the caller's sink, for the call.
pub unsafe fn refresh<T: Auth>(request: *const u8, len: usize, out: ClawSink) -> i32 {
    // SAFETY: as the caller promises.
    let request = unsafe { bytes(request, len) };
    let work = || {
        let request: RefreshRequest = match parse(request, "refresh request") {
            Ok(request) => request,
            Err(bad) => return bad,
        };
        match T::refresh(request.method, request.credential) {
            Ok(credential) => encode(&credential),
            Err(error) => Outcome::Failed(error),
        }
    };
    // SAFETY: as the caller promises.
    unsafe { run(out, work) }
}
