//! End to end: providers, the router and `claw infer` / `claw models` against
//! local stand-ins for the Anthropic and OpenAI APIs.

mod support;

// ---- stand-in self-tests ----
// The stand-in upstream (tests/support/upstream.rs) checked on its own, over a
// raw HTTP/1.1 client, before any claw test leans on it.

use serde_json::{Value, json};
use support::upstream::{self, Behavior, Upstream, post, post_json};

const ANTHROPIC: &str = "/anthropic/v1/messages";
const OPENAI: &str = "/v1/chat/completions";

fn anthropic_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": stream,
           "messages": [{"role": "user", "content": "Say hello please"}]})
}

fn openai_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "Say hello please"}]})
}

/// An SSE body as (event name or "", data) pairs.
fn sse_events(body: &str) -> Vec<(String, String)> {
    assert!(
        body.ends_with("\n\n"),
        "every event ends with a blank line: {body:?}"
    );
    body.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = v.to_string();
                } else {
                    panic!("unexpected SSE line {line:?} in {body:?}");
                }
            }
            (event, data)
        })
        .collect()
}

#[test]
fn stand_in_anthropic_stream_has_the_real_byte_shape_and_really_streams() {
    let up = Upstream::start();
    let text = "one two three four five six seven";
    up.behave("claude-test", Behavior::Reply(text.into()));
    let r = post(
        &up.url(),
        ANTHROPIC,
        &[],
        &anthropic_body("claude-test", true),
    );
    assert_eq!(r.status, 200);
    assert!(r.complete);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    assert_eq!(r.headers["transfer-encoding"], "chunked");
    assert!(
        r.body.starts_with(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_"
        ),
        "{}",
        r.body
    );
    assert!(
        r.body
            .ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
    );
    assert!(
        r.body
            .contains("event: ping\ndata: {\"type\": \"ping\"}\n\n")
    );

    let events = sse_events(&r.body);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "content_block_delta")
        .count();
    assert!(deltas >= 3, "a few words per delta: {names:?}");
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", deltas));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);

    let mut streamed = String::new();
    for (name, data) in &events {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            data["type"],
            name.as_str(),
            "data.type matches the event name"
        );
        if name == "content_block_delta" {
            assert_eq!(data["delta"]["type"], "text_delta");
            streamed.push_str(data["delta"]["text"].as_str().unwrap());
        }
    }
    assert_eq!(streamed, text);
    let start: Value = serde_json::from_str(&events[0].1).unwrap();
    assert_eq!(start["message"]["model"], "claude-test");
    assert_eq!(start["message"]["content"], json!([]));
    assert!(start["message"]["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let delta: Value = serde_json::from_str(&events[names.len() - 2].1).unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 7);

    // Streamed, not buffered: events arrive in separate chunks, spread in time.
    assert!(r.chunks.len() >= names.len(), "{} chunks", r.chunks.len());
    let spread = r.chunks.last().unwrap().0 - r.chunks[0].0;
    assert!(
        spread.as_millis() as u64 >= upstream::GAP_MS * 4,
        "{spread:?}"
    );
}

#[test]
fn stand_in_anthropic_non_stream_is_one_message() {
    let up = Upstream::start();
    let (status, headers, body) = post_json(
        &up.url(),
        "/v1/messages",
        &[],
        &anthropic_body("MiniMax-M2.1", false),
    );
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["content-length"], body.len().to_string());
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "Hello from MiniMax-M2.1"}])
    );
}

#[test]
fn stand_in_openai_stream_ends_with_usage_then_done() {
    let up = Upstream::start();
    up.behave("gpt-test", Behavior::Reply("alpha beta gamma delta".into()));
    let r = post(&up.url(), OPENAI, &[], &openai_body("gpt-test", true));
    assert_eq!(r.status, 200);
    assert!(r.complete);
    assert!(r.body.ends_with("data: [DONE]\n\n"));
    let events = sse_events(&r.body);
    assert!(
        events.iter().all(|(name, _)| name.is_empty()),
        "OpenAI sends data lines only"
    );
    let (last, chunks) = events.split_last().unwrap();
    assert_eq!(last.1, "[DONE]");
    let chunks: Vec<Value> = chunks
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "gpt-test")
    );
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let n = chunks.len();
    let content: String = chunks[1..n - 2]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(content, "alpha beta gamma delta");
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[n - 2]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    let usage = &chunks[n - 1]["usage"];
    assert_eq!(usage["completion_tokens"], 4);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + 4
    );

    // Without include_usage there is no usage chunk (and no usage field).
    let mut body = openai_body("gpt-test", true);
    body.as_object_mut().unwrap().remove("stream_options");
    let (_, _, text) = post_json(&up.url(), OPENAI, &[], &body);
    assert!(!text.contains("usage"), "{text}");
    assert!(
        text.ends_with("\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"),
        "{text}"
    );
}

#[test]
fn stand_in_529_is_anthropic_overloaded_error() {
    let up = Upstream::start();
    up.behave(
        "claude-busy",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    let (status, headers, body) = post_json(
        &up.url(),
        ANTHROPIC,
        &[],
        &anthropic_body("claude-busy", true),
    );
    assert_eq!(status, 529);
    assert!(!headers.contains_key("retry-after"));
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(
        error["error"],
        json!({"type": "overloaded_error", "message": "Overloaded"})
    );
}

#[test]
fn stand_in_429_carries_retry_after_in_both_apis() {
    let up = Upstream::start();
    let limited = Behavior::Status {
        code: 429,
        retry_after: Some(7),
    };
    up.behave("claude-limited", limited.clone());
    up.behave("gpt-limited", limited);
    let (status, headers, body) = post_json(
        &up.url(),
        ANTHROPIC,
        &[],
        &anthropic_body("claude-limited", true),
    );
    assert_eq!((status, headers["retry-after"].as_str()), (429, "7"));
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "rate_limit_error");

    let (status, headers, body) =
        post_json(&up.url(), OPENAI, &[], &openai_body("gpt-limited", true));
    assert_eq!((status, headers["retry-after"].as_str()), (429, "7"));
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "rate_limit_exceeded");
    assert_eq!(error["error"]["param"], Value::Null);
}

