//! The export macros: one call in a plugin crate wires a struct to the plugin's
//! exports. For `wasm32` each generates the crate's bindings for its world (the
//! WIT is embedded in this SDK) and glue from the generated `Guest` traits to
//! [`crate::Provider`] and [`crate::Auth`]. For any other target each emits the
//! `claw_*` symbols of the native ABI (docs/native-abi.md) for its roles only.

/// Export a type implementing [`Provider`](crate::Provider) as a provider plugin.
#[macro_export]
macro_rules! export_provider {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(unused_imports, dead_code)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_bindings!("provider-plugin");
            pub struct __ClawPlugin;
            $crate::__claw_provider_glue!($ty);
            export!(__ClawPlugin);
        }
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        #[allow(unused_imports)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_native_common!($crate::native::ROLE_PROVIDER);
            $crate::__claw_native_provider!($ty);
        }
    };
}

/// Export a type implementing [`Auth`](crate::Auth) as an auth plugin.
#[macro_export]
macro_rules! export_auth {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(unused_imports, dead_code)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_bindings!("auth-plugin");
            pub struct __ClawPlugin;
            $crate::__claw_auth_glue!($ty);
            export!(__ClawPlugin);
        }
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        #[allow(unused_imports)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_native_common!($crate::native::ROLE_AUTH);
            $crate::__claw_native_auth!($ty);
        }
    };
}

/// Export a type implementing both [`Provider`](crate::Provider) and
/// [`Auth`](crate::Auth) (a portal plugin that logs in and serves its provider).
#[macro_export]
macro_rules! export_portal {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(unused_imports, dead_code)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_bindings!("portal-plugin");
            pub struct __ClawPlugin;
            $crate::__claw_provider_glue!($ty);
            $crate::__claw_auth_glue!($ty);
            export!(__ClawPlugin);
        }
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        #[allow(unused_imports)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_native_common!(
                $crate::native::ROLE_PROVIDER | $crate::native::ROLE_AUTH
            );
            $crate::__claw_native_provider!($ty);
            $crate::__claw_native_auth!($ty);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __claw_provider_glue {
    ($ty:ty) => {
        impl exports::claw::plugin::provider::Guest for __ClawPlugin {
            type ChatStream = $crate::ChatStream;

            fn describe() -> $crate::types::ProviderInfo {
                <$ty as $crate::Provider>::describe()
            }

            fn chat(
                request: $crate::types::ChatRequest,
            ) -> ::core::result::Result<
                exports::claw::plugin::provider::ChatStream,
                $crate::types::PluginError,
            > {
                <$ty as $crate::Provider>::chat(request)
                    .map(exports::claw::plugin::provider::ChatStream::new)
            }
        }

        impl exports::claw::plugin::provider::GuestChatStream for $crate::ChatStream {
            fn next(
                &self,
            ) -> ::core::result::Result<
                ::core::option::Option<::std::vec::Vec<$crate::types::ChatEvent>>,
                $crate::types::PluginError,
            > {
                self.next_batch()
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __claw_auth_glue {
    ($ty:ty) => {
        impl exports::claw::plugin::auth::Guest for __ClawPlugin {
            fn describe_auth() -> $crate::types::AuthInfo {
                <$ty as $crate::Auth>::describe_auth()
            }

            fn login(
                method: ::std::string::String,
            ) -> ::core::result::Result<$crate::types::LoginResult, $crate::types::PluginError>
            {
                <$ty as $crate::Auth>::login(method)
            }

            fn refresh(
                method: ::std::string::String,
                credential: $crate::types::Credential,
            ) -> ::core::result::Result<$crate::types::Credential, $crate::types::PluginError> {
                <$ty as $crate::Auth>::refresh(method, credential)
            }
        }
    };
}

// The native symbols. Each is a thin `extern "C"` shim over a generic function
// in `$crate::native::export`, which catches panics and speaks the JSON.

#[doc(hidden)]
#[macro_export]
macro_rules! __claw_native_common {
    ($roles:expr) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn claw_abi_version() -> u32 {
            $crate::native::ABI_VERSION
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn claw_sdk_version() -> *const ::core::ffi::c_char {
            $crate::native::export::sdk_version()
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn claw_roles() -> u32 {
            $roles
        }

        /// # Safety
        /// `host` is claw's table, valid until the library is unloaded.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_init(host: *const $crate::native::ClawHost) -> i32 {
            unsafe { $crate::native::export::init(host) }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __claw_native_provider {
    ($ty:ty) => {
        /// # Safety
        /// `out` is the caller's sink.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_describe(out: $crate::native::ClawSink) -> i32 {
            unsafe { $crate::native::export::describe::<$ty>(out) }
        }

        /// # Safety
        /// See docs/native-abi.md (`claw_chat`).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_chat(
            request: *const u8,
            len: usize,
            stream: *mut u64,
            out: $crate::native::ClawSink,
        ) -> i32 {
            unsafe { $crate::native::export::chat::<$ty>(request, len, stream, out) }
        }

        /// # Safety
        /// `stream` is a live handle from `claw_chat`; `out` is the caller's sink.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_chat_next(stream: u64, out: $crate::native::ClawSink) -> i32 {
            unsafe { $crate::native::export::chat_next(stream, out) }
        }

        /// # Safety
        /// `stream` is a live handle from `claw_chat`, not used afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_chat_close(stream: u64) {
            unsafe { $crate::native::export::chat_close(stream) }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __claw_native_auth {
    ($ty:ty) => {
        /// # Safety
        /// `out` is the caller's sink.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_describe_auth(out: $crate::native::ClawSink) -> i32 {
            unsafe { $crate::native::export::describe_auth::<$ty>(out) }
        }

        /// # Safety
        /// See docs/native-abi.md (`claw_login`).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_login(
            method: *const u8,
            len: usize,
            out: $crate::native::ClawSink,
        ) -> i32 {
            unsafe { $crate::native::export::login::<$ty>(method, len, out) }
        }

        /// # Safety
        /// See docs/native-abi.md (`claw_refresh`).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn claw_refresh(
            request: *const u8,
            len: usize,
            out: $crate::native::ClawSink,
        ) -> i32 {
            unsafe { $crate::native::export::refresh::<$ty>(request, len, out) }
        }
    };
}
