//! The C ABI shared with the host, exactly as docs/native-abi.md (version 1)
//! lays it out. Changing anything here is an ABI change.

use std::ffi::c_void;

/// `claw_abi_version`: bumped only when a symbol's meaning or signature changes.
pub const ABI_VERSION: u32 = 1;

/// Status: the sink holds the result JSON.
pub const STATUS_OK: i32 = 0;
/// Status: the sink holds a `plugin-error` JSON.
pub const STATUS_PLUGIN_ERROR: i32 = 1;
/// Status: the sink holds the panic message, plain text.
pub const STATUS_PANIC: i32 = 2;
/// Status: the sink holds plain text saying why the input could not be read.
pub const STATUS_BAD_INPUT: i32 = 3;

/// Host functions return this for OK...
pub const HOST_OK: i32 = 0;
/// ...and this for an error (the sink says which).
pub const HOST_ERROR: i32 = 1;

/// `claw_roles` bit: the library exports the provider functions.
pub const ROLE_PROVIDER: u32 = 1 << 0;
/// `claw_roles` bit: the library exports the auth functions.
pub const ROLE_AUTH: u32 = 1 << 1;

/// Where a callee writes its output: `write` appends bytes to the caller's buffer.
/// Each side frees only what it allocated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ClawSink {
    pub ctx: *mut c_void,
    pub write: unsafe extern "C" fn(ctx: *mut c_void, ptr: *const u8, len: usize),
}

impl ClawSink {
    /// Append `bytes` to the caller's buffer.
    ///
    /// # Safety
    /// `self` must be a sink the caller handed over for the current call.
    pub unsafe fn put(self, bytes: &[u8]) {
        if !bytes.is_empty() {
            // SAFETY: the caller vouches for the sink; `bytes` is valid for the call.
            unsafe { (self.write)(self.ctx, bytes.as_ptr(), bytes.len()) }
        }
    }
}

/// The host's functions, handed to `claw_init`. Later versions only append
/// fields; `size` says how many the host filled in.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ClawHost {
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

/// A sink that appends into a `Vec<u8>` (for calls into the host).
pub(crate) struct VecSink(pub(crate) Vec<u8>);

impl VecSink {
    pub(crate) fn new() -> Self {
        VecSink(Vec::new())
    }

    /// A `ClawSink` writing into `self`; valid while `self` is borrowed.
    pub(crate) fn sink(&mut self) -> ClawSink {
        ClawSink {
            ctx: (&mut self.0 as *mut Vec<u8>).cast(),
            write: append_to_vec,
        }
    }
}

unsafe extern "C" fn append_to_vec(ctx: *mut c_void, ptr: *const u8, len: usize) {
    if ctx.is_null() || ptr.is_null() || len == 0 {
        return;
    }
    // SAFETY: `ctx` is the `Vec<u8>` of a live `VecSink` (see `VecSink::sink`),
    // and the host promises `ptr..ptr+len` is readable for this call.
    unsafe {
        let buf = &mut *ctx.cast::<Vec<u8>>();
        buf.extend_from_slice(std::slice::from_raw_parts(ptr, len));
    }
}

/// The bytes at `ptr..ptr+len` (empty when `len` is 0, even if `ptr` is null).
///
/// # Safety
/// When `len > 0`, `ptr` must be valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: as the caller promises.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}