#[test]
fn stand_in_sequence_answers_in_order_then_repeats_the_last() {
    let up = Upstream::start();
    let fail = Behavior::Status {
        code: 500,
        retry_after: None,
    };
    up.behave_seq("m", vec![fail.clone(), Behavior::Reply("ok now".into())]);
    let statuses: Vec<u16> = (0..3)
        .map(|_| post_json(&up.url(), OPENAI, &[], &openai_body("m", false)).0)
        .collect();
    assert_eq!(statuses, [500, 200, 200]);
    let answered: Vec<_> = up
        .requests()
        .into_iter()
        .map(|r| r.behavior.unwrap())
        .collect();
    assert_eq!(answered[0], fail);
    assert_eq!(answered[2], Behavior::Reply("ok now".into()));
    assert_eq!(up.count("m"), 3);
}

#[test]
fn stand_in_records_every_request() {
    let up = Upstream::start();
    let headers = [
        ("X-Api-Key", "sk-ant-test"),
        ("Anthropic-Version", "2023-06-01"),
    ];
    post_json(
        &up.url(),
        ANTHROPIC,
        &headers,
        &anthropic_body("claude-a", true),
    );
    post_json(
        &up.url(),
        OPENAI,
        &[("Authorization", "Bearer sk-test")],
        &openai_body("gpt-b", false),
    );
    let (status, _, body) = post_json(&up.url(), "/v1/embeddings", &[], &json!({"model": "gpt-b"}));
    assert_eq!(status, 404);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"]["message"].is_string());

    let seen = up.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", ANTHROPIC)
    );
    assert_eq!(seen[0].api, upstream::Api::Anthropic);
    assert_eq!(seen[0].header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(seen[0].headers["anthropic-version"], "2023-06-01");
    assert_eq!(seen[0].body["messages"][0]["content"], "Say hello please");
    assert_eq!(seen[0].model.as_deref(), Some("claude-a"));
    assert_eq!(
        seen[0].behavior,
        Some(Behavior::Reply("Hello from claude-a".into()))
    );
    assert_eq!(seen[1].api, upstream::Api::OpenAi);
    assert_eq!(seen[1].header("authorization"), Some("Bearer sk-test"));
    assert_eq!(
        (seen[2].api, seen[2].behavior.clone()),
        (upstream::Api::Unknown, None)
    );
    assert_eq!(up.count("claude-a"), 1);
    assert_eq!(up.count("gpt-b"), 2, "the 404 still named the model");
    assert_eq!(up.count("never-called"), 0);
}

#[test]
fn stand_in_fault_modes_are_bounded_and_shaped() {
    let up = Upstream::start();
    up.behave("cut", Behavior::CutAfter { words: 5 });
    up.behave(
        "stall",
        Behavior::Stall {
            ms: 300,
            ping_every_ms: 100,
        },
    );
    up.behave(
        "stall-oai",
        Behavior::Stall {
            ms: 120,
            ping_every_ms: 50,
        },
    );
    up.behave(
        "slow",
        Behavior::Delay {
            ms: 200,
            then: Box::new(Behavior::Status {
                code: 401,
                retry_after: None,
            }),
        },
    );
    up.behave("empty", Behavior::EmptyStream);
    up.behave("bad", Behavior::Malformed);

    // Cut: the words arrive, then the connection drops with no final chunk.
    let r = post(&up.url(), ANTHROPIC, &[], &anthropic_body("cut", true));
    assert!(!r.complete, "{}", r.body);
    assert!(!r.body.contains("message_stop") && !r.body.contains("content_block_stop"));
    let text: String = sse_events(&r.body)
        .iter()
        .filter(|(e, _)| e == "content_block_delta")
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["delta"]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(text, upstream::cut_text(5));

    // Stall: the head comes at once, then only pings, then a clean end.
    let r = post(&up.url(), ANTHROPIC, &[], &anthropic_body("stall", true));
    assert!(r.complete);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    assert_eq!(
        r.body,
        "event: ping\ndata: {\"type\": \"ping\"}\n\n".repeat(2)
    );
    assert!(
        r.head_at + std::time::Duration::from_millis(50) <= r.chunks[0].0,
        "the head is flushed before the first ping: {:?} vs {:?}",
        r.head_at,
        r.chunks[0].0
    );
    let took = r.chunks.last().unwrap().0;
    assert!(
        took.as_millis() >= 200 && took.as_millis() < 5000,
        "{took:?}"
    );
    let r = post(&up.url(), OPENAI, &[], &openai_body("stall-oai", true));
    assert_eq!(r.body, ": keep-alive\n\n: keep-alive\n\n");

    // Delay: nothing before `ms`, then the inner behaviour.
    let r = post(&up.url(), ANTHROPIC, &[], &anthropic_body("slow", true));
    assert_eq!(r.status, 401);
    assert!(r.head_at.as_millis() >= 200, "{:?}", r.head_at);
    let error: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        error["error"],
        json!({"type": "authentication_error", "message": "invalid x-api-key"})
    );

    // Empty: a complete stream with no content at all.
    let r = post(&up.url(), ANTHROPIC, &[], &anthropic_body("empty", true));
    let names: Vec<String> = sse_events(&r.body).into_iter().map(|(e, _)| e).collect();
    assert_eq!(names, ["message_start", "message_delta", "message_stop"]);
    let (_, _, body) = post_json(&up.url(), OPENAI, &[], &openai_body("empty", true));
    assert_eq!(sse_events(&body).len(), 2);
    assert!(body.ends_with("data: [DONE]\n\n") && !body.contains("\"content\":\"H"));

    // Malformed: a 200 whose data line is not JSON.
    let r = post(&up.url(), ANTHROPIC, &[], &anthropic_body("bad", true));
    assert_eq!(r.status, 200);
    let bad = sse_events(&r.body).pop().unwrap().1;
    assert!(serde_json::from_str::<Value>(&bad).is_err(), "{bad}");
}

