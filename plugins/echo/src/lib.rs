//! The echo provider: replies with the last user message, one word per event.
//! It needs no network and no credential, so it works on a fresh install and
//! serves as the upstream-free plugin for benchmarks.

use claw_plugin_sdk::prelude::*;

struct Echo;

impl Provider for Echo {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            apis: vec!["echo".into()],
            models: vec![ModelInfo {
                id: "echo-1".into(),
                name: "Echo".into(),
                reasoning: false,
                input: vec![InputKind::Text],
                context_window: 32_768,
                max_tokens: 4_096,
                cost: Some(ModelCost {
                    input: 0.0,
                    output: 0.0,
                    cache_read: 0.0,
                    cache_write: 0.0,
                }),
            }],
        }
    }

    fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
        let text = last_user_text(&request.messages).ok_or_else(|| {
            PluginError::new(
                ErrorReason::Format,
                "the request has no user message with text to echo",
            )
        })?;
        let input_tokens = request
            .messages
            .iter()
            .map(|m| word_count(&m.content))
            .sum::<usize>() as u32;
        let words: Vec<String> = split_keeping_spaces(&text);
        let output_tokens = words.len() as u32;

        let mut events = vec![ChatEvent::Started(format!("echo-{}", text.len()))];
        events.extend(words.into_iter().map(ChatEvent::Text));
        events.push(ChatEvent::Usage(Usage {
            input_tokens,
            output_tokens,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
        }));
        events.push(ChatEvent::Done("end_turn".into()));
        Ok(ChatStream::from_events(events))
    }
}

fn last_user_text(messages: &[Message]) -> Option<String> {
    messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .find_map(|m| {
            let text: String = m
                .content
                .iter()
                .filter_map(|part| match part {
                    ContentPart::Text(t) => Some(t.as_str()),
                    ContentPart::Image(_) => None,
                })
                .collect();
            (!text.is_empty()).then_some(text)
        })
}

fn word_count(parts: &[ContentPart]) -> usize {
    parts
        .iter()
        .map(|p| {
            if let ContentPart::Text(t) = p {
                t.split_whitespace().count()
            } else {
                0
            }
        })
        .sum()
}

/// "a b  c" -> ["a", " b", "  c"]: concatenating the pieces gives the input back.
fn split_keeping_spaces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    for ch in text.chars() {
        if !ch.is_whitespace() && !in_word && current.chars().any(|c| !c.is_whitespace()) {
            pieces.push(std::mem::take(&mut current));
        }
        in_word = !ch.is_whitespace();
        current.push(ch);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

claw_plugin_sdk::export_provider!(Echo);
