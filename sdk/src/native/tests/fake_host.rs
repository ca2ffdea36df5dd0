//! A fake claw: a host table of Rust `extern "C"` functions that record what
//! the plugin asked on the calling thread (tests run in parallel, one thread
//! each, and the plugin calls the host on the thread of the call).

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::{Value, json};

use super::super::abi::{ClawHost, ClawSink, HOST_ERROR, HOST_OK, bytes};

pub const CONFIG: &str = r#"{"greeting":"hi"}"#;
/// The handle `http_send` hands out.
pub const RESPONSE: u64 = 42;

#[derive(Default)]
pub struct Record {
    pub logs: Vec<(u32, String)>,
    pub prompts: Vec<Value>,
    /// Each request's head (JSON) and body.
    pub sent: Vec<(Value, Vec<u8>)>,
    /// The body `http_read` serves; a `FAIL` chunk is a network error.
    pub chunks: VecDeque<Vec<u8>>,
    pub closed: Vec<u64>,
}

thread_local! {
    pub static RECORD: RefCell<Record> = RefCell::default();
}

pub fn record<R>(f: impl FnOnce(&mut Record) -> R) -> R {
    RECORD.with(|r| f(&mut r.borrow_mut()))
}

pub static TABLE: ClawHost = ClawHost {
    abi: 1,
    size: size_of::<ClawHost>() as u32,
    log,
    config,
    prompt,
    random,
    http_send,
    http_read,
    http_close,
};

unsafe fn text(ptr: *const u8, len: usize) -> String {
    String::from_utf8(unsafe { bytes(ptr, len) }.to_vec()).unwrap()
}

unsafe fn put(out: ClawSink, value: impl AsRef<[u8]>) {
    unsafe { out.put(value.as_ref()) }
}

unsafe extern "C" fn log(level: u32, msg: *const u8, len: usize) {
    let msg = unsafe { text(msg, len) };
    record(|r| r.logs.push((level, msg)));
}

unsafe extern "C" fn config(out: ClawSink) {
    unsafe { put(out, CONFIG) }
}

unsafe extern "C" fn prompt(request: *const u8, len: usize, out: ClawSink) -> i32 {
    let request: Value = serde_json::from_str(&unsafe { text(request, len) }).unwrap();
    record(|r| r.prompts.push(request.clone()));
    let answer = match request["op"].as_str().unwrap() {
        "show_code" | "progress" => Value::Null,
        "open_url" => json!(true),
        "ask" if request["secret"] == json!(true) => Value::Null,
        "ask" => json!("alice"),
        "pick" => json!(1),
        other => {
            unsafe { put(out, format!("unknown prompt {other}")) };
            return HOST_ERROR;
        }
    };
    unsafe { put(out, answer.to_string()) };
    HOST_OK
}

unsafe extern "C" fn random(buf: *mut u8, len: usize) {
    let buf = unsafe { std::slice::from_raw_parts_mut(buf, len) };
    for (i, b) in buf.iter_mut().enumerate() {
        *b = 0xA0 + i as u8;
    }
}

unsafe extern "C" fn http_send(
    head: *const u8,
    head_len: usize,
    body: *const u8,
    body_len: usize,
    response: *mut u64,
    out: ClawSink,
) -> i32 {
    let head: Value = serde_json::from_str(&unsafe { text(head, head_len) }).unwrap();
    let body = unsafe { bytes(body, body_len) }.to_vec();
    let url = head["url"].as_str().unwrap().to_string();
    record(|r| r.sent.push((head, body)));
    let error = |kind: &str, message: &str| json!({"kind": kind, "message": message});
    let failed = if url.contains("denied.test") {
        Some(error(
            "denied",
            "denied.test:443 (192.0.2.7) is not in the plugin's network grant",
        ))
    } else if url.contains("slow.test") {
        Some(error("timeout", "no response head within 2s"))
    } else {
        None
    };
    if let Some(failed) = failed {
        unsafe { put(out, failed.to_string()) };
        return HOST_ERROR;
    }
    unsafe { response.write(RESPONSE) };
    let head =
        json!({"status": 200, "headers": [["content-type", "text/plain"], ["Retry-After", "2"]]});
    unsafe { put(out, head.to_string()) };
    HOST_OK
}

unsafe extern "C" fn http_read(response: u64, out: ClawSink) -> i32 {
    assert_eq!(response, RESPONSE);
    match record(|r| r.chunks.pop_front()) {
        Some(chunk) if chunk == b"FAIL" => {
            let failed = json!({"kind": "network", "message": "connection reset"});
            unsafe { put(out, failed.to_string()) };
            HOST_ERROR
        }
        Some(chunk) => {
            unsafe { put(out, chunk) };
            HOST_OK
        }
        None => HOST_OK,
    }
}

unsafe extern "C" fn http_close(response: u64) {
    record(|r| r.closed.push(response));
}