#[test]
fn stand_in_keeps_the_connection_alive_and_stops_when_dropped() {
    let up = Upstream::start();
    let host = up.url().trim_start_matches("http://").to_string();
    let stream = std::net::TcpStream::connect(&host).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut conn = std::io::BufReader::new(stream);
    for _ in 0..2 {
        let body = anthropic_body("k", true).to_string();
        let r = upstream::exchange(&mut conn, &host, "POST", ANTHROPIC, &[], &body);
        assert!(r.complete && r.body.ends_with("{\"type\":\"message_stop\"}\n\n"));
    }
    assert_eq!(up.count("k"), 2);
    drop(up);
    assert!(
        std::net::TcpStream::connect(&host).is_err(),
        "the port is closed after drop"
    );
}

// OAuth (MiniMax's user-code login with PKCE) and token checking.

use support::upstream::{OAuthOutcome, OAuthScript, RefreshBehavior, post_form};

const VERIFIER: &str = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQ";
const USER_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:user_code";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The reply's JSON, with its status.
fn form(up: &Upstream, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let r = post_form(&up.url(), path, fields);
    assert_eq!(r.headers["content-type"], "application/json");
    (r.status, serde_json::from_str(&r.body).unwrap())
}

/// Ask for a user code as the plugin does; returns the reply.
fn request_code(up: &Upstream, client_id: &str, verifier: &str, state: &str) -> (u16, Value) {
    let challenge = upstream::pkce_challenge(verifier);
    form(
        up,
        "/oauth/code",
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("scope", "group_id profile model.completion"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", state),
        ],
    )
}

