//! The native ABI end to end, as claw drives it: a small provider + auth
//! plugin exported with `export_portal!`, a fake host table, and calls
//! through the exported `extern "C"` symbols.

mod calls;
mod fake_host;
mod http_calls;

use std::cell::Cell;
use std::time::Duration;

use super::abi::{ClawSink, VecSink};
use crate::prelude::*;
use crate::{config, random};

/// The plugin under test. `chat` dispatches on the model name.
pub struct Portal;

thread_local! {
    /// Streams dropped on this thread (so tests see `claw_chat_close` free them).
    static DROPPED: Cell<u32> = const { Cell::new(0) };
}

struct DropCounter;

impl Drop for DropCounter {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(d.get() + 1));
    }
}

#[derive(serde::Deserialize)]
struct Settings {
    greeting: String,
}

impl Provider for Portal {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            apis: vec!["test".into()],
            models: vec![ModelInfo {
                id: "m1".into(),
                name: "Model One".into(),
                reasoning: true,
                input: vec![InputKind::Text, InputKind::Image],
                context_window: 1000,
                max_tokens: 100,
                cost: None,
                tools: false,
            }],
        }
    }

    fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
        crate::info!("chat for {}", request.model);
        match request.model.as_str() {
            "panic" => panic!("the model exploded"),
            "fail" => return Err(PluginError::from_status(429, "slow down", Some(2000))),
            "panic-later" => {
                let mut calls = 0;
                return Ok(ChatStream::from_fn(move || {
                    calls += 1;
                    if calls > 1 {
                        panic!("{}", String::from("the stream exploded"));
                    }
                    Ok(Some(vec![ChatEvent::Text("first".into())]))
                }));
            }
            "http" => {
                let mut response = http::Request::post(request.endpoint.base_url.clone())
                    .header("X-Key", "k")
                    .body("ping")
                    .first_byte_timeout(Duration::from_secs(2))
                    .send()?;
                let body = response.text()?;
                return Ok(ChatStream::from_events(vec![ChatEvent::Text(body)]));
            }
            _ => {}
        }
        let settings: Settings = config::get()?;
        let text = request
            .messages
            .last()
            .map(|m| m.text())
            .unwrap_or_default();
        let mut batches = vec![
            vec![
                ChatEvent::Started("s1".into()),
                ChatEvent::Text(settings.greeting),
            ],
            vec![],
            vec![
                ChatEvent::Text(text),
                ChatEvent::Done(Done::from_raw("end_turn")),
            ],
        ]
        .into_iter();
        let counter = DropCounter;
        Ok(ChatStream::from_fn(move || {
            let _ = &counter;
            Ok(batches.next())
        }))
    }
}

impl Auth for Portal {
    fn describe_auth() -> AuthInfo {
        AuthInfo {
            provider: "test".into(),
            methods: vec![AuthMethod {
                id: "oauth".into(),
                label: "OAuth".into(),
                kind: MethodKind::Oauth,
                hint: Some("a hint".into()),
            }],
        }
    }

    fn login(method: String) -> Result<LoginResult, PluginError> {
        if method != "oauth" {
            return Err(PluginError::new(ErrorReason::Auth, "no such method"));
        }
        prompts::show_code("ABCD", "https://login.test/device");
        let opened = prompts::open_url("https://login.test/device");
        prompts::progress("waiting");
        let name = prompts::ask("Name?", false).unwrap_or_default();
        let secret = prompts::ask("Secret?", true);
        let region = prompts::pick("Region?", &["global".into(), "cn".into()]);
        let nonce: String = random::bytes(3)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(LoginResult {
            profile: name,
            credential: Credential {
                kind: MethodKind::Oauth,
                access: format!("access-{nonce}"),
                refresh: Some("r1".into()),
                expires_at_ms: Some(1_000),
                extra: vec![KeyValue {
                    key: "facts".into(),
                    value: format!("{opened} {secret:?} {region:?}"),
                }],
            },
            config_patch: None,
            notes: vec!["done".into()],
        })
    }

    fn refresh(method: String, credential: Credential) -> Result<Credential, PluginError> {
        let refresh = credential.refresh.clone().unwrap_or_default();
        Ok(Credential {
            access: format!("{method}:{refresh}"),
            refresh: Some(format!("{refresh}+")),
            ..credential
        })
    }
}

crate::export_portal!(Portal);

/// Install the fake table and start this thread's record afresh.
fn setup() {
    fake_host::RECORD.with(|r| *r.borrow_mut() = Default::default());
    DROPPED.with(|d| d.set(0));
    super::host::HIDE_HOST.with(|h| h.set(false));
    let status = unsafe { __claw_plugin_export::claw_init(&fake_host::TABLE) };
    assert_eq!(status, 0);
}

/// Call `f` with a fresh sink: its status and what it wrote.
fn call(f: impl FnOnce(ClawSink) -> i32) -> (i32, String) {
    let mut out = VecSink::new();
    let status = f(out.sink());
    (status, String::from_utf8(out.0).expect("UTF-8 output"))
}
