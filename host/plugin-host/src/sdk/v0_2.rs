//! SDK `claw:plugin@0.2.x`: the bindings generated from the frozen `wit/0.2.0`,
//! the host side of its imports, and the conversions between its types and the
//! host's own (`claw_types`). Nothing outside this module sees a 0.2 type.
//! 0.2 carries everything the host's request and events model, so every
//! conversion here is total.

use semver::Version;
use wasmtime::Store;
use wasmtime::component::{HasSelf, Instance, InstancePre, Linker, ResourceAny};

use claw_types as domain;

use super::imports;
use crate::state::HostState;

wasmtime::component::bindgen!({
    path: "../../wit/0.2.0",
    world: "portal-plugin",
    imports: { default: async },
    exports: { default: async },
    // The native ABI carries these types as their serde JSON (docs/native-abi.md).
    additional_derives: [serde::Serialize, serde::Deserialize],
});

use self::claw::plugin::types as wit;
use self::exports::claw::plugin::{auth, provider};

/// The release this module was written against; every 0.2.x plugin loads here.
pub(crate) const VERSION: Version = Version::new(0, 2, 0);

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    PortalPlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

version_common!();
unchanged_conversions!();

// ---- conversions: 0.2 types ⇄ the host's own ----

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
            E::Unsupported => R::Unsupported,
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
            tools: m.tools,
        }
    }
}

/// Every request converts: 0.2 has a field for all of it.
fn to_wit_request(
    _plugin: &str,
    r: &domain::ChatRequest,
) -> Result<wit::ChatRequest, domain::PluginError> {
    let p = &r.prompt;
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
        system: p
            .system
            .iter()
            .map(|b| text_part(&b.text, b.cache))
            .collect(),
        messages: p.messages.iter().map(message).collect(),
        tools: p
            .tools
            .iter()
            .map(|t| wit::Tool {
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: t.input_schema.clone(),
                cache: t.cache.map(cache),
            })
            .collect(),
        tool_choice: p.tool_choice.as_ref().map(|c| match c {
            domain::ToolChoice::Auto => wit::ToolChoice::Auto,
            domain::ToolChoice::None => wit::ToolChoice::None,
            domain::ToolChoice::Required => wit::ToolChoice::Required,
            domain::ToolChoice::Named(n) => wit::ToolChoice::Named(n.clone()),
        }),
        parallel_tool_calls: p.parallel_tool_calls,
        stop: p.stop.clone(),
        max_tokens: p.max_tokens,
        temperature: p.temperature,
        top_p: p.top_p,
        reasoning: p.reasoning.map(|s| match s {
            domain::ReasoningSetting::BudgetTokens(n) => wit::ReasoningSetting::BudgetTokens(n),
            domain::ReasoningSetting::Effort(e) => wit::ReasoningSetting::Effort(match e {
                domain::ReasoningEffort::Minimal => wit::ReasoningEffort::Minimal,
                domain::ReasoningEffort::Low => wit::ReasoningEffort::Low,
                domain::ReasoningEffort::Medium => wit::ReasoningEffort::Medium,
                domain::ReasoningEffort::High => wit::ReasoningEffort::High,
            }),
            domain::ReasoningSetting::Disabled => wit::ReasoningSetting::Disabled,
        }),
        response_format: p.response_format.as_ref().map(|f| match f {
            domain::ResponseFormat::Text => wit::ResponseFormat::Text,
            domain::ResponseFormat::Json => wit::ResponseFormat::Json,
            domain::ResponseFormat::JsonSchema {
                name,
                description,
                schema,
                strict,
            } => wit::ResponseFormat::JsonSchema(wit::JsonSchemaFormat {
                name: name.clone(),
                description: description.clone(),
                schema: schema.clone(),
                strict: *strict,
            }),
        }),
        passthrough: p.passthrough.as_ref().map(|t| wit::Passthrough {
            api: t.api.clone(),
            headers: t.headers.iter().cloned().map(Into::into).collect(),
            body: t.body.iter().cloned().map(Into::into).collect(),
        }),
        streaming: p.streaming,
    })
}