fn poll_token(up: &Upstream, client_id: &str, verifier: &str) -> (u16, Value) {
    form(
        up,
        "/oauth/token",
        &[
            ("grant_type", USER_CODE_GRANT),
            ("client_id", client_id),
            ("user_code", upstream::OAUTH_USER_CODE),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh_token(up: &Upstream, client_id: &str, token: &str) -> (u16, Value) {
    form(
        up,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", token),
        ],
    )
}

/// A whole login with the default script's pending polls; the success reply.
fn log_in(up: &Upstream) -> Value {
    assert_eq!(request_code(up, "client-1", VERIFIER, "st").0, 200);
    loop {
        let (status, reply) = poll_token(up, "client-1", VERIFIER);
        assert_eq!(status, 200, "{reply}");
        if reply["status"] != "pending" {
            return reply;
        }
    }
}

#[test]
fn stand_in_pkce_challenge_is_the_rfc_s256() {
    // RFC 7636, Appendix B.
    assert_eq!(
        upstream::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn stand_in_oauth_login_is_pending_then_succeeds_with_pkce() {
    let up = Upstream::start();
    up.oauth(OAuthScript {
        resource_url: Some("https://api.minimax.io".into()),
        ..OAuthScript::default()
    });
    let before = now_ms();
    let (status, code) = request_code(&up, "client-1", VERIFIER, "state-42");
    assert_eq!(status, 200, "{code}");
    assert_eq!(code["user_code"], "ABCD-1234");
    assert_eq!(code["verification_uri"], format!("{}/verify", up.url()));
    assert_eq!(code["interval"], 100);
    assert_eq!(code["state"], "state-42");
    let expires = code["expired_in"].as_u64().unwrap();
    assert!(
        (before + 60_000..=now_ms() + 60_000).contains(&expires),
        "absolute epoch ms, a minute ahead: {expires}"
    );

    // Two pending polls (the default), then the tokens.
    for _ in 0..2 {
        assert_eq!(
            poll_token(&up, "client-1", VERIFIER),
            (200, json!({"status": "pending"}))
        );
    }
    let (status, tokens) = poll_token(&up, "client-1", VERIFIER);
    assert_eq!(status, 200);
    assert_eq!(tokens["status"], "success");
    assert_eq!(tokens["access_token"], "mm-access-1");
    assert_eq!(tokens["refresh_token"], "mm-refresh-1");
    assert_eq!(tokens["resource_url"], "https://api.minimax.io");
    let expires = tokens["expired_in"].as_u64().unwrap();
    assert!((before + 3_600_000..=now_ms() + 3_600_000).contains(&expires));

    // A code is used once.
    let (status, reply) = poll_token(&up, "client-1", VERIFIER);
    assert_eq!(status, 400);
    assert_eq!(reply["base_resp"]["status_msg"], "invalid user_code");

    // The forms are recorded as objects of their (decoded) fields.
    let seen = up.requests();
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter()
            .all(|r| r.api == upstream::Api::OAuth && r.behavior.is_none())
    );
    assert_eq!(seen[0].path, "/oauth/code");
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen[0].body["scope"], "group_id profile model.completion");
    assert_eq!(
        seen[0].body["code_challenge"],
        upstream::pkce_challenge(VERIFIER)
    );
    assert_eq!(seen[1].path, "/oauth/token");
    assert_eq!(seen[1].body["grant_type"], USER_CODE_GRANT);
    assert_eq!(seen[1].body["code_verifier"], VERIFIER);
    assert_eq!(up.refresh_calls(), 0);
}

#[test]
fn stand_in_oauth_refuses_a_wrong_verifier_or_client() {
    let up = Upstream::start();
    up.oauth(OAuthScript {
        pending_polls: 0,
        client_id: Some("client-1".into()),
        ..OAuthScript::default()
    });
    let (status, reply) = request_code(&up, "someone-else", VERIFIER, "st");
    assert_eq!(status, 400);
    assert_eq!(reply["base_resp"]["status_msg"], "invalid client_id");
    let (status, _) = request_code(&up, "client-1", VERIFIER, "st");
    assert_eq!(status, 200);

    let (status, reply) = poll_token(&up, "client-1", "not-the-verifier");
    assert_eq!(status, 400);
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["base_resp"]["status_msg"], "invalid code_verifier");
    // The challenge itself is not a verifier either.
    let challenge = upstream::pkce_challenge(VERIFIER);
    assert_eq!(poll_token(&up, "client-1", &challenge).0, 400);
    let (status, reply) = poll_token(&up, "client-2", VERIFIER);
    assert_eq!(status, 400);
    assert_eq!(reply["base_resp"]["status_msg"], "invalid client_id");

    // Refused polls do not spoil the code: the right one still succeeds.
    let (status, tokens) = poll_token(&up, "client-1", VERIFIER);
    assert_eq!((status, &tokens["status"]), (200, &json!("success")));

    // A form missing a field is refused.
    let (status, reply) = form(&up, "/oauth/code", &[("response_type", "code")]);
    assert_eq!(status, 400);
    assert_eq!(reply["base_resp"]["status_msg"], "missing client_id");
}

#[test]
fn stand_in_oauth_state_mismatch_deny_and_expiry() {
    let up = Upstream::start();
    up.oauth(OAuthScript {
        outcome: OAuthOutcome::StateMismatch,
        ..OAuthScript::default()
    });
    let (status, code) = request_code(&up, "client-1", VERIFIER, "mine");
    assert_eq!(status, 200);
    assert_ne!(code["state"], "mine");
    assert!(code["state"].is_string());

    up.oauth(OAuthScript {
        pending_polls: 1,
        outcome: OAuthOutcome::Deny,
        ..OAuthScript::default()
    });
    let (_, code) = request_code(&up, "client-1", VERIFIER, "mine");
    assert_eq!(code["state"], "mine");
    assert_eq!(poll_token(&up, "client-1", VERIFIER).1["status"], "pending");
    assert_eq!(
        poll_token(&up, "client-1", VERIFIER),
        (
            200,
            json!({"status": "error", "base_resp": {"status_code": 1004, "status_msg": "user denied the authorization"}})
        )
    );

    up.oauth(OAuthScript {
        pending_polls: 0,
        outcome: OAuthOutcome::Expire,
        ..OAuthScript::default()
    });
    let sent = now_ms();
    let (_, code) = request_code(&up, "client-1", VERIFIER, "st");
    let lifetime = code["expired_in"].as_u64().unwrap() - sent;
    assert!((1_500..2_500).contains(&lifetime), "{lifetime}");
    for _ in 0..3 {
        assert_eq!(poll_token(&up, "client-1", VERIFIER).1["status"], "pending");
    }
}

#[test]
fn stand_in_oauth_refresh_rotates_and_rejects_stale_tokens() {
    let up = Upstream::start();
    let login = log_in(&up);
    assert_eq!(login["refresh_token"], "mm-refresh-1");

    let (status, fresh) = refresh_token(&up, "client-1", "mm-refresh-1");
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(fresh["status"], "success");
    assert_eq!(fresh["access_token"], "mm-access-2");
    assert_eq!(fresh["refresh_token"], "mm-refresh-2");
    assert!(fresh["expired_in"].as_u64().unwrap() > now_ms() + 3_000_000);

    // The rotated-away token is stale now; so is any token for another client.
    let (status, reply) = refresh_token(&up, "client-1", "mm-refresh-1");
    assert_eq!(status, 400);
    assert_eq!(
        reply["base_resp"]["status_msg"],
        "refresh token is invalid or expired"
    );
    assert_eq!(refresh_token(&up, "client-2", "mm-refresh-2").0, 400);
    assert_eq!(up.refresh_calls(), 3);

    // Without rotation the reply has no refresh token and the old one stays valid.
    up.oauth(OAuthScript {
        refresh: RefreshBehavior::Accept { rotate: false },
        ..OAuthScript::default()
    });
    for access in ["mm-access-3", "mm-access-4"] {
        let (status, fresh) = refresh_token(&up, "client-1", "mm-refresh-2");
        assert_eq!(status, 200, "{fresh}");
        assert_eq!(fresh["access_token"], access);
        assert!(fresh.get("refresh_token").is_none(), "{fresh}");
    }

    up.oauth(OAuthScript {
        refresh: RefreshBehavior::Reject,
        ..OAuthScript::default()
    });
    let (status, reply) = refresh_token(&up, "client-1", "mm-refresh-2");
    assert_eq!(status, 400);
    assert_eq!(reply["status"], "error");
    assert_eq!(up.refresh_calls(), 6);

    let (status, reply) = form(&up, "/oauth/token", &[("grant_type", "password")]);
    assert_eq!(status, 400);
    assert!(
        reply["base_resp"]["status_msg"]
            .as_str()
            .unwrap()
            .contains("grant_type")
    );
}

#[test]
fn stand_in_require_tokens_answers_401_without_a_valid_token() {
    let up = Upstream::start();
    let anthropic = |headers: &[(&str, &str)]| {
        post_json(&up.url(), ANTHROPIC, headers, &anthropic_body("m", false)).0
    };
    // Off by default: anything goes.
    assert_eq!(anthropic(&[]), 200);

    up.require_tokens();
    let (status, _, body) = post_json(&up.url(), ANTHROPIC, &[], &anthropic_body("m", true));
    assert_eq!(status, 401);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "authentication_error");
    let (status, _, body) = post_json(&up.url(), OPENAI, &[], &openai_body("m", true));
    assert_eq!(status, 401);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "invalid_api_key");
    assert_eq!(
        anthropic(&[("Authorization", "Bearer mm-access-1")]),
        401,
        "not issued yet"
    );

    // An issued access token passes, as a bearer token or an API key.
    log_in(&up);
    assert_eq!(anthropic(&[("Authorization", "Bearer mm-access-1")]), 200);
    assert_eq!(anthropic(&[("x-api-key", "mm-access-1")]), 200);
    assert_eq!(
        post_json(
            &up.url(),
            OPENAI,
            &[("Authorization", "Bearer mm-access-1")],
            &openai_body("m", false)
        )
        .0,
        200
    );
    // A refresh takes the old access token away.
    assert_eq!(refresh_token(&up, "client-1", "mm-refresh-1").0, 200);
    assert_eq!(anthropic(&[("Authorization", "Bearer mm-access-1")]), 401);
    assert_eq!(anthropic(&[("Authorization", "Bearer mm-access-2")]), 200);
    assert_eq!(anthropic(&[("Authorization", "Bearer mm-refresh-2")]), 401);

    // Tokens added by hand pass; expired ones do not.
    up.accept_token("sk-manual");
    assert_eq!(anthropic(&[("x-api-key", "sk-manual")]), 200);
    up.oauth(OAuthScript {
        expires_in_ms: 200,
        ..OAuthScript::default()
    });
    assert_eq!(refresh_token(&up, "client-1", "mm-refresh-2").0, 200);
    assert_eq!(anthropic(&[("Authorization", "Bearer mm-access-3")]), 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(anthropic(&[("Authorization", "Bearer mm-access-3")]), 401);

    // Refused requests are recorded as 401s and do not use up the model's script.
    let refused = up
        .requests()
        .into_iter()
        .filter(|r| {
            r.behavior
                == Some(Behavior::Status {
                    code: 401,
                    retry_after: None,
                })
        })
        .count();
    assert_eq!(refused, 6);
}

