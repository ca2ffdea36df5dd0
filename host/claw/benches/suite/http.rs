//! Shared: where the benchmark requests go (`Target`), the one request body,
//! and a small keep-alive HTTP/1.1 client with TCP_NODELAY that times each
//! response from the moment its request is written.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

/// The OpenAI chat completions path: the same at the stand-in, claw and LiteLLM.
const CHAT_PATH: &str = "/v1/chat/completions";

/// Where and how to send the benchmark requests.
#[derive(Clone)]
pub struct Target {
    pub name: &'static str,
    /// host:port
    pub addr: String,
    pub path: String,
    pub auth: String,
}

impl Target {
    /// Chat completions at `url` with `auth` as the authorization header.
    pub fn new(name: &'static str, url: &str, auth: &str) -> Target {
        Target {
            name,
            addr: url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string(),
            path: CHAT_PATH.into(),
            auth: auth.into(),
        }
    }
}

/// The benchmark model; the same bare id works straight at the stand-in, through
/// claw (one provider serves it) and through LiteLLM (its `model_name`).
pub const MODEL: &str = "qwen3-8b";
/// A model the stand-in answers with a tool call (the streamed tool-call row).
pub const TOOL_MODEL: &str = "tool-1";

/// The one request body of the latency figures, streamed or not (with a
/// tool for the tool-call model).
pub fn body(stream: bool, model: &str) -> Vec<u8> {
    let mut b = json!({"model": model, "max_tokens": 64,
        "messages": [{"role": "user", "content": "Count to thirty-two, please."}]});
    if stream {
        b["stream"] = json!(true);
    }
    if model == TOOL_MODEL {
        b["tools"] = json!([{"type": "function", "function": {"name": "lookup",
            "description": "Look a word up.",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}}}}]);
    }
    b.to_string().into_bytes()
}

/// One response as read off the wire, with timings from the request's send.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub total: Duration,
    /// Arrival of each body chunk that carried content text (streams only).
    pub content_at: Vec<Duration>,
}

/// A keep-alive HTTP/1.1 connection with TCP_NODELAY.
pub struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    pub fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            host: addr.to_string(),
        })
    }

    /// Write a request (one write) without reading the answer.
    pub fn write(
        &mut self,
        method: &str,
        path: &str,
        auth: &str,
        body: &[u8],
    ) -> std::io::Result<()> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {auth}\r\ncontent-type: application/json\r\naccept: */*\r\ncontent-length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.reader.get_mut().write_all(&request)
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        auth: &str,
        body: &[u8],
        stream: bool,
    ) -> std::io::Result<Reply> {
        let start = Instant::now();
        self.write(method, path, auth, body)?;
        self.read(start, stream)
    }

    /// POST `body` to `target`'s path with its authorization.
    pub fn post(&mut self, target: &Target, body: &[u8], stream: bool) -> std::io::Result<Reply> {
        self.send("POST", &target.path, &target.auth, body, stream)
    }

    /// Read one response; with `stream`, note when content chunks arrive.
    pub fn read(&mut self, start: Instant, stream: bool) -> std::io::Result<Reply> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let r = &mut self.reader;
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let (mut chunked, mut length, mut close) = (false, None, false);
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(bad("headers cut"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "content-length" => length = value.parse::<usize>().ok(),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        let mut content_at = Vec::new();
        if chunked {
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    return Err(bad("body cut"));
                }
                let size =
                    usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| bad("chunk size"))?;
                if size == 0 {
                    line.clear();
                    r.read_line(&mut line)?; // the empty line after the last chunk
                    break;
                }
                let at = body.len();
                body.resize(at + size, 0);
                r.read_exact(&mut body[at..])?;
                let mut crlf = [0; 2];
                r.read_exact(&mut crlf)?;
                if stream && has_content(&body[at..]) {
                    content_at.push(start.elapsed());
                }
            }
        } else if let Some(len) = length {
            body.resize(len, 0);
            r.read_exact(&mut body)?;
            if stream && has_content(&body) {
                content_at.push(start.elapsed());
            }
        } else {
            r.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            // The next request needs a new connection.
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "server closed",
            ));
        }
        Ok(Reply {
            status,
            body,
            total: start.elapsed(),
            content_at,
        })
    }
}

/// Does an SSE chunk carry content text (`"content":"<something>"`, with or
/// without a space after the colon)? The role chunk's `"content":""` does not.
fn has_content(chunk: &[u8]) -> bool {
    if find(chunk, b"\"tool_calls\":[").is_some() {
        return true;
    }
    let key = b"\"content\":";
    let mut i = 0;
    while let Some(pos) = find(&chunk[i..], key) {
        let mut j = i + pos + key.len();
        while chunk.get(j) == Some(&b' ') {
            j += 1;
        }
        if chunk.get(j) == Some(&b'"') && chunk.get(j + 1).is_some_and(|&c| c != b'"') {
            return true;
        }
        i = j;
    }
    false
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A request through `target` must answer 200 with the whole reply, both ways.
pub fn check_target(target: &Target) {
    let mut conn = Conn::open(&target.addr).unwrap_or_else(|e| panic!("{}: {e}", target.name));
    for stream in [false, true] {
        let reply = conn
            .post(target, &body(stream, MODEL), stream)
            .unwrap_or_else(|e| panic!("{}: {e}", target.name));
        let text = String::from_utf8_lossy(&reply.body);
        assert_eq!(reply.status, 200, "{}: {text}", target.name);
        assert!(
            text.contains("thirty-two"),
            "{}: the reply is not the stand-in's: {text}",
            target.name
        );
        if stream {
            assert!(
                reply.content_at.len() >= 2,
                "{}: the stream did not arrive in chunks: {text}",
                target.name
            );
        }
    }
}
