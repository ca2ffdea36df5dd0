use super::*;
use crate::test_support::*;
use claw_types::{CacheHint, KeyValue, ReasoningSetting, SystemBlock, ToolChoice};

fn parse(body: &str) -> Result<ApiRequest, ApiError> {
    parse_request(body.as_bytes())
}

#[test]
fn parses_a_streaming_request_as_the_python_sdk_sends_it() {
    // anthropic.messages.create(model=..., max_tokens=1024, system=...,
    // messages=[...], stream=True); httpx writes json.dumps output.
    let req = parse(r#"{"max_tokens": 1024, "messages": [{"role": "user", "content": "Hello, Claude"}], "model": "minimax/MiniMax-M2.1", "system": "You are terse.", "stream": true}"#).unwrap();
    assert_eq!(req.model, "minimax/MiniMax-M2.1");
    assert!(req.stream && req.prompt.streaming && !req.include_usage);
    assert_eq!(req.prompt.max_tokens, Some(1024));
    assert_eq!(req.prompt.temperature, None);
    assert_eq!(
        req.prompt.system,
        [SystemBlock {
            text: "You are terse.".into(),
            cache: None
        }]
    );
    assert_eq!(show(&req.prompt.messages), ["User: text(Hello, Claude)"]);
    assert_eq!(req.prompt.passthrough, None);
}

#[test]
fn parses_blocks_system_blocks_and_passes_unknown_fields_through() {
    let req = parse(r#"{"model": "fast", "temperature": 0.5, "top_k": 5, "stop_sequences": ["END"],
        "metadata": {"user_id": "u"}, "thinking": {"type": "enabled", "budget_tokens": 2000},
        "tool_choice": {"type": "auto"}, "tools": [],
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be kind."}],
        "messages": [
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                {"type": "text", "text": "What is this?"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "It looks like...", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xx"},
                {"type": "text", "text": "A cat."}]},
            {"role": "user", "content": "Thanks"}]}"#).unwrap();
    assert!(!req.stream && req.prompt.streaming);
    assert_eq!(
        (req.prompt.max_tokens, req.prompt.temperature),
        (None, Some(0.5))
    );
    assert_eq!(
        req.prompt.system,
        [
            SystemBlock {
                text: "Be brief.".into(),
                cache: Some(CacheHint::default())
            },
            SystemBlock {
                text: "Be kind.".into(),
                cache: None
            },
        ]
    );
    assert_eq!(
        show(&req.prompt.messages),
        [
            "User: image(image/jpeg, /9j/4AAQ) text(What is this?)",
            "Assistant: reasoning(It looks like..., sig) redacted(xx) text(A cat.)",
            "User: text(Thanks)",
        ]
    );
    assert_eq!(req.prompt.stop, ["END"]);
    assert_eq!(
        req.prompt.reasoning,
        Some(ReasoningSetting::BudgetTokens(2000))
    );
    assert_eq!(req.prompt.tool_choice, Some(ToolChoice::Auto));
    let passthrough = req.prompt.passthrough.unwrap();
    assert_eq!(passthrough.api, "anthropic-messages");
    assert_eq!(
        passthrough.body,
        [
            KeyValue::new("top_k", "5"),
            KeyValue::new("metadata", "{\"user_id\":\"u\"}"),
        ]
    );
    // An empty system adds no block.
    let req =
        parse(r#"{"model": "a/b", "system": "", "messages": [{"role": "user", "content": "hi"}]}"#)
            .unwrap();
    assert!(req.prompt.system.is_empty());
    assert_eq!(show(&req.prompt.messages), ["User: text(hi)"]);
}

/// Claude Code sends system messages inside `messages`: they join the system
/// prompt after the top-level blocks, with their cache hints.
#[test]
fn system_messages_in_the_conversation_join_the_system_prompt() {
    let r = parse(
        r#"{"model": "m", "max_tokens": 8, "system": [{"type": "text", "text": "first"}],
            "messages": [{"role": "user", "content": "hi"},
                         {"role": "system", "content": [{"type": "text", "text": "later", "cache_control": {"type": "ephemeral"}}]},
                         {"role": "user", "content": "again"}]}"#,
    )
    .unwrap();
    let system: Vec<(&str, bool)> = r
        .prompt
        .system
        .iter()
        .map(|b| (b.text.as_str(), b.cache.is_some()))
        .collect();
    assert_eq!(system, [("first", false), ("later", true)]);
    assert_eq!(r.prompt.messages.len(), 2);
}

