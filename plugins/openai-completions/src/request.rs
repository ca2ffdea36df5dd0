//! The outgoing request: URL, headers and JSON body. Pure logic, no host calls.

use claw_plugin_sdk::types::{
    ChatRequest, ContentPart, Endpoint, Message, RequestCredential, Role,
};
use claw_plugin_sdk::upstream;
use serde_json::{Value, json};

/// `{base_url}/chat/completions`; a trailing '/' on the base must not double up.
pub fn url(base_url: &str) -> String {
    upstream::join_url(base_url, "chat/completions")
}

pub fn headers(
    endpoint: &Endpoint,
    credential: &RequestCredential,
    streaming: bool,
) -> Vec<(String, String)> {
    let mut headers = upstream::json_headers(streaming);
    // Local servers (LM Studio, Ollama) need no credential: then no header.
    if let RequestCredential::ApiKey(token) | RequestCredential::Bearer(token) = credential {
        headers.push(upstream::bearer(token));
    }
    // Configured headers (e.g. OpenRouter's HTTP-Referer / X-Title) win over ours.
    upstream::with_configured(headers, &endpoint.headers)
}

pub fn body(request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request.messages.iter().map(message).collect();
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": request.streaming,
    });
    if request.streaming {
        // Without it, streams carry no token usage.
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(max) = request.max_tokens {
        body["max_tokens"] = max.into();
    }
    if let Some(t) = request.temperature.and_then(upstream::clean_f32) {
        body["temperature"] = t.into();
    }
    body
}

fn message(m: &Message) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    let only_text = m.content.iter().all(|p| matches!(p, ContentPart::Text(_)));
    let content = if only_text {
        // A plain string: many local servers accept nothing else.
        let texts: Vec<&str> = m
            .content
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text(t) => Some(t.as_str()),
                ContentPart::Image(_) => None,
            })
            .collect();
        Value::from(texts.join("\n"))
    } else {
        let parts: Vec<Value> = m
            .content
            .iter()
            .map(|part| match part {
                ContentPart::Text(text) => json!({ "type": "text", "text": text }),
                ContentPart::Image(image) => json!({
                    "type": "image_url",
                    "image_url": { "url": format!("data:{};base64,{}", image.media_type, image.data) },
                }),
            })
            .collect();
        Value::from(parts)
    };
    json!({ "role": role, "content": content })
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_plugin_sdk::testing::text_message as text;
    use claw_plugin_sdk::testing::{header_values as get, image_message, key_values};

    fn endpoint(headers: &[(&str, &str)]) -> Endpoint {
        Endpoint {
            provider: "openrouter".into(),
            api: "openai-completions".into(),
            base_url: "https://openrouter.ai/api/v1/".into(),
            headers: key_values(headers),
            auth_header: false,
        }
    }

    #[test]
    fn url_joins_without_double_slash() {
        assert_eq!(
            url("https://openrouter.ai/api/v1/"),
            "https://openrouter.ai/api/v1/chat/completions"
        );
        assert_eq!(
            url("http://127.0.0.1:1234/v1"),
            "http://127.0.0.1:1234/v1/chat/completions"
        );
    }

    #[test]
    fn credentials_are_bearer_tokens_or_nothing() {
        let h = headers(
            &endpoint(&[]),
            &RequestCredential::ApiKey("k1".into()),
            true,
        );
        assert_eq!(get(&h, "authorization"), ["Bearer k1"]);
        assert_eq!(get(&h, "accept"), ["text/event-stream"]);
        let h = headers(
            &endpoint(&[]),
            &RequestCredential::Bearer("t1".into()),
            false,
        );
        assert_eq!(get(&h, "authorization"), ["Bearer t1"]);
        assert!(get(&h, "accept").is_empty());
        let h = headers(
            &endpoint(&[("X-Title", "claw")]),
            &RequestCredential::None,
            true,
        );
        assert!(get(&h, "authorization").is_empty());
        assert_eq!(get(&h, "x-title"), ["claw"]);
        assert_eq!(get(&h, "content-type"), ["application/json"]);
    }

    #[test]
    fn body_uses_strings_for_text_and_parts_for_images() {
        let mut request = ChatRequest {
            endpoint: endpoint(&[]),
            credential: RequestCredential::None,
            model: "moonshotai/kimi-k2".into(),
            messages: vec![
                text(Role::System, "Be brief."),
                Message {
                    role: Role::User,
                    content: vec![ContentPart::Text("a".into()), ContentPart::Text("b".into())],
                },
                text(Role::Assistant, "ok"),
                image_message("What is this?", "image/png", "iVBOR"),
            ],
            max_tokens: None,
            temperature: None,
            streaming: true,
        };
        let b = body(&request);
        assert_eq!(b["model"], "moonshotai/kimi-k2");
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"], json!({"include_usage": true}));
        assert!(b.get("max_tokens").is_none() && b.get("temperature").is_none());
        assert_eq!(
            b["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(b["messages"][1], json!({"role": "user", "content": "a\nb"}));
        assert_eq!(
            b["messages"][2],
            json!({"role": "assistant", "content": "ok"})
        );
        assert_eq!(
            b["messages"][3]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            ])
        );

        request.streaming = false;
        request.max_tokens = Some(256);
        request.temperature = Some(0.2);
        let b = body(&request);
        assert_eq!(b["stream"], false);
        assert!(b.get("stream_options").is_none());
        assert_eq!(b["max_tokens"], 256);
        assert_eq!(b["temperature"], json!(0.2));
    }
}
