//! A real `claw gateway run` process on a free loopback port, for tests.

use std::io::BufReader;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::upstream::{RawResponse, exchange};
use super::{CLAW, Claw};

pub struct GatewayProc {
    pub child: Child,
    pub port: u16,
    pub token: String,
    log: std::path::PathBuf,
}

impl GatewayProc {
    /// Start `claw gateway run --port 0` in `claw`'s state dir and wait until it listens.
    pub fn start(claw: &Claw, extra: &[&str]) -> GatewayProc {
        let mut cmd = Command::new(CLAW);
        cmd.args(["gateway", "run", "--port", "0"]).args(extra);
        Self::start_command(claw, cmd)
    }

    /// `start` with extra environment variables.
    pub fn start_env(claw: &Claw, extra: &[&str], env: &[(&str, &str)]) -> GatewayProc {
        let mut cmd = Command::new(CLAW);
        cmd.args(["gateway", "run", "--port", "0"])
            .args(extra)
            .envs(env.iter().copied());
        Self::start_command(claw, cmd)
    }

    /// `start`, with the process limited to `fds` open files (`ulimit -n`).
    pub fn start_with_fd_limit(claw: &Claw, fds: u32, extra: &[&str]) -> GatewayProc {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {fds} && exec \"$0\" \"$@\""))
            .arg(CLAW)
            .args(["gateway", "run", "--port", "0"])
            .args(extra);
        Self::start_command(claw, cmd)
    }

    fn start_command(claw: &Claw, mut cmd: Command) -> GatewayProc {
        let log = claw.dir().join("gateway-test.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let _ = std::fs::remove_file(claw.dir().join("gateway/state.json"));
        let child = cmd
            .env("CLAW_STATE_DIR", claw.dir())
            .env("CLAW_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start the gateway");
        let state = claw.dir().join("gateway/state.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Some(port) = std::fs::read(&state)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["port"].as_u64())
            {
                break port as u16;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let token = claw.run(&["gateway", "token"]).ok().trim().to_string();
        GatewayProc {
            child,
            port,
            token,
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The gateway's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the gateway's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// A request on a fresh connection (`body` "" for none).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> RawResponse {
        let mut conn = self.connect();
        exchange(
            &mut conn,
            &format!("127.0.0.1:{}", self.port),
            method,
            path,
            headers,
            body,
        )
    }

    /// An authorized request; the body parsed as JSON when it is JSON.
    pub fn call(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let auth = self.auth();
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let r = self.request(method, path, &[("authorization", &auth)], &body);
        (
            r.status,
            serde_json::from_str(&r.body).unwrap_or(Value::String(r.body)),
        )
    }

    pub fn connect(&self) -> BufReader<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the gateway");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        BufReader::new(stream)
    }

    /// SIGTERM, then wait for the process.
    pub fn stop(mut self) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), 15);
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for GatewayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Send a signal by number (e.g. 1 for SIGHUP).
pub fn signal(child: &Child, signal: i32) {
    unsafe_kill(child.id(), signal);
}