fn cache(c: domain::CacheHint) -> wit::CacheHint {
    wit::CacheHint {
        ttl_seconds: c.ttl_seconds,
    }
}

fn text_part(text: &str, hint: Option<domain::CacheHint>) -> wit::TextPart {
    wit::TextPart {
        text: text.to_string(),
        cache: hint.map(cache),
    }
}

fn image(source: &domain::ImageSource) -> wit::ImageSource {
    match source {
        domain::ImageSource::Base64 { media_type, data } => {
            wit::ImageSource::Base64(wit::ImageData {
                media_type: media_type.clone(),
                data: data.clone(),
            })
        }
        domain::ImageSource::Url(url) => wit::ImageSource::Url(url.clone()),
    }
}

fn message(m: &domain::Message) -> wit::Message {
    use domain::ContentPart as P;
    wit::Message {
        role: match m.role {
            domain::Role::User => wit::Role::User,
            domain::Role::Assistant => wit::Role::Assistant,
        },
        content: m
            .content
            .iter()
            .map(|part| match part {
                P::Text { text, cache: hint } => wit::ContentPart::Text(text_part(text, *hint)),
                P::Image {
                    source,
                    cache: hint,
                } => wit::ContentPart::Image(wit::ImagePart {
                    source: image(source),
                    cache: hint.map(cache),
                }),
                P::ToolCall(c) => wit::ContentPart::ToolCall(wit::ToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                }),
                P::ToolResult(r) => wit::ContentPart::ToolResult(wit::ToolResult {
                    call_id: r.call_id.clone(),
                    content: r
                        .content
                        .iter()
                        .map(|o| match o {
                            domain::ToolOutput::Text(t) => wit::ToolOutput::Text(t.clone()),
                            domain::ToolOutput::Image(s) => wit::ToolOutput::Image(image(s)),
                        })
                        .collect(),
                    is_error: r.is_error,
                    cache: r.cache.map(cache),
                }),
                P::Reasoning { text, signature } => {
                    wit::ContentPart::Reasoning(wit::ReasoningPart {
                        text: text.clone(),
                        signature: signature.clone(),
                    })
                }
                P::RedactedReasoning(data) => wit::ContentPart::RedactedReasoning(data.clone()),
            })
            .collect(),
    }
}

impl From<wit::StopReason> for domain::StopReason {
    fn from(r: wit::StopReason) -> Self {
        use domain::StopReason as S;
        match r {
            wit::StopReason::EndTurn => S::EndTurn,
            wit::StopReason::MaxTokens => S::MaxTokens,
            wit::StopReason::StopSequence => S::StopSequence,
            wit::StopReason::ToolUse => S::ToolUse,
            wit::StopReason::Refusal => S::Refusal,
            wit::StopReason::Other => S::Other,
        }
    }
}

impl From<wit::ChatEvent> for domain::ChatEvent {
    fn from(e: wit::ChatEvent) -> Self {
        use domain::ChatEvent as E;
        match e {
            wit::ChatEvent::Started(id) => E::Started(id),
            wit::ChatEvent::Text(t) => E::Text(t),
            wit::ChatEvent::Reasoning(t) => E::Reasoning(t),
            wit::ChatEvent::ReasoningSignature(s) => E::ReasoningSignature(s),
            wit::ChatEvent::RedactedReasoning(d) => E::RedactedReasoning(d),
            wit::ChatEvent::ToolCallStart(s) => E::ToolCallStart {
                index: s.index,
                id: s.id,
                name: s.name,
            },
            wit::ChatEvent::ToolCallDelta(d) => E::ToolCallDelta {
                index: d.index,
                arguments: d.arguments,
            },
            wit::ChatEvent::ToolCallEnd(i) => E::ToolCallEnd(i),
            wit::ChatEvent::Usage(u) => E::Usage(domain::Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_read_tokens: u.cache_read_tokens,
                cache_write_tokens: u.cache_write_tokens,
                reasoning_tokens: u.reasoning_tokens,
            }),
            wit::ChatEvent::Done(d) => E::Done(domain::Done {
                reason: d.reason.into(),
                raw: d.raw,
            }),
        }
    }
}

