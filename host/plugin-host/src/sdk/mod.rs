//! The SDK versions this host serves: one module per supported `claw:plugin`
//! release (its frozen WIT, the host side of its imports, and conversions to the
//! host's own types), and the dispatch from a plugin handle to the module that
//! matches the version the plugin was built against. Adding a version is adding
//! a module and a line in each `match` below; `SUPPORTED` follows from them.

#[macro_use]
mod common;
pub mod compat;
pub(crate) mod imports;
mod v0_1;
mod v0_2;

use semver::Version;
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Linker};

use claw_types::{
    AuthInfo, ChatEvent, ChatRequest, Credential, LoginResult, PluginError, ProviderInfo,
};

use crate::state::HostState;

/// The JSON the native ABI carries, for the one version that has it (0.2:
/// native plugins arrived with it).
pub(crate) mod native_json {
    pub(crate) use super::v0_2::native_json::*;

    /// Whether a native library built against `version` speaks this JSON.
    pub(crate) fn supports(version: &semver::Version) -> bool {
        super::compat::same_track(version, &super::v0_2::VERSION)
    }
}

/// The package plugins are built against.
pub const PACKAGE: &str = "claw:plugin";

/// One release per supported track (`0.1.x`, ...), oldest first.
pub const SUPPORTED: &[Version] = &[v0_1::VERSION, v0_2::VERSION];

/// Every supported version's imports, side by side in one linker (their
/// interface names carry the version, so they never collide).
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    v0_1::add_to_linker(linker)?;
    v0_2::add_to_linker(linker)
}

/// A plugin's exports, resolved for the SDK version it was built against.
pub(crate) enum Exports {
    V0_1(v0_1::Exports),
    V0_2(v0_2::Exports),
}

/// A reply in progress, on the version its plugin speaks.
pub(crate) enum Stream {
    V0_1(v0_1::Stream),
    V0_2(v0_2::Stream),
}

type Call<T> = wasmtime::Result<Result<T, PluginError>>;

impl Exports {
    /// `version` has passed `compat::check`, so one module's track matches it.
    pub(crate) fn new(version: &Version, pre: &InstancePre<HostState>) -> Option<Exports> {
        if compat::same_track(version, &v0_1::VERSION) {
            return Some(Exports::V0_1(v0_1::Exports::new(pre)));
        }
        if compat::same_track(version, &v0_2::VERSION) {
            return Some(Exports::V0_2(v0_2::Exports::new(pre)));
        }
        None
    }

    pub(crate) fn is_provider(&self) -> bool {
        match self {
            Exports::V0_1(e) => e.is_provider(),
            Exports::V0_2(e) => e.is_provider(),
        }
    }

    pub(crate) fn is_auth(&self) -> bool {
        match self {
            Exports::V0_1(e) => e.is_auth(),
            Exports::V0_2(e) => e.is_auth(),
        }
    }

    pub(crate) async fn describe(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<ProviderInfo> {
        match self {
            Exports::V0_1(e) => e.describe(store, instance).await,
            Exports::V0_2(e) => e.describe(store, instance).await,
        }
    }

    pub(crate) async fn describe_auth(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<AuthInfo> {
        match self {
            Exports::V0_1(e) => e.describe_auth(store, instance).await,
            Exports::V0_2(e) => e.describe_auth(store, instance).await,
        }
    }

    pub(crate) async fn login(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        method: &str,
    ) -> Call<LoginResult> {
        match self {
            Exports::V0_1(e) => e.login(store, instance, method).await,
            Exports::V0_2(e) => e.login(store, instance, method).await,
        }
    }

    pub(crate) async fn refresh(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        method: &str,
        credential: &Credential,
    ) -> Call<Credential> {
        match self {
            Exports::V0_1(e) => e.refresh(store, instance, method, credential).await,
            Exports::V0_2(e) => e.refresh(store, instance, method, credential).await,
        }
    }

    pub(crate) async fn chat(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        request: &ChatRequest,
    ) -> Call<Stream> {
        match self {
            Exports::V0_1(e) => Ok(e.chat(store, instance, request).await?.map(Stream::V0_1)),
            Exports::V0_2(e) => Ok(e.chat(store, instance, request).await?.map(Stream::V0_2)),
        }
    }
}

impl Stream {
    pub(crate) async fn next(&self, store: &mut Store<HostState>) -> Call<Option<Vec<ChatEvent>>> {
        match self {
            Stream::V0_1(s) => s.next(store).await,
            Stream::V0_2(s) => s.next(store).await,
        }
    }
}
