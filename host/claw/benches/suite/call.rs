//! Section 2, call overhead (in-process): a fresh instance from the
//! `InstancePre` plus echo's `describe`, against building the same
//! `ProviderInfo` in plain Rust; a whole echo chat on a fresh instance for
//! context.

use std::time::Instant;

use claw_plugin_host::loader;
use claw_plugin_host::manifest::Manifest;
use claw_plugin_host::{Limits, Runtime};
use claw_types::{ChatEvent, InputKind, ModelCost, ModelInfo, ProviderInfo};

use crate::count;
use crate::report::{Table, na};
use crate::setup::{bundled, echo_request, settings, tokio_rt};
use crate::stats::median;

#[derive(Default)]
pub struct CallFigures {
    describe_us: f64,
    floor_us: f64,
    chat_us: f64,
}

/// What echo's `describe` returns, built in plain Rust: the floor.
#[inline(never)]
fn describe_in_rust() -> ProviderInfo {
    ProviderInfo {
        apis: vec!["echo".into()],
        models: vec![ModelInfo {
            id: "echo-1".into(),
            name: "Echo".into(),
            reasoning: false,
            input: vec![InputKind::Text],
            context_window: 32_768,
            max_tokens: 4_096,
            tools: true,
            cost: Some(ModelCost {
                input: 0.0,
                output: 0.0,
                cache_read: 0.0,
                cache_write: 0.0,
            }),
        }],
    }
}

pub fn bench() -> CallFigures {
    let rt = tokio_rt();
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
    let echo = bundled("echo");
    let manifest = Manifest::parse(echo.manifest).unwrap();
    let loaded = rt
        .block_on(loader::load(&runtime, &manifest, echo.wasm, settings()))
        .unwrap();
    let plugin = loaded.plugin.clone();
    let expected = describe_in_rust();
    assert_eq!(
        serde_json::to_value(loaded.provider.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&expected).unwrap(),
        "the floor builds what echo describes"
    );

    // Fresh instance from the InstancePre + describe(): Plugin::describe_provider
    // is exactly that (a new Store with limits and deadline, instantiate, call).
    let n = count(50_000);
    let per_call = |n: usize| {
        rt.block_on(async {
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(plugin.describe_provider().await.unwrap());
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        })
    };
    per_call(n / 10); // warm up
    let runs: Vec<f64> = (0..5).map(|_| per_call(n / 5)).collect();
    let describe_us = median(&runs);

    let m = count(2_000_000);
    let floor = |m: usize| {
        let t = Instant::now();
        for _ in 0..m {
            std::hint::black_box(describe_in_rust());
        }
        t.elapsed().as_secs_f64() * 1e6 / m as f64
    };
    floor(m / 10);
    let floor_us = median(&(0..5).map(|_| floor(m / 5)).collect::<Vec<_>>());

    // For context: a whole echo chat on a fresh instance (instance, chat, every next).
    let k = count(10_000);
    let chat_us = rt.block_on(async {
        let request = echo_request();
        let t = Instant::now();
        for _ in 0..k {
            let mut stream = plugin.chat(&request).await.unwrap();
            while let Some(events) = stream.next().await.unwrap() {
                std::hint::black_box(
                    events
                        .iter()
                        .filter(|e| matches!(e, ChatEvent::Text(_)))
                        .count(),
                );
            }
        }
        t.elapsed().as_secs_f64() * 1e6 / k as f64
    });
    eprintln!(
        "  fresh instance + describe(): {describe_us:.2} µs/call (median of 5 × {}); plain Rust: {floor_us:.3} µs/call; \
         whole echo chat on a fresh instance: {chat_us:.1} µs",
        n / 5
    );
    CallFigures {
        describe_us,
        floor_us,
        chat_us,
    }
}

impl CallFigures {
    pub fn rows(&self, t: &mut Table) {
        if self.describe_us > 0.0 {
            t.row(
                "fresh instance + trivial export call (echo describe)",
                "≤ 20 µs",
                format!("{:.2} µs", self.describe_us),
                Some(self.describe_us <= 20.0),
                na(),
            );
            t.row(
                "same result built in plain Rust (floor)",
                "—",
                format!("{:.3} µs", self.floor_us),
                None,
                na(),
            );
            t.row(
                "whole echo chat on a fresh instance (context)",
                "—",
                format!("{:.1} µs", self.chat_us),
                None,
                na(),
            );
        }
    }
}