// ---- claw infer / claw models against the stand-in ----

use support::upstream::cut_text;
use support::{Claw, Run};

/// A claw whose minimax (anthropic-messages) and openrouter (openai-completions)
/// presets point at the stand-in, primary minimax with openrouter as fallback.
fn claw_with(upstream: &Upstream, extra_agents: Value) -> Claw {
    let claw = Claw::new();
    let mut defaults = json!({
        "model": {"primary": "minimax/MiniMax-M2.1", "fallbacks": ["openrouter/minimax/minimax-m2.1"]},
        "failover": {"ttftTimeoutMs": 1500, "cooldownMs": 60000},
    });
    if let (Some(d), Some(extra)) = (defaults.as_object_mut(), extra_agents.as_object()) {
        d.extend(extra.clone());
    }
    let config = json!({
        "models": {"providers": {
            "minimax": {"baseUrl": format!("{}/anthropic", upstream.url()), "apiKey": "sk-minimax-test-secret"},
            "openrouter": {"baseUrl": format!("{}/api/v1", upstream.url()), "apiKey": "sk-or-test-secret"},
        }},
        "agents": {"defaults": defaults},
    });
    claw.write_config(&config.to_string());
    claw
}

fn infer(claw: &Claw, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["infer", "model", "run", "--prompt", "hi", "--json"];
    all.extend_from_slice(args);
    let run = claw.run(&all);
    let json = run.json();
    for secret in ["sk-minimax-test-secret", "sk-or-test-secret"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    (run, json)
}

fn attempts(json: &Value) -> Vec<(String, String, Option<String>)> {
    json["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                format!(
                    "{}/{}",
                    a["provider"].as_str().unwrap(),
                    a["model"].as_str().unwrap()
                ),
                a["outcome"].as_str().unwrap().to_string(),
                a["reason"].as_str().map(String::from),
            )
        })
        .collect()
}

const PRIMARY: &str = "minimax/MiniMax-M2.1";
const FALLBACK: &str = "openrouter/minimax/minimax-m2.1";

fn ok(model: &str) -> (String, String, Option<String>) {
    (model.to_string(), "success".into(), None)
}
fn failed(model: &str, reason: &str) -> (String, String, Option<String>) {
    (model.to_string(), "failure".into(), Some(reason.into()))
}

#[test]
fn infer_answers_through_the_anthropic_stand_in_with_the_api_key() {
    let upstream = Upstream::start();
    let claw = claw_with(&upstream, json!({}));
    let (run, json) = infer(&claw, &["--model", PRIMARY]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["ok"], true);
    assert_eq!(json["provider"], "minimax");
    assert_eq!(json["model"], "MiniMax-M2.1");
    assert_eq!(
        json["outputs"],
        json!([{"text": "Hello from MiniMax-M2.1"}])
    );
    assert_eq!(attempts(&json), vec![ok(PRIMARY)]);
    assert!(json["attempts"][0]["latencyMs"].is_u64());
    assert!(
        json["usage"]["outputTokens"].as_u64().unwrap() > 0,
        "{json:#}"
    );

    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/anthropic/v1/messages");
    assert_eq!(r.header("x-api-key"), Some("sk-minimax-test-secret"));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.body["model"], "MiniMax-M2.1");
    assert_eq!(r.body["messages"][0]["role"], "user");

    // The same through the OpenAI-compatible plugin, streamed as text.
    let run = claw.run(&[
        "infer", "model", "run", "--model", FALLBACK, "--prompt", "hi", "--stream",
    ]);
    assert_eq!(run.ok(), "Hello from minimax/minimax-m2.1\n");
    let r = upstream.requests().pop().unwrap();
    assert_eq!(r.path, "/api/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer sk-or-test-secret"));
}

#[test]
fn a_primary_that_stalls_with_keep_alives_times_out_and_the_fallback_answers() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Stall {
            ms: 10_000,
            ping_every_ms: 200,
        },
    );
    let claw = claw_with(&upstream, json!({}));
    let (run, json) = infer(&claw, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        attempts(&json),
        vec![failed(PRIMARY, "timeout"), ok(FALLBACK)]
    );
    let waited = json["attempts"][0]["latencyMs"].as_u64().unwrap();
    // Keep-alive pings every 200 ms must not reset the 1.5 s first-token timer.
    assert!(
        waited < 8_000,
        "the stall was not cut off by the TTFT timeout: {waited} ms"
    );
    assert!(
        json["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no content within 1500 ms")
    );
    assert_eq!(
        json["outputs"][0]["text"],
        "Hello from minimax/minimax-m2.1"
    );
}

#[test]
fn every_fallback_decision_is_logged() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    let claw = claw_with(&upstream, json!({}));
    let run = claw.run_env(
        &["infer", "model", "run", "--prompt", "hi"],
        &[("CLAW_LOG", "claw::router=info")],
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("model fallback decision"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    for part in [
        "candidate=minimax/MiniMax-M2.1",
        "reason=\"overloaded\"",
        "status=529",
        "next=openrouter/minimax/minimax-m2.1",
        "try next",
    ] {
        assert!(line.contains(part), "{part} missing from: {line}");
    }
}

#[test]
fn the_last_candidate_gets_no_first_token_cut_off() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Delay {
            ms: 2_500,
            then: Box::new(Behavior::Reply("late but fine".into())),
        },
    );
    let claw = claw_with(
        &upstream,
        json!({"model": {"primary": PRIMARY, "fallbacks": []}}),
    );
    let (run, json) = infer(&claw, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["outputs"][0]["text"], "late but fine");
}

