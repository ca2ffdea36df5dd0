//! The exported symbols, called as claw calls them.

use std::ffi::CStr;

use serde_json::{Value, json};

use super::__claw_plugin_export as lib;
use super::{DROPPED, Portal, call, fake_host, setup};
use crate::native::{
    ClawHost, ClawSink, STATUS_BAD_INPUT, STATUS_OK, STATUS_PANIC, STATUS_PLUGIN_ERROR,
};
use crate::prelude::*;
use crate::testing;

fn chat_json(model: &str, text: &str) -> Vec<u8> {
    let mut request = testing::request(vec![Message::user(text)]);
    request.model = model.into();
    serde_json::to_vec(&request).unwrap()
}

/// `claw_chat`: the status, the handle, and the sink's text.
fn start(request: &[u8]) -> (i32, u64, String) {
    let mut handle = 0u64;
    let (status, out) =
        call(|sink| unsafe { lib::claw_chat(request.as_ptr(), request.len(), &mut handle, sink) });
    (status, handle, out)
}

fn next(handle: u64) -> (i32, String) {
    call(|sink| unsafe { lib::claw_chat_next(handle, sink) })
}

#[test]
fn contract_types_have_the_json_shape_of_the_abi() {
    assert_eq!(json!(ChatEvent::Text("hi".into())), json!({"Text": "hi"}));
    assert_eq!(json!(ErrorReason::Timeout), json!("Timeout"));
    assert_eq!(json!(ErrorReason::ModelNotFound), json!("ModelNotFound"));
    assert_eq!(json!(RequestCredential::None), json!("None"));
    assert_eq!(
        json!(RequestCredential::Bearer("t".into())),
        json!({"Bearer": "t"})
    );
    assert_eq!(
        json!(ChatEvent::Done(Done::from_raw("end_turn"))),
        json!({"Done": {"reason": "EndTurn", "raw": "end_turn"}})
    );
    assert_eq!(json!(ChatEvent::ToolCallEnd(3)), json!({"ToolCallEnd": 3}));
    assert_eq!(
        json!(PluginError::from_status(429, "slow", Some(5))),
        json!({"reason": "RateLimit", "message": "upstream returned HTTP 429: slow",
               "status": 429, "retry_after_ms": 5})
    );
    let request = json!(testing::request(vec![Message::user("x")]));
    assert_eq!(request["endpoint"]["base_url"], "https://upstream.test/v1");
    assert_eq!(request["endpoint"]["auth_header"], false);
    assert_eq!(request["tool_choice"], Value::Null);
    assert_eq!(
        request["messages"][0],
        json!({"role": "User", "content": [{"Text": {"text": "x", "cache": null}}]})
    );
    // And back: what the host sends parses into the same value.
    let parsed: ChatRequest = serde_json::from_value(request).unwrap();
    assert_eq!(parsed, testing::request(vec![Message::user("x")]));
}

#[test]
fn the_library_reports_its_abi_sdk_version_and_roles() {
    assert_eq!(lib::claw_abi_version(), 1);
    assert_eq!(lib::claw_roles(), 0b11);
    let version = unsafe { CStr::from_ptr(lib::claw_sdk_version()) };
    assert_eq!(version.to_str().unwrap(), crate::SDK_VERSION);
}

#[test]
fn the_c_structs_have_the_layout_of_the_spec() {
    use std::mem::{offset_of, size_of};
    let word = size_of::<usize>();
    assert_eq!(size_of::<ClawSink>(), 2 * word);
    assert_eq!(offset_of!(ClawSink, write), word);
    // Two u32s, then seven function pointers in the order of the spec.
    let fields = [
        offset_of!(ClawHost, log),
        offset_of!(ClawHost, config),
        offset_of!(ClawHost, prompt),
        offset_of!(ClawHost, random),
        offset_of!(ClawHost, http_send),
        offset_of!(ClawHost, http_read),
        offset_of!(ClawHost, http_close),
    ];
    assert_eq!(
        (offset_of!(ClawHost, abi), offset_of!(ClawHost, size)),
        (0, 4)
    );
    let expected: Vec<usize> = (0..7).map(|i| 8 + i * word).collect();
    assert_eq!(fields.to_vec(), expected);
    assert_eq!(size_of::<ClawHost>(), 8 + 7 * word);
}

