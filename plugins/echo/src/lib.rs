//! The echo provider: replies with the last user message, one word per event.
//! It needs no network and no credential, so it works on a fresh install and
//! serves as the upstream-free plugin for benchmarks and tests. Its model says
//! it takes tools, so requests with tools reach it too; it never calls one, and
//! echoes a tool result's text when that is the last thing the user sent.

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
                tools: true,
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
            reasoning_tokens: 0,
        }));
        events.push(ChatEvent::Done(Done::from_raw("end_turn")));
        Ok(ChatStream::from_events(events))
    }
}

/// The text of the last user message that has some: its text parts, else its
/// tool results' text.
fn last_user_text(messages: &[Message]) -> Option<String> {
    messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .find_map(|m| {
            let mut text = m.text();
            if text.is_empty() {
                let results: Vec<String> = m.tool_results().map(ToolResult::text).collect();
                text = results.join("\n");
            }
            (!text.is_empty()).then_some(text)
        })
}

fn word_count(parts: &[ContentPart]) -> usize {
    parts
        .iter()
        .map(|p| match p {
            ContentPart::Text(t) => t.text.split_whitespace().count(),
            ContentPart::ToolResult(r) => r.text().split_whitespace().count(),
            _ => 0,
        })
        .sum()
}

/// "a b  c" -> ["a ", "b  ", "c"]: concatenating the pieces gives the input back.
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

#[cfg(test)]
mod tests {
    use super::*;
    use claw_plugin_sdk::testing::{text_message, tool_call, tool_result};

    #[test]
    fn pieces_give_the_text_back() {
        assert_eq!(split_keeping_spaces("a b  c"), ["a ", "b  ", "c"]);
        assert_eq!(split_keeping_spaces(" hi "), [" hi "]);
        assert!(split_keeping_spaces("").is_empty());
    }

    #[test]
    fn the_last_user_text_or_tool_result_is_echoed() {
        let mut messages = vec![
            text_message(Role::User, "first"),
            Message {
                role: Role::Assistant,
                content: vec![tool_call("c1", "f", "{}")],
            },
            Message {
                role: Role::User,
                content: vec![tool_result("c1", "42 apples")],
            },
        ];
        assert_eq!(last_user_text(&messages).as_deref(), Some("42 apples"));
        assert_eq!(word_count(&messages[2].content), 2);
        messages.push(text_message(Role::User, "then this"));
        assert_eq!(last_user_text(&messages).as_deref(), Some("then this"));
        messages.push(text_message(Role::User, ""));
        assert_eq!(last_user_text(&messages).as_deref(), Some("then this"));
    }
}
