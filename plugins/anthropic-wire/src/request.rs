//! The outgoing request: URL, headers and JSON body. Pure logic, no host calls.

use claw_plugin_sdk::types::{ChatRequest, ContentPart, Endpoint, RequestCredential, Role};
use claw_plugin_sdk::upstream;
use serde_json::{Value, json};

/// Anthropic requires `max_tokens`; used when the request leaves it open.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

pub fn headers(
    endpoint: &Endpoint,
    credential: &RequestCredential,
    streaming: bool,
) -> Vec<(String, String)> {
    let mut headers = vec![("anthropic-version".to_string(), "2023-06-01".to_string())];
    headers.extend(upstream::json_headers(streaming));
    match credential {
        RequestCredential::ApiKey(key) if !endpoint.auth_header => {
            headers.push(("x-api-key".into(), key.clone()))
        }
        RequestCredential::ApiKey(token) | RequestCredential::Bearer(token) => {
            headers.push(upstream::bearer(token))
        }
        RequestCredential::None => {}
    }
    // Configured headers win over ours (e.g. a different anthropic-version).
    upstream::with_configured(headers, &endpoint.headers)
}

/// `{base_url}/v1/messages`; a trailing '/' on the base must not double up.
pub fn url(base_url: &str) -> String {
    upstream::join_url(base_url, "v1/messages")
}

pub fn body(request: &ChatRequest) -> Value {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .flat_map(|m| &m.content)
        .filter_map(|part| match part {
            ContentPart::Text(text) if !text.is_empty() => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let messages: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .filter_map(|m| {
            let blocks: Vec<Value> = m.content.iter().filter_map(block).collect();
            // Anthropic rejects messages without content; skipping one beats a 400.
            (!blocks.is_empty()).then(|| {
                let role = if m.role == Role::User {
                    "user"
                } else {
                    "assistant"
                };
                json!({ "role": role, "content": blocks })
            })
        })
        .collect();

    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
        "stream": request.streaming,
    });
    if !system.is_empty() {
        body["system"] = system.join("\n\n").into();
    }
    if let Some(t) = request.temperature.and_then(upstream::clean_f32) {
        body["temperature"] = t.into();
    }
    body
}

/// One content block; empty text blocks are refused by the API, so they go.
fn block(part: &ContentPart) -> Option<Value> {
    match part {
        ContentPart::Text(text) if text.is_empty() => None,
        ContentPart::Text(text) => Some(json!({ "type": "text", "text": text })),
        ContentPart::Image(image) => Some(json!({
            "type": "image",
            "source": { "type": "base64", "media_type": image.media_type, "data": image.data },
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_plugin_sdk::testing::text_message as text;
    use claw_plugin_sdk::testing::{header_values as get, image_message, key_values};
    use claw_plugin_sdk::types::Message;

    fn endpoint(auth_header: bool, headers: &[(&str, &str)]) -> Endpoint {
        Endpoint {
            provider: "minimax".into(),
            api: "anthropic-messages".into(),
            base_url: "https://api.minimax.io/anthropic/".into(),
            headers: key_values(headers),
            auth_header,
        }
    }

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            endpoint: endpoint(false, &[]),
            credential: RequestCredential::ApiKey("sk-secret".into()),
            model: "MiniMax-M2".into(),
            messages,
            max_tokens: None,
            temperature: None,
            streaming: true,
        }
    }

    #[test]
    fn url_joins_without_double_slash() {
        assert_eq!(
            url("https://api.minimax.io/anthropic"),
            "https://api.minimax.io/anthropic/v1/messages"
        );
        assert_eq!(
            url("https://api.anthropic.com/"),
            "https://api.anthropic.com/v1/messages"
        );
    }

    #[test]
    fn credentials_go_in_the_right_header() {
        let key = RequestCredential::ApiKey("k1".into());
        let h = headers(&endpoint(false, &[]), &key, true);
        assert_eq!(get(&h, "x-api-key"), ["k1"]);
        assert!(get(&h, "authorization").is_empty());
        assert_eq!(get(&h, "anthropic-version"), ["2023-06-01"]);
        assert_eq!(get(&h, "accept"), ["text/event-stream"]);

        let h = headers(&endpoint(true, &[]), &key, false);
        assert_eq!(get(&h, "authorization"), ["Bearer k1"]);
        assert!(get(&h, "x-api-key").is_empty());
        assert!(get(&h, "accept").is_empty());

        let h = headers(
            &endpoint(false, &[]),
            &RequestCredential::Bearer("t1".into()),
            true,
        );
        assert_eq!(get(&h, "authorization"), ["Bearer t1"]);

        let h = headers(&endpoint(false, &[]), &RequestCredential::None, true);
        assert!(get(&h, "authorization").is_empty() && get(&h, "x-api-key").is_empty());
    }

    #[test]
    fn configured_headers_are_added_and_override() {
        let ep = endpoint(
            false,
            &[("Anthropic-Version", "2024-01-01"), ("anthropic-beta", "x")],
        );
        let h = headers(&ep, &RequestCredential::None, true);
        assert_eq!(get(&h, "anthropic-version"), ["2024-01-01"]);
        assert_eq!(get(&h, "anthropic-beta"), ["x"]);
    }

    #[test]
    fn body_has_system_blocks_and_defaults() {
        let mut req = request(vec![
            text(Role::System, "Be brief."),
            text(Role::User, "Hi"),
            text(Role::System, "Use French."),
            image_message("What is this?", "image/png", "iVBOR"),
            text(Role::Assistant, "Une image."),
            text(Role::User, ""),
        ]);
        let body = body(&req);
        assert_eq!(body["model"], "MiniMax-M2");
        assert_eq!(body["max_tokens"], 4096);
        assert_eq!(body["stream"], true);
        assert_eq!(body["system"], "Be brief.\n\nUse French.");
        assert!(body.get("temperature").is_none());
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(
            messages.len(),
            3,
            "system and empty messages are not sent: {body}"
        );
        assert_eq!(
            messages[0],
            json!({"role": "user", "content": [{"type": "text", "text": "Hi"}]})
        );
        assert_eq!(
            messages[1]["content"][1],
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}})
        );
        assert_eq!(messages[2]["role"], "assistant");

        req.messages.retain(|m| m.role != Role::System);
        req.max_tokens = Some(100);
        req.temperature = Some(0.7);
        req.streaming = false;
        let body = super::body(&req);
        assert!(body.get("system").is_none());
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["temperature"], json!(0.7));
        assert_eq!(body["stream"], false);
    }
}
