//! The C ABI between claw and a native plugin, version 1, as
//! `docs/native-abi.md` specifies it (the SDK has the plugin's half).

use std::ffi::{c_char, c_void};

/// ABI versions this host loads.
pub(crate) const ABI_MIN: u32 = 1;
pub(crate) const ABI_MAX: u32 = 1;

/// Status codes of the plugin's functions.
pub(crate) const OK: i32 = 0;
pub(crate) const PLUGIN_ERROR: i32 = 1;
pub(crate) const PANIC: i32 = 2;
pub(crate) const BAD_INPUT: i32 = 3;

/// Status codes of the host's functions.
pub(crate) const HOST_OK: i32 = 0;
pub(crate) const HOST_ERROR: i32 = 1;

/// `claw_roles` bits.
pub(crate) const ROLE_PROVIDER: u32 = 1;
pub(crate) const ROLE_AUTH: u32 = 2;

/// Where a callee writes its output; the bytes of every `write` append.
#[repr(C)]
pub(crate) struct ClawSink {
    pub ctx: *mut c_void,
    pub write: unsafe extern "C" fn(ctx: *mut c_void, ptr: *const u8, len: usize),
}

/// A sink into a `Vec<u8>` the caller owns.
pub(crate) fn sink(buf: &mut Vec<u8>) -> ClawSink {
    unsafe extern "C" fn write(ctx: *mut c_void, ptr: *const u8, len: usize) {
        if ctx.is_null() || ptr.is_null() || len == 0 {
            return;
        }
        // SAFETY: `ctx` is the Vec this sink was made from, alive for the call;
        // `ptr..ptr+len` is the callee's buffer for the duration of `write`.
        unsafe { (*(ctx as *mut Vec<u8>)).extend_from_slice(std::slice::from_raw_parts(ptr, len)) }
    }
    ClawSink {
        ctx: buf as *mut Vec<u8> as *mut c_void,
        write,
    }
}

/// Write `bytes` into a sink the plugin handed over.
pub(crate) fn put(out: &ClawSink, bytes: &[u8]) {
    if !bytes.is_empty() {
        // SAFETY: the plugin's sink, valid for the duration of the host call.
        unsafe { (out.write)(out.ctx, bytes.as_ptr(), bytes.len()) }
    }
}

/// The host functions handed to `claw_init`.
#[repr(C)]
pub(crate) struct ClawHost {
    pub abi: u32,
    pub size: u32,
    pub log: unsafe extern "C" fn(level: u32, msg: *const u8, len: usize),
    pub config: unsafe extern "C" fn(out: ClawSink),
    pub prompt: unsafe extern "C" fn(request: *const u8, len: usize, out: ClawSink) -> i32,
    pub random: unsafe extern "C" fn(buf: *mut u8, len: usize),
    pub http_send: unsafe extern "C" fn(
        head: *const u8,
        head_len: usize,
        body: *const u8,
        body_len: usize,
        response: *mut u64,
        out: ClawSink,
    ) -> i32,
    pub http_read: unsafe extern "C" fn(response: u64, out: ClawSink) -> i32,
    pub http_close: unsafe extern "C" fn(response: u64),
}

// The layout the SDK pins too (two u32, seven function pointers): a change on
// one side only is a compile error here.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<ClawHost>() == 64);

// The plugin's exports.
pub(crate) type AbiVersionFn = unsafe extern "C" fn() -> u32;
pub(crate) type SdkVersionFn = unsafe extern "C" fn() -> *const c_char;
pub(crate) type RolesFn = unsafe extern "C" fn() -> u32;
pub(crate) type InitFn = unsafe extern "C" fn(host: *const ClawHost) -> i32;
pub(crate) type DescribeFn = unsafe extern "C" fn(out: ClawSink) -> i32;
pub(crate) type ChatFn =
    unsafe extern "C" fn(request: *const u8, len: usize, stream: *mut u64, out: ClawSink) -> i32;
pub(crate) type NextFn = unsafe extern "C" fn(stream: u64, out: ClawSink) -> i32;
pub(crate) type CloseFn = unsafe extern "C" fn(stream: u64);
pub(crate) type InputFn = unsafe extern "C" fn(input: *const u8, len: usize, out: ClawSink) -> i32;

/// The bytes `ptr..ptr+len` the plugin passed, or empty for a null pointer.
///
/// # Safety
/// `ptr` must be valid for `len` bytes for the duration of the host call.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: as the caller promises.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}
