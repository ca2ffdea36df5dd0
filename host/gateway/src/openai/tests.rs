use super::*;
use crate::test_support::*;
use crate::wire::Encoder;
use claw_core::catalog::{Credential, ModelRef, ModelSpec, Provider};
use claw_types::{Done, KeyValue, SystemBlock, ToolChoice};

fn parse(body: &str) -> Result<ApiRequest, ApiError> {
    parse_request(body.as_bytes())
}

#[test]
fn parses_a_streaming_request_as_the_python_sdk_sends_it() {
    // openai.chat.completions.create(model=..., messages=[...], stream=True,
    // stream_options={"include_usage": True}); httpx writes json.dumps output.
    let req = parse(r#"{"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi"}], "model": "minimax/MiniMax-M2.1", "stream": true, "stream_options": {"include_usage": true}}"#).unwrap();
    assert_eq!(req.model, "minimax/MiniMax-M2.1");
    assert!(req.stream && req.include_usage && req.prompt.streaming);
    assert_eq!(
        req.prompt.system,
        [SystemBlock {
            text: "You are terse.".into(),
            cache: None
        }]
    );
    assert_eq!(show(&req.prompt.messages), ["User: text(Say hi)"]);
    assert_eq!(req.prompt.passthrough, None);
    assert_eq!(
        (req.prompt.max_tokens, req.prompt.temperature),
        (None, None)
    );
}

#[test]
fn parses_parts_roles_limits_and_passes_unknown_fields_through() {
    let req = parse(r#"{"model": "fast", "messages": [
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "name": "ann", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]},
        {"role": "assistant", "content": null, "tool_calls": []},
        {"role": "assistant", "content": [{"type": "text", "text": "A "}, {"type": "refusal", "refusal": "no"}]},
        {"role": "user", "content": "ok"}],
        "max_completion_tokens": 256, "temperature": 0.7, "top_p": 0.9, "seed": 1, "user": "u1",
        "metadata": {"a": "b"}, "tool_choice": "none", "tools": [], "n": 1, "stream": false}"#).unwrap();
    assert_eq!(req.model, "fast");
    assert!(!req.stream && !req.include_usage && req.prompt.streaming);
    assert_eq!(req.prompt.max_tokens, Some(256));
    assert_eq!(req.prompt.temperature, Some(0.7));
    assert_eq!(req.prompt.top_p, Some(0.9));
    assert_eq!(req.prompt.tool_choice, Some(ToolChoice::None));
    assert_eq!(req.prompt.system[0].text, "Be brief.");
    let passthrough = req.prompt.passthrough.unwrap();
    assert_eq!(passthrough.api, "openai-completions");
    assert_eq!(
        passthrough.body,
        [
            KeyValue::new("seed", "1"),
            KeyValue::new("user", "\"u1\""),
            KeyValue::new("metadata", "{\"a\":\"b\"}"),
        ]
    );
    assert_eq!(
        show(&req.prompt.messages),
        [
            "User: text(What is this?) image(image/png, iVBORw0KGgo=)",
            "Assistant: ",
            "Assistant: text(A ) text(no)",
            "User: text(ok)",
        ]
    );
}

