//! What every SDK version module has in common, stamped into each one after
//! its `bindgen!`: the export calls (`Exports`, `Stream`) and the host side of
//! the imports. The generated types differ per version but are named alike, so
//! one text serves all; each module supplies `to_wit_request` (what its
//! version can carry) and the `From` conversions.

macro_rules! version_common {
    () => {
        /// The exports of a component on this version, resolved once per plugin.
        pub(crate) struct Exports {
            provider: Option<provider::GuestIndices>,
            auth: Option<auth::GuestIndices>,
        }

        /// A chat reply in progress on an instance of this version.
        pub(crate) struct Stream {
            guest: provider::Guest,
            handle: ResourceAny,
        }

        type Call<T> = wasmtime::Result<Result<T, domain::PluginError>>;

        impl Exports {
            pub(crate) fn new(pre: &InstancePre<HostState>) -> Exports {
                Exports {
                    provider: provider::GuestIndices::new(pre).ok(),
                    auth: auth::GuestIndices::new(pre).ok(),
                }
            }

            pub(crate) fn is_provider(&self) -> bool {
                self.provider.is_some()
            }

            pub(crate) fn is_auth(&self) -> bool {
                self.auth.is_some()
            }

            fn provider(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
            ) -> wasmtime::Result<provider::Guest> {
                let indices = self.provider.as_ref().ok_or_else(|| no_role("provider"))?;
                indices.load(store, instance)
            }

            fn auth(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
            ) -> wasmtime::Result<auth::Guest> {
                let indices = self.auth.as_ref().ok_or_else(|| no_role("auth"))?;
                indices.load(store, instance)
            }

            pub(crate) async fn describe(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
            ) -> wasmtime::Result<domain::ProviderInfo> {
                let info = self.provider(store, instance)?.call_describe(store).await?;
                Ok(info.into())
            }

            pub(crate) async fn describe_auth(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
            ) -> wasmtime::Result<domain::AuthInfo> {
                let info = self
                    .auth(store, instance)?
                    .call_describe_auth(store)
                    .await?;
                Ok(info.into())
            }

            pub(crate) async fn login(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
                method: &str,
            ) -> Call<domain::LoginResult> {
                let result = self
                    .auth(store, instance)?
                    .call_login(store, method)
                    .await?;
                Ok(result.map(Into::into).map_err(Into::into))
            }

            pub(crate) async fn refresh(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
                method: &str,
                credential: &domain::Credential,
            ) -> Call<domain::Credential> {
                let credential = wit::Credential::from(credential.clone());
                let result = self
                    .auth(store, instance)?
                    .call_refresh(store, method, &credential)
                    .await?;
                Ok(result.map(Into::into).map_err(Into::into))
            }

            pub(crate) async fn chat(
                &self,
                store: &mut Store<HostState>,
                instance: &Instance,
                request: &domain::ChatRequest,
            ) -> Call<Stream> {
                let guest = self.provider(store, instance)?;
                let request = match to_wit_request(&store.data().plugin, request) {
                    Ok(request) => request,
                    Err(refused) => return Ok(Err(refused)),
                };
                let started = guest.call_chat(&mut *store, &request).await?;
                Ok(started
                    .map(|handle| Stream { guest, handle })
                    .map_err(Into::into))
            }
        }

        impl Stream {
            pub(crate) async fn next(
                &self,
                store: &mut Store<HostState>,
            ) -> Call<Option<Vec<domain::ChatEvent>>> {
                let next = self
                    .guest
                    .chat_stream()
                    .call_next(store, self.handle)
                    .await?;
                Ok(next
                    .map(|events| events.map(|e| e.into_iter().map(Into::into).collect()))
                    .map_err(Into::into))
            }
        }

        fn no_role(role: &str) -> wasmtime::Error {
            wasmtime::format_err!("the plugin does not export claw:plugin/{role}")
        }

        // ---- host imports: one implementation each, shared with other versions ----

        impl claw::plugin::types::Host for HostState {}

        impl claw::plugin::log::Host for HostState {
            async fn log(&mut self, level: claw::plugin::log::Level, message: String) {
                use claw::plugin::log::Level;
                let level = match level {
                    Level::Trace => imports::Level::Trace,
                    Level::Debug => imports::Level::Debug,
                    Level::Info => imports::Level::Info,
                    Level::Warn => imports::Level::Warn,
                    Level::Error => imports::Level::Error,
                };
                imports::log(self, level, message)
            }
        }

        impl claw::plugin::config::Host for HostState {
            async fn get(&mut self) -> String {
                self.config_json.to_string()
            }
        }

        impl claw::plugin::prompts::Host for HostState {
            async fn show_code(&mut self, code: String, url: String) {
                if let Some([code, url]) = imports::prompt(self, [code, url]) {
                    self.prompter.show_code(&code, &url)
                }
            }
            async fn open_url(&mut self, url: String) -> bool {
                imports::prompt(self, [url]).is_some_and(|[url]| self.prompter.open_url(&url))
            }
            async fn ask(&mut self, question: String, secret: bool) -> Option<String> {
                let [question] = imports::prompt(self, [question])?;
                self.prompter.ask(&question, secret)
            }
            async fn pick(&mut self, question: String, options: Vec<String>) -> Option<u32> {
                let [question] = imports::prompt(self, [question])?;
                self.prompter.pick(&question, &options)
            }
            async fn progress(&mut self, message: String) {
                if let Some([message]) = imports::prompt(self, [message]) {
                    self.prompter.progress(&message)
                }
            }
        }
    };
}