#[test]
fn upstream_failures_are_classified_and_fail_over() {
    for (code, reason) in [
        (401, "auth"),
        (403, "auth"),
        (402, "billing"),
        (500, "unknown"),
        (529, "overloaded"),
    ] {
        let upstream = Upstream::start();
        upstream.behave(
            "MiniMax-M2.1",
            Behavior::Status {
                code,
                retry_after: None,
            },
        );
        let claw = claw_with(&upstream, json!({}));
        let (run, json) = infer(&claw, &[]);
        assert_eq!(run.code, 0, "{code}: {}", run.stderr);
        assert_eq!(
            attempts(&json),
            vec![failed(PRIMARY, reason), ok(FALLBACK)],
            "HTTP {code}"
        );
        assert_eq!(json["attempts"][0]["status"], code);
    }
    for (behavior, reason) in [
        (Behavior::EmptyStream, "empty_response"),
        (Behavior::Malformed, "format"),
    ] {
        let upstream = Upstream::start();
        upstream.behave("MiniMax-M2.1", behavior.clone());
        let claw = claw_with(&upstream, json!({}));
        let (_, json) = infer(&claw, &[]);
        assert_eq!(
            attempts(&json),
            vec![failed(PRIMARY, reason), ok(FALLBACK)],
            "{behavior:?}"
        );
    }
}

#[test]
fn transport_failures_name_their_cause_and_fail_over() {
    let upstream = Upstream::start();
    let plain = upstream.url();
    // TLS to a server that speaks plain HTTP, and a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (base, cause) in [
        (plain.replace("http://", "https://"), "TlsProtocolError"),
        (format!("http://127.0.0.1:{closed}"), "ConnectionRefused"),
    ] {
        let claw = claw_with(&upstream, json!({}));
        let config = std::fs::read_to_string(claw.dir().join("claw.json")).unwrap();
        let config = config.replace(&format!("{plain}/anthropic"), &format!("{base}/anthropic"));
        claw.write_config(&config);
        let (run, json) = infer(&claw, &[]);
        assert_eq!(run.code, 0, "{base}: {}", run.stderr);
        assert_eq!(
            attempts(&json),
            vec![failed(PRIMARY, "network"), ok(FALLBACK)],
            "{base}"
        );
        let error = json["attempts"][0]["error"].as_str().unwrap();
        assert!(
            error.contains("request to 127.0.0.1 failed") && error.contains(cause),
            "{base}: {error}"
        );
    }
}

#[test]
fn a_rate_limited_model_cools_down_and_is_skipped_on_the_next_request() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 429,
            retry_after: Some(30),
        },
    );
    let claw = claw_with(&upstream, json!({}));
    let (_, first) = infer(&claw, &[]);
    assert_eq!(
        attempts(&first),
        vec![failed(PRIMARY, "rate_limit"), ok(FALLBACK)]
    );
    assert_eq!(first["attempts"][0]["status"], 429);

    let (run, second) = infer(&claw, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        attempts(&second),
        vec![
            (
                PRIMARY.to_string(),
                "skipped".into(),
                Some("cooldown".into())
            ),
            ok(FALLBACK)
        ]
    );
    assert!(
        second["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("cooling down for"),
        "{second:#}"
    );
    assert_eq!(
        upstream.count("MiniMax-M2.1"),
        1,
        "a cooling model must not be called"
    );
}

#[test]
fn a_stream_cut_after_content_is_an_error_not_a_silent_switch() {
    let upstream = Upstream::start();
    upstream.behave("MiniMax-M2.1", Behavior::CutAfter { words: 4 });
    let claw = claw_with(&upstream, json!({}));
    let (run, json) = infer(&claw, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(json["ok"], false);
    assert_eq!(attempts(&json), vec![failed(PRIMARY, "network")]);
    assert_eq!(json["outputs"][0]["text"], cut_text(4));
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("failed after the reply had started"),
        "{json:#}"
    );
    assert_eq!(
        upstream.count("minimax/minimax-m2.1"),
        0,
        "no switch after content"
    );
}

#[test]
fn when_everything_fails_the_error_lists_every_attempt() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    upstream.behave(
        "minimax/minimax-m2.1",
        Behavior::Status {
            code: 401,
            retry_after: None,
        },
    );
    let claw = claw_with(&upstream, json!({}));
    let (run, json) = infer(&claw, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(json["ok"], false);
    let error = json["error"].as_str().unwrap();
    assert!(
        error.starts_with("All models failed (2): minimax/MiniMax-M2.1: overloaded (HTTP 529): "),
        "{error}"
    );
    assert!(
        error.contains(" | openrouter/minimax/minimax-m2.1: auth (HTTP 401): "),
        "{error}"
    );
    let text = claw.run(&["infer", "model", "run", "--prompt", "hi"]);
    assert_eq!(text.code, 1);
    assert!(
        text.stderr.contains("error: All models failed (2)"),
        "{}",
        text.stderr
    );
}

