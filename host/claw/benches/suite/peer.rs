//! Section 7, the peer: LiteLLM's proxy, when it is installed (else a line
//! says why not), measured as claw is: added latency (3), throughput (4), idle
//! RSS and RSS with 100 streams in flight (6).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{Conn, Target, check_target};
use crate::latency::Level;
use crate::memory::{StreamsMemory, bench_streams};
use crate::procfs::tree_rss_kb;
use crate::setup::{HOLD_MODEL, MODEL, Proc};
use crate::throughput::Throughput;
use crate::upstream::Upstream;

/// LiteLLM's master key (its equivalent of claw's gateway token).
const PEER_KEY: &str = "sk-bench-master-0123456789abcdef";

/// The peer's column of the table.
#[derive(Default)]
pub struct PeerFigures {
    pub latency: Vec<Level>,
    pub throughput: Option<Throughput>,
    pub idle_rss_kb: Option<u64>,
    pub streams: Option<StreamsMemory>,
    pub version: String,
    /// Why there are no figures (not installed, did not start).
    pub skipped: Option<String>,
}

pub fn bench(upstream: &Upstream, direct: &Target) -> PeerFigures {
    let mut figures = PeerFigures::default();
    let peer = find_litellm().and_then(|litellm| {
        Peer::start(&litellm, upstream).map_err(|e| format!("LiteLLM did not start: {e}"))
    });
    match peer {
        Ok(peer) => {
            let target = Target::new("litellm", &peer.url(), &format!("Bearer {PEER_KEY}"));
            check_target(&target);
            std::thread::sleep(Duration::from_millis(1500));
            figures.idle_rss_kb = Some(tree_rss_kb(peer.pid()));
            figures.version = peer.version.clone();
            figures.latency = crate::latency::bench(direct, &target);
            figures.throughput = Some(crate::throughput::bench(
                direct,
                &target,
                peer.pid(),
                upstream,
            ));
            figures.streams = Some(bench_streams(&target, peer.pid(), upstream, None));
        }
        Err(why) => {
            eprintln!("  skipped: {why}");
            figures.skipped = Some(why);
        }
    }
    figures
}

fn find_litellm() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CLAW_BENCH_LITELLM") {
        return Ok(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    let venv = root.join("target/litellm-venv/bin/litellm");
    if venv.is_file() {
        return Ok(venv);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("litellm"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    on_path.ok_or_else(|| {
        "LiteLLM is not installed (no target/litellm-venv/bin/litellm, no litellm on PATH, no CLAW_BENCH_LITELLM); \
         install it with: python3 -m venv target/litellm-venv && target/litellm-venv/bin/pip install 'litellm[proxy]'"
            .to_string()
    })
}

struct Peer {
    proc: Proc,
    port: u16,
    version: String,
    _dir: tempfile::TempDir,
}

impl Peer {
    fn start(litellm: &Path, upstream: &Upstream) -> Result<Peer, String> {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str| {
            format!(
                "  - model_name: {name}\n    litellm_params:\n      model: openai/{name}\n      api_base: {}/v1\n      api_key: sk-bench\n",
                upstream.url()
            )
        };
        // A master key, as claw has its token (LiteLLM refuses to start without one).
        let config = format!(
            "model_list:\n{}{}litellm_settings:\n  telemetry: false\n  drop_params: true\ngeneral_settings:\n  master_key: {PEER_KEY}\n",
            entry(MODEL),
            entry(HOLD_MODEL)
        );
        let config_path = dir.path().join("litellm.yaml");
        std::fs::write(&config_path, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())?;
        let python = litellm.with_file_name("python");
        let version = Command::new(&python)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "?".into());
        let log = std::fs::File::create(dir.path().join("litellm.log")).unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new(litellm)
            .arg("--config")
            .arg(&config_path)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--num_workers",
                "1",
            ])
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_TELEMETRY", "False")
            .env("LITELLM_LOG", "ERROR")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", litellm.display()))?;
        let mut proc = Proc { child, group: true };
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(mut c) = Conn::open(&format!("127.0.0.1:{port}"))
                && let Ok(r) = c.send(
                    "GET",
                    "/health/liveliness",
                    &format!("Bearer {PEER_KEY}"),
                    b"",
                    false,
                )
                && r.status == 200
            {
                break;
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                let log =
                    std::fs::read_to_string(dir.path().join("litellm.log")).unwrap_or_default();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(format!("litellm exited ({status}):\n{tail}"));
            }
            if Instant::now() > deadline {
                return Err("litellm did not answer /health/liveliness within 180 s".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "  LiteLLM {version} listening on 127.0.0.1:{port} (pid {})",
            proc.pid()
        );
        Ok(Peer {
            proc,
            port,
            version,
            _dir: dir,
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }
}
