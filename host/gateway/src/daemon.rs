//! Running the gateway: settings, the bearer token, the state file the CLI uses
//! to find a running gateway, signals (SIGHUP reloads), and `--watch`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::server::{Gateway, prompter};
use claw_core::app::{App, AppError};
use claw_core::state::StateDir;
use claw_plugin_host::{Limits, Runtime, StartError};

pub const DEFAULT_PORT: u16 = 18789;
const DEFAULT_MAX_BODY: usize = 10 << 20;
const DEFAULT_MAX_CONNECTIONS: usize = 512;
const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_MAX_MESSAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Runtime(#[from] StartError),
    #[error(
        "refusing to listen on {0}: a non-loopback address needs a configured token (gateway.auth.token in claw.json or CLAW_GATEWAY_TOKEN)"
    )]
    ExposedWithoutToken(IpAddr),
    #[error("cannot listen on {addr}: {detail}")]
    Bind { addr: SocketAddr, detail: String },
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

/// `gateway` in claw.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewaySection {
    pub port: Option<u16>,
    pub bind: Option<IpAddr>,
    pub auth: GatewayAuth,
    pub max_body_bytes: Option<usize>,
    /// Open client connections at most; past it a connection gets a 503 and is closed.
    pub max_connections: Option<usize>,
    /// How long a connection may take to send a request head, counted from
    /// when it starts waiting for one (so it also closes idle keep-alives).
    pub header_timeout_ms: Option<u64>,
    /// `Host` names (or `name:port`) accepted besides the loopback ones; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// `Origin`s (`scheme://host[:port]`) accepted besides loopback ones; `*` accepts any.
    pub allowed_origins: Vec<String>,
    /// Messages per request at most.
    pub max_messages: Option<usize>,
    /// Limits of paired devices: `defaults`, and per device id in `devices`.
    pub clients: crate::access::ClientsSection,
    /// Serve `GET /metrics` and count for it (default on).
    pub metrics: Option<bool>,
}

impl GatewaySection {
    /// The settings the server enforces, with defaults filled in.
    pub fn settings(&self) -> crate::server::Settings {
        crate::server::Settings {
            max_body: self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY),
            max_connections: self
                .max_connections
                .unwrap_or(DEFAULT_MAX_CONNECTIONS)
                .max(1),
            header_timeout: Duration::from_millis(
                self.header_timeout_ms
                    .unwrap_or(DEFAULT_HEADER_TIMEOUT_MS)
                    .max(1),
            ),
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            max_messages: self.max_messages.unwrap_or(DEFAULT_MAX_MESSAGES).max(1),
            clients: self.clients.clone(),
            metrics: self.metrics.unwrap_or(true),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatewayAuth {
    pub token: Option<String>,
}

/// What `claw gateway run` was asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub port: Option<u16>,
    pub bind: Option<IpAddr>,
    pub watch: bool,
}

/// Written while a gateway runs, so the CLI can find and talk to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Running {
    pub pid: u32,
    pub port: u16,
    pub bind: IpAddr,
    pub started_at_ms: u64,
}

impl Running {
    pub fn url(&self) -> String {
        let host = if self.bind.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.bind
        };
        format!("http://{}", SocketAddr::new(host, self.port))
    }
}

pub fn gateway_dir(state: &StateDir) -> PathBuf {
    state.root().join("gateway")
}

pub fn running_path(state: &StateDir) -> PathBuf {
    gateway_dir(state).join("state.json")
}

pub fn log_path(state: &StateDir) -> PathBuf {
    gateway_dir(state).join("gateway.log")
}

/// The gateway's log as JSON lines: what `claw logs` reads.
pub fn json_log_path(state: &StateDir) -> PathBuf {
    gateway_dir(state).join("gateway.jsonl")
}

pub fn token_path(state: &StateDir) -> PathBuf {
    gateway_dir(state).join("token")
}

/// The running gateway recorded in the state dir, if its process is alive.
pub fn running(state: &StateDir) -> Option<Running> {
    let r: Running = serde_json::from_slice(&std::fs::read(running_path(state)).ok()?).ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(r.pid as libc::pid_t, 0) } == 0;
    alive.then_some(r)
}

