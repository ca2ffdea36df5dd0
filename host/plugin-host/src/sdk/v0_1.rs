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

version_common!();
unchanged_conversions!();

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
            // 0.1 cannot say; `to_wit_request` refuses what it cannot carry.
            tools: true,
        }
    }
}

/// The request as 0.1 carries it, or why it cannot: 0.1 has no tools, tool
/// calls or results, reasoning blocks, image URLs or response formats. Hints
/// it has no field for (cache, stop sequences, top-p, reasoning settings,
/// passthrough) are dropped: the reply is still an answer to the request.
fn to_wit_request(
    plugin: &str,
    r: &domain::ChatRequest,
) -> Result<wit::ChatRequest, domain::PluginError> {
    let prompt = &r.prompt;
    let needs = prompt.needs();
    let image_url = prompt.messages.iter().flat_map(|m| &m.content).any(|p| {
        matches!(
            p,
            domain::ContentPart::Image {
                source: domain::ImageSource::Url(_),
                ..
            }
        )
    });
    let json_format = matches!(
        prompt.response_format,
        Some(domain::ResponseFormat::Json | domain::ResponseFormat::JsonSchema { .. })
    );
    let missing = [
        (needs.tools, "tool definitions, tool calls or tool results"),
        (needs.reasoning_parts, "reasoning blocks"),
        (image_url, "image URLs"),
        (json_format, "a JSON response format"),
    ];
    let missing: Vec<&str> = missing.iter().filter(|m| m.0).map(|m| m.1).collect();
    if !missing.is_empty() {
        return Err(domain::PluginError {
            reason: domain::Reason::Unsupported,
            message: format!(
                "plugin \"{plugin}\" is built on claw:plugin@0.1 and cannot carry {}; rebuild it with claw-plugin-sdk 0.2",
                missing.join(" or ")
            ),
            status: None,
            retry_after_ms: None,
        });
    }
    let system = (!prompt.system.is_empty()).then(|| wit::Message {
        role: wit::Role::System,
        content: vec![wit::ContentPart::Text(
            prompt
                .system
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
        )],
    });
    let messages = prompt.messages.iter().map(|m| wit::Message {
        role: match m.role {
            domain::Role::User => wit::Role::User,
            domain::Role::Assistant => wit::Role::Assistant,
        },
        content: m
            .content
            .iter()
            .filter_map(|part| match part {
                domain::ContentPart::Text { text, .. } => {
                    Some(wit::ContentPart::Text(text.clone()))
                }
                domain::ContentPart::Image {
                    source: domain::ImageSource::Base64 { media_type, data },
                    ..
                } => Some(wit::ContentPart::Image(wit::Image {
                    media_type: media_type.clone(),
                    data: data.clone(),
                })),
                // Refused above.
                _ => None,
            })
            .collect(),
    });
    Ok(wit::ChatRequest {
        endpoint: wit::Endpoint {
            provider: r.endpoint.provider.clone(),
            api: r.endpoint.api.clone(),
            base_url: r.endpoint.base_url.clone(),
            headers: r.endpoint.headers.iter().cloned().map(Into::into).collect(),
            auth_header: r.endpoint.auth_header,
        },
        credential: match &r.credential {
            domain::RequestCredential::None => wit::RequestCredential::None,
            domain::RequestCredential::ApiKey(k) => wit::RequestCredential::ApiKey(k.clone()),
            domain::RequestCredential::Bearer(t) => wit::RequestCredential::Bearer(t.clone()),
        },
        model: r.model.clone(),
        messages: system.into_iter().chain(messages).collect(),
        max_tokens: prompt.max_tokens,
        temperature: prompt.temperature,
        streaming: prompt.streaming,
    })
}

impl From<wit::ChatEvent> for domain::ChatEvent {
    fn from(e: wit::ChatEvent) -> Self {
        match e {
            wit::ChatEvent::Started(id) => domain::ChatEvent::Started(id),
            wit::ChatEvent::Text(t) => domain::ChatEvent::Text(t),
            wit::ChatEvent::Thinking(t) => domain::ChatEvent::Reasoning(t),
            wit::ChatEvent::Usage(u) => domain::ChatEvent::Usage(domain::Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_read_tokens: u.cache_read_tokens,
                cache_write_tokens: u.cache_write_tokens,
                reasoning_tokens: 0,
            }),
            wit::ChatEvent::Done(raw) => domain::ChatEvent::Done(domain::Done::from_raw(raw)),
        }
    }
}
