//! Driving an API's event decoder over a body that arrives in chunks. Pure Rust
//! (the bytes come from a closure), so it builds and tests natively.

use crate::PluginErrorExt;
use crate::sse::{SseEvent, SseParser};
use crate::types::{ChatEvent, PluginError};

/// What an event means for the rest of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// More events may follow.
    Continue,
    /// The API's end marker (Anthropic's `message_stop`, OpenAI's `[DONE]`):
    /// the reply is complete, and nothing after it is read.
    End,
}

/// Maps one API's Server-Sent Events to [`ChatEvent`]s: the only part of an
/// event stream that differs between APIs. It keeps the reply's state between
/// events; [`SseDriver`] does the reading, parsing and ordering.
pub trait SseDecoder {
    /// One event (`event.event` is its name, `event.data` its data). Push what
    /// it means onto `out` (nothing is fine). An error ends the stream; events
    /// already in `out` still reach the host first.
    fn event(&mut self, event: SseEvent, out: &mut Vec<ChatEvent>) -> Result<Flow, PluginError>;

    /// The body ended before any event returned [`Flow::End`]: complete the
    /// reply in `out` when it is whole anyway, or say why it is not (nothing
    /// arrived, or it was cut off), so the router can tell the two apart.
    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), PluginError>;
}

/// An event stream in progress: body chunks in, chat events out, one
/// [`ChatStream`](crate::ChatStream) step at a time.
pub struct SseDriver<D> {
    api: &'static str,
    parser: SseParser,
    decoder: D,
    /// The end marker arrived, the body ended, or the stream failed.
    finished: bool,
    /// An error found after events of the same chunk: reported on the next
    /// step, so those events still reach the host first.
    pending_error: Option<PluginError>,
}

impl<D: SseDecoder> SseDriver<D> {
    /// Read and parse errors are prefixed with `api`; the decoder's own errors
    /// are passed on as they are.
    pub fn new(api: &'static str, decoder: D) -> Self {
        SseDriver {
            api,
            parser: SseParser::default(),
            decoder,
            finished: false,
            pending_error: None,
        }
    }

