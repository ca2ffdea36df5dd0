//! An incremental Server-Sent-Events parser (WHATWG "text/event-stream" rules).
//!
//! Feed it body chunks as they arrive; it returns the events completed so far.
//! Pure Rust with no host calls, so it builds and tests on any target.
//!
//! ```text
//! let mut parser = SseParser::default();
//! while let Some(chunk) = response.read_chunk()? {
//!     for event in parser.push(&chunk)? { /* event.event, event.data, event.id */ }
//! }
//! for event in parser.finish()? { /* an event not followed by a blank line */ }
//! ```

use crate::PluginErrorExt;
use crate::types::{ErrorReason, PluginError};

/// The default bound on one line and on one event's data: 16 MiB.
pub const DEFAULT_MAX_LEN: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` when absent or empty (the spec's "message").
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen in the stream (it carries over to later events, as
    /// the spec's "last event ID" does); `None` until one is set.
    pub id: Option<String>,
}

/// Bytes in, events out. After an error the stream is broken: drop the parser.
#[derive(Debug)]
pub struct SseParser {
    /// The incomplete line at the end of the last chunk (raw bytes, so a UTF-8
    /// sequence split across chunks decodes once the line is complete).
    line: Vec<u8>,
    /// The last chunk ended in `\r`: a `\n` starting the next one ends no line.
    after_cr: bool,
    /// No line has been completed yet (a leading byte-order mark is dropped).
    at_start: bool,
    event: String,
    /// Data lines, each followed by `\n` (the spec's data buffer).
    data: String,
    last_id: Option<String>,
    max_len: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::with_max_len(DEFAULT_MAX_LEN)
    }
}

impl SseParser {
    /// A parser that refuses lines, or an event's data, longer than `max_len` bytes.
    pub fn with_max_len(max_len: usize) -> Self {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            event: String::new(),
            data: String::new(),
            last_id: None,
            max_len,
        }
    }

    /// Parse the next chunk of the body; returns the events it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, PluginError> {
        let mut events = Vec::new();
        let mut rest = bytes;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.process_line(&rest[..end], &mut events)?;
            } else {
                self.line.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, &mut events)?;
            }
            let was_cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if was_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        if self.line.len() + rest.len() > self.max_len {
            return Err(self.too_long("line"));
        }
        self.line.extend_from_slice(rest);
        Ok(events)
    }

    /// The body ended: process a last line without its line ending, and dispatch
    /// a pending event even without the blank line that should follow it (a
    /// lenient departure from the spec, which discards it). Resets the parser.
    pub fn finish(&mut self) -> Result<Vec<SseEvent>, PluginError> {
        let mut events = Vec::new();
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.process_line(&line, &mut events)?;
        }
        self.process_line(b"", &mut events)?;
        *self = Self::with_max_len(self.max_len);
        Ok(events)
    }

    fn process_line(&mut self, raw: &[u8], events: &mut Vec<SseEvent>) -> Result<(), PluginError> {
        if raw.len() > self.max_len {
            return Err(self.too_long("line"));
        }
        // Line endings are ASCII, so a complete line never splits a UTF-8 sequence.
        let decoded = String::from_utf8_lossy(raw);
        let mut line: &str = &decoded;
        if std::mem::take(&mut self.at_start) {
            line = line.strip_prefix('\u{FEFF}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(events);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(()); // a comment, e.g. a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_len {
                    return Err(self.too_long("event's data"));
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {} // `retry` and unknown fields are ignored
        }
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        let mut data = std::mem::take(&mut self.data);
        if data.is_empty() {
            return; // no data lines: nothing to dispatch
        }
        data.pop(); // the `\n` after the last data line
        events.push(SseEvent {
            event: (!event.is_empty()).then_some(event),
            data,
            id: self.last_id.clone(),
        });
    }

    fn too_long(&mut self, what: &str) -> PluginError {
        let max = self.max_len;
        *self = Self::with_max_len(max);
        PluginError::new(
            ErrorReason::Format,
            format!("the event stream sent a {what} longer than {max} bytes"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(String::from),
            data: data.into(),
            id: None,
        }
    }

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(parser.push(chunk).unwrap());
        }
        out.extend(parser.finish().unwrap());
        out
    }

    const ANTHROPIC: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n",
        "\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n",
        "\n",
        "event: ping\n",
        "data: {\"type\": \"ping\"}\n",
        "\n",
        ": keep-alive\n",
        "\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Grüß dich, 世界 🌍\"}}\n",
        "\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n",
        "\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n",
        "\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n",
        "\n",
    );

    #[test]
    fn parses_a_realistic_anthropic_stream() {
        let events = parse_all(&[ANTHROPIC.as_bytes()]);
        let names: Vec<_> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert!(events[3].data.contains("Grüß dich, 世界 🌍"));
        assert_eq!(events[2].data, "{\"type\": \"ping\"}");
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        for text in [
            ANTHROPIC.to_string(),
            ANTHROPIC.replace('\n', "\r\n"),
            ANTHROPIC.replace('\n', "\r"),
        ] {
            let bytes = text.as_bytes();
            let whole = parse_all(&[bytes]);
            assert_eq!(whole.len(), 7);
            for i in 0..=bytes.len() {
                assert_eq!(
                    parse_all(&[&bytes[..i], &bytes[i..]]),
                    whole,
                    "split at {i}"
                );
            }
            // Byte by byte, too.
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(parse_all(&singles), whole);
        }
    }

    #[test]
    fn utf8_split_across_chunks_decodes() {
        let bytes = "data: 🌍é\n\n".as_bytes();
        let mut parser = SseParser::default();
        let mut events = parser.push(&bytes[..8]).unwrap(); // inside the emoji
        assert!(events.is_empty());
        events.extend(parser.push(&bytes[8..]).unwrap());
        assert_eq!(events, [ev(None, "🌍é")]);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_ending() {
        // If the \n were a second line ending, "a" would dispatch on its own.
        let events = parse_all(&[b"data: a\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(events, [ev(None, "a\nb")]);
        let events = parse_all(&[b"data: a\r", b"\n", b"\r", b"\n"]);
        assert_eq!(events, [ev(None, "a")]);
        // A lone \r followed by other text still ends the line.
        assert_eq!(
            parse_all(&[b"data: a\r", b"data: b\r\r"]),
            [ev(None, "a\nb")]
        );
    }

    #[test]
    fn multi_line_data_and_field_rules() {
        let events = parse_all(&[b"data: one\ndata:two\ndata:  three\ndata\n\n"]);
        assert_eq!(events, [ev(None, "one\ntwo\n three\n")]);
        // Unknown fields and `retry` are ignored; `event` without data dispatches nothing.
        let events = parse_all(&[b"retry: 10\nfoo: bar\nevent: lonely\n\nevent: x\ndata: y\n\n"]);
        assert_eq!(events, [ev(Some("x"), "y")]);
        // An empty `data:` line is data: the event dispatches with "".
        assert_eq!(parse_all(&[b"data:\n\n"]), [ev(None, "")]);
        // An empty event name is the default type.
        assert_eq!(parse_all(&[b"event:\ndata: d\n\n"]), [ev(None, "d")]);
        // A colon in the value is kept.
        assert_eq!(parse_all(&[b"data: a: b\n\n"]), [ev(None, "a: b")]);
    }

    #[test]
    fn comments_are_ignored() {
        let events = parse_all(&[
            b": ping\n\n:\ndata: x\n: between\ndata: y\n\n: OPENROUTER PROCESSING\n\n",
        ]);
        assert_eq!(events, [ev(None, "x\ny")]);
    }

    #[test]
    fn ids_carry_over_and_nul_ids_are_ignored() {
        let events =
            parse_all(&[b"id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n"]);
        let ids: Vec<_> = events.iter().map(|e| e.id.as_deref()).collect();
        assert_eq!(ids, [Some("1"), Some("1"), Some("1"), Some("")]);
    }

    #[test]
    fn finish_flushes_a_last_event_without_blank_line() {
        assert_eq!(parse_all(&[b"data: last"]), [ev(None, "last")]);
        assert_eq!(parse_all(&[b"data: last\n"]), [ev(None, "last")]);
        assert_eq!(parse_all(&[b"data: last\r"]), [ev(None, "last")]);
        assert_eq!(parse_all(&[b"event: e\n"]), []);
        assert_eq!(parse_all(&[b""]), []);
        // The parser is reusable after finish.
        let mut parser = SseParser::default();
        parser.push(b"data: a").unwrap();
        assert_eq!(parser.finish().unwrap().len(), 1);
        assert_eq!(parser.finish().unwrap(), []);
    }

    #[test]
    fn leading_bom_is_dropped() {
        let mut parser = SseParser::default();
        let mut events = parser.push(&[0xEF, 0xBB]).unwrap();
        events.extend(parser.push(b"\xBFdata: x\n\n").unwrap());
        assert_eq!(events, [ev(None, "x")]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(parse_all(&[b"data: a\xFFb\n\n"]), [ev(None, "a\u{FFFD}b")]);
    }

    #[test]
    fn long_lines_and_data_are_refused() {
        let mut parser = SseParser::with_max_len(16);
        parser.push(b"data: 0123456789").unwrap(); // 16 bytes buffered: fine
        let err = parser.push(b"x").unwrap_err();
        assert_eq!(err.reason, ErrorReason::Format);
        assert!(
            err.message.contains("longer than 16 bytes"),
            "{}",
            err.message
        );

        // A long line inside one chunk is refused too.
        let mut parser = SseParser::with_max_len(16);
        assert!(parser.push(b"data: 0123456789abcdef\n").is_err());

        // Many short data lines add up.
        let mut parser = SseParser::with_max_len(16);
        let err = parser
            .push(b"data: 12345\ndata: 12345\ndata: 12345\n")
            .unwrap_err();
        assert!(err.message.contains("data"), "{}", err.message);
    }
}
