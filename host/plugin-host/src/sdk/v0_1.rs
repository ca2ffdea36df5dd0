//! SDK `claw:plugin@0.1.x`: the bindings generated from the frozen `wit/0.1.0`,
//! the host side of its imports, and the conversions between its types and the
//! host's own (`claw_types`). Nothing outside this module sees a 0.1 type.

use semver::Version;
use wasmtime::Store;
use wasmtime::component::{HasSelf, Instance, InstancePre, Linker, ResourceAny};

use claw_types as domain;

use super::imports;
use crate::state::HostState;

wasmtime::component::bindgen!({
    path: "../../wit/0.1.0",
    world: "portal-plugin",
    imports: { default: async },
    exports: { default: async },
});

use self::claw::plugin::types as wit;
use self::exports::claw::plugin::{auth, provider};

/// The release this module was written against; every 0.1.x plugin loads here.
pub(crate) const VERSION: Version = Version::new(0, 1, 0);

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    PortalPlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

/// The exports of a 0.1 component, resolved once per plugin.
pub(crate) struct Exports {
    provider: Option<provider::GuestIndices>,
    auth: Option<auth::GuestIndices>,
}

/// A chat reply in progress on a 0.1 instance.
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
        let request = wit::ChatRequest::from(request.clone());
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

// ---- conversions: 0.1 types ⇄ the host's own ----

impl From<wit::ErrorReason> for domain::Reason {
    fn from(r: wit::ErrorReason) -> Self {
        use domain::Reason as R;
        use wit::ErrorReason as E;
        match r {
            E::Timeout => R::Timeout,
            E::Auth => R::Auth,
            E::RateLimit => R::RateLimit,
            E::Billing => R::Billing,
            E::Overloaded => R::Overloaded,
            E::Format => R::Format,
            E::ModelNotFound => R::ModelNotFound,
            E::Network => R::Network,
            E::EmptyResponse => R::EmptyResponse,
            E::Unknown => R::Unknown,
        }
    }
}

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

impl From<wit::ModelInfo> for domain::ModelInfo {
    fn from(m: wit::ModelInfo) -> Self {
        domain::ModelInfo {
            id: m.id,
            name: m.name,
            reasoning: m.reasoning,
            input: m.input.into_iter().map(Into::into).collect(),
            context_window: m.context_window,
            max_tokens: m.max_tokens,
            cost: m.cost.map(|c| domain::ModelCost {
                input: c.input,
                output: c.output,
                cache_read: c.cache_read,
                cache_write: c.cache_write,
            }),
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

impl From<domain::ChatRequest> for wit::ChatRequest {
    fn from(r: domain::ChatRequest) -> Self {
        wit::ChatRequest {
            endpoint: wit::Endpoint {
                provider: r.endpoint.provider,
                api: r.endpoint.api,
                base_url: r.endpoint.base_url,
                headers: r.endpoint.headers.into_iter().map(Into::into).collect(),
                auth_header: r.endpoint.auth_header,
            },
            credential: match r.credential {
                domain::RequestCredential::None => wit::RequestCredential::None,
                domain::RequestCredential::ApiKey(k) => wit::RequestCredential::ApiKey(k),
                domain::RequestCredential::Bearer(t) => wit::RequestCredential::Bearer(t),
            },
            model: r.model,
            messages: r.messages.into_iter().map(Into::into).collect(),
            max_tokens: r.max_tokens,
            temperature: r.temperature,
            streaming: r.streaming,
        }
    }
}

impl From<domain::Message> for wit::Message {
    fn from(m: domain::Message) -> Self {
        wit::Message {
            role: match m.role {
                domain::Role::System => wit::Role::System,
                domain::Role::User => wit::Role::User,
                domain::Role::Assistant => wit::Role::Assistant,
            },
            content: m
                .content
                .into_iter()
                .map(|part| match part {
                    domain::ContentPart::Text(t) => wit::ContentPart::Text(t),
                    domain::ContentPart::Image(i) => wit::ContentPart::Image(wit::Image {
                        media_type: i.media_type,
                        data: i.data,
                    }),
                })
                .collect(),
        }
    }
}

impl From<wit::ChatEvent> for domain::ChatEvent {
    fn from(e: wit::ChatEvent) -> Self {
        match e {
            wit::ChatEvent::Started(id) => domain::ChatEvent::Started(id),
            wit::ChatEvent::Text(t) => domain::ChatEvent::Text(t),
            wit::ChatEvent::Thinking(t) => domain::ChatEvent::Thinking(t),
            wit::ChatEvent::Usage(u) => domain::ChatEvent::Usage(domain::Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_read_tokens: u.cache_read_tokens,
                cache_write_tokens: u.cache_write_tokens,
            }),
            wit::ChatEvent::Done(reason) => domain::ChatEvent::Done(reason),
        }
    }
}
