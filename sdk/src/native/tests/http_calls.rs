//! `http::Request` over the host table.

use std::time::Duration;

use serde_json::json;

use super::fake_host::{self, RESPONSE};
use super::{call, setup};
use crate::http::Request;
use crate::native::STATUS_OK;
use crate::prelude::*;

fn serve(chunks: &[&[u8]]) {
    fake_host::record(|r| r.chunks = chunks.iter().map(|c| c.to_vec()).collect());
}

#[test]
fn a_request_goes_through_the_table_and_its_body_comes_in_chunks() {
    setup();
    serve(&[b"hello ", b"world"]);
    let mut response = Request::post("https://api.test/v1/chat?x=1")
        .header("X-Key", "k")
        .body("ping")
        .connect_timeout(Duration::from_micros(10))
        .first_byte_timeout(Duration::from_secs(2))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("retry-after"), Some("2"));
    assert_eq!(response.retry_after_ms(), Some(2000));
    assert_eq!(response.read_chunk().unwrap(), Some(b"hello ".to_vec()));
    assert_eq!(response.read_chunk().unwrap(), Some(b"world".to_vec()));
    assert_eq!(response.read_chunk().unwrap(), None);
    // Reading to the end closed the handle; reading again is still the end.
    assert_eq!(fake_host::record(|r| r.closed.clone()), [RESPONSE]);
    assert_eq!(response.read_chunk().unwrap(), None);
    drop(response);
    assert_eq!(fake_host::record(|r| r.closed.clone()), [RESPONSE]);

    let (head, body) = fake_host::record(|r| r.sent[0].clone());
    assert_eq!(
        head,
        json!({
            "method": "POST",
            "url": "https://api.test/v1/chat?x=1",
            "headers": [["x-key", "k"], ["content-length", "4"]],
            "connect_timeout_ms": 1,
            "first_byte_timeout_ms": 2000,
            "between_bytes_timeout_ms": null,
        })
    );
    assert_eq!(body, b"ping");
}

#[test]
fn a_plugin_call_uses_http_and_a_dropped_response_is_closed() {
    setup();
    serve(&[b"pong"]);
    let mut request = crate::testing::request(vec![Message::user("x")]);
    request.model = "http".into();
    request.endpoint.base_url = "https://api.test/v1".into();
    let request = serde_json::to_vec(&request).unwrap();
    let mut handle = 0;
    let (status, _) = call(|sink| unsafe {
        super::__claw_plugin_export::claw_chat(request.as_ptr(), request.len(), &mut handle, sink)
    });
    assert_eq!(status, STATUS_OK);
    let (_, out) =
        call(|sink| unsafe { super::__claw_plugin_export::claw_chat_next(handle, sink) });
    assert_eq!(out, r#"[{"Text":"pong"}]"#);
    unsafe { super::__claw_plugin_export::claw_chat_close(handle) };

    serve(&[b"unread"]);
    let response = Request::get("https://api.test/").send().unwrap();
    drop(response);
    assert_eq!(
        fake_host::record(|r| r.closed.clone()),
        [RESPONSE, RESPONSE]
    );
}

#[test]
fn chunks_never_exceed_64_kib() {
    setup();
    let big = vec![b'x'; 100 * 1024];
    serve(&[&big]);
    let mut response = Request::get("HTTPS://api.test?q=1").send().unwrap();
    let url = fake_host::record(|r| r.sent[0].0["url"].clone());
    assert_eq!(url, "https://api.test/?q=1");
    assert_eq!(response.read_chunk().unwrap().unwrap().len(), 64 * 1024);
    assert_eq!(response.read_chunk().unwrap().unwrap().len(), 36 * 1024);
    assert_eq!(response.read_chunk().unwrap(), None);
}

#[test]
fn host_failures_become_classified_errors_naming_the_host() {
    setup();
    let denied = Request::get("https://denied.test/v1").send().err().unwrap();
    assert_eq!(denied.reason, ErrorReason::Network);
    assert!(
        denied.message.starts_with(
            "request to denied.test failed: the claw host denied the request (is the host listed under network.hosts"
        ),
        "{}",
        denied.message
    );
    assert!(
        denied
            .message
            .ends_with(": denied.test:443 (192.0.2.7) is not in the plugin's network grant"),
        "{}",
        denied.message
    );
    let slow = Request::get("https://slow.test/").send().err().unwrap();
    assert_eq!(slow.reason, ErrorReason::Timeout);
    assert_eq!(
        slow.message,
        "request to slow.test failed: timed out (no response head within 2s)"
    );

    serve(&[b"part", b"FAIL"]);
    let mut response = Request::get("https://api.test/").send().unwrap();
    assert_eq!(response.read_chunk().unwrap(), Some(b"part".to_vec()));
    let error = response.read_chunk().err().unwrap();
    assert_eq!(
        (error.reason, error.message.as_str()),
        (
            ErrorReason::Network,
            "reading response from api.test: connection reset"
        )
    );
    assert_eq!(fake_host::record(|r| r.closed.clone()), [RESPONSE]);
    // A bad URL never reaches the host.
    let bad = Request::get("ftp://api.test/").send().err().unwrap();
    assert_eq!(bad.reason, ErrorReason::Format);
    assert_eq!(fake_host::record(|r| r.sent.len()), 3);
}