/// The token clients must send: configured (`gateway.auth.token`, then
/// `CLAW_GATEWAY_TOKEN`), else the one generated on first run (0600 file).
pub fn token(state: &StateDir, section: &GatewaySection) -> Result<(String, bool), GatewayError> {
    if let Some(t) = section.auth.token.clone().filter(|t| !t.is_empty()) {
        return Ok((t, true));
    }
    if let Some(t) = std::env::var("CLAW_GATEWAY_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        return Ok((t, true));
    }
    let path = token_path(state);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if !t.is_empty() {
            return Ok((t, false));
        }
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| GatewayError::Write {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let t = format!("claw-{}", hex::encode(bytes));
    claw_types::fs::write_atomic(&path, t.as_bytes(), Some(0o600)).map_err(|e| {
        GatewayError::Write {
            path,
            detail: e.to_string(),
        }
    })?;
    Ok((t, false))
}

/// Run the gateway in this process until SIGTERM/SIGINT.
pub async fn run(state: StateDir, options: RunOptions) -> Result<(), GatewayError> {
    let runtime = Runtime::new(Limits::default(), Some(state.cache_dir()))?;
    let app = App::load(state.clone(), &runtime, prompter()).await?;
    let section: GatewaySection = app.config.section("gateway").map_err(AppError::from)?;
    let bind = options
        .bind
        .or(section.bind)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let port = options.port.or(section.port).unwrap_or(DEFAULT_PORT);
    let (token, configured) = token(&state, &section)?;
    if !bind.is_loopback() && !configured {
        return Err(GatewayError::ExposedWithoutToken(bind));
    }
    private_gateway_files(&state)?;
    let addr = SocketAddr::new(bind, port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| GatewayError::Bind {
        addr,
        detail: if e.kind() == std::io::ErrorKind::AddrInUse {
            "the port is in use (is a gateway already running? see `claw gateway status`); choose another with --port or gateway.port".into()
        } else {
            e.to_string()
        },
    })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let summary = format!(
        "{} plugins loaded, {} in error",
        app.registry.count(claw_core::registry::Status::Loaded),
        app.registry.count(claw_core::registry::Status::Error)
    );
    let gateway = Arc::new(Gateway::new(
        runtime,
        state.clone(),
        app,
        token,
        settings(&section, bind),
    ));

    let record = Running {
        pid: std::process::id(),
        port,
        bind,
        started_at_ms: claw_types::now_ms(),
    };
    let path = running_path(&state);
    let bytes = serde_json::to_vec_pretty(&record).expect("state serializes");
    claw_types::fs::write_atomic(&path, &bytes, Some(0o600)).map_err(|e| GatewayError::Write {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    tracing::info!(url = %record.url(), token_file = %token_path(&state).display(), "gateway listening ({summary})");
    eprintln!(
        "claw gateway listening on {} ({summary}); token: {}",
        record.url(),
        if configured {
            "as configured".to_string()
        } else {
            token_path(&state).display().to_string()
        }
    );

    spawn_reload_on_sighup(gateway.clone());
    if options.watch {
        spawn_watcher(gateway.clone());
    }
    gateway.clone().serve(listener, shutdown_signal()).await;
    // Only remove the record if it is still ours.
    if running(&state).is_some_and(|r| r.pid == std::process::id()) || !path.exists() {
        let _ = std::fs::remove_file(&path);
    }
    gateway.flush_usage();
    tracing::info!("gateway stopped after {} requests", gateway.served());
    Ok(())
}

/// The section's settings; a specific non-loopback bind address is also a
/// host clients may name (an address is not a DNS-rebinding vector).
fn settings(section: &GatewaySection, bind: IpAddr) -> crate::server::Settings {
    let mut settings = section.settings();
    if !bind.is_loopback() && !bind.is_unspecified() {
        settings.allowed_hosts.push(bind.to_string());
    }
    settings
}

/// The gateway dir 0700 and its log 0600 (a log or dir left by an older
/// version with the umask's mode is tightened).
fn private_gateway_files(state: &StateDir) -> Result<(), GatewayError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = gateway_dir(state);
    let failed = |path: &Path, e: std::io::Error| GatewayError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, e))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| failed(&dir, e))?;
    let log = log_path(state);
    if log.exists() {
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failed(&log, e))?;
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
    }
}

fn spawn_reload_on_sighup(gateway: Arc<Gateway>) {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            crate::admin::reload(&gateway).await;
        }
    });
}

/// `--watch`: reload when the config or a plugin file changes (debounced: the
/// files must be still for one more poll, so a build in progress is not loaded).
fn spawn_watcher(gateway: Arc<Gateway>) {
    tokio::spawn(async move {
        let mut last = fingerprint(&gateway);
        let mut pending = false;
        loop {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let now = fingerprint(&gateway);
            if now != last {
                last = now;
                pending = true;
            } else if pending {
                pending = false;
                tracing::info!("--watch: plugin or config files changed; reloading");
                crate::admin::reload(&gateway).await;
            }
        }
    });
}

/// Paths, sizes and modification times of everything a reload would read.
fn fingerprint(gateway: &Gateway) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let state = &gateway.state;
    let mut roots = vec![state.config_path(), state.plugins_dir()];
    if let Ok(cfg) = gateway.app().config.plugins() {
        roots.extend(cfg.load.paths);
    }
    let mut seen = Vec::new();
    for root in roots {
        walk(&root, 0, &mut seen);
    }
    seen.sort();
    seen
}

fn walk(path: &Path, depth: usize, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        let relevant = path
            .extension()
            .is_some_and(|e| e == "wasm" || e == "toml" || e == "json");
        if relevant {
            out.push((path.to_path_buf(), meta.len(), meta.modified().ok()));
        }
    } else if meta.is_dir() && depth < 5 {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Inside a crate's target/, only the wasm output matters.
        if depth > 0
            && (name.starts_with('.') || name == "deps" || name == "build" || name == "incremental")
        {
            return;
        }
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            walk(&entry.path(), depth + 1, out);
        }
    }
}
