//! Reading and wording an upstream's failures: its error bodies, malformed
//! replies, and replies that end empty or early. Pure Rust, tested natively.
//! Every message starts with the API's name, so users and logs can tell which
//! upstream failed; the wording is shared so all API plugins read alike.

use serde_json::Value;

use crate::types::{Done, ErrorReason, PluginError, StopReason};
use crate::{PluginErrorExt, classify_status};

/// An upstream's error body, read for the common JSON shapes:
/// `{"error":{"message","type","code"}}` (OpenAI, Anthropic), `{"error":"..."}`
/// (Ollama) and `{"message":"..."}`. A body that is not JSON has no fields, and
/// its text still classifies it by status.
#[derive(Debug, Clone)]
pub struct ErrorBody<'a> {
    text: &'a str,
    json: Value,
}

impl<'a> ErrorBody<'a> {
    pub fn parse(text: &'a str) -> Self {
        let json = serde_json::from_str(text).unwrap_or(Value::Null);
        ErrorBody { text, json }
    }

    /// The body as JSON (`Null` when it is not), for fields only one API has.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// A non-empty string field of the `error` object, e.g. `"type"` or `"code"`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.json["error"][key].as_str().filter(|s| !s.is_empty())
    }

    /// What went wrong, in words: `error.message`, else `error` itself when it
    /// is a string, else a top-level `message` when there is no `error`.
    pub fn message(&self) -> Option<&str> {
        let error = &self.json["error"];
        let message = match error {
            Value::Object(_) => error["message"].as_str(),
            Value::String(text) => Some(text.as_str()),
            Value::Null => self.json["message"].as_str(),
            _ => None,
        };
        message.filter(|s| !s.is_empty())
    }

    /// An HTTP status carried in `error.<key>` as a number or a numeric string
    /// (100-599): OpenRouter's numeric `code`, MiniMax's `http_code`. It lets an
    /// error inside a stream, which has no status of its own, classify as one.
    pub fn status(&self, key: &str) -> Option<u16> {
        let value = &self.json["error"][key];
        let code = value
            .as_u64()
            .or_else(|| value.as_str()?.trim().parse().ok())?;
        u16::try_from(code).ok().filter(|c| (100..=599).contains(c))
    }

    /// The classified error. `status` is the reply's HTTP status, or one the
    /// body carries; `None` means an error event inside a stream. `label` is
    /// what the API calls the error (a type or code), `reason` its own
    /// classification; without one, [`classify_status`] decides from the status
    /// and the body. The message reads `"{api}: HTTP 429 {label}: {message}"`
    /// (`"stream error"` without a status), or shows the body's start when it
    /// has neither label nor message.
    pub fn to_error(
        &self,
        api: &str,
        status: Option<u16>,
        label: Option<&str>,
        reason: Option<ErrorReason>,
        retry_after_ms: Option<u64>,
    ) -> PluginError {
        let reason = reason.unwrap_or_else(|| classify_status(status.unwrap_or(0), self.text));
        let origin = match status {
            Some(code) => format!("HTTP {code}"),
            None => "stream error".to_string(),
        };
        let detail = match (label, self.message()) {
            (Some(l), Some(m)) => format!("{l}: {}", preview(m)),
            (Some(l), None) => l.to_string(),
            (None, Some(m)) => preview(m),
            (None, None) => preview(self.text),
        };
        let message = if detail.is_empty() {
            format!("{api}: {origin}")
        } else {
            format!("{api}: {origin} {detail}")
        };
        PluginError {
            reason,
            message,
            status,
            retry_after_ms,
        }
    }
}

/// The first 300 characters, trimmed: enough to say what went wrong.
pub fn preview(text: &str) -> String {
    let short: String = text.trim().chars().take(300).collect();
    short.trim_end().to_string()
}

/// One event's data as JSON, or a `Format` error. serde's own message is left
/// out: it can quote the data.
pub fn event_json(api: &str, data: &str) -> Result<Value, PluginError> {
    serde_json::from_str(data).map_err(|_| {
        PluginError::new(
            ErrorReason::Format,
            format!("{api}: the upstream sent malformed JSON in the event stream"),
        )
    })
}

