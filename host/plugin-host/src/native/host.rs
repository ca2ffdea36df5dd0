//! The host table a native plugin gets at `claw_init`: logging, config,
//! prompts, randomness and HTTP, each served for the call running on the
//! current thread (its `Session`). Outbound requests pass the same grant check
//! and pooled client as a component's `wasi:http` requests. This routes a
//! well-behaved plugin through claw; it does not confine a native one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use serde_json::json;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

use super::abi::{self, ClawHost, ClawSink, HOST_ERROR, HOST_OK};
use crate::grant::{Denials, NetworkGrant, admit};
use crate::outbound::Outbound;
use crate::prompts::Prompter;
use crate::sdk::imports::{self, Level};
use crate::state::PROMPTS_PER_CALL;

/// Responses one call may hold open at once.
const MAX_OPEN_RESPONSES: usize = 16;
/// Largest chunk `http_read` hands over.
const CHUNK_MAX: usize = 64 * 1024;
/// Largest request head and body a plugin may send.
const MAX_HEAD: usize = 1 << 20;

/// What one call (or one chat stream) of a native plugin may use.
pub(crate) struct Session {
    pub(crate) plugin: Arc<str>,
    pub(crate) config_json: Arc<str>,
    pub(crate) prompter: Arc<dyn Prompter>,
    pub(crate) grant: Arc<NetworkGrant>,
    pub(crate) outbound: Outbound,
    pub(crate) denials: Denials,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) budgets: Mutex<(u32, u32)>,
    /// Set when the host stops waiting for the call (its deadline passed):
    /// host functions then fail at once instead of doing more work.
    abandoned: tokio::sync::watch::Sender<bool>,
    responses: Mutex<Responses>,
}

#[derive(Default)]
struct Responses {
    next: u64,
    open: HashMap<u64, Slot>,
}

/// A response body as the plugin reads it.
enum Slot {
    Open(WasiBody),
    /// At its end (or being read right now).
    Ended,
    /// Failed after data was handed on; the error comes with the next read.
    Failed(Vec<u8>),
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        plugin: Arc<str>,
        config_json: Arc<str>,
        prompter: Arc<dyn Prompter>,
        grant: Arc<NetworkGrant>,
        outbound: Outbound,
        log_budget: u32,
        runtime: tokio::runtime::Handle,
    ) -> Session {
        Session {
            plugin,
            config_json,
            prompter,
            grant,
            outbound,
            denials: Denials::default(),
            runtime,
            budgets: Mutex::new((log_budget, PROMPTS_PER_CALL)),
            abandoned: tokio::sync::watch::channel(false).0,
            responses: Mutex::default(),
        }
    }

    /// The host gave up waiting: stop serving this call.
    pub(crate) fn abandon(&self) {
        self.abandoned.send_replace(true);
        self.responses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .clear();
    }

    /// Run `fut` on claw's runtime from the plugin's thread, unless the call is
    /// (or becomes) abandoned.
    fn block_on<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        let mut abandoned = self.abandoned.subscribe();
        if *abandoned.borrow() {
            return None;
        }
        self.runtime.block_on(async {
            tokio::select! {
                value = fut => Some(value),
                _ = abandoned.wait_for(|a| *a) => None,
            }
        })
    }

    fn budgets(&self) -> std::sync::MutexGuard<'_, (u32, u32)> {
        self.budgets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

thread_local! {
    /// The session of the call this thread runs (set by the worker).
    static CURRENT: RefCell<Option<Arc<Session>>> = const { RefCell::new(None) };
}

/// Make `session` the one this thread's host calls serve (`None`: none).
pub(crate) fn enter(session: Option<Arc<Session>>) {
    CURRENT.with(|c| *c.borrow_mut() = session);
}

/// The table handed to every native plugin.
pub(crate) static TABLE: ClawHost = ClawHost {
    abi: abi::ABI_MAX,
    size: std::mem::size_of::<ClawHost>() as u32,
    log,
    config,
    prompt,
    random,
    http_send,
    http_read,
    http_close,
};

/// Run a host function for the current session; a panic in claw's own code
/// must not unwind into the plugin.
fn serve(out: Option<&ClawSink>, f: impl FnOnce(&Session) -> Result<(), Vec<u8>>) -> i32 {
    let session = CURRENT.with(|c| c.borrow().clone());
    let Some(session) = session else {
        if let Some(out) = out {
            let message = "this claw host function was called from a thread claw did not start for the call; call the SDK from the thread that runs the plugin's function";
            abi::put(out, &error_json("invalid", message));
        }
        return HOST_ERROR;
    };
    match catch_unwind(AssertUnwindSafe(|| f(&session))) {
        Ok(Ok(())) => HOST_OK,
        Ok(Err(error)) => {
            if let Some(out) = out {
                abi::put(out, &error);
            }
            HOST_ERROR
        }
        Err(_) => HOST_ERROR,
    }
}

