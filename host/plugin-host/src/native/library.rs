//! Opening a native plugin: check the header, load a fresh private copy (so a
//! rebuilt library at the same path is a new library, and the old one stays
//! mapped until its calls finish), find the ABI symbols, check the ABI and SDK
//! versions, hand over the host table.

use std::ffi::CStr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use semver::Version;

use super::NativeError;
use super::abi::{self, ClawSink};
use super::host::TABLE;
use crate::manifest::Role;

/// A loaded library and its entry points. Dropping it unloads the library, so
/// whoever calls into it holds an `Arc` to it for as long as the call runs.
pub(crate) struct Library {
    pub(crate) sdk: Version,
    pub(crate) roles: Vec<Role>,
    pub(crate) describe: Option<abi::DescribeFn>,
    pub(crate) describe_auth: Option<abi::DescribeFn>,
    pub(crate) chat: Option<abi::ChatFn>,
    pub(crate) next: Option<abi::NextFn>,
    pub(crate) close: Option<abi::CloseFn>,
    pub(crate) login: Option<abi::InputFn>,
    pub(crate) refresh: Option<abi::InputFn>,
    // Last: the entry points above point into it.
    _library: libloading::Library,
}

/// Distinguishes the copies one process loads.
static COPIES: AtomicU64 = AtomicU64::new(0);

pub(crate) fn open(id: &str, bytes: &[u8], copies: &Path) -> Result<Library, NativeError> {
    if let Some(why) = super::format::mismatch(bytes) {
        return Err(NativeError::Format { id: id.into(), why });
    }
    let library = load_copy(id, bytes, copies)?;
    let missing = |symbol: &'static str| NativeError::MissingSymbol {
        id: id.into(),
        symbol,
    };
    // SAFETY (every `get` below): the symbol types are the ABI's, and the
    // pointers live as long as `library`, which `Library` keeps last.
    let abi_version: abi::AbiVersionFn = unsafe { library.get(b"claw_abi_version\0") }
        .map(|s| *s)
        .map_err(|_| missing("claw_abi_version"))?;
    // SAFETY: an ABI function without arguments.
    let found = unsafe { abi_version() };
    if !(abi::ABI_MIN..=abi::ABI_MAX).contains(&found) {
        return Err(NativeError::Abi {
            id: id.into(),
            found,
        });
    }
    let sdk_version: abi::SdkVersionFn = unsafe { library.get(b"claw_sdk_version\0") }
        .map(|s| *s)
        .map_err(|_| missing("claw_sdk_version"))?;
    // SAFETY: the ABI says a static NUL-terminated string; null is checked.
    let text = unsafe {
        let ptr = sdk_version();
        (!ptr.is_null()).then(|| CStr::from_ptr(ptr).to_string_lossy().into_owned())
    };
    let sdk = text
        .as_deref()
        .and_then(|t| Version::parse(t).ok())
        .ok_or_else(|| NativeError::SdkVersion {
            id: id.into(),
            found: text.clone().unwrap_or_else(|| "nothing".into()),
        })?;
    let roles_fn: abi::RolesFn = unsafe { library.get(b"claw_roles\0") }
        .map(|s| *s)
        .map_err(|_| missing("claw_roles"))?;
    // SAFETY: an ABI function without arguments.
    let bits = unsafe { roles_fn() };
    let mut roles = Vec::new();
    if bits & abi::ROLE_PROVIDER != 0 {
        roles.push(Role::Provider);
    }
    if bits & abi::ROLE_AUTH != 0 {
        roles.push(Role::Auth);
    }
    macro_rules! symbol {
        ($role:expr, $name:literal) => {
            if roles.contains(&$role) {
                Some(
                    unsafe { library.get(concat!($name, "\0").as_bytes()) }
                        .map(|s| *s)
                        .map_err(|_| missing($name))?,
                )
            } else {
                None
            }
        };
    }
    let describe = symbol!(Role::Provider, "claw_describe");
    let chat = symbol!(Role::Provider, "claw_chat");
    let next = symbol!(Role::Provider, "claw_chat_next");
    let close = symbol!(Role::Provider, "claw_chat_close");
    let describe_auth = symbol!(Role::Auth, "claw_describe_auth");
    let login = symbol!(Role::Auth, "claw_login");
    let refresh = symbol!(Role::Auth, "claw_refresh");
    let init: abi::InitFn = unsafe { library.get(b"claw_init\0") }
        .map(|s| *s)
        .map_err(|_| missing("claw_init"))?;
    // SAFETY: the table is static, so it outlives the library.
    let status = unsafe { init(&TABLE) };
    if status != abi::OK {
        return Err(NativeError::Init {
            id: id.into(),
            status,
        });
    }
    Ok(Library {
        sdk,
        roles,
        describe,
        describe_auth,
        chat,
        next,
        close,
        login,
        refresh,
        _library: library,
    })
}

/// Write `bytes` (the very bytes that were checked) to a new private file and
/// load that. On Unix the file is removed once loaded: the mapping stays, and a
/// crash leaves nothing behind.
fn load_copy(id: &str, bytes: &[u8], dir: &Path) -> Result<libloading::Library, NativeError> {
    let failed = |detail: String| NativeError::Open {
        id: id.into(),
        detail,
    };
    claw_types::fs::create_private_dir(dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    let n = COPIES.fetch_add(1, Ordering::Relaxed);
    let ext = std::env::consts::DLL_EXTENSION;
    let path = dir.join(format!("{id}-{}-{n}.{ext}", std::process::id()));
    claw_types::fs::write_atomic(&path, bytes, Some(0o700))
        .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
    // SAFETY: loading runs the library's initializers; the user trusted this
    // plugin to run in claw's process (the caller checked).
    let loaded = unsafe { libloading::Library::new(&path) };
    if cfg!(unix) {
        let _ = std::fs::remove_file(&path);
    }
    loaded.map_err(|e| failed(one_line(&e.to_string())))
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Call a plugin function that writes into a sink: its status and output.
pub(crate) fn with_sink(f: impl FnOnce(ClawSink) -> i32) -> (i32, Vec<u8>) {
    let mut out = Vec::new();
    let status = f(abi::sink(&mut out));
    (status, out)
}
