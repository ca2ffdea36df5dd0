//! The export macros: one call in a plugin crate wires a struct to the component
//! exports. Each generates the crate's bindings for its world (the WIT is embedded
//! in this SDK) and glue from the generated `Guest` traits to [`crate::Provider`]
//! and [`crate::Auth`].

/// Export a type implementing [`Provider`](crate::Provider) as a provider plugin.
#[macro_export]
macro_rules! export_provider {
    ($ty:ty) => {
        #[doc(hidden)]
        #[allow(unused_imports, dead_code)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_bindings!("provider-plugin");
            pub struct __ClawPlugin;
            $crate::__claw_provider_glue!($ty);
            export!(__ClawPlugin);
        }
    };
}

/// Export a type implementing [`Auth`](crate::Auth) as an auth plugin.
#[macro_export]
macro_rules! export_auth {
    ($ty:ty) => {
        #[doc(hidden)]
        #[allow(unused_imports, dead_code)]
        mod __claw_plugin_export {
            use super::*;
            $crate::__claw_bindings!("auth-plugin");
            pub struct __ClawPlugin;
            $crate::__claw_auth_glue!($ty);
            export!(__ClawPlugin);
        }
    };
}

/// Export a type implementing both [`Provider`](crate::Provider) and
/// [`Auth`](crate::Auth) (a portal plugin that logs in and serves its provider).
#[macro_export]
macro_rules! export_portal {
    ($ty:ty) => {
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