/// The native ABI's JSON for 0.2: this module's bindings, serialized with serde
/// (the SDK derives the same from the same WIT), converted as for components.
pub(crate) mod native_json {
    use super::{domain, wit};

    pub(crate) fn chat_request(r: &domain::ChatRequest) -> Vec<u8> {
        // 0.2 carries every request, so the conversion cannot fail.
        let request = super::to_wit_request("", r).expect("0.2 carries every request");
        serde_json::to_vec(&request).expect("requests serialize")
    }

    pub(crate) fn refresh_request(method: &str, credential: &domain::Credential) -> Vec<u8> {
        let credential = wit::Credential::from(credential.clone());
        let request = serde_json::json!({"method": method, "credential": credential});
        serde_json::to_vec(&request).expect("credentials serialize")
    }

    pub(crate) fn provider_info(json: &[u8]) -> serde_json::Result<domain::ProviderInfo> {
        serde_json::from_slice::<wit::ProviderInfo>(json).map(Into::into)
    }

    pub(crate) fn auth_info(json: &[u8]) -> serde_json::Result<domain::AuthInfo> {
        serde_json::from_slice::<wit::AuthInfo>(json).map(Into::into)
    }

    pub(crate) fn login_result(json: &[u8]) -> serde_json::Result<domain::LoginResult> {
        serde_json::from_slice::<wit::LoginResult>(json).map(Into::into)
    }

    pub(crate) fn credential(json: &[u8]) -> serde_json::Result<domain::Credential> {
        serde_json::from_slice::<wit::Credential>(json).map(Into::into)
    }

    pub(crate) fn plugin_error(json: &[u8]) -> serde_json::Result<domain::PluginError> {
        serde_json::from_slice::<wit::PluginError>(json).map(Into::into)
    }

    /// `null` at the end, else a batch of events.
    pub(crate) fn events(json: &[u8]) -> serde_json::Result<Option<Vec<domain::ChatEvent>>> {
        let batch: Option<Vec<wit::ChatEvent>> = serde_json::from_slice(json)?;
        Ok(batch.map(|b| b.into_iter().map(Into::into).collect()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The shapes the SDK's serde derive produces for the same WIT types.
        #[test]
        fn the_json_is_serde_s_default_shape_of_the_wit_types() {
            let batch = events(br#"[{"Started":"m1"},{"Text":"hi"},{"ToolCallStart":{"index":0,"id":"c","name":"f"}},{"Done":{"reason":"EndTurn","raw":"end_turn"}}]"#).unwrap().unwrap();
            assert_eq!(batch[1], domain::ChatEvent::Text("hi".into()));
            assert_eq!(batch.len(), 4);
            assert_eq!(events(b"null").unwrap(), None);
            let e = plugin_error(br#"{"reason":"RateLimit","message":"slow down","status":429,"retry_after_ms":1000}"#).unwrap();
            assert_eq!(e.reason, domain::Reason::RateLimit);
            assert_eq!(e.status, Some(429));
            let request: serde_json::Value =
                serde_json::from_slice(&chat_request(&domain::ChatRequest {
                    endpoint: domain::Endpoint {
                        provider: "p".into(),
                        api: "a".into(),
                        base_url: String::new(),
                        headers: vec![],
                        auth_header: false,
                    },
                    credential: domain::RequestCredential::ApiKey("k".into()),
                    model: "m".into(),
                    prompt: domain::Prompt::of(vec![domain::Message::text(
                        domain::Role::User,
                        "hello",
                    )]),
                }))
                .unwrap();
            assert_eq!(request["credential"], serde_json::json!({"ApiKey": "k"}));
            assert_eq!(
                request["messages"][0],
                serde_json::json!({"role": "User", "content": [{"Text": {"text": "hello", "cache": null}}]})
            );
        }
    }
}
