//! Shared setup: what the sections measure against. The zero-delay stand-in
//! upstream, state dirs with the benchmark config, `claw gateway run` (this
//! build's or the `CLAW_BENCH_BASELINE` one's) and the other processes the
//! suite starts, and what the in-process sections need to load a plugin.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use claw_plugin_host::bundled::{BUNDLED, BundledPlugin};
use claw_plugin_host::{Headless, NetworkGrant, PluginSettings};
use claw_types::{ChatRequest, Endpoint, Message, Prompt, RequestCredential, Role};
use serde_json::{Value, json};

use crate::http::{Conn, Target};
use crate::upstream::agent::ToolScript;
use crate::upstream::{Behavior, Upstream};

pub const CLAW: &str = env!("CARGO_BIN_EXE_claw");

/// The reply the stand-in gives for the benchmark model: 32 words, so a stream
/// has 16 content deltas of two words each.
const REPLY: &str = "one two three four five six seven eight nine ten eleven twelve thirteen \
    fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two \
    twenty-three twenty-four twenty-five twenty-six twenty-seven twenty-eight twenty-nine \
    thirty thirty-one thirty-two";
pub use crate::http::{MODEL, TOOL_MODEL};
/// A model whose streams the stand-in holds open (no content) for the memory figure.
pub const HOLD_MODEL: &str = "hold-1";
pub const HOLD_MS: u64 = 6_000;

// ---------------------------------------------------------------------------
// The stand-in upstream
// ---------------------------------------------------------------------------

/// One stand-in for every HTTP figure, with no pause between SSE events.
pub fn start_upstream() -> Upstream {
    let upstream = Upstream::start();
    upstream.set_gap_ms(0);
    upstream.behave(MODEL, Behavior::Reply(REPLY.into()));
    upstream.behave(
        TOOL_MODEL,
        Behavior::Agent(ToolScript::call(
            "lookup",
            json!({"word": "thirty-two", "language": "en", "why": "to count"}),
        )),
    );
    upstream.behave(
        HOLD_MODEL,
        Behavior::Stall {
            ms: HOLD_MS,
            ping_every_ms: 0,
        },
    );
    upstream
}

/// Requests straight to the stand-in (it ignores the key).
pub fn direct_target(upstream: &Upstream) -> Target {
    Target::new("direct", &upstream.url(), "Bearer sk-bench")
}

// ---------------------------------------------------------------------------
// claw's state dirs, commands and gateway
// ---------------------------------------------------------------------------

/// A fresh state dir whose claw.json points `lmstudio` at the stand-in (the
/// benchmark and hold models) and denies the plugins in `deny`.
pub fn state_dir(upstream: &Upstream, deny: &[&str]) -> tempfile::TempDir {
    let state = tempfile::tempdir().unwrap();
    let config = json!({
        "models": {"providers": {
            "lmstudio": {"baseUrl": format!("{}/v1", upstream.url()),
                         "models": [{"id": MODEL}, {"id": HOLD_MODEL}, {"id": TOOL_MODEL}]},
        }},
        "plugins": {"deny": deny},
    });
    std::fs::write(state.path().join("claw.json"), config.to_string()).unwrap();
    state
}

/// `bin args` in `state`, with claw's own log and token settings cleared and
/// no stdin.
pub fn claw_command(bin: &Path, args: &[&str], state: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .args(args)
        .env("CLAW_STATE_DIR", state)
        .env_remove("CLAW_LOG")
        .env_remove("CLAW_GATEWAY_TOKEN")
        .stdin(Stdio::null());
    command
}

/// A process this suite started; stopped (by its pid) when dropped.
pub struct Proc {
    pub child: Child,
    /// Signal the whole process group (one we created for it).
    pub group: bool,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        let target = if self.group { -pid } else { pid };
        // SAFETY: signalling a process (group) this suite spawned.
        unsafe { libc::kill(target, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                if self.group {
                    unsafe { libc::kill(target, libc::SIGKILL) };
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(target, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

pub struct Gateway {
    proc: Proc,
    port: u16,
    token: String,
}

impl Gateway {
    /// `claw gateway run --port 0` in `state`, with its default logging (info,
    /// to a file), once it listens.
    pub fn start(state: &Path) -> Gateway {
        Self::start_bin(Path::new(CLAW), state)
    }

    /// The same with another `claw` binary (`CLAW_BENCH_BASELINE`).
    pub fn start_bin(bin: &Path, state: &Path) -> Gateway {
        let log = std::fs::File::create(state.join("gateway-bench.log")).unwrap();
        let _ = std::fs::remove_file(state.join("gateway/state.json"));
        let child = claw_command(bin, &["gateway", "run", "--port", "0"], state)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the gateway");
        let proc = Proc {
            child,
            group: false,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Some(port) = std::fs::read(state.join("gateway/state.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["port"].as_u64())
            {
                break port as u16;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not start; log in {}",
                state.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let token = std::fs::read_to_string(state.join("gateway/token"))
            .expect("the gateway wrote its token")
            .trim()
            .to_string();
        Gateway { proc, port, token }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Chat completions through this gateway, with its token.
    pub fn target(&self, name: &'static str) -> Target {
        Target::new(name, &self.url(), &self.auth())
    }

    pub fn status(&self) -> Value {
        let mut conn = Conn::open(&format!("127.0.0.1:{}", self.port)).unwrap();
        let reply = conn
            .send("GET", "/admin/status", &self.auth(), b"", false)
            .unwrap();
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
    }
}

// ---------------------------------------------------------------------------
// In-process: plugins loaded through the claw library
// ---------------------------------------------------------------------------

/// A bundled plugin by its folder name.
pub fn bundled(dir: &str) -> &'static BundledPlugin {
    BUNDLED
        .iter()
        .find(|b| b.dir == dir)
        .unwrap_or_else(|| panic!("{dir} is bundled"))
}

/// Echo's manifest under another plugin id.
pub fn echo_manifest_as(id: &str) -> String {
    let text = bundled("echo")
        .manifest
        .replacen("id = \"echo\"", &format!("id = \"{id}\""), 1);
    assert!(
        text.contains(&format!("id = \"{id}\"")),
        "echo manifest has no id line"
    );
    text
}

/// Settings with no config, no network and default limits.
pub fn settings() -> PluginSettings {
    PluginSettings {
        config_json: "{}".into(),
        grant: Arc::new(NetworkGrant::none()),
        prompter: Arc::new(Headless),
        limits: Default::default(),
    }
}

pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The in-process sections' echo request.
pub fn echo_request() -> ChatRequest {
    chat_request(
        "echo",
        "echo",
        String::new(),
        "echo-1",
        "hello big world",
        None,
    )
}

/// A streamed chat request with one user message, as the gateway builds it.
pub fn chat_request(
    provider: &str,
    api: &str,
    base_url: String,
    model: &str,
    text: &str,
    max_tokens: Option<u32>,
) -> ChatRequest {
    ChatRequest {
        endpoint: Endpoint {
            provider: provider.into(),
            api: api.into(),
            base_url,
            headers: vec![],
            auth_header: false,
        },
        credential: RequestCredential::None,
        model: model.into(),
        prompt: Prompt {
            max_tokens,
            streaming: true,
            ..Prompt::of(vec![Message::text(Role::User, text)])
        },
    }
}