fn error_json(kind: &str, message: &str) -> Vec<u8> {
    json!({"kind": kind, "message": message})
        .to_string()
        .into_bytes()
}

unsafe extern "C" fn log(level: u32, msg: *const u8, len: usize) {
    // SAFETY: the plugin passes its message buffer for this call.
    let text = String::from_utf8_lossy(unsafe { abi::bytes(msg, len) }).into_owned();
    serve(None, |s| {
        let level = match level {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            _ => Level::Error,
        };
        imports::log_line(&s.plugin, &mut s.budgets().0, level, text);
        Ok(())
    });
}

unsafe extern "C" fn config(out: ClawSink) {
    serve(Some(&out), |s| {
        abi::put(&out, s.config_json.as_bytes());
        Ok(())
    });
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum PromptOp {
    ShowCode {
        code: String,
        url: String,
    },
    OpenUrl {
        url: String,
    },
    Ask {
        question: String,
        secret: bool,
    },
    Pick {
        question: String,
        options: Vec<String>,
    },
    Progress {
        message: String,
    },
}

unsafe extern "C" fn prompt(request: *const u8, len: usize, out: ClawSink) -> i32 {
    // SAFETY: the plugin passes its request buffer for this call.
    let request = unsafe { abi::bytes(request, len) };
    serve(Some(&out), |s| {
        let op: PromptOp = serde_json::from_slice(request)
            .map_err(|e| format!("not a prompt request: {e}").into_bytes())?;
        let plugin = s.plugin.clone();
        let take = |texts| imports::prompt_texts(&plugin, &mut s.budgets().1, texts);
        let answer = match op {
            PromptOp::ShowCode { code, url } => {
                if let Some([code, url]) = take([code, url]) {
                    s.prompter.show_code(&code, &url);
                }
                json!(null)
            }
            PromptOp::OpenUrl { url } => {
                json!(take([url, String::new()]).is_some_and(|[url, _]| s.prompter.open_url(&url)))
            }
            PromptOp::Ask { question, secret } => {
                json!(take([question, String::new()]).and_then(|[q, _]| s.prompter.ask(&q, secret)))
            }
            PromptOp::Pick { question, options } => {
                let options: Vec<String> = options.into_iter().take(100).collect();
                json!(
                    take([question, String::new()])
                        .and_then(|[q, _]| s.prompter.pick(&q, &options))
                )
            }
            PromptOp::Progress { message } => {
                if let Some([message, _]) = take([message, String::new()]) {
                    s.prompter.progress(&message);
                }
                json!(null)
            }
        };
        abi::put(&out, answer.to_string().as_bytes());
        Ok(())
    })
}

unsafe extern "C" fn random(buf: *mut u8, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    // SAFETY: the plugin passes a writable buffer of `len` bytes.
    let buf = unsafe { std::slice::from_raw_parts_mut(buf, len) };
    if getrandom::fill(buf).is_err() {
        // Never hand out predictable bytes as random ones.
        std::process::abort();
    }
}

#[derive(Deserialize)]
struct Head {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    connect_timeout_ms: Option<u64>,
    first_byte_timeout_ms: Option<u64>,
    between_bytes_timeout_ms: Option<u64>,
}

unsafe extern "C" fn http_send(
    head: *const u8,
    head_len: usize,
    body: *const u8,
    body_len: usize,
    response: *mut u64,
    out: ClawSink,
) -> i32 {
    // SAFETY: the plugin passes its buffers for this call.
    let (head, body) = unsafe { (abi::bytes(head, head_len), abi::bytes(body, body_len)) };
    serve(Some(&out), |s| {
        if head.len() > MAX_HEAD {
            return Err(error_json(
                "invalid",
                "the request head is larger than 1 MiB",
            ));
        }
        let head: Head = serde_json::from_slice(head)
            .map_err(|e| error_json("invalid", &format!("not a request head: {e}")))?;
        let request = http::Request::builder()
            .method(head.method.as_str())
            .uri(head.url.as_str());
        let request = head
            .headers
            .iter()
            .fold(request, |r, (k, v)| r.header(k.as_str(), v.as_str()))
            .body(
                Full::new(Bytes::copy_from_slice(body))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| error_json("invalid", &format!("invalid request: {e}")))?;
        if !admit(&s.plugin, &s.grant, &s.denials, request.uri()) {
            return Err(denied(s));
        }
        let ms = |t: Option<u64>| t.map(Duration::from_millis);
        let options = RequestOptions {
            connect_timeout: ms(head.connect_timeout_ms),
            first_byte_timeout: ms(head.first_byte_timeout_ms),
            between_bytes_timeout: ms(head.between_bytes_timeout_ms),
        };
        let sent = s
            .block_on(s.outbound.send(request, Some(options), &s.denials))
            .ok_or_else(abandoned)?;
        let reply = sent.map_err(|e| http_error(s, &e))?;
        let mut responses = s.responses.lock().unwrap_or_else(|e| e.into_inner());
        if responses.open.len() >= MAX_OPEN_RESPONSES {
            return Err(error_json(
                "invalid",
                &format!(
                    "more than {MAX_OPEN_RESPONSES} responses open in one call; close them when done"
                ),
            ));
        }
        responses.next += 1;
        let id = responses.next;
        let (parts, body) = reply.into_parts();
        responses.open.insert(id, Slot::Open(body));
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let head = json!({"status": parts.status.as_u16(), "headers": headers});
        abi::put(&out, head.to_string().as_bytes());
        // SAFETY: the plugin passes where to put the handle.
        if !response.is_null() {
            unsafe { *response = id };
        }
        Ok(())
    })
}

unsafe extern "C" fn http_read(response: u64, out: ClawSink) -> i32 {
    serve(Some(&out), |s| {
        // Take the body out while waiting, so the table is never locked across I/O.
        let taken = {
            let mut responses = s.responses.lock().unwrap_or_else(|e| e.into_inner());
            match responses.open.get_mut(&response) {
                Some(slot) => std::mem::replace(slot, Slot::Ended),
                None => {
                    return Err(error_json(
                        "invalid",
                        "no such response (closed, or never opened)",
                    ));
                }
            }
        };
        let mut body = match taken {
            Slot::Open(body) => body,
            Slot::Ended => return Ok(()),
            Slot::Failed(error) => return Err(error),
        };
        let mut chunk = Vec::new();
        // Wait for data, then take what has already arrived, up to a chunk.
        let next = loop {
            let frame = if chunk.is_empty() {
                s.block_on(body.frame()).ok_or_else(abandoned)?
            } else if chunk.len() >= CHUNK_MAX {
                break Slot::Open(body);
            } else {
                use futures::FutureExt;
                match body.frame().now_or_never() {
                    Some(frame) => frame,
                    None => break Slot::Open(body),
                }
            };
            match frame {
                None => break Slot::Ended,
                Some(Err(e)) => break Slot::Failed(http_error(s, &e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        chunk.extend_from_slice(&data);
                    }
                }
            }
        };
        let failed = match next {
            // A failure after data is reported on the next read.
            Slot::Failed(error) if chunk.is_empty() => Some(error),
            next => {
                let mut responses = s.responses.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(slot) = responses.open.get_mut(&response) {
                    *slot = next;
                }
                None
            }
        };
        match failed {
            Some(error) => Err(error),
            None => {
                abi::put(&out, &chunk);
                Ok(())
            }
        }
    })
}

unsafe extern "C" fn http_close(response: u64) {
    serve(None, |s| {
        s.responses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .remove(&response);
        Ok(())
    });
}

fn abandoned() -> Vec<u8> {
    error_json(
        "abandoned",
        "the call passed its deadline and claw stopped waiting for it",
    )
}

fn denied(s: &Session) -> Vec<u8> {
    let why = s
        .denials
        .last()
        .unwrap_or_else(|| "claw refused the request".into());
    error_json("denied", &why)
}

/// The error a plugin sees for a failed request, as the ABI names its kinds.
fn http_error(s: &Session, e: &HttpError) -> Vec<u8> {
    let kind = match e {
        HttpError::HttpRequestDenied => return denied(s),
        HttpError::DnsTimeout
        | HttpError::ConnectionTimeout
        | HttpError::ConnectionReadTimeout
        | HttpError::ConnectionWriteTimeout
        | HttpError::HttpResponseTimeout => "timeout",
        HttpError::HttpRequestUriInvalid | HttpError::HttpRequestMethodInvalid => "invalid",
        _ => "network",
    };
    error_json(kind, &format!("{e:?}"))
}