#[test]
fn max_completion_tokens_wins_over_the_deprecated_max_tokens() {
    let m = r#""messages": [{"role": "user", "content": "hi"}]"#;
    let req = parse(&format!(r#"{{"model": "a/b", {m}, "max_tokens": 100}}"#)).unwrap();
    assert_eq!(req.prompt.max_tokens, Some(100));
    let req = parse(&format!(
        r#"{{"model": "a/b", {m}, "max_tokens": 100, "max_completion_tokens": 50}}"#
    ))
    .unwrap();
    assert_eq!(req.prompt.max_tokens, Some(50));
    let req = parse(&format!(r#"{{"model": "a/b", {m}, "max_tokens": null, "temperature": null, "stream": null, "stream_options": null}}"#)).unwrap();
    assert_eq!(
        (req.prompt.max_tokens, req.prompt.temperature, req.stream),
        (None, None, false)
    );
}

#[test]
fn each_malformed_request_gets_a_clear_400() {
    let m = r#""messages": [{"role": "user", "content": "hi"}]"#;
    let with = |extra: &str| format!(r#"{{"model": "a/b", {m}, {extra}}}"#);
    let msgs = |messages: &str| format!(r#"{{"model": "a/b", "messages": {messages}}}"#);
    let cases: Vec<(String, &str)> = vec![
        (
            "{\"model\"".into(),
            "body is not valid JSON: EOF while parsing an object at line 1 column 8",
        ),
        (
            "{model: 1}".into(),
            "body is not valid JSON: key must be a string at line 1 column 2",
        ),
        (
            "".into(),
            "body is empty: send a JSON object (Content-Type: application/json)",
        ),
        ("[1]".into(), "body must be a JSON object, got an array"),
        (
            format!("{{{m}}}"),
            "`model` is required (a provider/model ref or an alias, see GET /v1/models)",
        ),
        (
            format!(r#"{{"model": "  ", {m}}}"#),
            "`model` is required (a provider/model ref or an alias, see GET /v1/models)",
        ),
        (
            format!(r#"{{"model": 4, {m}}}"#),
            "`model` must be a string (a provider/model ref or an alias, see GET /v1/models), got a number",
        ),
        (
            r#"{"model": "a/b"}"#.into(),
            "`messages` must be a non-empty array of {\"role\", \"content\"} objects",
        ),
        (
            msgs("[]"),
            "`messages` must be a non-empty array of {\"role\", \"content\"} objects",
        ),
        (
            msgs("\"hi\""),
            "`messages` must be a non-empty array of {\"role\", \"content\"} objects, got a string",
        ),
        (
            msgs("[\"hi\"]"),
            "messages[0] must be an object with `role` and `content`, got a string",
        ),
        (
            msgs(r#"[{"content": "hi"}]"#),
            "messages[0].role is required: system, developer, user, assistant or tool",
        ),
        (
            msgs(r#"[{"role": "bot", "content": "hi"}]"#),
            "messages[0].role: unknown role \"bot\"; use system, developer, user, assistant or tool",
        ),
        (
            msgs(r#"[{"role": "user"}]"#),
            "messages[0].content is required: a string or an array of content parts",
        ),
        (
            msgs(r#"[{"role": "user", "content": 3}]"#),
            "messages[0].content must be a string or an array of content parts, got a number",
        ),
        (
            msgs(r#"[{"role": "user", "content": [3]}]"#),
            "messages[0].content[0] must be a content part like {\"type\": \"text\", \"text\": \"...\"}, got a number",
        ),
        (
            msgs(r#"[{"role": "user", "content": [{"text": "x"}]}]"#),
            "messages[0].content[0].type is required: \"text\" or \"image_url\"",
        ),
        (
            msgs(r#"[{"role": "user", "content": [{"type": "text"}]}]"#),
            "messages[0].content[0]: a \"text\" part needs a string `text`",
        ),
        (
            msgs(r#"[{"role": "user", "content": [{"type": "video"}]}]"#),
            "messages[0].content[0]: unknown content part type \"video\"; use \"text\" or \"image_url\"",
        ),
        (
            msgs(r#"[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]"#),
            "messages[0].content[0]: \"input_audio\" parts are not supported: claw carries text and images only",
        ),
        (
            msgs(
                r#"[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://example.com/cat.png"}}]}]"#,
            ),
            "messages[2].content[0]: image_url must be a data: URL (base64) or an http(s) URL, like data:image/png;base64,<data>",
        ),
        (
            msgs(
                r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}]"#,
            ),
            "messages[0].content[0]: image_url must be a data: URL (base64): add ;base64 after the media type",
        ),
        (
            msgs(
                r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:;base64,abc"}}]}]"#,
            ),
            "messages[0].content[0]: image_url must be a data: URL (base64): it needs a media type, e.g. data:image/png;base64,...",
        ),
        (
            msgs(
                r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}]}]"#,
            ),
            "messages[0].content[0]: image_url must be a data: URL (base64): its data is empty",
        ),
        (
            msgs(
                r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64"}}]}]"#,
            ),
            "messages[0].content[0]: image_url must be a data: URL (base64): no ',' before the data",
        ),
        (
            msgs(
                r#"[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "cat.png"}}]}]"#,
            ),
            "messages[0].content[0]: image_url must be a data: URL (base64) or an http(s) URL, like data:image/png;base64,<data>",
        ),
        (
            msgs(r#"[{"role": "user", "content": [{"type": "image_url"}]}]"#),
            "messages[0].content[0]: an image_url part needs `image_url: {\"url\": \"data:image/png;base64,...\"}`",
        ),
        (
            msgs(
                r#"[{"role": "system", "content": [{"type": "image_url", "image_url": "data:image/png;base64,AA"}]}]"#,
            ),
            "messages[0].content[0]: only user messages may contain images",
        ),
        (
            msgs(r#"[{"role": "tool", "content": "42", "tool_call_id": "c1"}]"#),
            "messages[0].tool_call_id: the tool call id \"c1\" matches no tool call in an earlier assistant message",
        ),
        (
            msgs(r#"[{"role": "assistant", "content": null, "tool_calls": [{"id": "c1"}]}]"#),
            "messages[0].tool_calls[0].function is required: {\"name\", \"arguments\"}",
        ),
        (
            with(r#""functions": [{"name": "f"}]"#),
            "`functions`: the legacy functions API is not supported; send `tools` (type \"function\"), `tool_choice`, assistant `tool_calls` and role \"tool\" messages instead",
        ),
        (
            with(r#""n": 2"#),
            "`n` is 2: claw does not support multiple choices yet; leave `n` out (or send 1) and make separate requests",
        ),
        (with(r#""n": 0"#), "`n` must be 1, got 0"),
        (
            with(r#""logprobs": true"#),
            "`logprobs`: claw does not return log probabilities; leave `logprobs` out (or send false)",
        ),
        (
            with(r#""modalities": ["text", "audio"]"#),
            "`modalities`/`audio`: claw returns text only; leave `audio` out and send `modalities` [\"text\"] (or leave it out)",
        ),
        (
            with(r#""top_p": 1.5"#),
            "`top_p` must be a number from 0 to 1, got 1.5",
        ),
        (
            with(r#""stop": 5"#),
            "`stop` must be a string or an array of strings, got 5",
        ),
        (
            with(r#""max_tokens": 0"#),
            "`max_tokens` must be a positive whole number of tokens, got 0",
        ),
        (
            with(r#""max_tokens": -5"#),
            "`max_tokens` must be a positive whole number of tokens, got -5",
        ),
        (
            with(r#""max_completion_tokens": "100""#),
            "`max_completion_tokens` must be a positive whole number of tokens, got \"100\"",
        ),
        (
            with(r#""max_tokens": 4294967296"#),
            "`max_tokens` must be a positive whole number of tokens, got 4294967296",
        ),
        (
            with(r#""temperature": 2.5"#),
            "`temperature` must be a number from 0 to 2, got 2.5",
        ),
        (
            with(r#""temperature": "hot""#),
            "`temperature` must be a number from 0 to 2, got \"hot\"",
        ),
        (
            with(r#""stream": "yes""#),
            "`stream` must be true or false, got \"yes\"",
        ),
        (
            with(r#""stream": true, "stream_options": true"#),
            "`stream_options` must be an object like {\"include_usage\": true}, got a boolean",
        ),
        (
            with(r#""stream": true, "stream_options": {"include_usage": 1}"#),
            "`stream_options.include_usage` must be true or false, got 1",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            parse_error(&ChatCompletions, &body),
            expected,
            "body: {body}"
        );
    }
}

#[test]
fn never_panics_on_any_prefix_or_odd_value() {
    let good = r#"{"model": "a/b", "messages": [{"role": "user", "content": [{"type": "text", "text": "hé"}, {"type": "image_url", "image_url": {"url": "DATA:image/png;base64,AA"}}]}], "max_tokens": 9, "stream": true, "stream_options": {"include_usage": true}}"#;
    assert!(parse(good).is_ok(), "the data: scheme is case-insensitive");
    for cut in 0..good.len() {
        let _ = parse_request(&good.as_bytes()[..cut]);
    }
    let odd = [
        "\u{feff}{}",
        "null",
        "\"x\"",
        "1e999",
        "{\"model\": \"a/b\", \"messages\": [null]}",
        "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"é\"}}]}]}",
        "{\"model\": \"a/b\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:é\"}}]}]}",
        "{\"model\": \"a/b\", \"messages\": [{\"role\": 7}], \"temperature\": -0.0}",
    ];
    for body in odd {
        let _ = parse(body);
    }
    let _ = parse_request(&[0xff, 0xfe, b'{']);
    let deep = "[".repeat(10_000);
    assert!(
        parse_error(&ChatCompletions, &deep)
            .starts_with("body is not valid JSON: recursion limit exceeded")
    );
}

#[test]
fn renders_a_chat_completion() {
    let req =
        parse(r#"{"model": "fast", "messages": [{"role": "user", "content": "hi"}]}"#).unwrap();
    let mut r = ChatCompletions.response(
        &req,
        &reply(
            "Hello \"you\"",
            Some(usage_of(10, 4, 6, 0)),
            Some("max_tokens"),
        ),
    );
    let id = r["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("chatcmpl-") && id.len() > 20, "{id}");
    assert!(r["created"].as_u64().unwrap() > 1_700_000_000);
    r["id"] = "X".into();
    r["created"] = 0.into();
    assert_eq!(
        r,
        json!({"id": "X", "object": "chat.completion", "created": 0, "model": "fast",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello \"you\""}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 16, "completion_tokens": 4, "total_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 6}, "completion_tokens_details": {"reasoning_tokens": 0}}})
    );
    let other = ChatCompletions.response(&req, &reply("x", None, None));
    assert_ne!(other["id"].as_str().unwrap(), id, "ids are unique");
    assert_eq!(
        other["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}})
    );
    assert_eq!(other["choices"][0]["finish_reason"], "stop");
}

fn encoder(include_usage: bool) -> Encoder<Chunks> {
    let body = format!(
        r#"{{"model": "fast", "messages": [{{"role": "user", "content": "hi"}}], "stream": true, "stream_options": {{"include_usage": {include_usage}}}}}"#
    );
    let made = Chunks::new(&parse(&body).unwrap());
    assert!(made.id.starts_with("chatcmpl-"));
    // Fixed, so the frames can be compared byte for byte.
    let (id, created) = ("chatcmpl-1".into(), 1700000000);
    Encoder::new(
        Chunks {
            id,
            created,
            ..made
        },
        "call_",
    )
}

#[test]
fn streams_the_exact_chunks_with_usage() {
    let mut enc = encoder(true);
    let head = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"fast","choices":[{"index":0,"delta":"#;
    let tail = ",\"usage\":null}\n\n";
    assert_eq!(
        run(&mut enc, &full_stream(usage_of(12, 3, 0, 0), "end_turn")),
        [
            format!(r#"{head}{{"role":"assistant","content":""}},"finish_reason":null}}]{tail}"#),
            String::new(),
            format!(r#"{head}{{"reasoning_content":"Hmm."}},"finish_reason":null}}]{tail}"#),
            format!(r#"{head}{{"content":"Hello"}},"finish_reason":null}}]{tail}"#),
            format!(r#"{head}{{"content":" there,"}},"finish_reason":null}}]{tail}"#),
            format!(r#"{head}{{"content":" friend"}},"finish_reason":null}}]{tail}"#),
            String::new(),
            String::new(),
            format!(r#"{head}{{}},"finish_reason":"stop"}}]{tail}"#)
                + "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"fast\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
                + "data: [DONE]\n\n",
        ]
    );
    assert_ended(&mut enc);
}

#[test]
fn streams_without_usage_unless_asked() {
    let mut enc = encoder(false);
    let frames = run(
        &mut enc,
        &[
            ChatEvent::Text("Hi".into()),
            ChatEvent::Done(Done::from_raw("max_tokens")),
        ],
    );
    let head = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"fast","choices":[{"index":0,"delta":"#;
    assert_eq!(
        frames,
        [
            format!(
                "{head}{{\"role\":\"assistant\",\"content\":\"\"}},\"finish_reason\":null}}]}}\n\n"
            ),
            format!("{head}{{\"content\":\"Hi\"}},\"finish_reason\":null}}]}}\n\n"),
            String::new(),
            format!("{head}{{}},\"finish_reason\":\"length\"}}]}}\n\ndata: [DONE]\n\n"),
        ]
    );
    // Content before `start` still opens with the role chunk, once.
    let mut enc = encoder(false);
    let first = enc.event(&ChatEvent::Text("x".into()));
    assert!(
        first.starts_with(&format!("{head}{{\"role\"")) && first.matches("data: ").count() == 2
    );
    assert_eq!(enc.start(), "");
}

#[test]
fn frames_stay_valid_sse_whatever_the_text() {
    let nasty = "line1\nline2\r\n\"quoted\" \\ </script> \u{2028} \u{0} é 🦀\n\ndata: fake";
    let mut enc = encoder(true);
    let out = enc.start() + &enc.event(&ChatEvent::Text(nasty.into())) + &enc.finish();
    let frames: Vec<&str> = out.split_terminator("\n\n").collect();
    assert_eq!(frames.len(), 5);
    for f in &frames {
        let data = f.strip_prefix("data: ").unwrap();
        assert!(!data.contains('\n') && !data.contains('\r'), "{f}");
    }
    let text: Value = serde_json::from_str(frames[1].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(text["choices"][0]["delta"]["content"], nasty);
}

#[test]
fn an_error_ends_the_stream_without_done() {
    let mut enc = encoder(false);
    enc.start();
    assert_eq!(
        cut_after_content(&mut enc, "minimax/MiniMax-M2.1"),
        "data: {\"error\":{\"message\":\"minimax/MiniMax-M2.1 failed after the reply had started: network: reset\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
    );
    // Before any content (all candidates failed once headers were out).
    let mut enc = encoder(true);
    let frame = enc.error(&ApiError::new(
        429,
        "rate_limit_error",
        "All models failed (1): a/b: rate_limit (HTTP 429): slow down",
    ));
    assert_eq!(
        frame,
        "data: {\"error\":{\"message\":\"All models failed (1): a/b: rate_limit (HTTP 429): slow down\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n"
    );
    assert_eq!(enc.keepalive(), ": keep-alive\n\n");
}

#[test]
fn error_bodies_use_openai_types() {
    let body = |status, kind| {
        ChatCompletions.error_body(&ApiError::new(status, kind, "m"))["error"].clone()
    };
    assert_eq!(
        body(400, "invalid_request_error"),
        json!({"message": "m", "type": "invalid_request_error", "param": null, "code": null})
    );
    assert_eq!(
        body(401, "authentication_error"),
        json!({"message": "m", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"})
    );
    assert_eq!(body(404, "not_found_error")["code"], "not_found");
    assert_eq!(body(429, "rate_limit_error")["code"], "rate_limit_exceeded");
    assert_eq!(body(503, "overloaded_error")["type"], "server_error");
    assert_eq!(body(504, "timeout_error")["code"], "timeout");
    assert_eq!(
        body(500, "server_error")["type"],
        "server_error",
        "an OpenAI type passes through"
    );
    assert_eq!(
        ChatCompletions
            .error_body(&ApiError::invalid("x"))
            .as_object()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn failures_map_to_a_status_the_client_can_act_on() {
    use Reason::*;
    let cases = [
        (
            vec![(RateLimit, Some(429)), (RateLimit, Some(429))],
            429,
            "rate_limit_error",
        ),
        (
            vec![(RateLimit, Some(429)), (Cooldown, None)],
            429,
            "rate_limit_error",
        ),
        (
            vec![(Overloaded, Some(529)), (Overloaded, Some(503))],
            503,
            "overloaded_error",
        ),
        (
            vec![(Timeout, None), (PluginTimeout, None)],
            504,
            "timeout_error",
        ),
        (vec![(Auth, Some(401))], 502, "api_error"),
        (
            vec![(RateLimit, Some(429)), (Overloaded, Some(529))],
            502,
            "api_error",
        ),
        (vec![(Network, None)], 502, "api_error"),
        (vec![], 502, "api_error"),
    ];
    for (attempts, status, kind) in cases {
        let outcome = failed(&attempts);
        let e = ChatCompletions.failure(&outcome);
        assert_eq!((e.status, e.kind), (status, kind), "{attempts:?}");
        if attempts.first().map(|a| a.0) != Some(Auth) {
            assert_eq!(
                Some(e.message),
                outcome.error,
                "the router's summary, as is"
            );
        }
    }
    let outcome = failed(&[(Auth, Some(401))]);
    let e = ChatCompletions.failure(&outcome);
    assert!(e.message.starts_with("The upstream provider rejected the credentials claw holds for it (your own token for claw was accepted)"), "{}", e.message);
    assert!(
        e.message
            .ends_with("All models failed (1): p/m0: auth (HTTP 401): upstream said no"),
        "{}",
        e.message
    );
}

#[test]
fn upstream_errors_pass_through_only_as_given() {
    // The router already redacted; the gateway must neither add nor alter.
    let mut outcome = failed(&[(Reason::Auth, Some(401)), (Reason::Network, None)]);
    let given = "All models failed (2): p/m0: auth (HTTP 401): Incorrect API key provided: sk-stand***. | p/m1: network: reset";
    outcome.error = Some(given.into());
    let e = ChatCompletions.failure(&outcome);
    assert_eq!(e.message, given);
    let body = ChatCompletions.error_body(&e).to_string();
    assert_eq!(body.matches("sk-stand").count(), 1, "{body}");
    assert!(body.contains(&serde_json::to_string(given).unwrap()));
}

fn spec(id: &str) -> ModelSpec {
    ModelSpec {
        id: id.into(),
        name: id.into(),
        reasoning: false,
        input: vec!["text".into()],
        cost: Default::default(),
        context_window: 1000,
        max_tokens: 100,
        tools: true,
    }
}

fn provider(id: &str, models: &[&str]) -> Provider {
    Provider {
        id: id.into(),
        api: "openai-completions".into(),
        base_url: "http://127.0.0.1:1/v1".into(),
        headers: vec![],
        auth_header: false,
        credential: Credential::None,
        models: models.iter().map(|m| spec(m)).collect(),
        plugin: None,
        origin: "config",
    }
}

#[test]
fn lists_models_and_aliases() {
    let mut catalog = Catalog::default();
    catalog
        .providers
        .insert("minimax".into(), provider("minimax", &["MiniMax-M2.1"]));
    catalog.providers.insert(
        "openrouter".into(),
        provider("openrouter", &["minimax/minimax-m2.1"]),
    );
    let alias = |p: &str, m: &str| ModelRef {
        provider: p.into(),
        model: m.into(),
    };
    catalog
        .aliases
        .insert("fast".into(), alias("openrouter", "minimax/minimax-m2.1"));
    catalog.aliases.insert("gone".into(), alias("nowhere", "x"));
    assert_eq!(
        models(&catalog),
        json!({"object": "list", "data": [
            {"id": "minimax/MiniMax-M2.1", "object": "model", "created": 0, "owned_by": "minimax"},
            {"id": "openrouter/minimax/minimax-m2.1", "object": "model", "created": 0, "owned_by": "openrouter"},
            {"id": "fast", "object": "model", "created": 0, "owned_by": "openrouter"},
        ]})
    );
}