#[test]
fn unknown_models_and_missing_variables_say_what_to_do() {
    let upstream = Upstream::start();
    let claw = claw_with(&upstream, json!({}));
    let run = claw.run(&[
        "infer", "model", "run", "--model", "nope/x", "--prompt", "hi",
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Unknown model \"nope/x\": no provider \"nope\" is configured. Configured providers: echo, minimax, openrouter."), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Add a provider under models.providers.nope in claw.json"),
        "{}",
        run.stderr
    );
    let run = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "minimax/minimax-m2.1",
        "--prompt",
        "hi",
    ]);
    assert!(
        run.stderr.contains("Model ids are case-sensitive"),
        "{}",
        run.stderr
    );

    let claw = Claw::new();
    claw.write_config(
        r#"{"models": {"providers": {"minimax": {"apiKey": "${CLAW_TEST_UNSET_KEY}"}}}}"#,
    );
    let run = claw.run(&[
        "infer", "model", "run", "--model", PRIMARY, "--prompt", "hi",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("models.providers.minimax.apiKey: ${CLAW_TEST_UNSET_KEY} is not set; export CLAW_TEST_UNSET_KEY in the environment, or set env.CLAW_TEST_UNSET_KEY in claw.json"),
        "{}",
        run.stderr
    );
    // `env` in claw.json supplies it.
    claw.write_config(&format!(
        r#"{{"env": {{"CLAW_TEST_UNSET_KEY": "k"}}, "models": {{"providers": {{"minimax": {{"baseUrl": "{}/anthropic", "apiKey": "${{CLAW_TEST_UNSET_KEY}}"}}}}}}}}"#,
        upstream.url()
    ));
    claw.run(&[
        "infer", "model", "run", "--model", PRIMARY, "--prompt", "hi",
    ])
    .ok();
    assert_eq!(
        upstream.requests().last().unwrap().header("x-api-key"),
        Some("k")
    );
}