/// A whole (non-streamed) reply as JSON, or a `Format` error.
pub fn reply_json(api: &str, body: &[u8]) -> Result<Value, PluginError> {
    serde_json::from_slice(body).map_err(|_| {
        PluginError::new(
            ErrorReason::Format,
            format!("{api}: the upstream sent a reply that is not valid JSON"),
        )
    })
}

/// `EmptyResponse`: the reply ended properly without text, so the router may
/// still try another model. `what` says what it had instead ("no text"),
/// `stop` the upstream's reason ("stop reason end_turn").
pub fn empty_reply(api: &str, what: &str, stop: &str) -> PluginError {
    PluginError::new(
        ErrorReason::EmptyResponse,
        format!("{api}: the reply had {what} ({stop})"),
    )
}

/// What a streamed reply has carried so far: its end is judged by it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub text: bool,
    pub reasoning: bool,
    pub tool_calls: bool,
}

impl Seen {
    /// The reply answered: text or a tool call (reasoning alone does not).
    pub fn answered(&self) -> bool {
        self.text || self.tool_calls
    }

    /// The end marker came with the upstream's stop reason `raw` (its
    /// `field`, e.g. "stop reason"): `Done` when the reply answered, or when
    /// the model declined (a refusal may come without text); else
    /// [`no_text`](Self::no_text), so the router may try another model.
    pub fn done(&self, api: &str, field: &str, raw: &str) -> Result<Done, PluginError> {
        let done = Done::from_raw(raw);
        if self.answered() || done.reason == StopReason::Refusal {
            Ok(done)
        } else {
            Err(self.no_text(api, &format!("{field} {raw}")))
        }
    }

    /// The end marker came without any answer: [`empty_reply`], saying
    /// whether there was reasoning.
    pub fn no_text(&self, api: &str, stop: &str) -> PluginError {
        let what = if self.reasoning {
            "only reasoning, no text"
        } else {
            "no content"
        };
        empty_reply(api, what, stop)
    }

