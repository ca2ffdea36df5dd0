//! The client APIs the gateway serves, by path: a new API is a module behind
//! `wire::WireApi` and a line in `APIS`.

use crate::wire::WireApi;
use crate::{anthropic, openai, responses};

/// Every API, by the path of its model endpoint.
pub static APIS: &[&dyn WireApi] = &[
    &openai::ChatCompletions,
    &responses::Responses,
    &anthropic::Messages,
];

/// The shape of errors on paths that are no API's (admin, models, unknown).
pub static FALLBACK: &dyn WireApi = &openai::ChatCompletions;

/// The API whose model endpoint `path` is.
pub fn serving(path: &str) -> Option<&'static dyn WireApi> {
    APIS.iter().copied().find(|api| api.path() == path)
}

/// The API whose shape errors on `path` take, and whose token header it
/// accepts: the API serving it or a path under it (`/v1/messages/count_tokens`),
/// else `FALLBACK`.
pub fn shape(path: &str) -> &'static dyn WireApi {
    serving(path)
        .or_else(|| {
            APIS.iter().copied().find(|api| {
                path.strip_prefix(api.path())
                    .is_some_and(|r| r.starts_with('/'))
            })
        })
        .unwrap_or(FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::gathered;
    use http::HeaderMap;

    #[test]
    fn each_api_maps_stop_reasons() {
        use claw_types::{ChatEvent, Done, StopReason::*};
        let body = br#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#;
        let stop = |api: &dyn WireApi, pointer: &str, events: &[ChatEvent]| {
            let req = api.parse(body, &HeaderMap::new()).unwrap();
            api.response(&req, &gathered(api, events))[pointer].clone()
        };
        let call = ChatEvent::ToolCallStart {
            index: 0,
            id: "c".into(),
            name: "f".into(),
        };
        // Normalized reason, then OpenAI's finish_reason and Anthropic's stop_reason,
        // without and with a tool call in the reply.
        for (reason, openai, anthropic, with_call) in [
            (
                Some(EndTurn),
                "stop",
                "end_turn",
                ("tool_calls", "tool_use"),
            ),
            (
                Some(StopSequence),
                "stop",
                "stop_sequence",
                ("stop", "stop_sequence"),
            ),
            (
                Some(MaxTokens),
                "length",
                "max_tokens",
                ("length", "max_tokens"),
            ),
            (
                Some(ToolUse),
                "tool_calls",
                "tool_use",
                ("tool_calls", "tool_use"),
            ),
            (
                Some(Refusal),
                "content_filter",
                "refusal",
                ("content_filter", "refusal"),
            ),
            (Some(Other), "stop", "end_turn", ("tool_calls", "tool_use")),
            (None, "stop", "end_turn", ("tool_calls", "tool_use")),
        ] {
            let mut events: Vec<ChatEvent> = reason
                .map(|r| ChatEvent::Done(Done::new(r, "raw")))
                .into_iter()
                .collect();
            let finish = |events: &[ChatEvent]| {
                stop(&openai::ChatCompletions, "choices", events)[0]["finish_reason"].clone()
            };
            assert_eq!(finish(&events), openai, "{reason:?}");
            assert_eq!(
                stop(&anthropic::Messages, "stop_reason", &events),
                anthropic,
                "{reason:?}"
            );
            events.insert(0, call.clone());
            assert_eq!(finish(&events), with_call.0, "{reason:?} with a call");
            assert_eq!(
                stop(&anthropic::Messages, "stop_reason", &events),
                with_call.1,
                "{reason:?} with a call"
            );
        }
    }

    #[test]
    fn apis_are_found_by_path_and_only_anthropic_takes_x_api_key() {
        let paths: Vec<_> = APIS.iter().map(|a| (a.path(), a.token_header())).collect();
        assert_eq!(
            paths,
            [
                ("/v1/chat/completions", None),
                ("/v1/responses", None),
                ("/v1/messages", Some("x-api-key"))
            ]
        );
        assert_eq!(
            serving("/v1/messages").map(|a| a.path()),
            Some("/v1/messages")
        );
        assert!(serving("/v1/models").is_none() && serving("/admin/status").is_none());
        assert_eq!(FALLBACK.path(), "/v1/chat/completions");
        // count_tokens answers (and authenticates) as Anthropic's API.
        assert_eq!(shape("/v1/messages/count_tokens").path(), "/v1/messages");
        assert_eq!(shape("/v1/messagesX").path(), "/v1/chat/completions");
        // GET /v1/responses/{id} is refused in the Responses shape.
        assert_eq!(shape("/v1/responses/resp_1").path(), "/v1/responses");
        assert_eq!(shape("/admin/status").path(), "/v1/chat/completions");
    }
}
