//! A small blocking HTTP client over `wasi:http` (in a native build, over
//! claw's host table). The host checks every request against the hosts your
//! manifest declares, so list them under `network.hosts`.
//!
//! ```text
//! let response = http::Request::post("https://api.example.com/v1/chat")
//!     .header("content-type", "application/json")
//!     .body(payload)
//!     .send()?;
//! if response.status() != 200 { /* classify with PluginError::from_status */ }
//! while let Some(chunk) = response.read_chunk()? { /* stream */ }
//! ```

use std::time::Duration;

use crate::PluginErrorExt;
use crate::types::{ErrorReason, PluginError};

// The transport: `send` makes the `Response`, whose `Body` it reads.
#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod wasi;
#[cfg(not(target_arch = "wasm32"))]
use native as transport;
#[cfg(target_arch = "wasm32")]
use wasi as transport;

/// An outgoing request. Build it, then [`send`](Request::send) it.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    connect_timeout: Option<Duration>,
    first_byte_timeout: Option<Duration>,
    between_bytes_timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            connect_timeout: None,
            first_byte_timeout: None,
            between_bytes_timeout: None,
        }
    }
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Several headers at once, e.g. a list a pure function built.
    pub fn headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let pairs = headers.into_iter().map(|(k, v)| (k.into(), v.into()));
        self.headers.extend(pairs);
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
    /// A JSON body (sets `content-type`).
    pub fn json(self, value: &impl serde::Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json").body(body)
    }
    /// A form-encoded body (sets `content-type`).
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }
    /// Time allowed until the response head arrives.
    pub fn first_byte_timeout(mut self, timeout: Duration) -> Self {
        self.first_byte_timeout = Some(timeout);
        self
    }
    /// Time allowed between two chunks of the response body.
    pub fn between_bytes_timeout(mut self, timeout: Duration) -> Self {
        self.between_bytes_timeout = Some(timeout);
        self
    }

    /// The method, upper case (for logging).
    pub fn method(&self) -> &str {
        &self.method
    }
    /// The URL as given (for logging).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Send the request and wait for the response head.
    pub fn send(self) -> Result<Response, PluginError> {
        let url = parse_url(&self.url)?;
        transport::send(&self, url)
    }

    /// The headers as sent: names lower-cased, and `content-length` added
    /// when there is a body. The body is known up front: say its length rather
    /// than sending it chunked, which some servers (and simple local ones) do
    /// not accept.
    fn wire_headers(&self) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        if !self.body.is_empty() && !entries.iter().any(|(k, _)| k == "content-length") {
            entries.push(("content-length".into(), self.body.len().to_string()));
        }
        entries
    }
}

/// Largest chunk `Response::read_chunk` returns.
const CHUNK_MAX: usize = 64 * 1024;

/// What a denied request's error says (both transports), before any detail.
const DENIED: &str = "the claw host denied the request (is the host listed under network.hosts in the plugin manifest, and granted in config?)";

/// A response whose body is read on demand, chunk by chunk.
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    host: String,
    body: transport::Body,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in milliseconds, when the upstream sent seconds.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.header("retry-after")?
            .trim()
            .parse::<f64>()
            .ok()
            .map(|s| (s * 1000.0) as u64)
    }

    /// The next chunk of the body, waiting for it; `None` at the end. A chunk
    /// holds everything that has arrived by then (up to 64 KiB), so a reply
    /// that came in several frames is handed on in one step, not one per frame.
    pub fn read_chunk(&mut self) -> Result<Option<Vec<u8>>, PluginError> {
        self.body.read_chunk(&self.host)
    }

    /// The whole remaining body.
    pub fn bytes(&mut self) -> Result<Vec<u8>, PluginError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.read_chunk()? {
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }

    /// The whole remaining body as text (invalid UTF-8 is replaced).
    pub fn text(&mut self) -> Result<String, PluginError> {
        Ok(String::from_utf8_lossy(&self.bytes()?).into_owned())
    }

    /// The whole remaining body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, PluginError> {
        let body = self.bytes()?;
        serde_json::from_slice(&body).map_err(|e| {
            PluginError::new(
                ErrorReason::Format,
                format!(
                    "{} sent a reply that is not the expected JSON: {e}",
                    self.host
                ),
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Url {
    /// The URL put back together from its parts (scheme lower-cased, `/`
    /// before a bare query): what a component would send.
    #[cfg(not(target_arch = "wasm32"))]
    fn normalized(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}{}", self.authority, self.path)
    }
}

/// A URL split as `wasi:http` wants it; `host` is for messages.
#[derive(Debug)]
struct Url {
    scheme: Scheme,
    authority: String,
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, PluginError> {
    let bad =
        |why: &str| PluginError::new(ErrorReason::Format, format!("invalid URL {url:?}: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected http:// or https://"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(bad("expected http:// or https://")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6).to_string(),
        None => host.split(':').next().unwrap_or(host).to_string(),
    };
    Ok(Url {
        scheme,
        authority: authority.to_string(),
        host,
        path,
    })
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_host_and_path() {
        let u = parse_url("https://api.minimax.io/anthropic/v1/messages?x=1").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.host.as_str(), u.path.as_str()),
            (
                "api.minimax.io",
                "api.minimax.io",
                "/anthropic/v1/messages?x=1"
            )
        );
        let u = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.host.as_str(), u.path.as_str()),
            ("127.0.0.1:8080", "127.0.0.1", "/")
        );
        let u = parse_url("http://[::1]:9/x").unwrap();
        assert_eq!(u.host, "::1");
        assert!(
            parse_url("ftp://x")
                .unwrap_err()
                .message
                .contains("expected http")
        );
        assert!(
            parse_url("https:///path")
                .unwrap_err()
                .message
                .contains("no host")
        );
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(
            form_encode("group_id profile model.completion"),
            "group_id+profile+model.completion"
        );
        assert_eq!(form_encode("a=b&c"), "a%3Db%26c");
    }
}
