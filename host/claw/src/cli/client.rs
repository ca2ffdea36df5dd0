//! Talking to a running gateway's admin API, so CLI commands act on the live
//! plugin set instead of loading their own.

use anyhow::Context as _;
use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use claw_core::state::StateDir;
use claw_gateway::daemon::{self, Running};

pub struct GatewayClient {
    pub running: Running,
    token: String,
}

impl GatewayClient {
    /// The gateway recorded in the state dir, unless `CLAW_NO_GATEWAY` is set.
    pub fn discover(state: &StateDir) -> Option<GatewayClient> {
        if std::env::var_os("CLAW_NO_GATEWAY").is_some_and(|v| !v.is_empty()) {
            return None;
        }
        let running = daemon::running(state)?;
        let section = claw_core::config::ConfigFile::load(&state.config_path())
            .ok()?
            .section::<daemon::GatewaySection>("gateway")
            .ok()?;
        let (token, _) = daemon::token(state, &section).ok()?;
        Some(GatewayClient { running, token })
    }

    /// One request; returns the status and the JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let addr = self.running.url().trim_start_matches("http://").to_string();
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .with_context(|| format!("connecting to the gateway at {addr} (is it still running? `claw gateway status`)"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let bytes = body
            .map(|b| serde_json::to_vec(b).expect("JSON serializes"))
            .unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &addr)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(bytes)))?;
        let response = sender
            .send_request(request)
            .await
            .context("sending a request to the gateway")?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        let value = serde_json::from_slice(&body).with_context(|| {
            format!("the gateway answered HTTP {status} with a body that is not JSON")
        })?;
        Ok((status, value))
    }

    /// `call`, turning an error status into an error with the gateway's message.
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method, path, body).await?;
        if status >= 400 {
            let message = value["error"]["message"].as_str().unwrap_or("no message");
            anyhow::bail!("{message}");
        }
        Ok(value)
    }
}