#[test]
fn init_refuses_a_table_it_cannot_use() {
    assert_eq!(
        unsafe { lib::claw_init(std::ptr::null()) },
        STATUS_BAD_INPUT
    );
    let newer = ClawHost {
        abi: 2,
        ..fake_host::TABLE
    };
    assert_eq!(unsafe { lib::claw_init(&newer) }, STATUS_BAD_INPUT);
    let short = ClawHost {
        size: 8,
        ..fake_host::TABLE
    };
    assert_eq!(unsafe { lib::claw_init(&short) }, STATUS_BAD_INPUT);
    // A larger table (a later host that appended fields) is fine.
    let longer = ClawHost {
        size: fake_host::TABLE.size + 8,
        ..fake_host::TABLE
    };
    let longer: &'static ClawHost = Box::leak(Box::new(longer));
    assert_eq!(unsafe { lib::claw_init(longer) }, STATUS_OK);
    setup();
}

#[test]
fn describe_answers_provider_and_auth_info() {
    setup();
    let (status, out) = call(|sink| unsafe { lib::claw_describe(sink) });
    assert_eq!(status, STATUS_OK);
    let info: ProviderInfo = serde_json::from_str(&out).unwrap();
    assert_eq!(info, <Portal as Provider>::describe());
    assert!(out.contains(r#""input":["Text","Image"]"#), "{out}");

    let (status, out) = call(|sink| unsafe { lib::claw_describe_auth(sink) });
    assert_eq!(status, STATUS_OK);
    let info: AuthInfo = serde_json::from_str(&out).unwrap();
    assert_eq!(info, <Portal as Auth>::describe_auth());
}

#[test]
fn a_chat_streams_batches_until_null_and_close_frees_it() {
    setup();
    let (status, handle, out) = start(&chat_json("m1", "hello"));
    assert_eq!((status, out.as_str()), (STATUS_OK, ""));
    assert_ne!(handle, 0);

    let (status, out) = next(handle);
    assert_eq!(status, STATUS_OK);
    assert_eq!(out, r#"[{"Started":"s1"},{"Text":"hi"}]"#);
    // The plugin's empty batch is skipped, not handed on.
    let (status, out) = next(handle);
    assert_eq!(status, STATUS_OK);
    let events: Vec<ChatEvent> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        events,
        [
            ChatEvent::Text("hello".into()),
            ChatEvent::Done(Done::from_raw("end_turn"))
        ]
    );
    assert_eq!(next(handle), (STATUS_OK, "null".to_string()));

    assert_eq!(DROPPED.with(|d| d.get()), 0);
    unsafe { lib::claw_chat_close(handle) };
    assert_eq!(DROPPED.with(|d| d.get()), 1);
    // The log went through the table, at level 2 (info).
    let logs = fake_host::record(|r| r.logs.clone());
    assert_eq!(logs, [(2, "chat for m1".to_string())]);
}

#[test]
fn a_failed_chat_is_a_classified_plugin_error() {
    setup();
    let (status, handle, out) = start(&chat_json("fail", "x"));
    assert_eq!((status, handle), (STATUS_PLUGIN_ERROR, 0));
    let error: PluginError = serde_json::from_str(&out).unwrap();
    assert_eq!(
        error,
        PluginError::from_status(429, "slow down", Some(2000))
    );
    assert!(out.contains(r#""reason":"RateLimit""#), "{out}");
}

#[test]
fn a_panic_fails_only_that_call() {
    setup();
    let (status, handle, out) = start(&chat_json("panic", "x"));
    assert_eq!((status, handle), (STATUS_PANIC, 0));
    assert_eq!(out, "the model exploded");
    // The next call works.
    let (status, handle, _) = start(&chat_json("m1", "again"));
    assert_eq!(status, STATUS_OK);
    unsafe { lib::claw_chat_close(handle) };

    // A panic inside a stream (a `String` payload) fails that `next`.
    let (status, handle, _) = start(&chat_json("panic-later", "x"));
    assert_eq!(status, STATUS_OK);
    assert_eq!(
        next(handle),
        (STATUS_OK, r#"[{"Text":"first"}]"#.to_string())
    );
    assert_eq!(
        next(handle),
        (STATUS_PANIC, "the stream exploded".to_string())
    );
    unsafe { lib::claw_chat_close(handle) };
    let (status, _) = call(|sink| unsafe { lib::claw_describe(sink) });
    assert_eq!(status, STATUS_OK);
}

#[test]
fn input_that_cannot_be_read_is_bad_input() {
    setup();
    let (status, handle, out) = start(b"{\"model\":");
    assert_eq!((status, handle), (STATUS_BAD_INPUT, 0));
    assert!(out.contains("EOF while parsing"), "{out}");
    let (status, _, out) = start(br#"{"model": "m1"}"#);
    assert_eq!(status, STATUS_BAD_INPUT);
    assert!(out.contains("missing field"), "{out}");

    let request = chat_json("m1", "x");
    let (status, _) = call(|sink| unsafe {
        lib::claw_chat(request.as_ptr(), request.len(), std::ptr::null_mut(), sink)
    });
    assert_eq!(status, STATUS_BAD_INPUT);
    assert_eq!(next(0).0, STATUS_BAD_INPUT);
    unsafe { lib::claw_chat_close(0) };

    let method = [0xff, 0xfe];
    let (status, out) =
        call(|sink| unsafe { lib::claw_login(method.as_ptr(), method.len(), sink) });
    assert_eq!(status, STATUS_BAD_INPUT);
    assert!(out.contains("UTF-8"), "{out}");
    let refresh = br#"{"method": "oauth"}"#;
    let (status, out) =
        call(|sink| unsafe { lib::claw_refresh(refresh.as_ptr(), refresh.len(), sink) });
    assert_eq!(status, STATUS_BAD_INPUT);
    assert!(out.contains("missing field `credential`"), "{out}");
}

#[test]
fn login_runs_the_prompts_through_the_host() {
    setup();
    let method = b"oauth";
    let (status, out) =
        call(|sink| unsafe { lib::claw_login(method.as_ptr(), method.len(), sink) });
    assert_eq!(status, STATUS_OK, "{out}");
    let result: LoginResult = serde_json::from_str(&out).unwrap();
    assert_eq!(result.profile, "alice");
    assert_eq!(result.credential.access, "access-a0a1a2");
    assert_eq!(result.credential.extra[0].value, "true None Some(1)");
    assert!(out.contains(r#""kind":"Oauth""#), "{out}");
    let prompts = fake_host::record(|r| r.prompts.clone());
    assert_eq!(
        prompts,
        [
            json!({"op": "show_code", "code": "ABCD", "url": "https://login.test/device"}),
            json!({"op": "open_url", "url": "https://login.test/device"}),
            json!({"op": "progress", "message": "waiting"}),
            json!({"op": "ask", "question": "Name?", "secret": false}),
            json!({"op": "ask", "question": "Secret?", "secret": true}),
            json!({"op": "pick", "question": "Region?", "options": ["global", "cn"]}),
        ]
    );

    let method = b"other";
    let (status, out) =
        call(|sink| unsafe { lib::claw_login(method.as_ptr(), method.len(), sink) });
    assert_eq!(status, STATUS_PLUGIN_ERROR);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"reason": "Auth", "message": "no such method", "status": null, "retry_after_ms": null})
    );
}

#[test]
fn refresh_exchanges_the_credential() {
    setup();
    let request = json!({
        "method": "oauth",
        "credential": {"kind": "Oauth", "access": "old", "refresh": "r1",
                       "expires_at_ms": 5, "extra": [{"key": "region", "value": "cn"}]},
    })
    .to_string();
    let (status, out) =
        call(|sink| unsafe { lib::claw_refresh(request.as_ptr(), request.len(), sink) });
    assert_eq!(status, STATUS_OK, "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"kind": "Oauth", "access": "oauth:r1", "refresh": "r1+",
               "expires_at_ms": 5, "extra": [{"key": "region", "value": "cn"}]})
    );
}

#[test]
fn native_prompts_have_the_signatures_of_the_wit_ones() {
    use crate::bindings::claw::plugin::prompts as wit;
    let _: [fn(&str, &str); 2] = [wit::show_code, crate::prompts::show_code];
    let _: [fn(&str) -> bool; 2] = [wit::open_url, crate::prompts::open_url];
    let _: [fn(&str, bool) -> Option<String>; 2] = [wit::ask, crate::prompts::ask];
    type Pick = fn(&str, &[String]) -> Option<u32>;
    let _: [Pick; 2] = [wit::pick, crate::prompts::pick];
    let _: [fn(&str); 2] = [wit::progress, crate::prompts::progress];
}

#[test]
fn without_a_host_every_call_is_safe() {
    setup();
    crate::native::host::HIDE_HOST.with(|h| h.set(true));
    assert_eq!(crate::config::raw(), "{}");
    crate::log::info("to stderr");
    assert_eq!(prompts::ask("Name?", false), None);
    assert!(!prompts::open_url("https://x.test"));
    assert_eq!(prompts::pick("Pick", &["a".into()]), None);
    prompts::show_code("c", "https://x.test");
    prompts::progress("p");
    let bytes = crate::random::bytes(32);
    assert_eq!(bytes.len(), 32);
    assert!(bytes.iter().any(|&b| b != 0), "not from /dev/urandom");
    let error = crate::http::Request::get("https://api.test/v1")
        .send()
        .err()
        .unwrap();
    assert_eq!(error.reason, ErrorReason::Network);
    assert_eq!(
        error.message,
        "request to api.test failed: no claw host: native HTTP works only when claw loads the plugin"
    );
    // Nothing reached the fake table.
    assert!(fake_host::record(
        |r| r.logs.is_empty() && r.prompts.is_empty()
    ));
    crate::native::host::HIDE_HOST.with(|h| h.set(false));
}