/// Conversions of the types every version so far defines alike (errors,
/// key-values, input kinds, provider info and everything of auth; the parts
/// that differ, error reasons and model info, convert per version). A version that changes one of them
/// writes its own and stops using this.
macro_rules! unchanged_conversions {
    () => {
        impl From<wit::PluginError> for domain::PluginError {
            fn from(e: wit::PluginError) -> Self {
                domain::PluginError {
                    reason: e.reason.into(),
                    message: e.message,
                    status: e.status,
                    retry_after_ms: e.retry_after_ms,
                }
            }
        }

        impl From<wit::ProviderInfo> for domain::ProviderInfo {
            fn from(p: wit::ProviderInfo) -> Self {
                domain::ProviderInfo {
                    apis: p.apis,
                    models: p.models.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<wit::KeyValue> for domain::KeyValue {
            fn from(kv: wit::KeyValue) -> Self {
                domain::KeyValue::new(kv.key, kv.value)
            }
        }

        impl From<domain::KeyValue> for wit::KeyValue {
            fn from(kv: domain::KeyValue) -> Self {
                wit::KeyValue {
                    key: kv.key,
                    value: kv.value,
                }
            }
        }

        impl From<wit::InputKind> for domain::InputKind {
            fn from(k: wit::InputKind) -> Self {
                match k {
                    wit::InputKind::Text => domain::InputKind::Text,
                    wit::InputKind::Image => domain::InputKind::Image,
                }
            }
        }

        impl From<wit::MethodKind> for domain::MethodKind {
            fn from(k: wit::MethodKind) -> Self {
                match k {
                    wit::MethodKind::Oauth => domain::MethodKind::Oauth,
                    wit::MethodKind::ApiKey => domain::MethodKind::ApiKey,
                    wit::MethodKind::Token => domain::MethodKind::Token,
                }
            }
        }

        impl From<domain::MethodKind> for wit::MethodKind {
            fn from(k: domain::MethodKind) -> Self {
                match k {
                    domain::MethodKind::Oauth => wit::MethodKind::Oauth,
                    domain::MethodKind::ApiKey => wit::MethodKind::ApiKey,
                    domain::MethodKind::Token => wit::MethodKind::Token,
                }
            }
        }

        impl From<wit::AuthInfo> for domain::AuthInfo {
            fn from(a: wit::AuthInfo) -> Self {
                domain::AuthInfo {
                    provider: a.provider,
                    methods: a
                        .methods
                        .into_iter()
                        .map(|m| domain::AuthMethod {
                            id: m.id,
                            label: m.label,
                            kind: m.kind.into(),
                            hint: m.hint,
                        })
                        .collect(),
                }
            }
        }

        impl From<wit::Credential> for domain::Credential {
            fn from(c: wit::Credential) -> Self {
                domain::Credential {
                    kind: c.kind.into(),
                    access: c.access,
                    refresh: c.refresh,
                    expires_at_ms: c.expires_at_ms,
                    extra: c.extra.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<domain::Credential> for wit::Credential {
            fn from(c: domain::Credential) -> Self {
                wit::Credential {
                    kind: c.kind.into(),
                    access: c.access,
                    refresh: c.refresh,
                    expires_at_ms: c.expires_at_ms,
                    extra: c.extra.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<wit::LoginResult> for domain::LoginResult {
            fn from(l: wit::LoginResult) -> Self {
                domain::LoginResult {
                    profile: l.profile,
                    credential: l.credential.into(),
                    config_patch: l.config_patch,
                    notes: l.notes,
                }
            }
        }
    };
}
