//! Constructors and readers for the contract's content types, so plugins and
//! their tests build and read messages without spelling out every field.

use crate::types::{
    ContentPart, ImageSource, Message, Role, TextPart, ToolCall, ToolOutput, ToolResult,
};

impl From<&str> for TextPart {
    fn from(text: &str) -> Self {
        TextPart {
            text: text.to_string(),
            cache: None,
        }
    }
}

impl From<String> for TextPart {
    fn from(text: String) -> Self {
        TextPart { text, cache: None }
    }
}

impl ContentPart {
    /// A text part without a cache hint.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text(TextPart::from(text.into()))
    }

    /// The text of a text part; `None` for every other kind.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentPart::Text(part) => Some(&part.text),
            _ => None,
        }
    }
}

impl Message {
    /// A message with one text part.
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            content: vec![ContentPart::text(text)],
        }
    }

    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, text)
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, text)
    }

    /// The text parts, concatenated (tool results, reasoning and images left out).
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(ContentPart::as_text)
            .collect()
    }

    /// The tool calls of an assistant message, in order.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.content.iter().filter_map(|part| match part {
            ContentPart::ToolCall(call) => Some(call),
            _ => None,
        })
    }

    /// The tool results of a user message, in order.
    pub fn tool_results(&self) -> impl Iterator<Item = &ToolResult> {
        self.content.iter().filter_map(|part| match part {
            ContentPart::ToolResult(result) => Some(result),
            _ => None,
        })
    }
}

impl ToolResult {
    /// The text outputs, joined with newlines (images left out).
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self
            .content
            .iter()
            .filter_map(|output| match output {
                ToolOutput::Text(text) => Some(text.as_str()),
                ToolOutput::Image(_) => None,
            })
            .collect();
        texts.join("\n")
    }

    /// The image outputs, in order.
    pub fn images(&self) -> impl Iterator<Item = &ImageSource> {
        self.content.iter().filter_map(|output| match output {
            ToolOutput::Image(source) => Some(source),
            ToolOutput::Text(_) => None,
        })
    }
}

impl ImageSource {
    /// The image as one URL: its own, or a `data:` URL of the inline bytes
    /// (what OpenAI-style `image_url` parts take).
    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Base64(image) => {
                format!("data:{};base64,{}", image.media_type, image.data)
            }
            ImageSource::Url(url) => url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ImageData;

    #[test]
    fn messages_read_their_parts() {
        let image = ImageSource::Base64(ImageData {
            media_type: "image/png".into(),
            data: "iVBOR".into(),
        });
        let result = ToolResult {
            call_id: "call_1".into(),
            content: vec![
                ToolOutput::Text("22°C".into()),
                ToolOutput::Image(image.clone()),
                ToolOutput::Text("sunny".into()),
            ],
            is_error: false,
            cache: None,
        };
        let message = Message {
            role: Role::User,
            content: vec![
                ContentPart::ToolResult(result.clone()),
                ContentPart::text("And "),
                ContentPart::Image(crate::types::ImagePart {
                    source: image.clone(),
                    cache: None,
                }),
                ContentPart::Text("tomorrow?".into()),
            ],
        };
        assert_eq!(message.text(), "And tomorrow?");
        assert_eq!(message.tool_results().count(), 1);
        assert_eq!(message.tool_calls().count(), 0);
        assert_eq!(result.text(), "22°C\nsunny");
        assert_eq!(result.images().collect::<Vec<_>>(), [&image]);
        assert_eq!(image.to_url(), "data:image/png;base64,iVBOR");
        let url = ImageSource::Url("https://x.io/a.png".into());
        assert_eq!(url.to_url(), "https://x.io/a.png");
        assert_eq!(Message::assistant("hi").role, Role::Assistant);
        assert_eq!(Message::user("hi").content, [ContentPart::text("hi")]);
    }
}