#[test]
fn aliases_and_the_default_model_are_managed_from_the_cli() {
    let upstream = Upstream::start();
    let claw = claw_with(&upstream, json!({"model": {"fallbacks": []}}));
    claw.run(&["models", "aliases", "add", "fast", FALLBACK])
        .ok();
    let (_, json) = infer(&claw, &["--model", "fast"]);
    assert_eq!(attempts(&json), vec![ok(FALLBACK)]);
    assert!(
        claw.run(&["models", "aliases", "list"])
            .ok()
            .contains(&format!("fast -> {FALLBACK}"))
    );

    claw.run(&["models", "set", "fast"]).ok();
    claw.run(&["models", "fallbacks", "add", PRIMARY]).ok();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(claw.dir().join("claw.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["agents"]["defaults"]["model"],
        json!({"primary": FALLBACK, "fallbacks": [PRIMARY]})
    );
    assert_eq!(
        config["agents"]["defaults"]["models"][FALLBACK]["alias"],
        "fast"
    );
    assert_eq!(
        config["models"]["providers"]["minimax"]["apiKey"], "sk-minimax-test-secret",
        "other settings stay"
    );
    // A plugin's own models are all it serves; a preset passes new ids on
    // (issue 14), except one that differs from a listed id only in case.
    let bad = claw.run(&["models", "set", "echo/NoSuchModel"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("Unknown model \"echo/NoSuchModel\""),
        "{}",
        bad.stderr
    );
    let typo = claw.run(&["models", "set", "minimax/minimax-m2.1"]);
    assert_eq!(typo.code, 1);
    assert!(
        typo.stderr.contains("Model ids are case-sensitive"),
        "{}",
        typo.stderr
    );
    claw.run(&["models", "set", "minimax/MiniMax-M9"]).ok();
}

#[test]
fn subagent_requests_use_the_subagent_model_and_fallbacks() {
    let upstream = Upstream::start();
    upstream.behave(
        "minimax/minimax-m2.1",
        Behavior::Status {
            code: 500,
            retry_after: None,
        },
    );
    let claw = claw_with(
        &upstream,
        json!({"subagents": {"model": FALLBACK, "fallbacks": ["echo/echo-1"]}}),
    );
    let (run, json) = infer(&claw, &["--agent", "subagent"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        attempts(&json),
        vec![failed(FALLBACK, "unknown"), ok("echo/echo-1")]
    );
    assert_eq!(json["outputs"][0]["text"], "hi");
    assert_eq!(
        upstream.count("MiniMax-M2.1"),
        0,
        "the main agent's primary is not part of a subagent chain"
    );
}

#[test]
fn models_status_probes_every_model_of_the_chain() {
    let upstream = Upstream::start();
    upstream.behave(
        "minimax/minimax-m2.1",
        Behavior::Status {
            code: 401,
            retry_after: None,
        },
    );
    let claw = claw_with(&upstream, json!({}));
    let run = claw.run(&["models", "status", "--probe", "--json"]);
    assert_eq!(run.code, 1, "a failing probe makes the command fail");
    let probes = run.json()["probes"].as_array().unwrap().clone();
    assert_eq!(probes.len(), 2);
    assert_eq!(
        (
            probes[0]["provider"].as_str(),
            probes[0]["model"].as_str(),
            probes[0]["status"].as_str()
        ),
        (Some("minimax"), Some("MiniMax-M2.1"), Some("ok"))
    );
    assert_eq!(probes[1]["status"], "auth");
    assert!(probes[1]["latencyMs"].is_u64() && probes[1]["error"].is_string());

    let empty = Claw::new();
    let run = empty.run(&["models", "status", "--probe", "--json"]);
    assert_eq!(run.json()["probes"][0]["status"], "no_model");
}

#[test]
fn a_fresh_install_lists_the_bundled_echo_model_and_answers_with_it() {
    let claw = Claw::new();
    let list = claw.run(&["models", "list", "--json"]).json();
    assert_eq!(list["models"][0]["ref"], "echo/echo-1");
    let run = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "echo/echo-1",
        "--prompt",
        "hello  there",
    ]);
    assert_eq!(run.ok(), "hello  there\n");
}

// ---------------------------------------------------------------------------
// Users' configs as written (issue 14): each snippet in ../shared/user-configs
// (copied to tests/user-configs) loads, and routes a request to the model it
// names. Only the upstream addresses are changed, to the stand-in's.
// ---------------------------------------------------------------------------

/// A snippet with every provider's base URL moved to the stand-in (keeping its
/// path), and `extra` providers merged in (for presets that have no base URL
/// in the snippet).
fn user_config(name: &str, up: &Upstream, extra: Value) -> String {
    let path = support::root().join("tests/user-configs").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut config: Value = json5::from_str(&text).unwrap();
    if let Some(providers) = config["models"]["providers"].as_object_mut() {
        for p in providers.values_mut() {
            if let Some(url) = p["baseUrl"].as_str() {
                let rest = url.splitn(4, '/').nth(3).unwrap_or("");
                p["baseUrl"] = json!(format!("{}/{rest}", up.url()));
            }
        }
    }
    for (id, p) in extra.as_object().into_iter().flatten() {
        config["models"]["providers"][id] = p.clone();
    }
    config.to_string()
}

/// `models status` exits 0 and names `primary`; a request for it reaches the
/// stand-in as `upstream_model`; returns the outcome and `models status --json`.
fn routes(
    claw: &support::Claw,
    primary: &str,
    upstream_model: &str,
    up: &Upstream,
) -> (Value, Value) {
    let status = claw.run_env(
        &["models", "status", "--json"],
        &[("ANTHROPIC_API_KEY", "sk-ant-test")],
    );
    let status_json = status.json();
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    assert_eq!(status_json["primary"], primary, "{status_json:#}");
    let run = claw.run_env(
        &["infer", "model", "run", "--prompt", "hi", "--json"],
        &[("ANTHROPIC_API_KEY", "sk-ant-test")],
    );
    let outcome = run.json();
    assert_eq!(outcome["ok"], true, "{outcome:#}\n{}", run.stderr);
    assert!(
        up.count(upstream_model) >= 1,
        "{upstream_model} was not asked"
    );
    (outcome, status_json)
}

#[test]
fn the_minimax_api_key_snippet_routes_with_its_key_from_env() {
    let up = Upstream::start();
    let claw = support::Claw::new();
    claw.write_config(&user_config("minimax-api-key.json5", &up, json!({})));
    let (outcome, _) = routes(&claw, "minimax/MiniMax-M2.1", "MiniMax-M2.1", &up);
    assert_eq!(outcome["outputs"][0]["text"], "Hello from MiniMax-M2.1");
    let seen = up
        .requests()
        .into_iter()
        .find(|r| r.model.as_deref() == Some("MiniMax-M2.1"))
        .unwrap();
    assert_eq!(
        seen.header("x-api-key"),
        Some("sk-..."),
        "the key from `env`"
    );
    // Its prices give the request a cost.
    assert!(
        outcome["usage"]["costUsd"].as_f64().unwrap() > 0.0,
        "{outcome:#}"
    );
}

#[test]
fn opus_primary_with_a_minimax_fallback_from_env_alone_fails_over() {
    let up = Upstream::start();
    up.behave(
        "claude-opus-4-6",
        Behavior::Status {
            code: 529,
            retry_after: None,
        },
    );
    let claw = support::Claw::new();
    // The anthropic preset's address is the only thing added.
    let extra = json!({"anthropic": {"baseUrl": up.url()}, "minimax": {"baseUrl": format!("{}/anthropic", up.url())}});
    claw.write_config(&user_config(
        "opus-primary-minimax-fallback.json5",
        &up,
        extra,
    ));
    let (outcome, status) = routes(&claw, "anthropic/claude-opus-4-6", "claude-opus-4-6", &up);
    assert_eq!(
        status["fallbacks"],
        json!(["minimax/MiniMax-M2.1"]),
        "{status:#}"
    );
    assert_eq!(outcome["model"], "MiniMax-M2.1", "{outcome:#}");
    assert_eq!(
        outcome["attempts"][0]["reason"], "overloaded",
        "{outcome:#}"
    );
    // An id the preset does not list is in `models list`, marked.
    let list = claw
        .run_env(
            &["models", "list", "--json"],
            &[("ANTHROPIC_API_KEY", "sk-ant-test")],
        )
        .json();
    let opus = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ref"] == "anthropic/claude-opus-4-6")
        .cloned();
    let opus = opus.unwrap_or_else(|| panic!("{list:#}"));
    assert_eq!(opus["inCatalog"], false, "{opus:#}");
    assert_eq!(opus["alias"], "opus", "{opus:#}");
}

#[test]
fn the_kie_subagent_thread_config_routes_and_shows_the_subagents() {
    let up = Upstream::start();
    let claw = support::Claw::new();
    claw.write_config(&user_config("kie-subagent.json", &up, json!({})));
    let (_, status) = routes(&claw, "minimax/MiniMax-M2.7", "MiniMax-M2.7", &up);
    assert_eq!(
        status["subagents"]["primary"], "kie-claude/claude-opus-4-6",
        "{status:#}"
    );
    let seen = up
        .requests()
        .into_iter()
        .find(|r| r.model.as_deref() == Some("MiniMax-M2.7"))
        .unwrap();
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer APIKEY"),
        "authHeader: true"
    );
    let human = claw.run(&["models", "status"]);
    assert!(
        human.ok().contains("subagents: kie-claude/claude-opus-4-6"),
        "{}",
        human.stdout
    );
    let run = claw.run(&[
        "infer", "model", "run", "--agent", "subagent", "--prompt", "hi", "--json",
    ]);
    assert_eq!(run.json()["model"], "claude-opus-4-6", "{}", run.stdout);
}

#[test]
fn the_lmstudio_snippet_routes_over_the_responses_api() {
    let up = Upstream::start();
    let claw = support::Claw::new();
    claw.write_config(&user_config("lmstudio-responses.json5", &up, json!({})));
    let (outcome, _) = routes(
        &claw,
        "lmstudio/minimax-m2.1-gs32",
        "minimax-m2.1-gs32",
        &up,
    );
    assert_eq!(
        outcome["outputs"][0]["text"],
        "Hello from minimax-m2.1-gs32"
    );
    let seen = up
        .requests()
        .into_iter()
        .find(|r| r.model.as_deref() == Some("minimax-m2.1-gs32"))
        .unwrap();
    assert!(seen.path.ends_with("/v1/responses"), "{}", seen.path);
    // Its alias routes too.
    let run = claw.run(&[
        "infer", "model", "run", "--model", "Minimax", "--prompt", "hi", "--json",
    ]);
    assert_eq!(run.json()["ok"], true, "{}", run.stdout);
}
