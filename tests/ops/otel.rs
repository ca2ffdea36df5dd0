//! OpenTelemetry export (issue 18): with `OTEL_EXPORTER_OTLP_ENDPOINT` set,
//! a request that fell back arrives at an OTLP/HTTP collector stand-in as one
//! server span with the GenAI attributes and one client span per attempt.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use super::usage::{chat, priced};
use crate::support::Claw;
use crate::support::gateway::GatewayProc;
use crate::support::upstream::{Behavior, Upstream};

/// An OTLP/HTTP collector on loopback: the spans of every export it gets.
fn collector() -> (String, Arc<Mutex<Vec<Span>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
    let got = spans.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(50) {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let (mut line, mut length, mut path) = (String::new(), 0, String::new());
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let l = line.trim_end().to_string();
                line.clear();
                if l.is_empty() {
                    break;
                }
                if let Some(rest) = l.strip_prefix("POST ") {
                    path = rest.split(' ').next().unwrap_or_default().to_string();
                }
                if let Some((k, v)) = l.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            assert_eq!(path, "/v1/traces");
            let export = ExportTraceServiceRequest::decode(&body[..]).expect("OTLP protobuf");
            for rs in export.resource_spans {
                for ss in rs.scope_spans {
                    got.lock().unwrap().extend(ss.spans);
                }
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, spans)
}

fn attributes(span: &Span) -> BTreeMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Any::StringValue(s)) => s.clone(),
                Some(Any::IntValue(i)) => i.to_string(),
                Some(Any::BoolValue(b)) => b.to_string(),
                Some(Any::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

#[test]
fn a_request_that_fell_back_is_one_server_span_with_a_client_span_per_attempt() {
    let upstream = Upstream::start();
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 429,
            retry_after: None,
        },
    );
    let claw = Claw::new();
    claw.write_config(&priced(&upstream).to_string());
    let (url, spans) = collector();
    let gw = GatewayProc::start_env(
        &claw,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &url),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let (status, usage, _) = chat(&gw, "who answers this one?");
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    let found = loop {
        let all = spans.lock().unwrap().clone();
        if let Some(server) = all
            .iter()
            .find(|s| s.name == "chat MiniMax-M2.1" && s.kind == 2)
        {
            let children: Vec<Span> = all
                .iter()
                .filter(|c| c.parent_span_id == server.span_id)
                .cloned()
                .collect();
            if children.len() == 2 {
                break Some((server.clone(), children));
            }
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let names: Vec<String> = spans
        .lock()
        .unwrap()
        .iter()
        .map(|s| format!("{} {:?}", s.name, attributes(s)))
        .collect();
    let (server, children) =
        found.unwrap_or_else(|| panic!("no request span with its attempts: {names:#?}"));
    let a = attributes(&server);
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.request.model"], "MiniMax-M2.1");
    assert_eq!(a["gen_ai.response.model"], "qwen3-8b");
    assert_eq!(a["gen_ai.provider.name"], "lmstudio");
    assert_eq!(
        a["gen_ai.usage.input_tokens"],
        usage["prompt_tokens"].to_string()
    );
    assert_eq!(
        a["gen_ai.usage.output_tokens"],
        usage["completion_tokens"].to_string()
    );
    assert_eq!(a["gen_ai.response.finish_reasons"], "stop");
    let first = children
        .iter()
        .find(|c| attributes(c)["gen_ai.provider.name"] == "minimax")
        .expect("the failed attempt");
    let second = children
        .iter()
        .find(|c| attributes(c)["gen_ai.provider.name"] == "lmstudio")
        .expect("the answer");
    assert_eq!(
        (first.name.as_str(), first.kind),
        ("chat MiniMax-M2.1", 3),
        "a client span"
    );
    assert_eq!(attributes(first)["error.type"], "rate_limit");
    assert_eq!(
        first.status.as_ref().map(|s| s.code),
        Some(2),
        "status ERROR"
    );
    let b = attributes(second);
    assert_eq!(
        (
            second.name.as_str(),
            b["gen_ai.usage.output_tokens"].as_str()
        ),
        (
            "chat qwen3-8b",
            usage["completion_tokens"].to_string().as_str()
        )
    );
    assert!(!names.iter().any(|n| n.contains("sk-upstream-secret")));
    drop(gw);
}