    /// One `ChatStream` step: `read` gives the next body chunk (`None` at the
    /// end). Returns the events (maybe none), `None` once done, or the error
    /// that ended the stream. Nothing is read after the end or an error.
    pub fn step(
        &mut self,
        read: impl FnOnce() -> Result<Option<Vec<u8>>, PluginError>,
    ) -> Result<Option<Vec<ChatEvent>>, PluginError> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        if self.finished {
            return Ok(None);
        }
        let mut out = Vec::new();
        let result = match read().map_err(|e| e.prefixed(self.api)) {
            Ok(Some(bytes)) => self
                .parser
                .push(&bytes)
                .map_err(|e| e.prefixed(self.api))
                .and_then(|events| self.decode(events, &mut out)),
            Ok(None) => self
                .parser
                .finish()
                .map_err(|e| e.prefixed(self.api))
                .and_then(|events| self.decode(events, &mut out))
                .and_then(|()| self.end_of_body(&mut out)),
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => Ok(Some(out)),
            Err(error) => {
                self.finished = true;
                if out.is_empty() {
                    return Err(error);
                }
                self.pending_error = Some(error);
                Ok(Some(out))
            }
        }
    }

    fn decode(
        &mut self,
        events: Vec<SseEvent>,
        out: &mut Vec<ChatEvent>,
    ) -> Result<(), PluginError> {
        for event in events {
            if self.finished {
                break; // anything after the end marker is not part of the reply
            }
            if self.decoder.event(event, out)? == Flow::End {
                self.finished = true;
            }
        }
        Ok(())
    }

    fn end_of_body(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        self.decoder.end(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{drive, same};
    use crate::types::{Done, ErrorReason};

    /// A toy API: `data: <text>` is text, `data: STOP` the end marker,
    /// `data: FAIL` an error; a body ending early is cut off.
    #[derive(Default)]
    struct Toy {
        ended_early: bool,
    }

    impl SseDecoder for Toy {
        fn event(
            &mut self,
            event: SseEvent,
            out: &mut Vec<ChatEvent>,
        ) -> Result<Flow, PluginError> {
            match event.data.as_str() {
                "STOP" => {
                    out.push(ChatEvent::Done(Done::from_raw(
                        event.event.unwrap_or_default(),
                    )));
                    Ok(Flow::End)
                }
                "FAIL" => Err(PluginError::new(ErrorReason::Overloaded, "toy: busy")),
                text => {
                    out.push(ChatEvent::Text(text.into()));
                    Ok(Flow::Continue)
                }
            }
        }

        fn end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<(), PluginError> {
            self.ended_early = true;
            Err(PluginError::new(ErrorReason::Network, "toy: cut off"))
        }
    }

    fn driver() -> SseDriver<Toy> {
        SseDriver::new("toy", Toy::default())
    }

    #[test]
    fn events_map_until_the_end_marker() {
        let body = b"data: a\n\ndata: b\n\nevent: fine\ndata: STOP\n\ndata: late\n\n";
        let (events, error) = drive(driver(), &[body]);
        assert!(error.is_none(), "{error:?}");
        let expected = [
            ChatEvent::Text("a".into()),
            ChatEvent::Text("b".into()),
            ChatEvent::Done(Done::from_raw("fine")),
        ];
        assert!(same(&events, &expected), "{events:?}");
        crate::testing::assert_any_split(driver, body, &expected);
    }

    /// Whether the stream is over: the next step reads nothing and ends it.
    fn over(d: &mut SseDriver<Toy>) -> bool {
        matches!(d.step(|| panic!("read after the end")), Ok(None))
    }

    fn chunk(bytes: &[u8]) -> impl FnOnce() -> Result<Option<Vec<u8>>, PluginError> {
        let bytes = bytes.to_vec();
        move || Ok(Some(bytes))
    }

    #[test]
    fn events_before_an_error_come_first_then_the_error_ends_the_stream() {
        let mut d = driver();
        let batch = d.step(chunk(b"data: a\n\ndata: FAIL\n\n")).unwrap();
        assert!(same(&batch.unwrap(), &[ChatEvent::Text("a".into())]));
        let error = d.step(|| panic!("the error comes first")).unwrap_err();
        assert_eq!(error.message, "toy: busy");
        assert!(over(&mut d));
    }

    #[test]
    fn nothing_is_read_after_the_end_marker() {
        let mut d = driver();
        let batch = d.step(chunk(b"data: STOP\n\ndata: x\n\n")).unwrap();
        assert!(same(
            &batch.unwrap(),
            &[ChatEvent::Done(Done::from_raw(""))]
        ));
        assert!(over(&mut d));
        let early = d.decoder.ended_early;
        assert!(!early, "the end hook is only for bodies that end early");
    }

    #[test]
    fn a_body_ending_early_asks_the_decoder() {
        // The last event lacks its blank line: it still counts.
        let (events, error) = drive(driver(), &[b"data: a\n\ndata: b"]);
        let expected = [ChatEvent::Text("a".into()), ChatEvent::Text("b".into())];
        assert!(same(&events, &expected), "{events:?}");
        assert_eq!(error.unwrap().message, "toy: cut off");
        let (_, error) = drive(driver(), &[b"data: STOP"]);
        assert!(error.is_none(), "{error:?}");
    }

    #[test]
    fn read_and_parse_errors_are_prefixed_and_end_the_stream() {
        let reset = PluginError::new(ErrorReason::Network, "reading response from x: reset");
        let mut d = driver();
        let error = d.step(move || Err(reset)).unwrap_err();
        assert_eq!(error.message, "toy: reading response from x: reset");
        assert!(over(&mut d));

        let mut d = driver();
        d.parser = SseParser::with_max_len(4);
        let error = d.step(chunk(b"data: too long")).unwrap_err();
        assert_eq!(error.reason, ErrorReason::Format);
        assert!(error.message.starts_with("toy: "), "{}", error.message);
        assert!(over(&mut d));
    }
}