#[test]
fn each_malformed_request_gets_a_clear_400() {
    let m = r#""messages": [{"role": "user", "content": "hi"}]"#;
    let with = |extra: &str| format!(r#"{{"model": "a/b", {m}, {extra}}}"#);
    let msgs = |messages: &str| format!(r#"{{"model": "a/b", "messages": {messages}}}"#);
    let blocks = |blocks: &str| msgs(&format!(r#"[{{"role": "user", "content": {blocks}}}]"#));
    let shape = r#"{"type": "base64", "media_type": "image/png", "data": "..."}"#;
    let types = r#""text", "image", "tool_use", "tool_result", "thinking" or "redacted_thinking""#;
    let cases: Vec<(String, String)> = vec![
        ("{\"model\": }".into(), "body is not valid JSON: expected value at line 1 column 11".into()),
        (" ".into(), "body is empty: send a JSON object (Content-Type: application/json)".into()),
        ("\"hi\"".into(), "body must be a JSON object, got a string".into()),
        (format!("{{{m}}}"), "`model` is required (a provider/model ref or an alias, see GET /v1/models)".into()),
        (format!(r#"{{"model": ["a"], {m}}}"#), "`model` must be a string (a provider/model ref or an alias, see GET /v1/models), got an array".into()),
        (r#"{"model": "a/b", "max_tokens": 10}"#.into(), "`messages` must be a non-empty array of {\"role\", \"content\"} objects".into()),
        (msgs("[]"), "`messages` must be a non-empty array of {\"role\", \"content\"} objects".into()),
        (msgs("{}"), "`messages` must be a non-empty array of {\"role\", \"content\"} objects, got an object".into()),
        (msgs("[1]"), "messages[0] must be an object with `role` and `content`, got a number".into()),
        (msgs(r#"[{"content": "hi"}]"#), "messages[0].role is required: user or assistant".into()),
        (msgs(r#"[{"role": "system", "content": 5}]"#), "`messages[0].content` must be a string or an array of text blocks, got a number".into()),
        (msgs(r#"[{"role": "model", "content": "hi"}]"#), "messages[0].role: unknown role \"model\"; use user, assistant or system".into()),
        (msgs(r#"[{"role": "user"}]"#), "messages[0].content is required: a string or an array of content blocks".into()),
        (msgs(r#"[{"role": "user", "content": {"type": "text"}}]"#), "messages[0].content must be a string or an array of content blocks, got an object".into()),
        (blocks("[\"hi\"]"), "messages[0].content[0] must be a content block like {\"type\": \"text\", \"text\": \"...\"}, got a string".into()),
        (blocks(r#"[{"text": "hi"}]"#), format!("messages[0].content[0].type is required: {types}")),
        (blocks(r#"[{"type": "text", "text": 5}]"#), "messages[0].content[0]: a text block needs a string `text`".into()),
        (blocks(r#"[{"type": "audio"}]"#), format!("messages[0].content[0]: unknown content block type \"audio\"; use {types}")),
        (blocks(r#"[{"type": "document", "source": {}}]"#), "messages[0].content[0]: \"document\" blocks are not supported: claw carries text, image, tool_use, tool_result, thinking and redacted_thinking blocks".into()),
        (blocks(r#"[{"type": "tool_result", "tool_use_id": "t1", "content": "42"}]"#), "messages[0].content[0].tool_use_id: the tool call id \"t1\" matches no tool call in an earlier assistant message".into()),
        (msgs(r#"[{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": "x"}]}]"#),
            "messages[1].content[0].input of the tool_use \"t1\" must be an object, got a string".into()),
        (blocks(r#"[{"type": "thinking", "thinking": "x"}]"#), "messages[0].content[0]: \"thinking\" blocks may only appear in assistant messages".into()),
        (blocks(r#"[{"type": "image"}]"#), format!("messages[0].content[0].source is required: {shape}")),
        (blocks(r#"[{"type": "image", "source": {"type": "url", "url": "file:///etc/passwd"}}]"#), "messages[0].content[0].source.url must be an http(s) URL".into()),
        (blocks(r#"[{"type": "image", "source": {"type": "file", "file_id": "f1"}}]"#), "messages[0].content[0].source: file sources (Files API) are not supported; send the image as base64 or a URL".into()),
        (blocks(r#"[{"type": "image", "source": {"media_type": "image/png", "data": "AA"}}]"#), format!("messages[0].content[0].source.type must be \"base64\" or \"url\": {shape}")),
        (blocks(r#"[{"type": "image", "source": {"type": "base64", "data": "AA"}}]"#), format!("messages[0].content[0].source.media_type must be a non-empty string: {shape}")),
        (blocks(r#"[{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}]"#), format!("messages[0].content[0].source.data must be a non-empty string: {shape}")),
        (msgs(r#"[{"role": "assistant", "content": [{"type": "image", "source": {}}]}]"#), "messages[0].content[0]: only user messages may contain images".into()),
        (with(r#""system": 5"#), "`system` must be a string or an array of text blocks, got a number".into()),
        (with(r#""system": [{"type": "image"}]"#), "system[0] must be a text block like {\"type\": \"text\", \"text\": \"...\"}".into()),
        (with(r#""tools": [{"type": "web_search_20250305", "name": "web_search"}]"#), "tools[0]: the server tool type \"web_search_20250305\" is not supported: claw carries only custom tools ({\"name\", \"description\", \"input_schema\"}); remove it from `tools`".into()),
        (with(r#""tool_choice": {"type": "any"}"#), "`tool_choice` requires a tool call, but `tools` is empty; send the tools or leave `tool_choice` out".into()),
        (with(r#""max_tokens": 0"#), "`max_tokens` must be a positive whole number of tokens, got 0".into()),
        (with(r#""max_tokens": 1.5"#), "`max_tokens` must be a positive whole number of tokens, got 1.5".into()),
        (with(r#""temperature": 1.2"#), "`temperature` must be a number from 0 to 1, got 1.2".into()),
        (with(r#""stream": 1"#), "`stream` must be true or false, got 1".into()),
    ];
    for (body, expected) in cases {
        assert_eq!(parse_error(&Messages, &body), expected, "body: {body}");
    }
    // A long value is quoted back cut short.
    let long = format!(
        r#"{{"model": "a/b", "messages": [{{"role": "{}", "content": "x"}}]}}"#,
        "r".repeat(500)
    );
    assert!(parse_error(&Messages, &long).len() < 150);
}

#[test]
fn never_panics_on_any_prefix_or_odd_value() {
    let good = r#"{"model": "a/b", "max_tokens": 5, "system": [{"type": "text", "text": "s"}], "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}, {"type": "text", "text": "ü"}]}], "stream": true}"#;
    assert!(parse(good).is_ok());
    for cut in 0..good.len() {
        let _ = parse_request(&good.as_bytes()[..cut]);
    }
    for body in [
        "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [null, []]}]}",
        "{\"model\": \"a/b\", \"tool_choice\": 3, \"messages\": []}",
        "{\"model\": \"a/b\", \"system\": [null], \"messages\": [{}]}",
        "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\", \"source\": {\"type\": 1}}]}]}",
    ] {
        let _ = parse(body);
    }
    let _ = parse_request(b"\xc3\x28");
}

fn request() -> ApiRequest {
    parse(r#"{"model": "fast", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "stream": true}"#).unwrap()
}

#[test]
fn renders_a_message() {
    let mut r = Messages.response(
        &request(),
        &reply("Hi!", Some(usage_of(9, 2, 3, 4)), Some("length")),
    );
    let id = r["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("msg_") && id.len() > 20, "{id}");
    r["id"] = "X".into();
    assert_eq!(
        r,
        json!({"id": "X", "type": "message", "role": "assistant", "model": "fast",
            "content": [{"type": "text", "text": "Hi!"}], "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": {"input_tokens": 9, "cache_creation_input_tokens": 4, "cache_read_input_tokens": 3, "output_tokens": 2}})
    );
    let empty = Messages.response(&request(), &reply("", None, None));
    assert_ne!(empty["id"].as_str().unwrap(), id, "ids are unique");
    assert_eq!(empty["content"], json!([]));
    assert_eq!(empty["stop_reason"], "end_turn");
    assert_eq!(empty["usage"]["output_tokens"], 0);
}

fn encoder() -> Encoder<Events> {
    let made = Events::new(&request());
    assert!(made.id.starts_with("msg_"));
    let id = "msg_1".into(); // fixed, so frames compare byte for byte
    Encoder::new(Events { id, ..made }, "toolu_")
}

#[test]
fn streams_the_exact_events() {
    let mut enc = encoder();
    let frames = run(&mut enc, &full_stream(usage_of(12, 3, 0, 5), "stop"));
    let expected = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"fast\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}}\n\n\
         event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n\
         event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm.\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
         event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
         event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" there,\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" friend\"}}\n\n",
        "",
        "",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
         event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":0,\"output_tokens\":3}}\n\n\
         event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];
    assert_eq!(frames, expected);
    assert_ended(&mut enc);
}

#[test]
fn each_switch_between_thinking_and_text_opens_the_next_block() {
    let mut enc = encoder();
    let out = enc.event(&ChatEvent::Text("a".into()))
        + &enc.event(&ChatEvent::Reasoning("b".into()))
        + &enc.event(&ChatEvent::Text("".into()))
        + &enc.event(&ChatEvent::Text("c".into()))
        + &enc.finish();
    let events: Vec<(String, Value)> = out
        .split_terminator("\n\n")
        .map(|f| {
            let (event, data) = f
                .strip_prefix("event: ")
                .unwrap()
                .split_once("\ndata: ")
                .unwrap();
            (event.to_string(), serde_json::from_str(data).unwrap())
        })
        .collect();
    let summary: Vec<String> = events
        .iter()
        .map(|(e, d)| match e.as_str() {
            "content_block_start" => {
                format!("start {} {}", d["index"], d["content_block"]["type"])
            }
            "content_block_delta" => format!("delta {} {}", d["index"], d["delta"]["type"]),
            "content_block_stop" => format!("stop {}", d["index"]),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "message_start",
            "ping",
            "start 0 \"text\"",
            "delta 0 \"text_delta\"",
            "stop 0",
            "start 1 \"thinking\"",
            "delta 1 \"thinking_delta\"",
            "stop 1",
            "start 2 \"text\"",
            "delta 2 \"text_delta\"",
            "stop 2",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(enc.start(), "", "message_start only once");
}

#[test]
fn frames_stay_valid_sse_whatever_the_text() {
    let nasty = "line1\nline2\r\n\"q\" \\ \u{2028} \u{0} 🦀\n\nevent: error\ndata: x";
    let mut enc = encoder();
    let out = enc.event(&ChatEvent::Text(nasty.into())) + &enc.finish();
    for f in out.split_terminator("\n\n") {
        let (event, data) = f
            .strip_prefix("event: ")
            .unwrap()
            .split_once("\ndata: ")
            .unwrap();
        assert!(
            !event.contains('\n') && !data.contains('\n') && !data.contains('\r'),
            "{f}"
        );
        let _: Value = serde_json::from_str(data).unwrap();
    }
    assert!(out.contains(&serde_json::to_string(nasty).unwrap()));
}

#[test]
fn an_error_ends_the_stream() {
    assert_eq!(
        cut_after_content(&mut encoder(), "lmstudio/qwen3-8b"),
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"lmstudio/qwen3-8b failed after the reply had started: network: reset\"}}\n\n"
    );
    // Before any content (all candidates failed once headers were out).
    let mut enc = encoder();
    assert_eq!(
        enc.error(&ApiError::new(
            529,
            "overloaded_error",
            "All models failed (1): a/b: overloaded (HTTP 529): Overloaded"
        )),
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"All models failed (1): a/b: overloaded (HTTP 529): Overloaded\"}}\n\n"
    );
    assert_eq!(
        enc.keepalive(),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    );
}

#[test]
fn error_bodies_use_anthropic_types() {
    let kind = |status, kind| {
        Messages.error_body(&ApiError::new(status, kind, "m"))["error"]["type"].clone()
    };
    assert_eq!(
        Messages.error_body(&ApiError::invalid("bad")),
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}})
    );
    assert_eq!(kind(401, "authentication_error"), "authentication_error");
    assert_eq!(kind(529, "overloaded_error"), "overloaded_error");
    // Kinds from elsewhere (e.g. OpenAI's) are named from the status.
    for (status, expected) in [
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "timeout_error"),
    ] {
        assert_eq!(kind(status, "server_error"), expected, "{status}");
    }
}

#[test]
fn failures_map_to_a_status_the_client_can_act_on() {
    use Reason::*;
    let cases = [
        (
            vec![(RateLimit, Some(429)), (RateLimit, None)],
            429,
            "rate_limit_error",
        ),
        (
            vec![
                (Overloaded, Some(529)),
                (Cooldown, None),
                (Overloaded, Some(503)),
            ],
            529,
            "overloaded_error",
        ),
        (
            vec![(Timeout, None), (PluginTimeout, None)],
            504,
            "timeout_error",
        ),
        (vec![(Auth, Some(401)), (Auth, Some(403))], 502, "api_error"),
        (vec![(Timeout, None), (Auth, Some(401))], 502, "api_error"),
        (vec![(Billing, Some(402))], 502, "api_error"),
    ];
    for (attempts, status, kind) in cases {
        let outcome = failed(&attempts);
        let e = Messages.failure(&outcome);
        assert_eq!((e.status, e.kind), (status, kind), "{attempts:?}");
        assert!(
            e.message.ends_with(outcome.error.as_deref().unwrap()),
            "{}",
            e.message
        );
    }
    let e = Messages.failure(&failed(&[(Auth, Some(401))]));
    assert!(
        e.message.contains("your own token for claw was accepted"),
        "{}",
        e.message
    );
    assert_eq!(
        Messages.error_body(&e)["error"]["type"],
        "api_error",
        "never authentication_error"
    );
}

#[test]
fn upstream_errors_pass_through_only_as_given() {
    // The router already redacted; the gateway must neither add nor alter.
    let mut outcome = failed(&[(Reason::Unknown, Some(500))]);
    let given = "All models failed (1): p/m0: unknown (HTTP 500): upstream echoed x-api-key: [redacted] and sk-ant-***";
    outcome.error = Some(given.into());
    let e = Messages.failure(&outcome);
    assert_eq!(e.message, given);
    let body = Messages.error_body(&e);
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "api_error", "message": given}})
    );
    let frame = encoder().error(&e);
    assert_eq!(frame.matches("sk-ant-").count(), 1, "{frame}");
}