    /// The body ended before the end marker (`marker`): `Network` (cut off)
    /// after some content, `EmptyResponse` when nothing came at all.
    pub fn ended_early(&self, api: &str, marker: &str) -> PluginError {
        if self.text || self.reasoning || self.tool_calls {
            PluginError::new(
                ErrorReason::Network,
                format!("{api}: the stream was cut off before {marker}"),
            )
        } else {
            PluginError::new(
                ErrorReason::EmptyResponse,
                format!("{api}: the upstream ended the stream without any content"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorReason::*;

    /// The reason and the message: what users see of an error.
    fn said(e: PluginError) -> (ErrorReason, String) {
        (e.reason, e.message)
    }

    fn said_as(reason: ErrorReason, message: &str) -> (ErrorReason, String) {
        (reason, message.to_string())
    }

    /// `body` worded for "api" with a status and nothing API-specific.
    fn plain(body: &str, status: Option<u16>) -> PluginError {
        ErrorBody::parse(body).to_error("api", status, None, None, None)
    }

    #[test]
    fn the_common_shapes_give_their_message() {
        let message = |body: &str| ErrorBody::parse(body).message().map(str::to_string);
        let openai =
            r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert_eq!(message(openai).as_deref(), Some("Rate limit"));
        let ollama = r#"{"error":"model 'x' not found"}"#;
        assert_eq!(message(ollama).as_deref(), Some("model 'x' not found"));
        assert_eq!(message(r#"{"message":"No"}"#).as_deref(), Some("No"));
        // An error object speaks for itself: a top-level message is not its own.
        assert_eq!(message(r#"{"error":{"type":"x"},"message":"other"}"#), None);
        let nothing = ["", "<html>", "null", "[]", r#"{"error":{"message":""}}"#];
        for body in nothing.into_iter().chain([r#"{"error":7}"#]) {
            assert_eq!(message(body), None, "{body}");
        }
        let body = ErrorBody::parse(openai);
        let fields = (body.field("type"), body.field("code"), body.field("param"));
        assert_eq!(
            fields,
            (Some("requests"), Some("rate_limit_exceeded"), None)
        );
        assert_eq!(body.json()["error"]["type"], "requests");
    }

    #[test]
    fn statuses_inside_the_body_are_read_when_plausible() {
        let status = |body: &str, key: &str| ErrorBody::parse(body).status(key);
        assert_eq!(status(r#"{"error":{"code":429}}"#, "code"), Some(429));
        let minimax = r#"{"error":{"http_code":" 529 "}}"#;
        assert_eq!(status(minimax, "http_code"), Some(529));
        for code in ["7", "70000", r#""x""#, "-1", "null"] {
            let body = format!(r#"{{"error":{{"code":{code}}}}}"#);
            assert_eq!(status(&body, "code"), None, "{body}");
        }
    }

    #[test]
    fn errors_are_worded_and_classified() {
        let body = r#"{"error":{"message":"Overloaded","type":"overloaded_error"}}"#;
        let parsed = ErrorBody::parse(body);
        let e = parsed.to_error("api", Some(529), parsed.field("type"), None, Some(2000));
        assert_eq!((e.status, e.retry_after_ms), (Some(529), Some(2000)));
        let expected = said_as(Overloaded, "api: HTTP 529 overloaded_error: Overloaded");
        assert_eq!(said(e), expected);
        // The API's own reason wins over the status.
        let e = parsed.to_error("api", None, None, Some(Billing), None);
        assert_eq!(said(e), said_as(Billing, "api: stream error Overloaded"));
        let e = plain("Too many requests", Some(429));
        assert_eq!(
            said(e),
            said_as(RateLimit, "api: HTTP 429 Too many requests")
        );
        assert_eq!(
            said(plain("", Some(402))),
            said_as(Billing, "api: HTTP 402")
        );
        let e = ErrorBody::parse(r#"{"error":{}}"#).to_error("api", None, Some("x"), None, None);
        assert_eq!(said(e), said_as(Unknown, "api: stream error x"));
        assert!(plain(&"y".repeat(5000), Some(500)).message.len() < 400);
        assert_eq!(preview("  a\n"), "a");
    }

    #[test]
    fn malformed_and_short_replies_are_worded() {
        let e = event_json("api", "{").unwrap_err();
        let malformed = "api: the upstream sent malformed JSON in the event stream";
        assert_eq!(said(e), said_as(Format, malformed));
        assert_eq!(event_json("api", " [1] ").unwrap(), serde_json::json!([1]));
        let e = reply_json("api", b"<html>").unwrap_err();
        let not_json = "api: the upstream sent a reply that is not valid JSON";
        assert_eq!(said(e), said_as(Format, not_json));

        let nothing = Seen::default();
        let thought = Seen {
            reasoning: true,
            ..Seen::default()
        };
        let cases = [
            (
                nothing.no_text("api", "stop reason end_turn"),
                (EmptyResponse, "no content (stop reason end_turn)"),
            ),
            (
                thought.no_text("api", "x"),
                (EmptyResponse, "only reasoning, no text (x)"),
            ),
        ];
        for (e, (reason, what)) in cases {
            assert_eq!(
                said(e),
                said_as(reason, &format!("api: the reply had {what}"))
            );
        }
        let silent = "api: the upstream ended the stream without any content";
        let silent_end = nothing.ended_early("api", "[DONE]");
        assert_eq!(said(silent_end), said_as(EmptyResponse, silent));
        let cut = thought.ended_early("api", "[DONE]");
        let expected = said_as(Network, "api: the stream was cut off before [DONE]");
        assert_eq!(said(cut), expected);
    }

    #[test]
    fn a_reply_is_done_when_it_answered_or_declined() {
        let called = Seen {
            tool_calls: true,
            ..Seen::default()
        };
        let done = called.done("api", "stop reason", "tool_use").unwrap();
        assert_eq!(done, Done::new(StopReason::ToolUse, "tool_use"));
        let texted = Seen {
            text: true,
            ..Seen::default()
        };
        assert!(texted.done("api", "finish reason", "stop").is_ok());
        let declined = Seen::default().done("api", "stop reason", "refusal");
        assert_eq!(declined.unwrap().reason, StopReason::Refusal);
        let thought = Seen {
            reasoning: true,
            ..Seen::default()
        };
        let e = thought.done("api", "finish reason", "length").unwrap_err();
        let expected = "api: the reply had only reasoning, no text (finish reason length)";
        assert_eq!(said(e), said_as(EmptyResponse, expected));
        let cut = called.ended_early("api", "message_stop");
        assert_eq!(cut.reason, Network);
    }
}
